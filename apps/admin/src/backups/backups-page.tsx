import { Alert, Badge, Button, Group, Pagination, Stack, Table, Text, Title, Tooltip } from '@mantine/core';
import { IconPencil, IconPlayerPlay, IconPlus, IconCalendarPlus, IconTrash } from '@tabler/icons-react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { api, unwrap, type Configuration } from '../api/client';
import { useSession } from '../auth/session';
import { formatInZone, relativeTime } from '../format';
import { DeleteDialog } from './delete-dialog';
import { BADGE_STYLES, RunStatusBadge } from './run-status-badge';

const LIMIT = 20;

function LastRun({ configurationId }: { configurationId: string }) {
  const runs = useQuery({
    queryKey: ['runs', { configurationId, limit: 1 }],
    queryFn: async () => unwrap(await api.GET('/api/v1/runs', { params: { query: { configurationId, limit: 1 } } })),
  });
  if (!runs.data) return null;
  const last = runs.data.items[0];
  return <RunStatusBadge status={last ? last.status : 'never'} />;
}

function NextRun({ c }: { c: Configuration }) {
  const { t, i18n } = useTranslation();
  if (!c.nextRunAt) return <Text size="sm" c="dimmed">{t('backups.manualNext')}</Text>;
  return (
    <Tooltip label={relativeTime(c.nextRunAt, i18n.language)}>
      <Text size="sm" tabIndex={0} style={{ whiteSpace: 'nowrap' }}>
        {formatInZone(c.nextRunAt, c.timezone, i18n.language)}
      </Text>
    </Tooltip>
  );
}

/** Backup configurations: list, create (wizard), edit, delete, run now. */
export function BackupsPage() {
  const { t } = useTranslation();
  const session = useSession();
  const [params, setParams] = useSearchParams();
  const page = Math.max(1, Number(params.get('page')) || 1);
  const [deleting, setDeleting] = useState<Configuration | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ['backup-configurations', page],
    queryFn: async () => unwrap(await api.GET('/api/v1/backup-configurations', { params: { query: { page, limit: LIMIT } } })),
  });
  const runNow = useMutation({
    mutationFn: async (c: Configuration) => {
      unwrap(await api.POST('/api/v1/backup-configurations/{id}/runs', { params: { path: { id: c.id } } }));
      return c.name;
    },
    onSuccess: (name) => {
      setMessage(t('backups.runStarted', { name }));
      void list.refetch();
    },
  });
  const canWrite = session.can('configurations.write');
  const pages = list.data ? Math.max(1, Math.ceil(list.data.total / LIMIT)) : 1;

  return (
    <Stack>
      <Group justify="space-between" wrap="wrap">
        <Title order={1} size="h2">
          {t('backups.title')}
        </Title>
        {canWrite && (
          <Group gap="sm">
            <Button variant="default" component={Link} to="/backups/new?interval=daily" leftSection={<IconCalendarPlus size={16} aria-hidden />}>
              {t('backups.newSchedule')}
            </Button>
            <Button component={Link} to="/backups/new" leftSection={<IconPlus size={16} aria-hidden />}>
              {t('backups.create')}
            </Button>
          </Group>
        )}
      </Group>
      <div role="status" aria-live="polite">
        {message && (
          <Alert color="green" withCloseButton onClose={() => setMessage(null)} closeButtonLabel={t('common.close')}>
            {message}
          </Alert>
        )}
      </div>
      {(list.error || runNow.error) && (
        <Alert color="red" role="alert">
          {t('common.error', { message: (list.error ?? runNow.error)?.message })}
        </Alert>
      )}
      {list.isPending && <Text>{t('common.loading')}</Text>}
      {list.data && list.data.items.length === 0 && (
        <Stack align="flex-start">
          <Text>{t('backups.empty')}</Text>
        </Stack>
      )}
      {list.data && list.data.items.length > 0 && (
        <Table.ScrollContainer minWidth={900}>
          <Table striped highlightOnHover verticalSpacing="xs">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">{t('backups.col.name')}</Table.Th>
                <Table.Th scope="col">{t('backups.col.interval')}</Table.Th>
                <Table.Th scope="col">{t('backups.col.nextRun')}</Table.Th>
                <Table.Th scope="col">{t('backups.col.lastRun')}</Table.Th>
                <Table.Th scope="col">{t('backups.col.destinations')}</Table.Th>
                <Table.Th scope="col">{t('backups.col.actions')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.data.items.map((c) => (
                <Table.Tr key={c.id} data-testid="configuration-row">
                  <Table.Th scope="row" fw={600}>
                    {c.name}
                  </Table.Th>
                  <Table.Td>{t(`interval.${c.interval}`)}</Table.Td>
                  <Table.Td>
                    <NextRun c={c} />
                  </Table.Td>
                  <Table.Td>
                    <LastRun configurationId={c.id} />
                  </Table.Td>
                  <Table.Td>
                    <Group gap={4}>
                      {c.destinations.map((d) => (
                        <Badge key={d.id} variant="outline" color="gray" size="sm" styles={BADGE_STYLES}>
                          {t(`destination.${d.type}`)}
                        </Badge>
                      ))}
                    </Group>
                  </Table.Td>
                  <Table.Td>
                    <Group gap={6} wrap="nowrap" role="group" aria-label={t('backups.actionsFor', { name: c.name })}>
                      {session.can('runs.start') && (
                        <Button size="compact-sm" variant="light" leftSection={<IconPlayerPlay size={14} aria-hidden />} onClick={() => runNow.mutate(c)} loading={runNow.isPending && runNow.variables?.id === c.id}>
                          {t('backups.runNow')}
                        </Button>
                      )}
                      {canWrite && (
                        <Button size="compact-sm" variant="default" component={Link} to={`/backups/${c.id}/edit`} leftSection={<IconPencil size={14} aria-hidden />}>
                          {t('backups.edit')}
                        </Button>
                      )}
                      {canWrite && (
                        <Button size="compact-sm" variant="subtle" color="red" leftSection={<IconTrash size={14} aria-hidden />} onClick={() => setDeleting(c)}>
                          {t('backups.delete')}
                        </Button>
                      )}
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {pages > 1 && <Pagination total={pages} value={page} onChange={(p) => setParams({ page: String(p) })} aria-label={t('backups.pageOf', { page, pages })} />}
      {deleting && (
        <DeleteDialog
          configuration={deleting}
          onClose={() => setDeleting(null)}
          onDeleted={(name) => {
            setDeleting(null);
            setMessage(t('backups.deleted', { name }));
          }}
        />
      )}
    </Stack>
  );
}
