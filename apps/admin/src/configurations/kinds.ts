import { api, unwrap, type Configuration, type Schemas } from '../api/client';

export type Kind = Configuration['kind'];
export type DestinationRequest = Schemas['DestinationRequest'];

/** Where each kind lives in the UI and in the api. */
export const KIND = {
  backup: { path: '/backups', api: '/api/v1/backup-configurations' },
  archive: { path: '/archiving', api: '/api/v1/archive-configurations' },
} as const;

/** The query key of a kind's list; pages that change a configuration invalidate it. */
export const listKey = (kind: Kind) => [`${kind}-configurations`] as const;

// Both kinds share every route (apps/api/src/configurations/configurations.controller-factory.ts)
// and answer the same shapes: the backup paths' types stand for both.
const base = (kind: Kind) => KIND[kind].api as '/api/v1/backup-configurations';
const one = (kind: Kind) => `${KIND[kind].api}/{id}` as '/api/v1/backup-configurations/{id}';

/** The page size the api allows at most; the list reads every page of it. */
const MAX_PAGE = 100;

/** Every configuration of a kind: the first page, then the rest in parallel. */
export async function listAll(kind: Kind): Promise<Configuration[]> {
  const first = unwrap(await api.GET(base(kind), { params: { query: { page: 1, limit: MAX_PAGE } } }));
  const pages = Math.ceil(first.total / MAX_PAGE);
  const rest = await Promise.all(Array.from({ length: Math.max(0, pages - 1) }, (_, i) => api.GET(base(kind), { params: { query: { page: i + 2, limit: MAX_PAGE } } }).then(unwrap)));
  // A configuration created between two pages could show twice: ids are unique.
  const seen = new Set<string>();
  return [first, ...rest].flatMap((p) => p.items).filter((c) => !seen.has(c.id) && Boolean(seen.add(c.id)));
}

export async function getConfiguration(kind: Kind, id: string): Promise<Configuration> {
  return unwrap(await api.GET(one(kind), { params: { path: { id } } }));
}

export async function deleteConfiguration(kind: Kind, id: string): Promise<void> {
  unwrap(await api.DELETE(one(kind), { params: { path: { id } } }));
}

export async function runNow(kind: Kind, id: string): Promise<string> {
  return unwrap(await api.POST(`${KIND[kind].api}/{id}/runs` as '/api/v1/backup-configurations/{id}/runs', { params: { path: { id } } })).run.id;
}

export async function addDestination(kind: Kind, id: string, body: DestinationRequest) {
  return unwrap(await api.POST(`${KIND[kind].api}/{id}/destinations` as '/api/v1/backup-configurations/{id}/destinations', { params: { path: { id } }, body }));
}

export async function removeDestination(kind: Kind, id: string, destinationId: string): Promise<void> {
  unwrap(await api.DELETE(`${KIND[kind].api}/{id}/destinations/{destinationId}` as '/api/v1/backup-configurations/{id}/destinations/{destinationId}', { params: { path: { id, destinationId } } }));
}
