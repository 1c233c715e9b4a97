/**
 * Several hosts on one machine (issue #21): Linux network namespaces on a bridge, each with
 * its own address and its own uplink (a veth pair) that `tc` can slow down. The shared
 * servers (Postgres, RabbitMQ, Redis, S3, sshd, Samba, the SMTP sink) listen on this host's
 * loopback only, so a relay on the bridge address forwards each of their ports: a host reaches
 * them at `gateway:<port>` as a remote machine would. The relay also tells which host is
 * talking to which service (to kill a dispatcher in the middle of an upload). Needs root.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface VirtualHost {
  name: string;
  netns: string;
  address: string;
  /** The host's uplink as seen from inside it (its end of the veth pair). */
  device: string;
}

/** One relayed connection: who opened it, to which service port, bytes sent so far by that host. */
export interface RelayedConnection {
  from: string;
  port: number;
  bytesFromHost: number;
  /** Size of the last piece the host sent: file data in flight comes in large pieces. */
  lastChunkBytes: number;
  closed: boolean;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

export class VirtualNetwork extends EventEmitter {
  readonly hosts = new Map<string, VirtualHost>();
  readonly connections: RelayedConnection[] = [];
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private constructor(
    readonly id: string,
    readonly gateway: string,
    private readonly bridge: string,
    private readonly prefix: string,
  ) {
    super();
  }

  /** Creates the bridge and one namespace per host name (a, b, c → 10.x.y.2, .3, .4). */
  static create(hostNames: readonly string[]): VirtualNetwork {
    if (process.getuid?.() !== 0) throw new Error('virtual hosts need root (ip netns, veth, tc)');
    const id = randomBytes(3).toString('hex');
    // A /24 per network, chosen at random in 10.231.0.0/16 so two benches on one machine do not meet.
    const third = 1 + (parseInt(id, 16) % 250);
    const prefix = `10.231.${third}`;
    const bridge = `pbxbr${id}`;
    ip('link', 'add', bridge, 'type', 'bridge');
    const net = new VirtualNetwork(id, `${prefix}.1`, bridge, prefix);
    // A bench stopped by a signal must not leave namespaces and a bridge behind.
    const onSignal = (signal: NodeJS.Signals) => {
      net.destroy();
      process.kill(process.pid, signal);
    };
    process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
    net.once('destroyed', () => process.off('SIGINT', onSignal).off('SIGTERM', onSignal));
    try {
      ip('addr', 'add', `${prefix}.1/24`, 'dev', bridge);
      ip('link', 'set', bridge, 'up');
      hostNames.forEach((name, i) => net.addHost(name, i + 2));
    } catch (err) {
      net.destroy();
      throw err;
    }
    return net;
  }

  private addHost(name: string, octet: number): void {
    const netns = `pbx${this.id}${name}`;
    const outside = `pv${this.id}${name}`.slice(0, 15);
    ip('netns', 'add', netns);
    ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns);
    ip('link', 'set', outside, 'master', this.bridge, 'up');
    ip('-n', netns, 'addr', 'add', `${this.prefix}.${octet}/24`, 'dev', 'eth0');
    ip('-n', netns, 'link', 'set', 'eth0', 'up');
    ip('-n', netns, 'link', 'set', 'lo', 'up');
    this.hosts.set(name, { name, netns, address: `${this.prefix}.${octet}`, device: 'eth0' });
  }

  host(name: string): VirtualHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no virtual host ${name}`);
    return h;
  }

  /** Limits what `host` sends to `mbit` Mbit/s (a token bucket on its uplink), as a slow line would. */
  limitUplink(name: string, mbit: number): void {
    const h = this.host(name);
    execFileSync('ip', ['netns', 'exec', h.netns, 'tc', 'qdisc', 'replace', 'dev', h.device, 'root', 'tbf', 'rate', `${mbit}mbit`, 'burst', '32kb', 'latency', '400ms']);
  }

  /** Makes this host's loopback `port` reachable from every virtual host at `gateway:port`. */
  async relay(port: number): Promise<void> {
    const server = createServer((client) => {
      const from = [...this.hosts.values()].find((h) => h.address === client.remoteAddress?.replace(/^::ffff:/, ''))?.name ?? String(client.remoteAddress);
      const conn: RelayedConnection = { from, port, bytesFromHost: 0, lastChunkBytes: 0, closed: false };
      this.connections.push(conn);
      const upstream = connect(port, '127.0.0.1');
      this.sockets.add(client).add(upstream);
      client.on('data', (chunk: Buffer) => {
        conn.bytesFromHost += chunk.length;
        conn.lastChunkBytes = chunk.length;
        this.emit('data', conn);
      });
      client.pipe(upstream);
      upstream.pipe(client);
      const end = () => {
        if (!conn.closed) {
          conn.closed = true;
          this.emit('close', conn);
        }
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.gateway, () => resolve());
    });
    this.servers.push(server);
  }

  /** Removes the relays, namespaces and bridge (safe to call twice). */
  destroy(): void {
    for (const s of this.sockets) s.destroy();
    for (const s of this.servers) s.close();
    this.servers.length = 0;
    for (const h of this.hosts.values()) {
      try {
        ip('netns', 'del', h.netns); // takes its veth end, and so the pair, with it
      } catch {
        /* already gone */
      }
    }
    this.hosts.clear();
    try {
      ip('link', 'del', this.bridge);
    } catch {
      /* already gone */
    }
    this.emit('destroyed');
  }
}
