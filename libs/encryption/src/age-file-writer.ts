import { open, type FileHandle } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { agePreamble, streamSealer, type AgeRecipients } from './age-native';

/** Plaintext handed to the worker at a time (a transferred buffer, handed back for reuse). */
const BATCH_BYTES = 1024 * 1024;
/** Batches on their way or being encrypted before `write` waits: bounds memory (2 MiB; 4 gained no speed). */
const MAX_IN_FLIGHT = 2;
/**
 * The worker's heap: it holds a cipher and a few buffers. Small limits keep its share of the
 * packer's peak RSS to a few MiB (V8's defaults cost ~20 MiB more in bench/pack).
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 };

/** Batches between the worker's minor GCs (see WORKER_SOURCE). */
const GC_EVERY_BATCHES = 8;

/**
 * The worker: encrypts each batch (streamSealer, its source inlined), hashes and writes what it
 * produces to the file descriptor, and hands the batch back. Its isolate allocates so little
 * besides the cipher's 64 KiB output buffers that V8 would free them only every ~64 MiB (+50 MiB
 * peak RSS), so it runs a minor GC (a scavenge, well under a millisecond here) every
 * GC_EVERY_BATCHES batches; `gc` is obtained as jest-leak-detector does it (the flag is on only
 * while one context is created). It runs `eval`ed, so it needs no file of its own (the same in
 * the built apps and under Jest).
 */
const WORKER_SOURCE = `
const crypto = require('node:crypto');
const { writeSync, writevSync } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const v8 = require('node:v8');
v8.setFlagsFromString('--expose-gc');
const gc = require('node:vm').runInNewContext('gc');
v8.setFlagsFromString('--no-expose-gc');
let batches = 0;
const streamSealer = ${streamSealer.toString()};
const { fd, prefix, payloadKey } = workerData;
const sealer = streamSealer(crypto, Buffer.from(payloadKey));
const hash = crypto.createHash('sha256');
let size = 0;
function emit(buffers) {
  let bytes = 0;
  for (const b of buffers) {
    hash.update(b);
    bytes += b.length;
  }
  size += bytes;
  const done = writevSync(fd, buffers);
  if (done < bytes) {
    // A short write (e.g. the disk filling up): writing the rest throws its error.
    const rest = Buffer.concat(buffers).subarray(done);
    for (let at = 0; at < rest.length; ) {
      const n = writeSync(fd, rest, at, rest.length - at);
      if (n === 0) throw new Error('short write');
      at += n;
    }
  }
}
emit([Buffer.from(prefix)]);
parentPort.on('message', (m) => {
  try {
    const out = [];
    if (m.end) {
      sealer.final(out);
      emit(out);
      parentPort.postMessage({ done: { size, sha256: hash.digest('hex') } });
      return;
    }
    sealer.update(Buffer.from(m.batch, 0, m.length), out);
    if (out.length) emit(out);
    if (++batches % ${GC_EVERY_BATCHES} === 0) gc({ type: 'minor' });
    parentPort.postMessage({ returned: m.batch }, [m.batch]);
  } catch (err) {
    parentPort.postMessage({ error: { message: String((err && err.message) || err), code: err && err.code } });
  }
});
`;

/**
 * Writes an age file from plaintext fed to it, encrypting, hashing and writing on a worker
 * thread: the packer's ZIP writer writes the archive into it (an ArchiveSink, libs/sar), so the
 * plain archive is never on disk, and the writer's own thread only copies bytes into 1 MiB
 * batches (it does not even hash the file, as it does for a plain archive). Memory:
 * MAX_IN_FLIGHT batches and the worker's small heap (WORKER_LIMITS). Any failure (the disk's) rejects the next `write` or `finish`;
 * `abort` stops the worker. The caller removes the file after a failure.
 */
export class AgeFileWriter {
  private batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
  private batched = 0;
  private readonly free: ArrayBuffer[] = [];
  private inFlight = 0;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  private result: Promise<{ size: number; sha256: string }>;
  private closed = false;

  private constructor(
    private readonly fh: FileHandle,
    private readonly worker: Worker,
  ) {
    let resolveResult!: (r: { size: number; sha256: string }) => void;
    let rejectResult!: (err: Error) => void;
    this.result = new Promise((res, rej) => {
      resolveResult = res;
      rejectResult = rej;
    });
    this.result.catch(() => undefined); // surfaced through write/finish
    const fail = (err: Error) => {
      this.failure ??= err;
      rejectResult(this.failure);
      this.wakeUp();
    };
    worker.on('message', (m: { returned?: ArrayBuffer; done?: { size: number; sha256: string }; error?: { message: string; code?: string } }) => {
      if (m.returned) {
        this.free.push(m.returned);
        this.inFlight -= 1;
        this.wakeUp();
      } else if (m.done) resolveResult(m.done);
      else if (m.error) fail(Object.assign(new Error(`age encryption: ${m.error.message}`), m.error.code ? { code: m.error.code } : {}));
    });
    worker.on('error', (err) => fail(err));
    worker.on('exit', (code) => fail(new Error(`age encryption: the worker exited (${code})`)));
  }

  /** Creates (or truncates) `path` as an age file for `key`. */
  static async open(path: string, key: AgeRecipients): Promise<AgeFileWriter> {
    const preamble = await agePreamble(key);
    const fh = await open(path, 'w');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { fd: fh.fd, prefix: preamble.prefix, payloadKey: preamble.payloadKey }, resourceLimits: WORKER_LIMITS });
    return new AgeFileWriter(fh, worker);
  }

  async write(chunk: Buffer): Promise<void> {
    this.throwIfFailed();
    for (let at = 0; at < chunk.length; ) {
      const n = Math.min(BATCH_BYTES - this.batched, chunk.length - at);
      chunk.copy(this.batch, this.batched, at, at + n);
      this.batched += n;
      at += n;
      if (this.batched === BATCH_BYTES) await this.send();
    }
  }

  async finish(): Promise<{ size: number; sha256: string }> {
    this.throwIfFailed();
    if (this.batched > 0) await this.send();
    this.worker.postMessage({ end: true });
    try {
      return await this.result;
    } finally {
      await this.close();
    }
  }

  async abort(): Promise<void> {
    this.failure ??= new Error('age encryption: aborted');
    await this.close();
  }

  private async send(): Promise<void> {
    const batch = this.batch.buffer as ArrayBuffer;
    this.worker.postMessage({ batch, length: this.batched }, [batch]);
    this.inFlight += 1;
    const reused = this.free.pop();
    this.batch = reused ? Buffer.from(reused) : Buffer.allocUnsafeSlow(BATCH_BYTES);
    this.batched = 0;
    while (this.inFlight >= MAX_IN_FLIGHT && !this.failure) await new Promise<void>((resolve) => (this.wake = resolve));
    this.throwIfFailed();
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
    await this.fh.close();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}
