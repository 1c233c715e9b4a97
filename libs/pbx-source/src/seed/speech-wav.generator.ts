import { SeededRandom } from './seeded-random';

export const WAV_SAMPLE_RATE = 8000;
export const WAV_HEADER_BYTES = 44;

const TABLE_SIZE = 4096;
const SINE = new Float64Array(TABLE_SIZE + 1);
for (let i = 0; i <= TABLE_SIZE; i++) SINE[i] = Math.sin((2 * Math.PI * i) / TABLE_SIZE);

/** Rough vowel formants (F1, F2, F3 in Hz): enough to sound vaguely like speech. */
const VOWELS: ReadonlyArray<readonly [number, number, number]> = [
  [730, 1090, 2440],
  [530, 1840, 2480],
  [270, 2290, 3010],
  [570, 840, 2410],
  [300, 870, 2240],
  [660, 1720, 2410],
  [440, 1020, 2240],
  [390, 1990, 2550],
];

/** A 44-byte RIFF/WAVE header for 8 kHz, 16-bit, mono PCM. */
export function wavHeader(dataBytes: number): Buffer {
  const h = Buffer.alloc(WAV_HEADER_BYTES);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16); // fmt chunk size
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(WAV_SAMPLE_RATE, 24);
  h.writeUInt32LE(WAV_SAMPLE_RATE * 2, 28); // byte rate
  h.writeUInt16LE(2, 32); // block align
  h.writeUInt16LE(16, 34); // bits per sample
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

/**
 * A speech-like recording of about `totalBytes` bytes (header included): syllables of
 * formant tones pulsed at a glottal rate and roughened by noise, fricative noise bursts,
 * word gaps and phrase pauses, over a low noise floor like a phone line's.
 */
export function generateSpeechWav(rng: SeededRandom, totalBytes: number): Buffer {
  const samples = Math.max(0, Math.floor((totalBytes - WAV_HEADER_BYTES) / 2));
  const buf = Buffer.alloc(WAV_HEADER_BYTES + samples * 2);
  wavHeader(samples * 2).copy(buf, 0);
  const pcm = new Int16Array(buf.buffer, buf.byteOffset + WAV_HEADER_BYTES, samples);

  const speakerF0 = rng.range(95, 220);
  const noiseFloor = rng.range(20, 60);
  let seed = (rng.next() * 0xffffffff) >>> 0 || 1;
  // xorshift inline: this loop runs for every sample of a gigabyte of audio.
  const noise = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return ((seed >>> 0) / 4294967296) * 2 - 1;
  };

  let p0 = 0;
  let p1 = 0;
  let p2 = 0;
  let p3 = 0;
  let prevNoise = 0;
  let n = 0;
  while (n < samples) {
    // A phrase: a few words of a few syllables each, then a pause.
    const phraseAmp = rng.range(2500, 9000);
    const words = rng.int(3, 9);
    for (let w = 0; w < words && n < samples; w++) {
      const syllables = rng.int(1, 4);
      for (let s = 0; s < syllables && n < samples; s++) {
        const len = Math.floor(rng.range(0.12, 0.32) * WAV_SAMPLE_RATE);
        const from = rng.pick(VOWELS);
        const to = rng.pick(VOWELS);
        const fricative = rng.chance(0.3) ? Math.floor(rng.range(0.03, 0.09) * WAV_SAMPLE_RATE) : 0;
        const f0Start = speakerF0 * rng.range(0.85, 1.2);
        const f0End = f0Start * rng.range(0.8, 1.1);
        const amp = phraseAmp * rng.range(0.6, 1);
        const end = Math.min(samples, n + len);
        const total = end - n;
        for (let i = 0; i < total; i++, n++) {
          const t = i / total;
          const env = t < 0.1 ? t / 0.1 : t > 0.75 ? (1 - t) / 0.25 : 1;
          const f0 = f0Start + (f0End - f0Start) * t;
          const f1 = from[0] + (to[0] - from[0]) * t;
          const f2 = from[1] + (to[1] - from[1]) * t;
          const f3 = from[2] + (to[2] - from[2]) * t;
          p0 += f0 / WAV_SAMPLE_RATE;
          p1 += f1 / WAV_SAMPLE_RATE;
          p2 += f2 / WAV_SAMPLE_RATE;
          p3 += f3 / WAV_SAMPLE_RATE;
          p0 -= Math.floor(p0);
          p1 -= Math.floor(p1);
          p2 -= Math.floor(p2);
          p3 -= Math.floor(p3);
          const g = 0.5 + 0.5 * SINE[(p0 * TABLE_SIZE) | 0];
          const pulse = g * g * g;
          const rough = 1 + 0.35 * noise();
          let v =
            pulse * rough * (SINE[(p1 * TABLE_SIZE) | 0] + 0.6 * SINE[(p2 * TABLE_SIZE) | 0] + 0.25 * SINE[(p3 * TABLE_SIZE) | 0]);
          let x = v * amp * env;
          if (i < fricative) {
            const nz = noise();
            x += (nz - prevNoise) * amp * 0.25 * (1 - i / fricative);
            prevNoise = nz;
          }
          v = x + noise() * noiseFloor;
          pcm[n] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
        }
      }
      const gap = Math.floor(rng.range(0.03, 0.12) * WAV_SAMPLE_RATE);
      for (let i = 0; i < gap && n < samples; i++, n++) pcm[n] = noise() * noiseFloor;
    }
    const pause = Math.floor(rng.range(0.25, 0.9) * WAV_SAMPLE_RATE);
    for (let i = 0; i < pause && n < samples; i++, n++) pcm[n] = noise() * noiseFloor;
  }
  return buf;
}
