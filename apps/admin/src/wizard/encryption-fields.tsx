import { Alert, PasswordInput, Radio, Stack, Textarea } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { ENCRYPTION_MODES, recipientLines, type EncryptionForm } from './encryption-state';

interface Props {
  value: EncryptionForm;
  editing: boolean;
  /** Messages by API field; every `encryption.recipients[i]` belongs to the textarea. */
  errors: Record<string, string>;
  onChange(patch: Partial<EncryptionForm>): void;
}

/** Step 3, below the destination: how the file is protected where it goes (age, docs/encryption.md). */
export function EncryptionFields({ value, editing, errors, onChange }: Props) {
  const { t } = useTranslation();
  const lines = recipientLines(value.recipients);
  const recipientErrors = Object.entries(errors)
    .filter(([k]) => k.startsWith('encryption.recipients'))
    .map(([k, message]) => {
      // The api names the key by its place in the list sent: show the key itself.
      const i = /^encryption\.recipients\[(\d+)\]/.exec(k);
      const key = i ? lines[Number(i[1])] : undefined;
      return key ? `${key.length > 24 ? `${key.slice(0, 20)}…` : key}: ${message}` : message;
    });
  return (
    <Stack data-testid="encryption-fields">
      <Radio.Group label={t('wizard.encryptionLegend')} description={t('wizard.encryptionHint')} value={value.mode} onChange={(v) => onChange({ mode: v as EncryptionForm['mode'] })} error={errors.encryption ?? errors['encryption.mode']}>
        <Stack mt="xs" gap="xs">
          {ENCRYPTION_MODES.map((m) => (
            <Radio key={m} value={m} label={t(`wizard.encryptionModes.${m}`)} description={t(`wizard.encryptionModeHints.${m}`)} />
          ))}
        </Stack>
      </Radio.Group>
      {value.mode === 'recipients' && (
        <Textarea
          label={t('wizard.recipients')}
          description={t('wizard.recipientsHint')}
          required
          autosize
          minRows={3}
          spellCheck={false}
          autoComplete="off"
          styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
          value={value.recipients}
          onChange={(e) => onChange({ recipients: e.currentTarget.value })}
          error={recipientErrors.length ? recipientErrors.join(' · ') : undefined}
        />
      )}
      {value.mode === 'passphrase' && (
        <>
          <PasswordInput
            label={t('wizard.passphrase')}
            description={editing && value.hasStoredPassphrase ? t('wizard.passphraseKeep') : t('wizard.passphraseHint')}
            required={!(editing && value.hasStoredPassphrase)}
            autoComplete="new-password"
            value={value.passphrase}
            onChange={(e) => onChange({ passphrase: e.currentTarget.value })}
            error={errors['encryption.passphrase']}
          />
          <Alert color="yellow" variant="light">
            {t('wizard.passphraseLoss')}
          </Alert>
        </>
      )}
    </Stack>
  );
}
