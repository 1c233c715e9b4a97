import { DELIVERY_CODE_TEXTS, type DeliveryCode, type DeliveryCodeText } from '@pbx/contracts';
import type { Lang } from './format';

/**
 * The texts live in the contracts (libs/contracts/src/domain/delivery-code-texts.ts), where the
 * api serves them to the admin UI too: one copy for mails and pages.
 */
export { DELIVERY_CODE_TEXTS };
export type CodeText = DeliveryCodeText;

export function deliveryCodeText(code: DeliveryCode, lang: Lang): CodeText {
  return DELIVERY_CODE_TEXTS[lang][code];
}
