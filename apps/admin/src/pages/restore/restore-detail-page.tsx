import { Alert, Group, Paper, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import { useSession } from '../../auth/session';
import { BackLink } from '../../common/back-link';
import { formatBytes, formatInZone } from '../../format';
import { FINAL_STATUSES } from './restore-form';
import { PreviewView, RestoreErrorAlert, RestoreProgressView, RestoreStatusBadge, sourceText, useRestore } from './restore-parts';
import { useRestoreEvents } from './use-restore-events';

/**
 * One restore: live phase and bytes (its event stream; read every second while the stream is
 * down), each section's result, the safety backup, the error in words.
 */
export function RestoreDetailPage() {
  const { id = '' } = useParams();
  const { t, i18n } = useTranslation();
  const session = useSession();
  const zone = session.me?.timezone ?? 'UTC';
  const live = useRestoreEvents(id);
  const restore = useRestore(id, live.streaming);
  const queryClient = useQueryClient();
  const finalSeen = live.status?.final ?? false;
  useEffect(() => {
    // The final row has more than the events carry (safety backup, preview, finish time).
    if (finalSeen) void queryClient.invalidateQueries({ queryKey: ['restore', id] });
  }, [finalSeen, id, queryClient]);
  const polled = restore.data;
  // While the stream is up it is newer than the last read; while it is down, polling is.
  const r =
    polled && live.status && !live.fallback
      ? {
          ...polled,
          status: live.status.status,
          error: live.status.error,
          ...(live.progress ? { phase: live.progress.phase, bytesDone: live.progress.bytesDone, bytesTotal: live.progress.bytesTotal } : {}),
          sections: live.sections.length ? live.sections : polled.sections,
        }
      : polled;
  const when = (iso: string | null | undefined) => (iso ? formatInZone(iso, zone, i18n.language) : '–');
  const final = r ? FINAL_STATUSES.includes(r.status) : false;
  return (
    <Stack maw={1000}>
      <BackLink to="/restore">{t('restore.back')}</BackLink>
      {restore.error && (
        <Alert color="red" role="alert">
          {t('common.error', { message: restore.error.message })}
        </Alert>
      )}
      {!r && restore.isPending && <Text>{t('common.loading')}</Text>}
      {r && (
        <>
          <Group gap="sm" wrap="wrap">
            <Title order={1} size="h2">
              {r.preview ? `${t('restore.detailTitle')} (${t('restore.previewBadge')})` : t('restore.detailTitle')}
            </Title>
            <RestoreStatusBadge status={r.status} />
          </Group>
          <Paper withBorder p="md" role={final ? undefined : 'status'}>
            <RestoreProgressView restore={r} />
          </Paper>
          {r.status === 'succeeded' && (
            <Alert color="green" role="status" data-testid="restore-succeeded">
              {r.preview ? t('restore.previewSucceeded') : t('restore.succeeded')}
            </Alert>
          )}
          {r.error && <RestoreErrorAlert error={r.error} />}
          <SimpleGrid cols={{ base: 1, sm: 2, lg: 4 }} spacing="xs" component="dl">
            {(
              [
                [t('restore.col.source'), sourceText(t, r.source)],
                [t('restore.modeLegend'), t(`restore.modes.${r.mode}`)],
                [t('restore.col.created'), when(r.createdAt)],
                [t('restore.col.status'), t(`restore.status.${r.status}`)],
              ] as const
            ).map(([k, v]) => (
              <div key={k}>
                <Text component="dt" size="xs" c="dimmed">
                  {k}
                </Text>
                <Text component="dd" m={0} size="sm" style={{ overflowWrap: 'anywhere' }}>
                  {v}
                </Text>
              </div>
            ))}
          </SimpleGrid>
          {r.sections.length > 0 && (
            <>
              <Title order={2} size="h3">
                {t('restore.sectionsTitle')}
              </Title>
              <Table.ScrollContainer minWidth={600}>
                <Table verticalSpacing="sm" data-testid="restore-sections">
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th scope="col">{t('restore.col3.section')}</Table.Th>
                      <Table.Th scope="col">{t('restore.col3.status')}</Table.Th>
                      <Table.Th scope="col" ta="right">{t('restore.col3.inserted')}</Table.Th>
                      <Table.Th scope="col" ta="right">{t('restore.col3.deleted')}</Table.Th>
                      <Table.Th scope="col" ta="right">{t('restore.col3.files')}</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {r.sections.map((s) => (
                      <Table.Tr key={s.name} data-testid="restore-section" data-section={s.name} data-status={s.status}>
                        <Table.Th scope="row">{s.name ? t(`restore.sections.${s.name}`) : '–'}</Table.Th>
                        <Table.Td>{s.status}</Table.Td>
                        <Table.Td ta="right">{s.counts?.rowsInserted ?? 0}</Table.Td>
                        <Table.Td ta="right">{s.counts?.rowsDeleted ?? 0}</Table.Td>
                        <Table.Td ta="right">{s.counts?.filesWritten ?? 0}</Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
            </>
          )}
          {r.safetyBackup && (
            <Text size="sm" style={{ overflowWrap: 'anywhere' }} data-testid="restore-safety">
              {t('restore.safety', { path: r.safetyBackup.path ?? '', size: formatBytes(r.safetyBackup.size ?? 0, i18n.language), sha: (r.safetyBackup.sha256 ?? '').slice(0, 16) })}
            </Text>
          )}
          {r.preview && r.previewResult && <PreviewView preview={r.previewResult} zone={zone} />}
        </>
      )}
    </Stack>
  );
}
