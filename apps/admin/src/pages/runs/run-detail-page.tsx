import { Alert, Anchor, Badge, Button, Group, Modal, Paper, Progress, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { IconBan, IconBroadcast, IconDownload, IconRestore, IconShieldCheck } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { api, tokenStore, unwrap, type Run } from '../../api/client';
import { useSession } from '../../auth/session';
import { RunStatusBadge } from '../../backups/run-status-badge';
import { BackLink } from '../../common/back-link';
import { DataTable } from '../../common/query-state';
import { formatBytes, formatInZone, relativeTime } from '../../format';
import { DeliveryCodeText, TechnicalDetail } from './delivery-text';
import { destinationLabel, useCodeText } from './labels';
import { useRunEvents, type RunDeliveryEvent, type RunProgressEvent } from './use-run-events';

const FINAL: ReadonlyArray<Run['status']> = ['succeeded', 'partially_failed', 'failed', 'cancelled'];

/** A delivery as the stream shows it, or (before the first event, or polling) as GET /runs/:id has it. */
function deliveriesOf(run: Run | undefined, live: RunDeliveryEvent[]): RunDeliveryEvent[] {
  if (live.length) return live;
  return (run?.deliveries ?? []).map((d) => ({
    id: d.destinationId ?? '',
    destinationId: d.destinationId ?? '',
    type: d.type as RunDeliveryEvent['type'],
    target: d.target ?? '',
    status: (d.status ?? 'pending') as RunDeliveryEvent['status'],
    attempts: d.attempts ?? 0,
    bytesDone: d.status === 'succeeded' ? (run?.artifact?.size ?? 0) : (d.bytesSent ?? 0),
    bytesTotal: run?.artifact?.size ?? null,
    code: (d.code ?? null) as RunDeliveryEvent['code'],
    error: d.error ?? null,
    nextAttemptAt: d.nextAttemptAt ?? null,
    heldUntil: d.heldUntil ?? null,
  }));
}

function RunProgressBar({ progress, status }: { progress: RunProgressEvent | undefined; status: Run['status'] }) {
  const { t, i18n } = useTranslation();
  const phase = progress?.phase ?? (FINAL.includes(status) ? 'done' : status === 'dispatching' ? 'delivering' : status === 'packing' ? 'packing' : status === 'deferred' ? 'deferred' : 'queued');
  // A run that ended without its file everywhere is not "100 %": no number then, and the status in words.
  const ended = status === 'cancelled' || status === 'failed';
  const percent = ended && phase === 'done' ? null : (progress?.percent ?? (phase === 'done' ? 100 : null));
  const title = ended && phase === 'done' ? t(`run.ended.${status}`) : t(`run.phase.${phase}`);
  const bytes =
    phase === 'packing' && progress
      ? t('run.packed', { bytes: formatBytes(progress.bytesDone, i18n.language) })
      : progress?.bytesTotal
        ? t('run.delivered', { done: formatBytes(progress.bytesDone, i18n.language), total: formatBytes(progress.bytesTotal, i18n.language) })
        : '';
  const color = status === 'failed' ? 'red' : status === 'partially_failed' ? 'orange' : status === 'cancelled' ? 'gray' : phase === 'done' ? 'green' : 'blue';
  return (
    <Stack gap={6} data-testid="run-live-progress" data-phase={phase}>
      <Group justify="space-between" wrap="wrap">
        <Text fw={600}>{title}</Text>
        <Text size="sm" data-testid="run-bytes">
          {bytes}
          {percent !== null && ` · ${percent} %`}
        </Text>
      </Group>
      {/* The section is the progressbar: the label and value text belong there, not on the wrapper. */}
      <Progress.Root size="lg">
        <Progress.Section
          value={percent ?? 100}
          animated={percent === null && phase !== 'done'}
          striped={percent === null && phase !== 'done'}
          color={color}
          aria-label={t('run.progressLabel')}
          aria-valuetext={`${title} ${bytes}`}
        />
      </Progress.Root>
    </Stack>
  );
}

function DeliveryState({ status }: { status: RunDeliveryEvent['status'] }) {
  const { t } = useTranslation();
  const color = status === 'succeeded' ? 'green' : status === 'failed' ? 'red' : status === 'running' ? 'blue' : 'gray';
  return (
    <Badge variant="light" color={color} styles={{ label: { color: 'var(--mantine-color-dark-9)' } }} data-status={status}>
      {t(`run.deliveryStatus.${status}`)}
    </Badge>
  );
}

async function downloadArtifact(runId: string, fileName: string): Promise<void> {
  // The bearer token is a header, so the file is fetched and handed to the browser as a blob.
  const res = await fetch(`/api/v1/runs/${encodeURIComponent(runId)}/download`, { headers: { Authorization: `Bearer ${tokenStore.get() ?? ''}` } });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** One run: live progress (server-sent events; polling while the stream is down), per-destination results in words, Download. */
export function RunDetailPage() {
  const { id = '' } = useParams();
  const { t, i18n } = useTranslation();
  const session = useSession();
  const zone = session.me?.timezone ?? 'UTC';
  const queries = useQueryClient();
  const live = useRunEvents(id);
  const codeText = useCodeText();
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const [downloading, setDownloading] = useState(false);
  const run = useQuery({
    queryKey: ['run', id],
    queryFn: async () => unwrap(await api.GET('/api/v1/runs/{id}', { params: { path: { id } } })),
    refetchInterval: (q) => (q.state.data && FINAL.includes(q.state.data.status) ? false : live.fallback ? 3000 : false),
  });
  // A new status brings facts the events do not carry (times, the archive): read the run again.
  const liveStatus = live.status?.status;
  useEffect(() => {
    if (liveStatus) void queries.invalidateQueries({ queryKey: ['run', id] });
  }, [liveStatus, id, queries]);

  const verify = useMutation({
    mutationFn: async () => unwrap(await api.POST('/api/v1/runs/{id}/verify', { params: { path: { id } } })),
    onSuccess: () => {
      void queries.invalidateQueries({ queryKey: ['run', id] });
      // The read-back runs in the background: look again for a while.
      for (const ms of [2000, 5000, 10_000]) setTimeout(() => void queries.invalidateQueries({ queryKey: ['run', id] }), ms);
    },
  });
  const [confirmCancel, setConfirmCancel] = useState(false);
  const cancel = useMutation({
    mutationFn: async () => unwrap(await api.POST('/api/v1/runs/{id}/cancel', { params: { path: { id } } })),
    onSuccess: () => {
      setConfirmCancel(false);
      void queries.invalidateQueries({ queryKey: ['run', id] });
      // The worker stops at its next safe point: look again while it cleans up.
      for (const ms of [2000, 5000]) setTimeout(() => void queries.invalidateQueries({ queryKey: ['run', id] }), ms);
    },
  });
  const r = run.data;
  const verificationOf = (destinationId: string) => r?.deliveries.find((d) => d.destinationId === destinationId)?.verification ?? null;
  const status = live.status?.status ?? r?.status ?? 'queued';
  const error = live.status ? live.status.error : (r?.error ?? null);
  const deliveries = deliveriesOf(r, live.deliveries);
  const when = (iso: string | null | undefined) => (iso ? formatInZone(iso, zone, i18n.language) : '–');
  const canDownload = session.can('runs.download') && r?.artifact && !r.artifact.removedAt && FINAL.includes(status) && status !== 'failed';
  // Restore from the run's own file while it is kept, or from a copy a destination holds (restore page, preselected).
  // A safety run's file is the PBX before a restore: restoring it undoes that restore.
  const canRestore = session.can('restores.start') && (r?.kind === 'backup' || r?.kind === 'safety');
  const copyLink = (destinationId: string) => {
    const location = r?.deliveries.find((x) => x.destinationId === destinationId && x.status === 'succeeded')?.location;
    const file = location?.split('/').pop();
    return canRestore && file && r?.configurationId ? `/restore/new?${new URLSearchParams({ configurationId: r.configurationId, destinationId, file })}` : null;
  };

  return (
    <Stack>
      <BackLink to="/runs">{t('run.back')}</BackLink>
      {run.error && (
        <Alert color="red" role="alert">
          {t('common.error', { message: run.error.message })}
        </Alert>
      )}
      {!r && run.isPending && <Text>{t('common.loading')}</Text>}
      {r && (
        <>
          <Group justify="space-between" wrap="wrap">
            <Group gap="sm" wrap="wrap">
              <Title order={1} size="h2">
                {t('run.title', { name: r.configurationName })}
              </Title>
              <RunStatusBadge status={status} testId="run-status" />
              {live.streaming && (
                <Badge variant="outline" color="gray" leftSection={<IconBroadcast size={12} aria-hidden />} styles={{ label: { color: 'var(--mantine-color-dark-9)' } }} data-testid="live-badge">
                  {t('run.live')}
                </Badge>
              )}
            </Group>
            <Group gap="sm">
              {session.can('runs.cancel') && !FINAL.includes(status) && (
                <Button variant="light" color="red" leftSection={<IconBan size={16} aria-hidden />} onClick={() => setConfirmCancel(true)}>
                  {t('run.cancel')}
                </Button>
              )}
              {session.can('runs.verify') && FINAL.includes(status) && deliveries.some((d) => d.status === 'succeeded') && (
                <Button variant="default" leftSection={<IconShieldCheck size={16} aria-hidden />} loading={verify.isPending} onClick={() => verify.mutate()}>
                  {t('run.verify')}
                </Button>
              )}
              {canRestore && canDownload && (
                <Button variant="default" component={Link} to={`/restore/new?runId=${r.id}`} leftSection={<IconRestore size={16} aria-hidden />}>
                  {t('restore.restoreFromHere')}
                </Button>
              )}
              {canDownload && (
                <Button
                  leftSection={<IconDownload size={16} aria-hidden />}
                  loading={downloading}
                  onClick={() => {
                    setDownloadError(null);
                    setDownloading(true);
                    downloadArtifact(r.id, r.artifact?.fileName ?? `${r.id}.sar`)
                      .catch((err: Error) => setDownloadError(err.message))
                      .finally(() => setDownloading(false));
                  }}
                >
                  {t('run.download')}
                </Button>
              )}
            </Group>
          </Group>
          {confirmCancel && (
            <Modal opened onClose={() => setConfirmCancel(false)} title={t('run.cancelTitle')} closeButtonProps={{ 'aria-label': t('common.close') }}>
              <Stack>
                <Text>{t(status === 'dispatching' ? 'run.cancelTextDelivering' : 'run.cancelText')}</Text>
                {cancel.error && (
                  <Alert color="red" role="alert">
                    {t('common.error', { message: cancel.error.message })}
                  </Alert>
                )}
                <Group justify="flex-end">
                  <Button variant="default" onClick={() => setConfirmCancel(false)}>
                    {t('run.cancelKeep')}
                  </Button>
                  <Button color="red" loading={cancel.isPending} onClick={() => cancel.mutate()}>
                    {t('run.cancelConfirm')}
                  </Button>
                </Group>
              </Stack>
            </Modal>
          )}
          {verify.isSuccess && (
            <Alert color="blue" role="status">
              {t('run.verifyStarted')}
            </Alert>
          )}
          {verify.error && (
            <Alert color="red" role="alert">
              {t('common.error', { message: verify.error.message })}
            </Alert>
          )}
          {live.fallback && !FINAL.includes(status) && (
            <Text size="sm" c="dimmed" role="status">
              {t('run.polling')}
            </Text>
          )}
          {downloadError && (
            <Alert color="red" role="alert">
              {t('run.downloadFailed', { message: downloadError })}
            </Alert>
          )}
          {r.artifact?.removedAt && <Text size="sm">{t('run.downloadGone')}</Text>}
          <Paper withBorder p="md">
            <RunProgressBar progress={live.progress} status={status} />
          </Paper>
          {error && (
            <Alert color="red" role="alert" data-testid="run-error">
              {t('run.error', { error })}
            </Alert>
          )}
          <SimpleGrid cols={{ base: 1, sm: 2, lg: 4 }} spacing="xs" component="dl" data-testid="run-facts">
            {(
              [
                ['kind', t(`runs.kinds.${r.kind}`)],
                ['trigger', t(`runs.triggers.${r.trigger}`)],
                ['created', when(r.createdAt)],
                ['started', when(r.startedAt)],
                ['finished', when(r.finishedAt)],
                ['file', r.artifact?.fileName ?? '–'],
                ['size', r.artifact?.size != null ? formatBytes(r.artifact.size, i18n.language) : '–'],
                ...(r.deferredUntil && status === 'deferred' ? [['deferredUntil', when(r.deferredUntil)] as const] : []),
              ] as const
            ).map(([key, value]) => (
              <div key={key}>
                <Text component="dt" size="xs" c="dimmed">
                  {t(`run.facts.${key}`)}
                </Text>
                <Text component="dd" m={0} size="sm" style={{ overflowWrap: 'anywhere' }}>
                  {value}
                </Text>
              </div>
            ))}
          </SimpleGrid>
          <Title order={2} size="h3">
            {t('run.deliveries')}
          </Title>
          {deliveries.length === 0 ? (
            <Text size="sm">{t(FINAL.includes(status) ? 'run.noDeliveriesFinal' : 'run.noDeliveries')}</Text>
          ) : (
            <DataTable
              testId="run-deliveries"
              minWidth={800}
              striped={false}
              highlightOnHover={false}
              verticalSpacing="sm"
              columns={[t('run.col.destination'), t('run.col.state'), t('run.col.progress'), t('run.col.attempts'), t('run.col.result')]}
            >
              {deliveries.map((d) => {
                const text = codeText(d.code);
                const pct = d.bytesTotal ? Math.min(100, Math.floor((d.bytesDone * 100) / d.bytesTotal)) : null;
                return (
                  <Table.Tr key={d.id} data-testid="delivery-row" data-status={d.status} data-code={d.code ?? ''}>
                    <Table.Th scope="row">
                      <Text fw={600} size="sm">
                        {destinationLabel(t, d.type)}
                      </Text>
                      <Text size="xs" c="dimmed" style={{ overflowWrap: 'anywhere' }}>
                        {d.target}
                      </Text>
                    </Table.Th>
                    <Table.Td>
                      <DeliveryState status={d.status} />
                    </Table.Td>
                    <Table.Td miw={160}>
                      <Progress.Root size="sm">
                        <Progress.Section value={pct ?? 0} color={d.status === 'failed' ? 'red' : 'blue'} aria-label={`${destinationLabel(t, d.type)} ${pct ?? 0} %`} />
                      </Progress.Root>
                      <Text size="xs">
                        {formatBytes(d.bytesDone, i18n.language)}
                        {d.bytesTotal ? ` / ${formatBytes(d.bytesTotal, i18n.language)}` : ''}
                      </Text>
                    </Table.Td>
                    <Table.Td>{d.attempts}</Table.Td>
                    <Table.Td maw={420}>
                      <DeliveryCodeText text={text} status={d.status} />
                      {d.nextAttemptAt && d.status === 'pending' && (
                        <Text size="sm">{t('run.nextAttempt', { when: `${relativeTime(d.nextAttemptAt, i18n.language)} (${when(d.nextAttemptAt)})` })}</Text>
                      )}
                      {d.heldUntil && d.status === 'waiting' && (
                        <Text size="sm" data-testid="delivery-held-until">{t('run.heldUntil', { when: `${relativeTime(d.heldUntil, i18n.language)} (${when(d.heldUntil)})` })}</Text>
                      )}
                      {(() => {
                        const v = verificationOf(d.destinationId);
                        if (!v) return null;
                        const known = ['verified', 'mismatch', 'missing', 'notVerifiable'] as const;
                        const word = (known as readonly string[]).includes(v.result)
                          ? t(`run.verificationResult.${v.result as (typeof known)[number]}`)
                          : (codeText(v.result)?.sentence ?? v.result);
                        return (
                          <Text size="sm" data-testid="delivery-verification" data-result={v.result}>
                            {t('run.verification', { result: word })}
                          </Text>
                        );
                      })()}
                      {copyLink(d.destinationId) && (
                        <Anchor component={Link} to={copyLink(d.destinationId) ?? ''} size="sm" data-testid="restore-copy-link">
                          {t('restore.restoreFromCopy')}
                        </Anchor>
                      )}
                      <TechnicalDetail error={d.error} />
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </DataTable>
          )}
        </>
      )}
    </Stack>
  );
}
