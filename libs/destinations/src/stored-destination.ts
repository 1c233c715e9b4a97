import type { DestinationType } from '@pbx/contracts';
import type { DestinationConfig } from './destination-config';

/**
 * Rebuilds an adapter's configuration from how a destination is stored: its non-secret
 * `settings` plus its sealed `secrets`, opened with `open` (the caller's SecretBox).
 */
export function destinationConfigFromStored(
  type: DestinationType,
  settings: Record<string, unknown>,
  secrets: Record<string, string>,
  open: (sealed: string) => string,
): DestinationConfig {
  const opened = Object.fromEntries(Object.entries(secrets).map(([field, sealed]) => [field, open(sealed)]));
  return { ...settings, ...opened, type } as DestinationConfig;
}
