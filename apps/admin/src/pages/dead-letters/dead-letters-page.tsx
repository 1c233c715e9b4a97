import { Alert, Badge, Button, Checkbox, Group, Modal, Stack, Table, Text, TextInput, Title, Tooltip } from '@mantine/core';
import { IconPlayerPlay, IconTrash } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { api, unwrap, type Schemas } from '../../api/client';
import { useSession } from '../../auth/session';
import { Pager } from '../../common/pager';
import { DataTable, QueryState } from '../../common/query-state';
import { useUrlPagination } from '../../common/use-url-pagination';
import { formatInZone, relativeTime } from '../../format';
import { ActionFeedback } from '../../common/action-feedback';

type DeadLetter = Schemas['DeadLetter'];
type FilterName = 'queue' | 'type' | 'runId';
const LIMIT = 20;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What a confirmation dialog is about to do. */
type Pending =
  | { kind: 'replayOne' | 'discardOne'; letter: DeadLetter }
  | { kind: 'replayMany' | 'discardMany'; filter: Partial<Record<FilterName, string>>; open: number; exact: boolean };

const stateOf = (d: DeadLetter): 'open' | 'replayed' | 'discarded' => (d.discardedAt ? 'discarded' : d.replayedAt ? 'replayed' : 'open');

/** Dead letters (operators): list with reason and age; replay or discard one, or every open one matching the filter. */
export function DeadLettersPage() {
  const { t, i18n } = useTranslation();
  const session = useSession();
  const zone = session.me?.timezone ?? 'UTC';
  const queries = useQueryClient();
  const [params, setParams] = useSearchParams();
  const paging = useUrlPagination(LIMIT);
  const { page } = paging;
  const filter: Partial<Record<FilterName, string>> = {};
  for (const name of ['queue', 'type', 'runId'] as const) {
    const v = params.get(name)?.trim();
    if (v && (name !== 'runId' || UUID.test(v))) filter[name] = v;
  }
  const includeDiscarded = params.get('includeDiscarded') === 'true';
  const [draft, setDraft] = useState<Record<FilterName, string>>({ queue: params.get('queue') ?? '', type: params.get('type') ?? '', runId: params.get('runId') ?? '' });
  const [pending, setPending] = useState<Pending | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const canManage = session.can('dead-letters.manage');

  const list = useQuery({
    queryKey: ['dead-letters', { page, ...filter, includeDiscarded }],
    queryFn: async () =>
      unwrap(await api.GET('/api/v1/dead-letters', { params: { query: { page, limit: LIMIT, ...filter, includeDiscarded: includeDiscarded || undefined } } })),
  });

  /** How many open letters a bulk action would touch: counted on one large page of the same filter. */
  async function openMatching(): Promise<{ open: number; exact: boolean }> {
    const all = unwrap(await api.GET('/api/v1/dead-letters', { params: { query: { limit: 100, ...filter } } }));
    const open = all.items.filter((d) => stateOf(d) === 'open').length;
    return { open, exact: all.total <= all.items.length };
  }

  const act = useMutation({
    mutationFn: async (p: Pending): Promise<string> => {
      switch (p.kind) {
        case 'replayOne':
          unwrap(await api.POST('/api/v1/dead-letters/{id}/replay', { params: { path: { id: p.letter.id ?? '' } } }));
          return t('deadLetters.replayed', { count: 1 });
        case 'discardOne':
          unwrap(await api.DELETE('/api/v1/dead-letters/{id}', { params: { path: { id: p.letter.id ?? '' } } }));
          return t('deadLetters.discarded', { count: 1 });
        case 'replayMany': {
          // An empty filter would match every open letter: the api wants that said ("all": true).
          const body = Object.keys(p.filter).length ? p.filter : { all: true };
          const r = unwrap(await api.POST('/api/v1/dead-letters/replay', { body }));
          return t('deadLetters.replayed', { count: (r as { replayed?: number }).replayed ?? 0 });
        }
        case 'discardMany': {
          const body = Object.keys(p.filter).length ? p.filter : { all: true };
          const r = unwrap(await api.POST('/api/v1/dead-letters/discard', { body }));
          return t('deadLetters.discarded', { count: (r as { discarded?: number }).discarded ?? 0 });
        }
      }
    },
    onSuccess: async (text) => {
      setPending(null);
      setMessage(text);
      await queries.invalidateQueries({ queryKey: ['dead-letters'] });
    },
  });

  const applyFilter = (e: React.FormEvent) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const [k, v] of Object.entries(draft)) if (v.trim()) next.set(k, v.trim());
    if (includeDiscarded) next.set('includeDiscarded', 'true');
    setParams(next);
  };
  const bulk = async (kind: 'replayMany' | 'discardMany') => {
    act.reset();
    setPending({ kind, filter, ...(await openMatching()) });
  };
  const filterWords = () => {
    const parts = (['queue', 'type', 'runId'] as const).filter((k) => filter[k]).map((k) => `${t(`deadLetters.${k}`)} = ${filter[k]}`);
    return parts.length ? t('deadLetters.filterWith', { parts: parts.join(', ') }) : t('deadLetters.filterAll');
  };

  return (
    <Stack>
      <Group justify="space-between" wrap="wrap">
        <Title order={1} size="h2">
          {t('deadLetters.title')}
        </Title>
        {canManage && (
          <Group gap="sm">
            <Button variant="default" color="red" leftSection={<IconTrash size={16} aria-hidden />} onClick={() => void bulk('discardMany')}>
              {t('deadLetters.discardMatching')}
            </Button>
            <Button leftSection={<IconPlayerPlay size={16} aria-hidden />} onClick={() => void bulk('replayMany')}>
              {t('deadLetters.replayMatching')}
            </Button>
          </Group>
        )}
      </Group>
      <Text size="sm">{t('deadLetters.intro')}</Text>
      <form onSubmit={applyFilter} role="search" aria-label={t('runs.filters')}>
        <Group align="flex-end" gap="sm" wrap="wrap">
          <TextInput label={t('deadLetters.queue')} value={draft.queue} onChange={(e) => setDraft({ ...draft, queue: e.currentTarget.value })} w={220} />
          <TextInput label={t('deadLetters.type')} value={draft.type} onChange={(e) => setDraft({ ...draft, type: e.currentTarget.value })} w={200} />
          <TextInput label={t('deadLetters.runId')} value={draft.runId} onChange={(e) => setDraft({ ...draft, runId: e.currentTarget.value })} w={320} />
          <Button type="submit" variant="default">
            {t('runs.filters')}
          </Button>
          <Checkbox
            label={t('deadLetters.includeDiscarded')}
            checked={includeDiscarded}
            onChange={(e) => {
              const next = new URLSearchParams(params);
              if (e.currentTarget.checked) next.set('includeDiscarded', 'true');
              else next.delete('includeDiscarded');
              next.delete('page');
              setParams(next);
            }}
          />
        </Group>
      </form>
      <ActionFeedback message={message} onClose={() => setMessage(null)} />
      <QueryState query={list} isEmpty={(d) => d.items.length === 0} empty={t('deadLetters.empty')}>
        {(data) => (
          <DataTable
            minWidth={1000}
            highlightOnHover={false}
            columns={[
              t('deadLetters.col.type'),
              t('deadLetters.col.queue'),
              t('deadLetters.col.reason'),
              t('deadLetters.col.age'),
              t('deadLetters.col.attempts'),
              t('deadLetters.col.run'),
              t('deadLetters.col.state'),
              ...(canManage ? [t('deadLetters.col.actions')] : []),
            ]}
          >
            {data.items.map((d) => {
              const state = stateOf(d);
              const failed = d.lastFailedAt ?? d.recordedAt ?? '';
              return (
                <Table.Tr key={d.id} data-testid="dead-letter-row" data-state={state}>
                  <Table.Th scope="row" fw={600}>
                    {d.type ?? '–'}
                  </Table.Th>
                  <Table.Td>{d.queue}</Table.Td>
                  <Table.Td maw={360} style={{ overflowWrap: 'anywhere' }}>
                    <Text size="sm" lineClamp={3} title={d.reason}>
                      {d.reason}
                    </Text>
                  </Table.Td>
                  <Table.Td style={{ whiteSpace: 'nowrap' }}>
                    {failed && (
                      <Tooltip label={formatInZone(failed, zone, i18n.language)}>
                        <Text size="sm" tabIndex={0}>
                          {relativeTime(failed, i18n.language)}
                        </Text>
                      </Tooltip>
                    )}
                  </Table.Td>
                  <Table.Td>{d.attempts}</Table.Td>
                  <Table.Td>{d.runId ? <Link to={`/runs/${d.runId}`}>{d.runId.slice(0, 8)}</Link> : '–'}</Table.Td>
                  <Table.Td>
                    <Badge variant="light" miw="max-content" color={state === 'open' ? 'orange' : 'gray'} styles={{ label: { color: 'var(--mantine-color-dark-9)' } }}>
                      {t(`deadLetters.state.${state}`)}
                    </Badge>
                  </Table.Td>
                  {canManage && (
                    <Table.Td>
                      {state === 'open' && (
                        <Group gap={6} wrap="nowrap" role="group" aria-label={t('deadLetters.actionsFor', { id: d.id })}>
                          <Button size="compact-sm" variant="light" onClick={() => (act.reset(), setPending({ kind: 'replayOne', letter: d }))}>
                            {t('deadLetters.replay')}
                          </Button>
                          <Button size="compact-sm" variant="subtle" color="red" onClick={() => (act.reset(), setPending({ kind: 'discardOne', letter: d }))}>
                            {t('deadLetters.discard')}
                          </Button>
                        </Group>
                      )}
                    </Table.Td>
                  )}
                </Table.Tr>
              );
            })}
          </DataTable>
        )}
      </QueryState>
      <Pager paging={paging} total={list.data?.total} />
      {pending && (
        <ConfirmDialog
          pending={pending}
          filterWords={filterWords()}
          busy={act.isPending}
          error={act.error?.message ?? null}
          onCancel={() => setPending(null)}
          onConfirm={() => act.mutate(pending)}
        />
      )}
    </Stack>
  );
}

/** Says exactly what will happen before a replay or discard (UI.md, dangerous actions). Esc closes. */
function ConfirmDialog(props: { pending: Pending; filterWords: string; busy: boolean; error: string | null; onCancel(): void; onConfirm(): void }) {
  const { t } = useTranslation();
  const p = props.pending;
  const replay = p.kind === 'replayOne' || p.kind === 'replayMany';
  let title: string;
  let text: string;
  let confirm: string;
  if ('letter' in p) {
    const words = { type: p.letter.type ?? '?', queue: p.letter.queue ?? '?' };
    title = t(replay ? 'deadLetters.replayOneTitle' : 'deadLetters.discardOneTitle');
    text = t(replay ? 'deadLetters.replayOneText' : 'deadLetters.discardOneText', words);
    confirm = t(replay ? 'deadLetters.confirmReplay' : 'deadLetters.confirmDiscard');
  } else {
    const count = t(p.exact ? 'deadLetters.countExact' : 'deadLetters.countAtLeast', { count: p.open });
    title = t(replay ? 'deadLetters.replayManyTitle' : 'deadLetters.discardManyTitle');
    text = t(replay ? 'deadLetters.replayManyText' : 'deadLetters.discardManyText', { filter: props.filterWords, count });
    confirm = t(replay ? 'deadLetters.confirmReplayMany' : 'deadLetters.confirmDiscardMany', { count: p.open });
  }
  const nothing = !('letter' in p) && p.exact && p.open === 0;
  return (
    <Modal opened onClose={props.onCancel} title={title} closeButtonProps={{ 'aria-label': t('common.close') }}>
      <Stack>
        <Text size="sm" data-testid="confirm-text">
          {text}
        </Text>
        {props.error && (
          <Alert color="red" role="alert">
            {t('common.error', { message: props.error })}
          </Alert>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={props.onCancel} data-autofocus>
            {t('common.cancel')}
          </Button>
          <Button color={replay ? 'blue' : 'red'} onClick={props.onConfirm} loading={props.busy} disabled={nothing}>
            {confirm}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
