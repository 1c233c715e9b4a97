/**
 * Domain error codes shared by every transport. Each transport maps them on its own
 * terms: the api to HTTP status + problem+json, consumers to retry / dead-letter.
 */
export const ERROR_CODES = {
  validation: 'validation',
  notFound: 'not_found',
  conflict: 'conflict',
  gone: 'gone',
  notReady: 'not_ready',
  unauthorized: 'unauthorized',
  forbidden: 'forbidden',
  rateLimited: 'rate_limited',
  unsupportedMediaType: 'unsupported_media_type',
  alreadyReplayed: 'already_replayed',
  /** The run is final (or its archived items are being deleted): there is nothing left to cancel. */
  runFinished: 'run_finished',
  permanent: 'permanent_failure',
  transient: 'transient_failure',
  hostKeyUnconfirmed: 'host_key_unconfirmed',
  destinationUnreachable: 'destination_unreachable',
  /** An encrypted archive the given key or passphrase does not open (nothing was read or changed). */
  decryptFailed: 'decrypt_failed',
} as const;
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export interface FieldError {
  field: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly errors: FieldError[] = [],
    /** Facts a client can act on, e.g. the fingerprint to confirm (problem+json members). */
    readonly details: Record<string, string | number> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
