import { useQuery } from '@tanstack/react-query';
import type { TFunction } from 'i18next';
import { useCallback } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap, type DestinationType, type Schemas } from '../../api/client';

/**
 * The destination kinds in the order the wizard offers them. A Record over the generated type,
 * so a kind added to the API fails typecheck:admin until it is placed here (and labelled).
 */
const KINDS = { local: true, smb: true, sftp: true, dropbox: true, usb: true, email: true, s3: true } as const satisfies Record<DestinationType, true>;
export const DESTINATION_TYPES = Object.keys(KINDS) as DestinationType[];

/** A destination kind's name; the Run schema types it as a plain string. */
export function destinationLabel(t: TFunction, type: string): string {
  return type in KINDS ? t(`destination.${type as DestinationType}`) : type;
}

export type CodeText = Schemas['DeliveryCodeText'];
type DeliveryCode = keyof Schemas['DeliveryCodeTexts']['codes'];

/**
 * Delivery codes in words (sentence and what to do) in the UI's language, as the api serves
 * them (GET /vocabulary/delivery-codes: the notifier's texts, one copy). Until they have
 * arrived, or for a code this api does not know, a code has no text (null).
 */
export function useCodeText(): (code: string | null | undefined) => CodeText | null {
  const { i18n } = useTranslation();
  const lang = i18n.language === 'de' ? 'de' : 'en';
  const texts = useQuery({
    queryKey: ['vocabulary', 'delivery-codes', lang],
    queryFn: async () => unwrap(await api.GET('/api/v1/vocabulary/delivery-codes', { params: { query: { lang } } })).codes,
    staleTime: Infinity,
  }).data;
  return useCallback((code) => (code && texts && Object.hasOwn(texts, code) ? texts[code as DeliveryCode] : null), [texts]);
}
