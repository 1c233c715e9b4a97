import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Writable } from 'node:stream';

/** sha256 (hex) of a file, streamed. */
export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024, signal })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/**
 * A stream sink that hashes what it is given and, with `copyTo`, also writes it there (0600):
 * a stored copy read back once serves both verification and a restore from the destination.
 */
export function hashingSink(copyTo?: string): { sink: Writable; result(): { sha256: string; size: number } } {
  const hash = createHash('sha256');
  let size = 0;
  const file = copyTo ? createWriteStream(copyTo, { mode: 0o600 }) : null;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      if (!file || file.write(chunk)) return done();
      file.once('drain', () => done());
    },
    final(done) {
      if (!file) return done();
      file.end((err?: Error | null) => done(err ?? null));
    },
    destroy(err, done) {
      file?.destroy();
      done(err);
    },
  });
  file?.on('error', (err) => sink.destroy(err));
  return { sink, result: () => ({ sha256: hash.digest('hex'), size }) };
}
