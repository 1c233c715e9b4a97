import { Alert, Badge, Group, Progress, Stack, Table, Text } from '@mantine/core';
import { IconAlertTriangle, IconCircleCheck, IconClockHour4, IconLoader2, IconRotate2 } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { formatBytes, formatInZone } from '../../format';
import { restoreErrorOf } from './restore-error';
import { FINAL_STATUSES, type Restore } from './restore-form';
import type { restoreEn } from './restore.i18n';

type Phase = keyof (typeof restoreEn)['restore']['phases'];

export type PreviewResult = NonNullable<Restore['previewResult']>;

/** A restore, read again every second until it is final, unless `streaming`: its event stream (useRestoreEvents) then carries the changes. */
export function useRestore(id: string | null, streaming = false) {
  return useQuery({
    queryKey: ['restore', id],
    enabled: Boolean(id),
    queryFn: async () => unwrap(await api.GET('/api/v1/restores/{id}', { params: { path: { id: id ?? '' } } })),
    refetchInterval: (q) => ((q.state.data && FINAL_STATUSES.includes(q.state.data.status)) || streaming ? false : 1000),
  });
}

const STATUS_LOOK: Record<Restore['status'], { color: string; icon: ReactNode }> = {
  queued: { color: 'gray', icon: <IconClockHour4 size={12} aria-hidden /> },
  waiting: { color: 'yellow', icon: <IconClockHour4 size={12} aria-hidden /> },
  verifying: { color: 'blue', icon: <IconLoader2 size={12} aria-hidden /> },
  restoring: { color: 'blue', icon: <IconLoader2 size={12} aria-hidden /> },
  succeeded: { color: 'green', icon: <IconCircleCheck size={12} aria-hidden /> },
  failed: { color: 'red', icon: <IconAlertTriangle size={12} aria-hidden /> },
  rolled_back: { color: 'orange', icon: <IconRotate2 size={12} aria-hidden /> },
};

/** Icon and word, never colour alone (UI.md); dark text keeps AA contrast on the light badge. */
export function RestoreStatusBadge({ status }: { status: Restore['status'] }) {
  const { t } = useTranslation();
  const look = STATUS_LOOK[status];
  return (
    <Badge variant="light" color={look.color} leftSection={look.icon} styles={{ root: { overflow: 'visible' }, label: { color: 'var(--mantine-color-dark-9)', overflow: 'visible', textTransform: 'none' } }} data-testid="restore-status" data-status={status}>
      {t(`restore.status.${status}`)}
    </Badge>
  );
}

export function sourceText(t: ReturnType<typeof useTranslation>['t'], source: Restore['source']): string {
  if ('runId' in source) return t('restore.sourceRun', { id: source.runId.slice(0, 8) });
  if ('file' in source) return t('restore.sourceCopy', { file: source.file });
  return t('restore.sourceUpload');
}

/** Phase and bytes of a restore (or preview) that is under way. */
export function RestoreProgressView({ restore }: { restore: Restore }) {
  const { t, i18n } = useTranslation();
  const final = FINAL_STATUSES.includes(restore.status);
  const phase = (final ? (restore.status === 'succeeded' ? 'done' : 'failed') : (restore.phase ?? 'queued')) as Phase;
  // Bytes belong to the phase under way; a final restore is simply done (or not).
  const percent = final ? 100 : restore.bytesTotal ? Math.min(100, Math.floor((restore.bytesDone * 100) / restore.bytesTotal)) : null;
  const bytes = !final && restore.bytesTotal ? t('restore.bytes', { done: formatBytes(restore.bytesDone, i18n.language), total: formatBytes(restore.bytesTotal, i18n.language) }) : '';
  const phaseText = t(`restore.phases.${phase}`, { defaultValue: restore.phase ?? '' });
  return (
    <Stack gap={6} data-testid="restore-progress" data-phase={phase}>
      <Group justify="space-between" wrap="wrap">
        <Text fw={600}>{phaseText}</Text>
        <Text size="sm" data-testid="restore-bytes">
          {bytes}
          {percent !== null && ` · ${percent} %`}
        </Text>
      </Group>
      <Progress.Root size="lg">
        <Progress.Section
          value={percent ?? 100}
          animated={!final}
          striped={!final}
          color={restore.status === 'succeeded' ? 'green' : final ? 'red' : 'blue'}
          aria-label={t('restore.progressLabel')}
          aria-valuetext={`${phaseText} ${bytes}`}
        />
      </Progress.Root>
    </Stack>
  );
}

/** A failed restore's error in words; decryptFailed and otherPbx are also shown beside their field by the form. */
export function RestoreErrorAlert({ error }: { error: string }) {
  const { t } = useTranslation();
  const info = restoreErrorOf(error);
  return (
    <Alert color="red" role="alert" title={t(`restore.errors.${info.kind}`, { entry: info.entry ?? '' })} data-testid="restore-error" data-kind={info.kind}>
      <Text size="sm" style={{ overflowWrap: 'anywhere' }}>
        {t('restore.technical', { message: error })}
      </Text>
    </Alert>
  );
}

/** Per section, per table rows added/removed/changed, and the audio folder's files. */
export function PreviewView({ preview, zone }: { preview: PreviewResult; zone: string }) {
  const { t, i18n } = useTranslation();
  const a = preview.archive;
  const n = (v: number) => new Intl.NumberFormat(i18n.language).format(v);
  return (
    <Stack data-testid="restore-preview">
      <Text size="sm">{t('restore.previewArchive', { name: a.configurationName, when: formatInZone(a.createdAt, zone, i18n.language), pbx: a.pbxId })}</Text>
      {preview.sections.map((s) => (
        <Stack key={s.section} gap="xs" data-testid={`preview-${s.section}`}>
          <Text fw={600}>
            {t(`restore.sections.${s.section}`)} · {t(`restore.modes.${s.mode}`)}
          </Text>
          {s.tables.length > 0 && (
          <Table.ScrollContainer minWidth={600}>
            <Table withTableBorder verticalSpacing={4} fz="sm" layout="fixed">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">{t('restore.col2.table')}</Table.Th>
                  <Table.Th scope="col" ta="right">{t('restore.col2.inArchive')}</Table.Th>
                  <Table.Th scope="col" ta="right">{t('restore.col2.added')}</Table.Th>
                  <Table.Th scope="col" ta="right">{t('restore.col2.removed')}</Table.Th>
                  <Table.Th scope="col" ta="right">{t('restore.col2.changed')}</Table.Th>
                  <Table.Th scope="col" ta="right">{t('restore.col2.unchanged')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {s.tables.map((row) => (
                  <Table.Tr key={row.table} data-testid="preview-table" data-table={row.table} data-added={row.rowsAdded} data-removed={row.rowsRemoved} data-changed={row.rowsChanged}>
                    <Table.Th scope="row" fw={400}>
                      <code>{row.table}</code>
                    </Table.Th>
                    <Table.Td ta="right">{n(row.rowsInArchive)}</Table.Td>
                    <Table.Td ta="right">{n(row.rowsAdded)}</Table.Td>
                    <Table.Td ta="right">{n(row.rowsRemoved)}</Table.Td>
                    <Table.Td ta="right">{n(row.rowsChanged)}</Table.Td>
                    <Table.Td ta="right">{n(row.rowsUnchanged)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          )}
          {s.audio && (
            <Text size="sm" data-testid="preview-audio" data-added={s.audio.filesAdded} data-replaced={s.audio.filesReplaced} data-removed={s.audio.filesRemoved}>
              {t('restore.audio', {
                folder: s.audio.folder,
                added: n(s.audio.filesAdded),
                replaced: n(s.audio.filesReplaced),
                removed: n(s.audio.filesRemoved),
                unchanged: n(s.audio.filesUnchanged),
                bytes: formatBytes(s.audio.bytesToWrite, i18n.language),
              })}
            </Text>
          )}
        </Stack>
      ))}
    </Stack>
  );
}
