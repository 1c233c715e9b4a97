import { deflateRawSync } from 'node:zlib';
import { SeededRandom } from './seeded-random';
import { generateSpeechWav, WAV_HEADER_BYTES } from './speech-wav.generator';

describe('generateSpeechWav', () => {
  it('writes a valid 8 kHz 16-bit mono PCM RIFF/WAVE file of about the requested size', () => {
    const wav = generateSpeechWav(new SeededRandom(7), 200_001);
    expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
    expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
    expect(wav.toString('ascii', 8, 16)).toBe('WAVEfmt ');
    expect(wav.readUInt16LE(20)).toBe(1);
    expect(wav.readUInt16LE(22)).toBe(1);
    expect(wav.readUInt32LE(24)).toBe(8000);
    expect(wav.readUInt16LE(34)).toBe(16);
    expect(wav.toString('ascii', 36, 40)).toBe('data');
    expect(wav.readUInt32LE(40)).toBe(wav.length - WAV_HEADER_BYTES);
    expect(wav.length).toBe(200_000);
  });

  it('is deterministic per seed and differs between seeds', () => {
    const a = generateSpeechWav(new SeededRandom(1), 50_000);
    expect(generateSpeechWav(new SeededRandom(1), 50_000).equals(a)).toBe(true);
    expect(generateSpeechWav(new SeededRandom(2), 50_000).equals(a)).toBe(false);
  });

  it('sounds like speech: loud syllables and quiet pauses, not silence or white noise', () => {
    const wav = generateSpeechWav(new SeededRandom(3), 800_000);
    const pcm = new Int16Array(wav.buffer, wav.byteOffset + WAV_HEADER_BYTES, (wav.length - WAV_HEADER_BYTES) / 2);
    const frame = 160; // 20 ms
    const rms: number[] = [];
    for (let i = 0; i + frame <= pcm.length; i += frame) {
      let sum = 0;
      for (let j = i; j < i + frame; j++) sum += pcm[j] * pcm[j];
      rms.push(Math.sqrt(sum / frame));
    }
    const quiet = rms.filter((r) => r < 100).length / rms.length;
    const loud = rms.filter((r) => r > 1000).length / rms.length;
    expect(quiet).toBeGreaterThan(0.15);
    expect(loud).toBeGreaterThan(0.3);
    const ratio = deflateRawSync(wav).length / wav.length;
    // Real phone audio deflates a little (pauses), never to nothing.
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(1);
  });
});
