import { peers, sftpHostKeyFingerprint } from '@pbx/testing';
import { HostAllowlist } from './host-allowlist';
import { SftpAdapter } from './sftp.adapter';

/** DESTINATION_HOSTS_ALLOWED at connect time: the name is resolved and the address checked. */
describe('SftpAdapter with a host allowlist (real sshd)', () => {
  const config = {
    type: 'sftp' as const,
    host: 'localhost',
    port: peers.sftp.port,
    username: peers.sftp.username,
    password: peers.sftp.password,
    path: '.',
    hostKeyFingerprint: sftpHostKeyFingerprint(),
  };

  it('refuses a name that resolves outside the list, without connecting', async () => {
    const report = await new SftpAdapter({ hosts: HostAllowlist.parse('10.0.0.0/8, fd00::/8') }).test(config);
    expect(report).toMatchObject({ ok: false, code: 'notFound', steps: [{ step: 'connect', ok: false, detail: expect.stringContaining('DESTINATION_HOSTS_ALLOWED') }] });
    await expect(new SftpAdapter({ hosts: HostAllowlist.parse('10.0.0.0/8') }).list(config, 'x')).rejects.toMatchObject({ code: 'notFound', permanent: true });
  });

  it('connects when the name resolves inside the list', async () => {
    const report = await new SftpAdapter({ hosts: HostAllowlist.parse('127.0.0.0/8, ::1/128') }).test(config);
    expect(report).toMatchObject({ ok: true, hostKeyFingerprint: sftpHostKeyFingerprint() });
  });
});
