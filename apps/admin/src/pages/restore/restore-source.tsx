import { Alert, Box, Button, FileInput, Group, Progress, Radio, Select, SimpleGrid, Stack, Text } from '@mantine/core';
import { IconCloudUpload, IconFileZip, IconListDetails, IconServer2 } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { api, tokenStore, unwrap, type Run } from '../../api/client';
import { formatBytes, formatInZone } from '../../format';
import { destinationLabel } from '../runs/labels';
import { SOURCE_KINDS, type RestoreForm, type SourceKind } from './restore-form';
import { looksEncrypted, resumeStore, uploadFile, UploadFailedError, type UploadProgress } from './upload';

const ICONS: Record<SourceKind, ReactNode> = {
  run: <IconListDetails size={24} aria-hidden />,
  copy: <IconServer2 size={24} aria-hidden />,
  upload: <IconCloudUpload size={24} aria-hidden />,
};

const transport = {
  fetch: (path: string, init: RequestInit) => fetch(path, { ...init, headers: { ...(init.headers as Record<string, string>), Authorization: `Bearer ${tokenStore.get() ?? ''}` } }),
  sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
};

const restorable = (r: Run) => Boolean(r.artifact?.fileName) && !r.artifact?.removedAt && (r.status === 'succeeded' || r.status === 'partially_failed');

interface Props {
  form: RestoreForm;
  zone: string;
  error?: string;
  update(patch: Partial<RestoreForm>): void;
}

/** Which archive: a run's staged file, a stored copy read back from a destination, or an upload. */
export function RestoreSource({ form, zone, error, update }: Props) {
  const { t } = useTranslation();
  return (
    <Stack>
      <Radio.Group
        label={t('restore.sourceLegend')}
        value={form.source}
        onChange={(v) => update({ source: v as SourceKind, encrypted: false })}
        required
      >
        <SimpleGrid cols={{ base: 1, md: 3 }} mt="xs">
          {SOURCE_KINDS.map((k) => (
            <Radio.Card key={k} value={k} p="md" radius="md" data-testid={`source-${k}`}>
              <Group wrap="nowrap" gap="sm" align="flex-start">
                <Radio.Indicator mt={4} />
                <Box style={{ flexShrink: 0 }}>{ICONS[k]}</Box>
                <div>
                  <Text fw={600}>{t(`restore.sources.${k}`)}</Text>
                  <Text size="xs" c="dimmed">
                    {t(`restore.sourceHints.${k}`)}
                  </Text>
                </div>
              </Group>
            </Radio.Card>
          ))}
        </SimpleGrid>
      </Radio.Group>
      {form.source === 'run' && <RunSource form={form} zone={zone} error={error} update={update} />}
      {form.source === 'copy' && <CopySource form={form} zone={zone} error={error} update={update} />}
      {form.source === 'upload' && <UploadSource form={form} error={error} update={update} />}
    </Stack>
  );
}

function RunSource({ form, zone, error, update }: Props) {
  const { t, i18n } = useTranslation();
  const runs = useQuery({
    queryKey: ['runs', 'restorable'],
    queryFn: async () => unwrap(await api.GET('/api/v1/runs', { params: { query: { kind: 'backup', limit: 100 } } })),
  });
  // A run chosen by link (run detail's "Restore from here") may be older than the first page.
  const chosen = useQuery({
    queryKey: ['run', form.runId],
    enabled: Boolean(form.runId),
    queryFn: async () => unwrap(await api.GET('/api/v1/runs/{id}', { params: { path: { id: form.runId ?? '' } } })),
  });
  const list = (runs.data?.items ?? []).filter(restorable);
  if (chosen.data && restorable(chosen.data) && !list.some((r) => r.id === chosen.data.id)) list.unshift(chosen.data);
  // A preselected run's file decides whether a key is asked for, as choosing it does.
  const encrypted = Boolean(list.find((r) => r.id === form.runId)?.artifact?.fileName?.endsWith('.age'));
  const known = list.some((r) => r.id === form.runId);
  useEffect(() => {
    if (known && encrypted !== form.encrypted) update({ encrypted });
  }, [known, encrypted, form.encrypted, update]);
  const label = (r: Run) => `${r.configurationName} · ${formatInZone(r.finishedAt ?? r.createdAt ?? '', zone, i18n.language)} · ${r.artifact?.fileName ?? ''}`;
  return (
    <Stack gap="xs">
      <Select
        label={t('restore.run')}
        required
        searchable
        data-testid="run-select"
        value={form.runId}
        data={list.map((r) => ({ value: r.id, label: label(r) }))}
        onChange={(v) => update({ runId: v, encrypted: Boolean(list.find((r) => r.id === v)?.artifact?.fileName?.endsWith('.age')) })}
        error={error}
        nothingFoundMessage={t('restore.runNone')}
      />
      {runs.isSuccess && list.length === 0 && <Text size="sm">{t('restore.runNone')}</Text>}
    </Stack>
  );
}

function CopySource({ form, zone, error, update }: Props) {
  const { t, i18n } = useTranslation();
  const configurations = useQuery({
    queryKey: ['backup-configurations', 'restore'],
    queryFn: async () => unwrap(await api.GET('/api/v1/backup-configurations', { params: { query: { limit: 100 } } })),
  });
  // A destination chosen by link: find its configuration.
  const configurationId = form.configurationId ?? configurations.data?.items.find((c) => c.destinations.some((d) => d.id === form.destinationId))?.id ?? null;
  const configuration = configurations.data?.items.find((c) => c.id === configurationId);
  const copies = useQuery({
    queryKey: ['stored-copies', configurationId, form.destinationId],
    enabled: Boolean(configurationId && form.destinationId),
    queryFn: async () =>
      unwrap(await api.GET('/api/v1/backup-configurations/{id}/destinations/{destinationId}/backups', { params: { path: { id: configurationId ?? '', destinationId: form.destinationId ?? '' } } })),
  });
  const target = (d: Record<string, unknown>) => String(d.host ?? d.server ?? d.to ?? d.path ?? d.device ?? '');
  return (
    <Stack gap="xs">
      <Group grow align="flex-start">
        <Select
          label={t('restore.configuration')}
          required
          searchable
          value={configurationId}
          data={(configurations.data?.items ?? []).map((c) => ({ value: c.id, label: c.name }))}
          onChange={(v) => update({ configurationId: v, destinationId: null, file: null, encrypted: false })}
        />
        <Select
          label={t('restore.destination')}
          required
          disabled={!configuration}
          value={form.destinationId}
          data={(configuration?.destinations ?? []).map((d) => ({ value: d.id, label: [destinationLabel(t, d.type), target(d)].filter(Boolean).join(' · ') }))}
          onChange={(v) => update({ destinationId: v, file: null, encrypted: false })}
        />
      </Group>
      <Select
        label={t('restore.file')}
        required
        disabled={!form.destinationId}
        value={form.file}
        data={(copies.data?.items ?? []).map((c) => ({
          value: c.file,
          label: t('restore.fileLabel', { file: c.file, size: formatBytes(c.size, i18n.language), when: c.modifiedAt ? formatInZone(c.modifiedAt, zone, i18n.language) : '–' }),
        }))}
        onChange={(v) => update({ file: v, encrypted: Boolean(v?.endsWith('.age')) })}
        error={error ?? (copies.error ? t('common.error', { message: copies.error.message }) : undefined)}
      />
      {copies.isSuccess && copies.data.items.length === 0 && <Text size="sm">{t('restore.filesNone')}</Text>}
    </Stack>
  );
}

/** Sent in pieces with progress; a failed upload resumes where the api says it stopped (also after a reload). */
function UploadSource({ form, error, update }: Omit<Props, 'zone'>) {
  const { t, i18n } = useTranslation();
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<UploadProgress | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const abort = useRef<AbortController | null>(null);

  async function send(f: File) {
    setBusy(true);
    setFailed(null);
    abort.current = new AbortController();
    try {
      const encrypted = await looksEncrypted(f);
      const done = await uploadFile(f, transport, {
        resume: resumeStore.get(f),
        signal: abort.current.signal,
        onStarted: (id) => resumeStore.set(f, id),
        onProgress: setProgress,
      });
      update({ uploadId: done.uploadId, encrypted });
    } catch (err) {
      setFailed(err instanceof UploadFailedError || err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  const percent = progress && progress.size ? Math.floor((progress.received * 100) / progress.size) : 0;
  return (
    <Stack gap="xs">
      <Group align="flex-end" wrap="wrap">
        <FileInput
          label={t('restore.uploadFile')}
          required
          accept=".sar,.age,application/zip,application/octet-stream"
          value={file}
          onChange={(f) => {
            setFile(f);
            setProgress(null);
            setFailed(null);
            update({ uploadId: null, encrypted: false });
          }}
          leftSection={<IconFileZip size={16} aria-hidden />}
          error={error}
          style={{ flex: 1, minWidth: 260 }}
          data-testid="upload-file"
        />
        <Button variant={failed ? 'filled' : 'default'} disabled={!file || busy || Boolean(form.uploadId)} loading={busy} onClick={() => file && void send(file)} leftSection={<IconCloudUpload size={16} aria-hidden />}>
          {failed ? t('restore.uploadResume') : t('restore.upload')}
        </Button>
      </Group>
      {progress && (
        <Stack gap={4} data-testid="upload-progress" data-received={progress.received} data-size={progress.size}>
          <Progress.Root size="md">
            <Progress.Section value={percent} color={failed ? 'red' : form.uploadId ? 'green' : 'blue'} aria-label={`${t('restore.uploadLabel')} ${percent} %`} />
          </Progress.Root>
          <Text size="sm">
            {form.uploadId && file
              ? t('restore.uploadDone', { name: file.name })
              : t('restore.uploadProgress', { done: formatBytes(progress.received, i18n.language), total: formatBytes(progress.size, i18n.language) })}
          </Text>
        </Stack>
      )}
      {failed && (
        <Alert color="red" role="alert">
          {t('restore.uploadFailed', { message: failed })}
        </Alert>
      )}
    </Stack>
  );
}
