export * from './pbx-source.interface';
export * from './pbx-schema.migrations';
export * from './postgres-pbx-source.adapter';
export { walkFiles, directorySize } from './data-dir.walker';
export { seedPbx, SEED_PRESETS, type SeedPreset, type SeedPbxOptions, type SeedPbxResult, type SeedProgress } from './seed/pbx-seed.service';
export { generateSpeechWav, wavHeader, WAV_SAMPLE_RATE, WAV_HEADER_BYTES } from './seed/speech-wav.generator';
export { SeededRandom } from './seed/seeded-random';
