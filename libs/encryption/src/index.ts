export * from './age-file';
export { AgeFileWriter } from './age-file-writer';
