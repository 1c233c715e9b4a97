import { DeliveryError, isPermanent, PERMANENT_CODES } from './delivery';
import { createDestinationRegistry } from './destination-registry';
import { dropboxFetch } from './dropbox.adapter';
import { estimateMailBytes } from './email.adapter';
import { isPartialName, partialName } from './partial-files';
import { backupLocation, checkSegment, joinRemote } from './paths';
import { sshFingerprint } from './sftp.adapter';
import { dirLevels } from './smb.adapter';
import { ntStatusCode, parseSmbTarget, smbLabel } from './smb-target';
import { firstNtStatus, parseAllinfoSize, parseLs, q, SMB_SECURITY_ARGS } from './smbclient.driver';

describe('paths', () => {
  it('builds starface-backup/<name>/<file> and allows spaces', () => {
    expect(backupLocation('Nightly full', 'a b.sar')).toBe('starface-backup/Nightly full/a b.sar');
  });
  it.each(['', '.', '..', 'a/b', 'a\\b', 'x\0', ' lead', 'trail ', 'dot.', 'a:b', 'a*b'])('refuses segment %p', (bad) => {
    expect(() => checkSegment('configuration name', bad)).toThrow(DeliveryError);
  });
  it('partial names are hidden, unique and recognised', () => {
    const a = partialName('x.sar');
    expect(a).toMatch(/^\.x\.sar\.partial-[0-9a-f]{12}-[0-9a-f]{8}$/);
    expect(a).not.toBe(partialName('x.sar'));
    expect(isPartialName(a)).toBe(true);
    expect(isPartialName('x.sar')).toBe(false);
  });
  it('joins remote paths', () => {
    expect(joinRemote('.', 'starface-backup', 'n')).toBe('starface-backup/n');
    expect(joinRemote('/srv/', 'a//b')).toBe('/srv/a/b');
    expect(joinRemote('.')).toBe('.');
  });
});

describe('failure classes', () => {
  it('marks exactly the documented codes permanent', () => {
    expect([...PERMANENT_CODES].sort()).toEqual(['authFailed', 'hostKeyMismatch', 'mailtobig', 'notFound', 'quotaExceeded', 'sftpRightProblem']);
    expect(isPermanent('mountfail')).toBe(false);
    expect(new DeliveryError('timeout', 'x').permanent).toBe(false);
    expect(new DeliveryError('authFailed', 'x').permanent).toBe(true);
  });
});

describe('smb helpers', () => {
  it('parses share, sub-dirs and DOMAIN\\user', () => {
    expect(parseSmbTarget({ type: 'smb', server: 'nas', share: 'backup/pbx/a', username: 'CORP\\bob', password: 'p', security: 'ntlmssp' })).toEqual({
      server: 'nas',
      port: 445,
      share: 'backup',
      subdir: 'pbx/a',
      username: 'bob',
      domain: 'CORP',
    });
    expect(parseSmbTarget({ type: 'smb', server: 'nas', share: 'b', username: 'bob@corp.example', password: 'p', security: 'kerberos', port: 1445 })).toMatchObject({
      username: 'bob@corp.example',
      domain: undefined,
      port: 1445,
    });
    expect(() => parseSmbTarget({ type: 'smb', server: 'nas', share: 'b/../c', username: 'u', password: 'p', security: 'ntlmssp' })).toThrow(DeliveryError);
    expect(smbLabel({ type: 'smb', server: 'nas', share: '/backup/x/', username: 'u', password: 'p', security: 'ntlmssp' })).toBe('[SMB]//nas/backup/x');
  });
  it('maps NT status codes', () => {
    expect(ntStatusCode('NT_STATUS_LOGON_FAILURE')).toBe('authFailed');
    expect(ntStatusCode('NT_STATUS_ACCESS_DENIED')).toBe('sftpRightProblem');
    expect(ntStatusCode('NT_STATUS_BAD_NETWORK_NAME')).toBe('notFound');
    expect(ntStatusCode('NT_STATUS_DISK_FULL')).toBe('quotaExceeded');
    expect(ntStatusCode('NT_STATUS_CONNECTION_REFUSED')).toBe('mountfail');
    expect(ntStatusCode('NT_STATUS_IO_TIMEOUT')).toBe('timeout');
    expect(ntStatusCode('NT_STATUS_SOMETHING_ELSE')).toBe('ioError');
  });
  it('never puts credentials on the smbclient command line', () => {
    for (const args of Object.values(SMB_SECURITY_ARGS)) expect(args.join(' ')).not.toMatch(/(^| )(-U|--user)\b|%|password/);
    expect(SMB_SECURITY_ARGS.ntlmssp).toContain('--client-protection=sign');
    expect(SMB_SECURITY_ARGS['ntlmssp-encrypt']).toContain('--client-protection=encrypt');
    expect(SMB_SECURITY_ARGS.kerberos).toContain('--use-kerberos=required');
  });
  it('quotes arguments and refuses what smbclient cannot carry', () => {
    expect(q('a b;c')).toBe('"a b;c"');
    expect(() => q('a"b')).toThrow(DeliveryError);
    expect(() => q('a\nb')).toThrow(DeliveryError);
  });
  it('parses smbclient output', () => {
    const ls = [
      '  .                                   D        0  Thu Nov 26 08:02:19 2026',
      '  ..                                  D        0  Thu Nov 26 08:02:19 2026',
      '  Nightly full 1.sar                  A  1000000  Thu Nov  6 08:02:19 2026',
      '  sub                                 D        0  Thu Nov 26 08:02:19 2026',
      '',
      '\t\t264212084 blocks of size 1024. 80691924 blocks available',
    ].join('\n');
    expect(parseLs(ls)).toEqual([
      // The write time is smbclient's local time, which is ours.
      { name: 'Nightly full 1.sar', isDir: false, size: 1000000, mtimeMs: new Date(2026, 10, 6, 8, 2, 19).getTime() },
      { name: 'sub', isDir: true, size: 0, mtimeMs: new Date(2026, 10, 26, 8, 2, 19).getTime() },
    ]);
    expect(parseAllinfoSize('attributes: A (20)\nstream: [::$DATA], 1234 bytes\n')).toBe(1234);
    expect(firstNtStatus('ok\nNT_STATUS_OBJECT_NAME_COLLISION making remote directory\nNT_STATUS_ACCESS_DENIED opening remote file', ['NT_STATUS_OBJECT_NAME_COLLISION'])).toEqual({
      status: 'NT_STATUS_ACCESS_DENIED',
      line: 'NT_STATUS_ACCESS_DENIED opening remote file',
    });
    expect(dirLevels('a/b c/d')).toEqual(['a', 'a/b c', 'a/b c/d']);
  });
});

describe('sftp fingerprint', () => {
  it('is SHA256: + unpadded base64 like ssh-keygen -lf', () => {
    expect(sshFingerprint(Buffer.from('abc'))).toBe('SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0');
  });
});

describe('email size estimate', () => {
  it('counts base64 (4/3), CRLF every 76 chars and a header allowance', () => {
    expect(estimateMailBytes(20 * 1024 * 1024)).toBeGreaterThan((20 * 1024 * 1024 * 4) / 3);
    expect(estimateMailBytes(20 * 1024 * 1024) / (1024 * 1024)).toBeCloseTo(27.4, 1); // what STACK.md measured for nodemailer
  });
});

describe('dropbox fetch rewrite', () => {
  it('sends *.dropboxapi.com to apiBase and leaves other URLs alone', async () => {
    const seen: string[] = [];
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as { port: number };
    try {
      const f = dropboxFetch(`http://127.0.0.1:${port}/`);
      await f('https://content.dropboxapi.com/2/files/upload?x=1', { method: 'POST' });
      await f('https://api.dropboxapi.com/oauth2/token?grant_type=refresh_token', { method: 'POST' });
      expect(seen).toEqual(['/2/files/upload?x=1', '/oauth2/token?grant_type=refresh_token']);
    } finally {
      server.close();
    }
  });
});

describe('registry', () => {
  it('dispatches by type and labels every kind', () => {
    const reg = createDestinationRegistry({ localRoot: '/var/backups', usbRoot: '/media/usb', smtpUrl: 'smtp://x', mailFrom: 'a@b', dropbox: { appKey: 'k' } });
    // Local paths relative to the root: the server's directory layout is not shown.
    expect(reg.label({ type: 'local', path: 'pbx' })).toBe('[LOCAL]/pbx');
    expect(reg.label({ type: 'local' })).toBe('[LOCAL]/');
    expect(reg.label({ type: 'usb', device: 'stick' })).toBe('[USB]stick');
    expect(reg.label({ type: 'sftp', host: '10.0.0.5', username: 'u', path: '/backups' })).toBe('[SFTP]10.0.0.5:/backups');
    expect(reg.label({ type: 'sftp', host: '10.0.0.5', username: 'u', path: '/var/backups' })).toBe('[SFTP]10.0.0.5:/var/backups');
    expect(reg.label({ type: 'smb', server: 'server', share: 'share', username: 'u', password: 'p', security: 'ntlmssp' })).toBe('[SMB]//server/share');
    expect(reg.label({ type: 'dropbox', path: '/path' })).toBe('[DROPBOX]/path');
    expect(reg.label({ type: 'email', to: 'ops@x' })).toBe('[EMAIL]ops@x');
    expect(reg.get('sftp').type).toBe('sftp');
  });
});
