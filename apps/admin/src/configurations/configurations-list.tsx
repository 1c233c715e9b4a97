import { Button, Group, Stack, Text, TextInput, Title } from '@mantine/core';
import { IconCalendarPlus, IconPencil, IconPlayerPlay, IconPlus, IconSearch, IconTrash } from '@tabler/icons-react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { memo, useDeferredValue, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import type { Configuration } from '../api/client';
import { useSession } from '../auth/session';
import { DeleteDialog } from '../backups/delete-dialog';
import { StatusIcon } from '../backups/run-status-badge';
import { DataTable, QueryState } from '../common/query-state';
import { formatInZone, relativeTime } from '../format';
import { KIND, listAll, listKey, runNow, type Kind } from './kinds';
import { ActionFeedback } from '../common/action-feedback';

/** Words that differ between the kinds' lists. */
const WORDS = {
  backup: { title: 'backups.title', empty: 'backups.empty', create: 'backups.create', newSchedule: 'backups.newSchedule', started: 'backups.runStarted' },
  archive: { title: 'archiving.title', empty: 'archiving.empty', create: 'archiving.create', newSchedule: 'archiving.newSchedule', started: 'archiving.runStarted' },
} as const;

interface RowProps {
  c: Configuration;
  kind: Kind;
  language: string;
  canRun: boolean;
  canWrite: boolean;
  running: boolean;
  onRun(c: Configuration): void;
  onDelete(c: Configuration): void;
}

/**
 * One configuration, in plain elements styled by app.css (.config-row): Mantine's Button, Badge
 * and Table cells cost too much 500 times over (bench/ui: 1.3 s of rendering). Memoised, and no
 * tooltip per row: the next run's relative time is the cell's title.
 */
const Row = memo(function Row({ c, kind, language, canRun, canWrite, running, onRun, onDelete }: RowProps) {
  const { t } = useTranslation();
  const path = `${KIND[kind].path}/${c.id}`;
  const status = c.lastRun?.status ?? 'never';
  return (
    <tr data-testid="configuration-row" className="config-row">
      <th scope="row">
        <Link to={path}>{c.name}</Link>
      </th>
      <td>{t(`interval.${c.interval}`)}</td>
      <td className="nowrap" title={c.nextRunAt ? relativeTime(c.nextRunAt, language) : undefined}>
        {c.nextRunAt ? formatInZone(c.nextRunAt, c.timezone, language) : <span className="dimmed">{t('backups.manualNext')}</span>}
      </td>
      <td>
        <span className={`chip status-${status}`} data-status={status}>
          <StatusIcon status={status} />
          {t(`status.${status}`)}
        </span>
      </td>
      <td>
        <span className="chips">
          {c.destinations.map((d) => (
            <span key={d.id} className="chip outline">
              {t(`destination.${d.type}`)}
            </span>
          ))}
        </span>
      </td>
      <td>
        <span className="row-actions" role="group" aria-label={t('backups.actionsFor', { name: c.name })}>
          {canRun && (
            <button type="button" className="row-action run" onClick={() => onRun(c)} disabled={running} aria-busy={running || undefined}>
              <IconPlayerPlay size={14} aria-hidden />
              {t('backups.runNow')}
            </button>
          )}
          {canWrite && (
            <Link className="row-action" to={`${path}/edit`}>
              <IconPencil size={14} aria-hidden />
              {t('backups.edit')}
            </Link>
          )}
          {canWrite && (
            <button type="button" className="row-action danger" onClick={() => onDelete(c)}>
              <IconTrash size={14} aria-hidden />
              {t('backups.delete')}
            </button>
          )}
        </span>
      </td>
    </tr>
  );
});

/** Backup or archive configurations: every one (filterable by name), create, edit, delete, run now. */
export function ConfigurationsList({ kind }: { kind: Kind }) {
  const { t, i18n } = useTranslation();
  const session = useSession();
  const words = WORDS[kind];
  const [deleting, setDeleting] = useState<Configuration | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  // The filter stays in the URL, so a link shows the same view.
  const [params, setParams] = useSearchParams();
  const search = params.get('q') ?? '';
  const setSearch = (q: string) => setParams(q ? { q } : {}, { replace: true });
  const needle = useDeferredValue(search.trim().toLocaleLowerCase());
  const list = useQuery({ queryKey: listKey(kind), queryFn: () => listAll(kind) });
  const run = useMutation({
    mutationFn: async (c: Configuration) => {
      await runNow(kind, c.id);
      return c.name;
    },
    onSuccess: (name) => {
      setMessage(t(words.started, { name }));
      void list.refetch();
    },
  });
  const shown = useMemo(() => (list.data && needle ? list.data.filter((c) => c.name.toLocaleLowerCase().includes(needle)) : list.data), [list.data, needle]);
  const canWrite = session.can('configurations.write');
  const canRun = session.can('runs.start');
  const base = KIND[kind].path;

  return (
    <Stack>
      <Group justify="space-between" wrap="wrap">
        <Title order={1} size="h2">
          {t(words.title)}
        </Title>
        {canWrite && (
          <Group gap="sm">
            <Button variant="default" component={Link} to={`${base}/new?interval=daily`} leftSection={<IconCalendarPlus size={16} aria-hidden />}>
              {t(words.newSchedule)}
            </Button>
            <Button component={Link} to={`${base}/new`} leftSection={<IconPlus size={16} aria-hidden />}>
              {t(words.create)}
            </Button>
          </Group>
        )}
      </Group>
      <ActionFeedback message={message} onClose={() => setMessage(null)} error={run.error} />
      <QueryState query={list} isEmpty={(items) => items.length === 0} empty={t(words.empty)}>
        {(items) => (
          <>
            <Group justify="space-between" align="flex-end" wrap="wrap">
              <TextInput
                label={t('configurations.search')}
                leftSection={<IconSearch size={14} aria-hidden />}
                value={search}
                onChange={(e) => setSearch(e.currentTarget.value)}
                w={280}
                type="search"
                autoComplete="off"
              />
              <Text size="sm" c="dimmed" aria-live="polite" data-testid="configuration-count">
                {t('configurations.count', { count: shown?.length ?? 0, total: items.length })}
              </Text>
            </Group>
            <DataTable
              testId="configurations-table"
              columns={[t('backups.col.name'), t('backups.col.interval'), t('backups.col.nextRun'), t('backups.col.lastRun'), t('backups.col.destinations'), t('backups.col.actions')]}
            >
              {(shown ?? []).map((c) => (
                <Row
                  key={c.id}
                  c={c}
                  kind={kind}
                  language={i18n.language}
                  canRun={canRun}
                  canWrite={canWrite}
                  running={run.isPending && run.variables?.id === c.id}
                  onRun={run.mutate}
                  onDelete={setDeleting}
                />
              ))}
            </DataTable>
          </>
        )}
      </QueryState>
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
