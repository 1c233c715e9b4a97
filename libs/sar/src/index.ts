export * from './sar-manifest';
export * from './sar-writer.service';
export * from './sar-reader.service';
export { ZipWriter, type ArchiveSink, type ZipEntryOptions, type ZipEntryResult, type ZipMethod } from './zip-writer';
export { CsvRowCounter } from './csv-row-counter';
