import { createHash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { SarManifestEntry } from '@pbx/sar';
import { RestoreRefusedError } from './restore.types';

/**
 * An entry's bytes as they are read for restoring, checked again against the manifest: the
 * file may have changed since it was verified. A mismatch errors the stream before its end,
 * so the COPY (and the section's transaction) or the staged file fails instead of completing.
 */
export function checkedEntry(stream: Readable, expected: SarManifestEntry, onBytes: (n: number) => void): Readable {
  const hash = createHash('sha256');
  let size = 0;
  const check = new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      hash.update(chunk);
      size += chunk.length;
      onBytes(chunk.length);
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      const digest = hash.digest('hex');
      if (size !== expected.size || digest !== expected.sha256) {
        cb(new RestoreRefusedError('invalidArchive', `${expected.path} changed since it was verified (size ${size}, sha256 ${digest})`, expected.path));
        return;
      }
      cb();
    },
  });
  stream.once('error', (err) => check.destroy(err));
  check.once('close', () => stream.destroy());
  return stream.pipe(check);
}
