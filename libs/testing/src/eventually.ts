/**
 * Polls `probe` until it neither throws nor returns `false`/`null` (so both
 * `() => expect(x).toBe(y)` and `async () => rows.length ? rows : null` work), or fails
 * with the last error after `timeoutMs`. Tests wait for outcomes with this, never with sleeps.
 * `message` may be a function: it is read at the timeout (e.g. a child process's output so far).
 */
export async function expectEventually<T>(
  probe: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 50, message }: { timeoutMs?: number; intervalMs?: number; message?: string | (() => string) } = {},
): Promise<Exclude<T, null | false>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== false && value !== null) return value as Exclude<T, null | false>;
      lastError = new Error(`probe returned ${String(value)}`);
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const reason = lastError instanceof Error ? lastError.message : String(lastError);
      const error = new Error(`${(typeof message === 'function' ? message() : message) ?? 'condition not met'} within ${timeoutMs} ms: ${reason}`);
      if (lastError instanceof Error) error.stack += `\nCaused by: ${lastError.stack}`;
      throw error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
