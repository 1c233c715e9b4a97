import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { connectFailed, DeliveryError } from './delivery';

/** Resolves a host name to all its addresses (dns.lookup, as the socket would). */
export type HostLookup = (host: string) => Promise<string[]>;

const systemLookup: HostLookup = async (host) => (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

export const HOST_NOT_ALLOWED = 'is not in DESTINATION_HOSTS_ALLOWED';

/**
 * Where destinations may point (DESTINATION_HOSTS_ALLOWED: comma-separated CIDRs, addresses
 * and host names; empty = anywhere). The one place that decides, used when a configuration is
 * saved, when a destination is tested and when an adapter connects. A listed name is trusted
 * whatever it resolves to; any other name only if every address it resolves to is inside a
 * listed CIDR (so a name cannot smuggle a connection to an address outside the list).
 */
export class HostAllowlist {
  private constructor(
    private readonly names: ReadonlySet<string>,
    private readonly networks: BlockList,
    readonly unrestricted: boolean,
  ) {}

  static readonly anywhere = new HostAllowlist(new Set(), new BlockList(), true);

  /** Throws a readable Error naming the first malformed entry. */
  static parse(spec: string): HostAllowlist {
    const entries = spec
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    if (!entries.length) return HostAllowlist.anywhere;
    const names = new Set<string>();
    const networks = new BlockList();
    for (const entry of entries) {
      const [base, prefix, extra] = entry.split('/');
      const address = unbracket(base);
      const family = isIP(address);
      if (family) {
        const bits = prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix);
        if (extra !== undefined || !/^\d{1,3}$/.test(prefix ?? '0') || bits > (family === 4 ? 32 : 128)) throw new Error(`"${entry}" is not a valid CIDR`);
        networks.addSubnet(address, bits, family === 4 ? 'ipv4' : 'ipv6');
      } else if (prefix === undefined && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(entry)) {
        names.add(normalizeName(entry));
      } else {
        throw new Error(`"${entry}" is neither a CIDR, an address nor a host name`);
      }
    }
    return new HostAllowlist(names, networks, false);
  }

  /**
   * The decision: may a destination connect to `host`, which resolved to `addresses`? An
   * address literal is judged by itself; a name without addresses only if it is listed.
   */
  allows(host: string, addresses: readonly string[] = []): boolean {
    if (this.unrestricted) return true;
    const literal = unbracket(host);
    if (isIP(literal)) return this.contains(literal);
    if (this.names.has(normalizeName(host))) return true;
    return addresses.length > 0 && addresses.every((a) => this.contains(a));
  }

  /**
   * Resolves `host` and returns the address to connect to, or refuses (notFound, permanent)
   * when the list does not allow it. Connecting to the returned address, not the name again,
   * means a second DNS answer cannot differ from the one checked.
   */
  async resolve(host: string, lookup: HostLookup = systemLookup): Promise<string> {
    // A listed name is trusted as such: it is dialled by name.
    if (this.unrestricted || this.names.has(normalizeName(host))) return host;
    const literal = unbracket(host);
    if (isIP(literal)) {
      if (this.allows(literal)) return literal;
    } else {
      const addresses = await lookup(host);
      if (addresses.length && this.allows(host, addresses)) return addresses[0];
    }
    throw new DeliveryError('notFound', `the destination host ${HOST_NOT_ALLOWED}`, true);
  }

  /** The save-time check: true when `host` is allowed (resolving names not listed). */
  async permits(host: string, lookup: HostLookup = systemLookup): Promise<boolean> {
    try {
      await this.resolve(host, lookup);
      return true;
    } catch {
      return false;
    }
  }

  private contains(address: string): boolean {
    const plain = unmapIpv4(address);
    const family = isIP(plain);
    return family !== 0 && this.networks.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/**
 * The address an adapter connects to for `host`: resolved and checked against `hosts` right
 * before connecting, not only when the configuration was saved. A refusal stays `notFound`; a
 * name that does not resolve is a connection failure like any other (CONNECT_FAILED).
 */
export async function dialAddress(hosts: HostAllowlist | undefined, host: string): Promise<string> {
  try {
    return await (hosts ?? HostAllowlist.anywhere).resolve(host);
  } catch (err) {
    throw err instanceof DeliveryError ? err : connectFailed(err);
  }
}

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** `::ffff:10.0.0.5` is 10.0.0.5: a v4 list must judge it as such. */
function unmapIpv4(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1] : address;
}
