import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { DELIVERY_CODE_TEXTS, LANGUAGES, type DeliveryCode, type DeliveryCodeText, type Language } from '@pbx/contracts';
import { RequirePermission } from '../auth/access.decorators';
import { validate, vocabularyQuerySchema } from '../common/validation';
import { ApiJson, ApiProblems } from '../openapi/decorators';

/**
 * Words for the vocabulary's codes, so a client (the admin UI, which imports only generated
 * API types) shows the same sentences as the notifier's reports instead of keeping a copy.
 */
@ApiTags('Vocabulary')
@Controller('api/v1/vocabulary')
export class VocabularyController {
  @Get('delivery-codes')
  // Whoever may read runs may read what their delivery codes mean.
  @RequirePermission('runs.read')
  @ApiOperation({ summary: 'Every delivery code explained: a sentence (what happened) and a hint (what to do), in one language' })
  @ApiQuery({ name: 'lang', required: false, schema: { type: 'string', enum: [...LANGUAGES], default: 'en' } })
  @ApiJson(200, 'DeliveryCodeTexts', 'Each delivery code in words')
  @ApiProblems(400)
  deliveryCodes(@Query() query: unknown): { language: Language; codes: Record<DeliveryCode, DeliveryCodeText> } {
    const { lang } = validate(vocabularyQuerySchema, query);
    return { language: lang, codes: DELIVERY_CODE_TEXTS[lang] };
  }
}
