import { destinationHost, DESTINATION_KINDS, HOST_FIELD } from './destinations';

describe('destinationHost (what DESTINATION_HOSTS_ALLOWED judges, for every kind)', () => {
  it('reads a host name or address as it is', () => {
    expect(destinationHost({ type: 'sftp', host: 'nas.example.com' })).toEqual({ field: 'host', host: 'nas.example.com' });
    expect(destinationHost({ type: 'smb', server: '10.1.2.3' })).toEqual({ field: 'server', host: '10.1.2.3' });
  });

  it('takes the host out of a URL (port, path and brackets of an IPv6 address dropped)', () => {
    expect(destinationHost({ type: 's3', endpoint: 'https://s3.eu-central-1.amazonaws.com' })).toEqual({ field: 'endpoint', host: 's3.eu-central-1.amazonaws.com' });
    expect(destinationHost({ type: 's3', endpoint: 'http://minio.lan:9000/' })).toEqual({ field: 'endpoint', host: 'minio.lan' });
    expect(destinationHost({ type: 's3', endpoint: 'http://[fd00::5]:9000' })).toEqual({ field: 'endpoint', host: 'fd00::5' });
  });

  it('answers nothing for a kind without a server, a missing field, an unknown kind or a URL that does not parse', () => {
    expect(destinationHost({ type: 'local' })).toBeUndefined();
    expect(destinationHost({ type: 'sftp' })).toBeUndefined();
    expect(destinationHost({ type: 'ftp', host: 'x' })).toBeUndefined();
    expect(destinationHost({ type: 's3', endpoint: 'http://' })).toBeUndefined();
  });

  // The recipe "Add a destination kind" promises no api edit: whatever kind names a host field, either form is read.
  it.each(DESTINATION_KINDS.filter((k) => HOST_FIELD[k] !== null))('%s: its host field as a host or as a URL', (kind) => {
    const field = HOST_FIELD[kind]!;
    expect(destinationHost({ type: kind, [field]: 'backup.example.com' })).toEqual({ field, host: 'backup.example.com' });
    expect(destinationHost({ type: kind, [field]: 'https://backup.example.com:8443' })).toEqual({ field, host: 'backup.example.com' });
  });
});
