import type { TFunction } from 'i18next';
import type { DestinationType, Schemas } from '../../api/client';

type DeliveryCode = NonNullable<Schemas['RunDeliveryEvent']['code']>;
const DESTINATION_TYPES: readonly DestinationType[] = ['local', 'smb', 'sftp', 'dropbox', 'usb', 'email'];

/** A destination kind's name; the Run schema types it as a plain string. */
export function destinationLabel(t: TFunction, type: string): string {
  return (DESTINATION_TYPES as readonly string[]).includes(type) ? t(`destination.${type as DestinationType}`) : type;
}

/** A delivery code in words (sentence and what to do), or null for a code this UI does not know. */
export function codeText(t: TFunction, code: string | null | undefined): { sentence: string; hint: string } | null {
  if (!code) return null;
  const key = code as DeliveryCode;
  const sentence = t(`deliveryCode.${key}.sentence`, { defaultValue: '' });
  return sentence ? { sentence, hint: t(`deliveryCode.${key}.hint`) } : null;
}
