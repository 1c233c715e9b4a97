import type { DeliveryCode, DestinationType } from '@pbx/contracts';
import type { DestinationConfig } from './destination-config';

export interface DeliveryRequest {
  /** Local path of the finished .sar archive. */
  filePath: string;
  /** Name the file gets at the destination, e.g. "backup-2026-11-26T02-00.sar". */
  fileName: string;
  /** The backup configuration's name; becomes the folder `starface-backup/<name>/`. */
  configurationName: string;
  size: number;
  sha256: string;
  /**
   * The delivery this attempt belongs to: its temp file is named after it, so the next
   * attempt removes what an interrupted one left (partial-files.ts).
   */
  deliveryId?: string;
  onProgress?(bytesSent: number): void;
  signal?: AbortSignal;
  /** The destination's maxUploadBytesPerSecond (set by the registry): streaming adapters pace their upload to it. */
  maxBytesPerSecond?: number;
}

export interface DeliveryResult {
  /** `starface-backup/<name>/<file>`, relative to the destination root. */
  location: string;
  /** Human label, e.g. `[SFTP]10.0.0.5:/backups`. */
  target: string;
  /** How the remote copy was checked after upload. */
  verified: 'sha256' | 'size' | 'content_hash';
  /** True when an identical file was already there and nothing was uploaded. */
  alreadyPresent?: boolean;
}

export interface TestStep {
  step: string;
  ok: boolean;
  detail?: string;
  /** What really happened when `detail` is deliberately vague: for the log, never for the caller. */
  cause?: string;
}

export interface TestReport {
  ok: boolean;
  steps: TestStep[];
  code?: DeliveryCode;
  /** SFTP: the fingerprint the server presented, for trust-on-first-use in the UI. */
  hostKeyFingerprint?: string;
}

/** A finished file in `starface-backup/<name>/` with what the destination says about it. */
export interface StoredFile {
  name: string;
  size: number;
  /** The destination's last-write time; null when it reports none. */
  modifiedAt: Date | null;
}

/**
 * A stored copy read back: its sha256 (streamed, never held whole), or that it is gone, or
 * that this kind cannot be read back (e-mail). A destination that cannot be reached throws
 * its DeliveryError as an upload would.
 */
export type StoredHash = { state: 'stored'; sha256: string; size: number } | { state: 'missing' } | { state: 'notVerifiable' };

export interface ReadBackOptions {
  signal?: AbortSignal;
  /** Also write the copy to this local path (a restore from a destination reads it once). */
  copyTo?: string;
}

export interface DestinationAdapter<C extends DestinationConfig = DestinationConfig> {
  readonly type: DestinationType;
  deliver(config: C, req: DeliveryRequest): Promise<DeliveryResult>;
  /** File names in `starface-backup/<name>/` (finished files only, no partial uploads). */
  list(config: C, configurationName: string): Promise<string[]>;
  /** The same files with size and last-write time (the api's stored-copy listing). */
  listDetailed(config: C, configurationName: string): Promise<StoredFile[]>;
  /** Reads `starface-backup/<name>/<file>` back and hashes it (verification). */
  hash(config: C, configurationName: string, fileName: string, options?: ReadBackOptions): Promise<StoredHash>;
  /** Deletes one file; a file that is already gone is not an error. */
  remove(config: C, configurationName: string, fileName: string): Promise<void>;
  /** Connects, writes and deletes a probe file under `starface-backup/`. Never throws. `signal` tears the connection down. */
  test(config: C, signal?: AbortSignal): Promise<TestReport>;
  label(config: C): string;
}

/**
 * Which failures are worth retrying. Permanent ones need a human (wrong password, wrong host
 * key, no rights, full disk, too big for mail): retrying would only lock accounts or spam.
 * `mountfail` is transient: a USB stick gets plugged in, a NAS wakes up, a VPN comes back.
 */
export const PERMANENT_CODES: ReadonlySet<DeliveryCode> = new Set<DeliveryCode>([
  'authFailed',
  'hostKeyMismatch',
  'mailtobig',
  'sftpRightProblem',
  'notFound',
  'quotaExceeded',
]);

export function isPermanent(code: DeliveryCode): boolean {
  return PERMANENT_CODES.has(code);
}

export class DeliveryError extends Error {
  readonly permanent: boolean;
  constructor(
    readonly code: Exclude<DeliveryCode, 'successful'>,
    message: string,
    permanent?: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DeliveryError';
    this.permanent = permanent ?? isPermanent(code);
  }
}

/**
 * Retention asked to delete a copy whose Object Lock (s3 `objectLockDays`) has not expired: it
 * stays, and retention reports it instead of counting it pruned.
 */
export class ObjectLockedError extends DeliveryError {
  constructor(
    readonly key: string,
    readonly retainUntil: Date,
  ) {
    super('sftpRightProblem', `${key} is under Object Lock until ${retainUntil.toISOString()}; it is kept`, true);
    this.name = 'ObjectLockedError';
  }
}

export function isObjectLocked(err: unknown): err is ObjectLockedError {
  return err instanceof ObjectLockedError;
}

export function isDeliveryError(err: unknown): err is DeliveryError {
  return err instanceof DeliveryError;
}

/** The message of any thrown value, for wrapping. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The one message for every way of not reaching a server: refused, reset, silence, another
 * protocol on the port. Whoever may point a destination anywhere must not learn which (a
 * destination test would be a port scanner); the real cause stays in the error's `cause`.
 */
export const CONNECT_FAILED = 'could not connect to the server (unreachable, refused, timed out or not the expected service)';

export function connectFailed(cause: unknown): DeliveryError {
  return new DeliveryError('mountfail', CONNECT_FAILED, false, { cause });
}

/**
 * What really happened behind a vague or re-wrapped error, for the log: the messages down its
 * `cause` chain that add something (a wrapper repeating its cause's text adds nothing).
 */
export function causeMessage(err: unknown): string | undefined {
  const said = [errorMessage(err)];
  let cause = (err as { cause?: unknown } | undefined)?.cause;
  for (let depth = 0; cause !== undefined && cause !== null && depth < 8; depth++) {
    const text = errorMessage(cause);
    if (!said.some((s) => s.includes(text))) said.push(text);
    cause = (cause as { cause?: unknown }).cause;
  }
  return said.length > 1 ? said.slice(1).join(': ') : undefined;
}

/** A failed test step; a vague message keeps its cause for the log. */
export function failedStep(step: string, err: DeliveryError): TestStep {
  const cause = causeMessage(err);
  return { step, ok: false, detail: err.message, ...(cause !== undefined ? { cause } : {}) };
}

/** Throws `timeout` (transient) when the caller aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new DeliveryError('timeout', 'delivery aborted', false);
}

/** Every failure leaving the registry is a DeliveryError with a code. */
export function toDeliveryError(err: unknown): DeliveryError {
  return err instanceof DeliveryError ? err : new DeliveryError('ioError', errorMessage(err), false, { cause: err });
}

/** `list` derived from `listDetailed`: one definition of which files count. */
export function namesOf(files: readonly StoredFile[]): string[] {
  return files.map((f) => f.name).sort();
}
