import { HostAllowlist, type HostLookup } from './host-allowlist';

const dns = (table: Record<string, string[]>): HostLookup => async (host) => {
  const found = table[host.toLowerCase()];
  if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return found;
};

describe('HostAllowlist', () => {
  const list = HostAllowlist.parse(' 10.0.0.0/8, 192.168.1.7 ,fd00::/8, [2001:db8::1], NAS.example.com., backup-host ');

  it('empty (or only separators) allows anywhere', async () => {
    for (const spec of ['', ' ', ',,']) {
      const any = HostAllowlist.parse(spec);
      expect(any.unrestricted).toBe(true);
      expect(any.allows('203.0.113.9')).toBe(true);
      expect(any.allows('anything.example')).toBe(true);
      await expect(any.resolve('anything.example', dns({}))).resolves.toBe('anything.example');
    }
  });

  it('IPv4 CIDRs and single addresses', () => {
    expect(list.allows('10.0.0.1')).toBe(true);
    expect(list.allows('10.255.255.255')).toBe(true);
    expect(list.allows('11.0.0.1')).toBe(false);
    expect(list.allows('192.168.1.7')).toBe(true);
    expect(list.allows('192.168.1.8')).toBe(false);
    expect(list.allows('127.0.0.1')).toBe(false);
    // An IPv4-mapped IPv6 address is the IPv4 address.
    expect(list.allows('::ffff:10.1.2.3')).toBe(true);
    expect(list.allows('::ffff:127.0.0.1')).toBe(false);
  });

  it('IPv6 CIDRs and addresses, bracketed or not', () => {
    expect(list.allows('fd12:3456::1')).toBe(true);
    expect(list.allows('[fd12:3456::1]')).toBe(true);
    expect(list.allows('fe80::1')).toBe(false);
    expect(list.allows('::1')).toBe(false);
    expect(list.allows('2001:db8::1')).toBe(true);
    expect(list.allows('2001:DB8:0:0:0:0:0:1')).toBe(true);
    expect(list.allows('2001:db8::2')).toBe(false);
  });

  it('names: listed ones whatever their case or trailing dot, others only by their addresses', () => {
    expect(list.allows('nas.example.com')).toBe(true);
    expect(list.allows('NAS.Example.COM')).toBe(true);
    expect(list.allows('nas.example.com.')).toBe(true);
    expect(list.allows('Backup-Host')).toBe(true);
    expect(list.allows('sub.nas.example.com')).toBe(false);
    expect(list.allows('evil.example')).toBe(false);
    expect(list.allows('inside.example', ['10.9.9.9'])).toBe(true);
    expect(list.allows('mixed.example', ['10.9.9.9', '127.0.0.1'])).toBe(false);
    expect(list.allows('outside.example', ['127.0.0.1'])).toBe(false);
  });

  it('resolve: the address to connect to, or a refusal', async () => {
    const lookup = dns({ 'inside.example': ['10.1.1.1'], 'outside.example': ['127.0.0.1'], 'nas.example.com': ['203.0.113.5'] });
    await expect(list.resolve('inside.example', lookup)).resolves.toBe('10.1.1.1');
    await expect(list.resolve('NAS.example.com', lookup)).resolves.toBe('NAS.example.com');
    await expect(list.permits('backup-host', lookup)).resolves.toBe(true);
    await expect(list.resolve('10.2.3.4', lookup)).resolves.toBe('10.2.3.4');
    await expect(list.resolve('outside.example', lookup)).rejects.toMatchObject({ code: 'notFound', permanent: true });
    await expect(list.resolve('127.0.0.1', lookup)).rejects.toMatchObject({ code: 'notFound' });
    await expect(list.permits('outside.example', lookup)).resolves.toBe(false);
    await expect(list.permits('unknown.example', lookup)).resolves.toBe(false);
    await expect(list.permits('inside.example', lookup)).resolves.toBe(true);
  });

  it('refuses malformed entries, naming them', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0.0/x', 'fd00::/129', '10.0.0.0/8/1', 'host name', 'http://x', 'a_b.example/8']) {
      expect(() => HostAllowlist.parse(bad)).toThrow(/is neither|is not a valid CIDR/);
    }
  });
});
