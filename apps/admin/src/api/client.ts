import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

/** Types of the pinned OpenAPI document (apps/api/openapi.json), never written by hand. */
export type Schemas = components['schemas'];
export type Configuration = Schemas['Configuration'];
export type Run = Schemas['Run'];
export type Problem = Schemas['Problem'];
export type Me = Schemas['Me'];
export type CreateBackupConfiguration = Schemas['CreateBackupConfigurationRequest'];
export type DestinationRequest = CreateBackupConfiguration['destinations'][number];
export type DestinationType = DestinationRequest['type'];
export type Interval = CreateBackupConfiguration['interval'];
export type Action = NonNullable<CreateBackupConfiguration['action']>;
export type Permission = Me['permissions'][number];

const TOKEN_KEY = 'pbx-admin-token';

/** The API token lives in sessionStorage only: gone when the tab closes, never in a cookie. */
export const tokenStore = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string): void => sessionStorage.setItem(TOKEN_KEY, token),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

let onUnauthorized: () => void = () => undefined;
/** Called when the api answers 401 (token revoked or wrong): the session ends. */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

const auth: Middleware = {
  onRequest({ request }) {
    const token = tokenStore.get();
    if (token) request.headers.set('Authorization', `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401) onUnauthorized();
    return response;
  },
};

/** Same origin as the api that serves this app: no base URL, no CORS. */
export const api = createClient<paths>({ baseUrl: '' });
api.use(auth);

/** A problem+json answer as thrown by the query/mutation helpers. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Partial<Problem>,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }

  /** errors[].field → message, e.g. { 'destinations[0].host': 'must not contain a port' }. */
  get fieldErrors(): Record<string, string> {
    return Object.fromEntries((this.problem.errors ?? []).map((e) => [e.field, e.message]));
  }
}

/** Unwraps an openapi-fetch result: the data, or an ApiError with the problem. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) {
    throw new ApiError(result.response.status, (result.error ?? {}) as Partial<Problem>);
  }
  return result.data as T;
}
