import { Code, Paper, Stack, Table, Text, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import type { Configuration } from '../api/client';
import { DataTable } from '../common/query-state';

type Webhook = NonNullable<Configuration['webhooks']>[number];

/** A webhook's receiver as scheme://host[:port] only: the path and query of a Slack or Teams URL are its credential. */
export function webhookOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '–';
  }
}

/** The encryption choice, read-only: the mode, the age public keys; a passphrase is never returned, only whether one is stored. */
export function EncryptionSection({ c }: { c: Configuration }) {
  const { t } = useTranslation();
  const mode = c.encryption?.mode ?? 'none';
  const recipients = c.encryption?.recipients ?? [];
  return (
    <Paper withBorder p="md" data-testid="configuration-encryption" data-mode={mode}>
      <Title order={2} size="h4" mb="sm">
        {t('configurations.encryption.title')}
      </Title>
      {mode === 'none' && <Text size="sm">{t('configurations.encryption.none')}</Text>}
      {mode === 'passphrase' && <Text size="sm">{t(c.encryption?.hasPassphrase === false ? 'configurations.encryption.passphraseMissing' : 'configurations.encryption.passphrase')}</Text>}
      {mode === 'recipients' && (
        <Stack gap={6}>
          <Text size="sm" id="encryption-recipients-title">
            {t('configurations.encryption.recipients', { count: recipients.length })}
          </Text>
          <Stack gap={4} component="ul" m={0} p={0} style={{ listStyle: 'none' }} aria-labelledby="encryption-recipients-title">
            {recipients.map((r) => (
              <li key={r}>
                <Code className="mono-box" data-testid="encryption-recipient" style={{ overflowWrap: 'anywhere' }}>
                  {r}
                </Code>
              </li>
            ))}
          </Stack>
        </Stack>
      )}
    </Paper>
  );
}

/** The webhooks, read-only: receiver origin, format, events, whether calls are signed (the secret itself never comes back). */
export function WebhooksSection({ webhooks }: { webhooks: Webhook[] }) {
  const { t } = useTranslation();
  return (
    <Paper withBorder p="md" data-testid="configuration-webhooks">
      <Title order={2} size="h4" mb="xs">
        {t('configurations.webhooks.title')}
      </Title>
      {webhooks.length === 0 ? (
        <Text size="sm">{t('configurations.webhooks.none')}</Text>
      ) : (
        <Stack gap="xs">
          <Text size="sm" c="dimmed">
            {t('configurations.webhooks.intro')}
          </Text>
          <DataTable minWidth={640} striped={false} columns={[t('configurations.webhooks.col.origin'), t('configurations.webhooks.col.format'), t('configurations.webhooks.col.events'), t('configurations.webhooks.col.signed')]}>
            {webhooks.map((w) => (
              <Table.Tr key={w.id} data-testid="webhook-row">
                <Table.Th scope="row" style={{ overflowWrap: 'break-word', fontWeight: 500 }}>
                  {webhookOrigin(w.url)}
                </Table.Th>
                <Table.Td>{t(`configurations.webhooks.formats.${w.format}`)}</Table.Td>
                <Table.Td>{w.events.map((e) => t(`configurations.webhooks.events.${e}`)).join(', ')}</Table.Td>
                <Table.Td>{t(w.hasSecret ? 'configurations.webhooks.signed' : 'configurations.webhooks.unsigned')}</Table.Td>
              </Table.Tr>
            ))}
          </DataTable>
        </Stack>
      )}
    </Paper>
  );
}
