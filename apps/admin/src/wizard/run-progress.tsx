import { Alert, Badge, Button, Group, Progress, Stack, Table, Text, Title } from '@mantine/core';
import { IconDownload } from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, tokenStore, unwrap, type DestinationType, type Run } from '../api/client';
import { DeliveryCodeText, TechnicalDetail } from '../pages/runs/delivery-text';
import { useCodeText } from '../pages/runs/labels';
import { useRunEvents } from '../pages/runs/use-run-events';
import { useSession } from '../auth/session';
import { BADGE_STYLES, RunStatusBadge } from '../backups/run-status-badge';
import { formatBytes } from '../format';

const FINAL: ReadonlyArray<Run['status']> = ['succeeded', 'partially_failed', 'failed'];

function phaseProgress(run: Run): number {
  if (run.status === 'succeeded') return 100;
  if (run.status === 'dispatching') return 80;
  const p = run.progress;
  if (run.status === 'packing' && p?.entriesTotal) return Math.min(75, Math.round((75 * (p.entriesDone ?? 0)) / p.entriesTotal));
  return run.status === 'packing' ? 10 : 3;
}

/** A started run: phase, bytes, one row per destination, then Download. */
export function RunProgress({ runId }: { runId: string }) {
  const { t, i18n } = useTranslation();
  const session = useSession();
  const queries = useQueryClient();
  const [downloadError, setDownloadError] = useState<string | null>(null);
  // The run page's events reader: one implementation of the stream, its reconnects and the polling fallback.
  const live = useRunEvents(runId);
  const codeText = useCodeText();
  const run = useQuery({
    queryKey: ['run', runId],
    queryFn: async () => unwrap(await api.GET('/api/v1/runs/{id}', { params: { path: { id: runId } } })),
    refetchInterval: (q) => (q.state.data && FINAL.includes(q.state.data.status) ? false : live.streaming ? false : 1000),
  });
  // Each new status (and each delivery's) brings facts the events do not carry: read the run again.
  const liveKey = `${live.status?.status ?? ''}|${live.deliveries.map((d) => d.status).join(',')}|${live.progress?.phase ?? ''}`;
  useEffect(() => {
    if (liveKey !== '||') void queries.invalidateQueries({ queryKey: ['run', runId] });
  }, [liveKey, runId, queries]);
  const r = run.data;

  async function download() {
    setDownloadError(null);
    // The download needs the bearer token, so it is fetched and handed to the browser as a blob.
    const res = await fetch(`/api/v1/runs/${runId}/download`, { headers: { Authorization: `Bearer ${tokenStore.get() ?? ''}` } });
    if (!res.ok) return setDownloadError(`HTTP ${res.status}`);
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = r?.artifact?.fileName ?? `${runId}.sar`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  return (
    <Stack data-testid="run-progress">
      <Title order={2} size="h3">
        {t('progress.title')}
      </Title>
      {r && (
        <>
          <Group gap="sm" role="status" aria-live="polite">
            <RunStatusBadge status={r.status} />
            <Text size="sm">{t('progress.phase', { phase: t(`status.${r.status}`) })}</Text>
            {r.progress && <Text size="sm">{t('progress.bytes', { bytes: formatBytes(r.progress.bytes ?? 0, i18n.language) })}</Text>}
          </Group>
          <Progress value={live.progress?.percent ?? phaseProgress(r)} animated={!FINAL.includes(r.status)} aria-label={t('progress.title')} color={r.status === 'failed' ? 'red' : 'blue'} />
          {r.deliveries.length > 0 && (
            <Table captionSide="top">
              <Table.Caption>{t('progress.deliveries')}</Table.Caption>
              <Table.Tbody>
                {r.deliveries.map((d, i) => (
                  <Table.Tr key={d.destinationId ?? i}>
                    <Table.Th scope="row">{d.type ? t(`destination.${d.type as DestinationType}`, { defaultValue: d.type }) : ''}</Table.Th>
                    <Table.Td>
                      <Badge variant="light" color={d.status === 'succeeded' ? 'green' : d.status === 'failed' ? 'red' : 'gray'} styles={BADGE_STYLES}>
                        {d.status ? t(`status.${d.status}`) : ''}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      {codeText(d.code) ? <DeliveryCodeText text={codeText(d.code)} status={d.status} /> : !d.error && d.target}
                      <TechnicalDetail error={d.error} />
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
          {r.error && <Alert color="red">{t('progress.error', { error: r.error })}</Alert>}
          <Group>
            {r.status === 'succeeded' && r.artifact && !r.artifact.removedAt && session.can('runs.download') && (
              <Button onClick={() => void download()} leftSection={<IconDownload size={16} aria-hidden />}>
                {t('progress.download')}
              </Button>
            )}
            <Button variant="default" component={Link} to="/backups">
              {t('progress.done')}
            </Button>
          </Group>
          {downloadError && <Alert color="red">{downloadError}</Alert>}
        </>
      )}
    </Stack>
  );
}
