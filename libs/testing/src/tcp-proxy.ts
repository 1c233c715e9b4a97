import { createServer, connect, type Server, type Socket } from 'node:net';

/** A loopback TCP proxy a test can take down or make stall, to play a failing network or server. */
export interface TcpProxy {
  readonly port: number;
  /** Stops listening and cuts every connection: new connections are refused (a server that is down). */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  /**
   * Connections opened from now on forward `bytes` from the client, then nothing in either
   * direction, while staying open (a server that stopped answering mid-transfer).
   */
  stallAfter(bytes: number): void;
  /** Connections opened from now on forward normally again (stalled ones stay stalled). */
  resume(): void;
  /**
   * Connections opened from now on forward the client's bytes at about `bytesPerSecond` (a
   * slow link to a server); undefined: at full speed again.
   */
  throttle(bytesPerSecond: number | undefined): void;
  /**
   * Every connection open right now stops forwarding in both directions, while staying open
   * (a peer that froze mid-conversation: the next request of a pooled client hangs); new
   * connections forward normally. The frozen ones end when either side closes them.
   */
  freeze(): void;
  /** How many connections stalled so far. */
  readonly stalled: number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let stallAt: number | undefined;
  let rate: number | undefined;
  let stalledCount = 0;
  const freezers = new Set<() => void>();
  const onConnection = (client: Socket) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    const limit = stallAt;
    const bytesPerSecond = rate;
    let forwarded = 0;
    let stalled = false;
    const freeze = () => {
      if (!stalled) stalledCount++;
      stalled = true;
    };
    freezers.add(freeze);
    // Throttled: the client's bytes wait here and go on at the rate, while the client is still
    // read (so its going away is seen at once and cuts the server's side, as on a real link).
    const slow = bytesPerSecond ? pacer((chunk) => upstream.write(chunk), bytesPerSecond) : undefined;
    const cut = () => {
      slow?.stop();
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
      freezers.delete(freeze);
    };
    client.on('data', (chunk: Buffer) => {
      if (stalled) return; // swallowed: the client's bytes go nowhere
      if (limit !== undefined && forwarded + chunk.length >= limit) {
        upstream.write(chunk.subarray(0, limit - forwarded));
        stalled = true;
        stalledCount++;
        return;
      }
      forwarded += chunk.length;
      if (slow) slow.push(chunk);
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!stalled) client.write(chunk);
    });
    client.on('error', cut).on('close', cut);
    upstream.on('error', cut).on('close', () => !stalled && cut());
  };
  let server: Server = createServer(onConnection);
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
  const port = await listen(0);
  const down = async () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    port,
    down,
    up: async () => {
      server = createServer(onConnection);
      await listen(port);
    },
    stallAfter: (bytes) => (stallAt = bytes),
    resume: () => (stallAt = undefined),
    throttle: (bytesPerSecond) => (rate = bytesPerSecond),
    freeze: () => {
      for (const freeze of freezers) freeze();
    },
    get stalled() {
      return stalledCount;
    },
    close: () => (server.listening ? down() : Promise.resolve()),
  };
}

/** Writes what is pushed at about `bytesPerSecond`, in 50 ms slices. */
function pacer(write: (chunk: Buffer) => void, bytesPerSecond: number): { push(chunk: Buffer): void; stop(): void } {
  const queue: Buffer[] = [];
  const perTick = Math.max(1, Math.floor(bytesPerSecond / 20));
  const timer = setInterval(() => {
    let budget = perTick;
    while (budget > 0 && queue.length) {
      const head = queue[0];
      if (head.length <= budget) {
        write(queue.shift()!);
        budget -= head.length;
      } else {
        write(head.subarray(0, budget));
        queue[0] = head.subarray(budget);
        budget = 0;
      }
    }
  }, 50);
  timer.unref();
  return { push: (chunk) => void queue.push(chunk), stop: () => clearInterval(timer) };
}
