import { Alert, Button, Center, Paper, PasswordInput, Stack, Text, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import { LanguageSwitch } from '../frame/language-switch';
import { useSession } from './session';

/** Sign in with an API token: checked against GET /api/v1/me before it is kept. */
export function SignInPage() {
  const { t } = useTranslation();
  const session = useSession();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const candidate = token.trim();
    if (!candidate) return setError(t('signIn.required'));
    setBusy(true);
    const res = await api.GET('/api/v1/me', { headers: { Authorization: `Bearer ${candidate}` } }).catch(() => null);
    setBusy(false);
    if (res?.data) session.signIn(candidate);
    else setError(t('signIn.refused'));
  }

  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder shadow="sm" p="xl" w={440} maw="100%">
        <form onSubmit={submit} noValidate>
          <Stack>
            <Title order={1} size="h2">
              pbx-backup — {t('signIn.title')}
            </Title>
            <Text size="sm">{t('signIn.intro')}</Text>
            <PasswordInput
              label={t('signIn.token')}
              description={t('signIn.tokenHint')}
              value={token}
              onChange={(e) => {
                setToken(e.currentTarget.value);
                setError(null);
              }}
              error={error}
              autoComplete="off"
              data-autofocus
              autoFocus
            />
            {error && (
              <Alert color="red" role="alert" title={t('signIn.title')}>
                {error}
              </Alert>
            )}
            <Button type="submit" loading={busy}>
              {t('signIn.submit')}
            </Button>
            <LanguageSwitch />
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
