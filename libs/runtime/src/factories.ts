import type { AppEnv } from '@pbx/config';
import type { DestinationRegistry } from '@pbx/destinations';
import type { Logger } from '@pbx/observability';
import { SecretBox } from '@pbx/secrets';

/** Secrets at rest: SECRETS_KEY, or a development key with a loud warning. */
export function secretBoxFromEnv(env: AppEnv, logger: Logger): SecretBox {
  return SecretBox.fromKeyRingOrDevKey(env.SECRETS_KEY, { onDevKey: (info) => logger.warn({ keyId: info.keyId }, info.message) });
}

/** Dropbox's code exchange, loading the Dropbox client on first use (see below). */
export function lazyDropboxCodeExchange(env: AppEnv): (code: string) => Promise<string> {
  return async (code) => (await import('./destinations')).exchangeDropboxCodeFromEnv(env, code);
}

/** Dropbox's authorize URL for the configured app, loading the Dropbox client on first use. */
export function lazyDropboxAuthorizeUrl(env: AppEnv): () => Promise<string> {
  return async () => (await import('./destinations')).dropboxAuthorizeUrlFromEnv(env);
}

/**
 * The destination registry of '@pbx/runtime/destinations', loaded on first use: the api tests
 * destinations now and then and should not load six client libraries at boot for it.
 * `get` and `label` are synchronous and answer only once an asynchronous call loaded it.
 */
export function lazyDestinationRegistry(env: AppEnv): DestinationRegistry {
  let registry: DestinationRegistry | undefined;
  let loading: Promise<DestinationRegistry> | undefined;
  const load = (): Promise<DestinationRegistry> => (loading ??= import('./destinations').then((m) => (registry = m.destinationRegistryFromEnv(env))));
  const loaded = (): DestinationRegistry => {
    if (!registry) throw new Error('destination registry used synchronously before it was loaded');
    return registry;
  };
  return {
    get: (type) => loaded().get(type),
    label: (config) => loaded().label(config),
    deliver: async (config, req) => (await load()).deliver(config, req),
    list: async (config, name) => (await load()).list(config, name),
    listDetailed: async (config, name) => (await load()).listDetailed(config, name),
    hash: async (config, name, file, options) => (await load()).hash(config, name, file, options),
    remove: async (config, name, file) => (await load()).remove(config, name, file),
    test: async (config, signal) => (await load()).test(config, signal),
  };
}
