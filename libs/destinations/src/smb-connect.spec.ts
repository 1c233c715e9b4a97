import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SmbDestinationConfig } from './destination-config';
import { causeMessage, CONNECT_FAILED } from './delivery';
import { HostAllowlist } from './host-allowlist';
import { maskErrorPaths } from './server-paths';
import { SmbAdapter } from './smb.adapter';
import { checkRun } from './smbclient.driver';

/** Not getting an SMB session is one answer; the connection goes only where DESTINATION_HOSTS_ALLOWED says. */
describe('SMB connection failures and the host allowlist at connect time', () => {
  describe('smbclient output', () => {
    // What smbclient 4.17 prints for each way of not getting in (scripts: refused port, RST, HTTP, junk, silence, DNS).
    const connectionFailures = [
      'do_connect: Connection to 127.0.0.1 failed (Error NT_STATUS_CONNECTION_REFUSED)',
      'do_connect: Connection to nosuch.invalid failed (Error NT_STATUS_UNSUCCESSFUL)',
      'protocol negotiation failed: NT_STATUS_CONNECTION_RESET',
      'protocol negotiation failed: NT_STATUS_CONNECTION_DISCONNECTED',
      'protocol negotiation failed: NT_STATUS_INVALID_NETWORK_RESPONSE',
      'protocol negotiation failed: NT_STATUS_IO_TIMEOUT',
      'protocol negotiation failed: NT_STATUS_NOT_SUPPORTED',
    ];

    it.each(connectionFailures)('%s -> the one mountfail, the line kept as cause', (line) => {
      let thrown: unknown;
      try {
        checkRun({ output: `lpcfg_do_global_parameter: WARNING: deprecated\n${line}\n`, exitCode: 1 }, 'connect');
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toMatchObject({ code: 'mountfail', permanent: false, message: CONNECT_FAILED });
      expect(String((thrown as { cause?: Error }).cause?.message)).toContain(line);
    });

    it('the cause survives the registry wrapping the error, for the dispatcher to log', () => {
      let thrown: unknown;
      try {
        checkRun({ output: 'protocol negotiation failed: NT_STATUS_CONNECTION_RESET\n', exitCode: 1 }, 'connect');
      } catch (err) {
        thrown = maskErrorPaths(err, []);
      }
      expect(thrown).toMatchObject({ message: CONNECT_FAILED });
      expect(causeMessage(thrown)).toBe('smbclient: protocol negotiation failed: NT_STATUS_CONNECTION_RESET');
    });

    it('a server that answers SMB and refuses the login, share or write keeps its own code', () => {
      expect(() => checkRun({ output: 'session setup failed: NT_STATUS_LOGON_FAILURE\n', exitCode: 1 }, 'connect')).toThrow(expect.objectContaining({ code: 'authFailed' }));
      expect(() => checkRun({ output: 'tree connect failed: NT_STATUS_BAD_NETWORK_NAME\n', exitCode: 1 }, 'connect')).toThrow(expect.objectContaining({ code: 'notFound' }));
      expect(() => checkRun({ output: 'NT_STATUS_ACCESS_DENIED opening remote file \\x\n', exitCode: 0 }, 'put')).toThrow(expect.objectContaining({ code: 'sftpRightProblem' }));
    });
  });

  describe('smbclient driver', () => {
    let dir: string;
    let fake: string;
    let argsFile: string;
    const config: SmbDestinationConfig = { type: 'smb', server: 'localhost', port: 4445, share: 'backup/pbx', username: 'u', password: 'p', security: 'ntlmssp' };

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'pbx-smb-connect-'));
      argsFile = join(dir, 'args');
      // Stands in for smbclient: records how it was called, then refuses the login.
      fake = join(dir, 'smbclient');
      await writeFile(fake, `#!/bin/sh\nprintf '%s\\n' "$@" > '${argsFile}'\ncat > /dev/null\necho 'session setup failed: NT_STATUS_LOGON_FAILURE'\nexit 1\n`);
      await chmod(fake, 0o755);
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));
    beforeEach(() => rm(argsFile, { force: true }));

    const adapter = (hosts: string) => new SmbAdapter({ smbclientPath: fake, tempDir: dir, hosts: HostAllowlist.parse(hosts) });
    const calledWith = () => readFile(argsFile, 'utf8').then((t) => t.trim().split('\n'), () => null);

    it('a name resolving outside the list is refused (notFound) and smbclient never runs', async () => {
      const report = await adapter('10.0.0.0/8').test(config);
      expect(report).toMatchObject({ ok: false, code: 'notFound', steps: [{ step: 'connect', ok: false, detail: expect.stringContaining('DESTINATION_HOSTS_ALLOWED') }] });
      await expect(adapter('10.0.0.0/8').list(config, 'x')).rejects.toMatchObject({ code: 'notFound', permanent: true });
      await expect(adapter('10.0.0.0/8').remove(config, 'x', 'a.sar')).rejects.toMatchObject({ code: 'notFound', permanent: true });
      expect(await calledWith()).toBeNull();
    });

    it('a name that does not resolve is the one connection failure, without running smbclient', async () => {
      const report = await adapter('10.0.0.0/8').test({ ...config, server: 'no-such-host.invalid' });
      expect(report).toMatchObject({ ok: false, code: 'mountfail', steps: [{ step: 'connect', ok: false, detail: CONNECT_FAILED, cause: expect.stringMatching(/ENOTFOUND|EAI_AGAIN/) }] });
      expect(await calledWith()).toBeNull();
    });

    it('inside the list, smbclient dials the checked address (-I) and keeps the name in the UNC', async () => {
      const report = await adapter('127.0.0.0/8').test(config);
      expect(report).toMatchObject({ ok: false, code: 'authFailed' });
      const args = await calledWith();
      expect(args?.[0]).toBe('//localhost/backup');
      expect(args?.[args.indexOf('-I') + 1]).toBe('127.0.0.1');
    });

    it('a listed name is dialled by name; no list, no -I', async () => {
      await adapter('localhost').test(config);
      expect(await calledWith()).not.toContain('-I');
      await new SmbAdapter({ smbclientPath: fake, tempDir: dir }).test(config);
      expect(await calledWith()).not.toContain('-I');
    });
  });

  describe('legacy-smb2 driver', () => {
    let server: Server;
    let port: number;
    let connections = 0;
    const config = (): SmbDestinationConfig => ({ type: 'smb', driver: 'legacy-smb2', server: 'localhost', port, share: 'backup', username: 'u', password: 'p', security: 'ntlmv1-legacy' });

    beforeAll(async () => {
      // Counts connections and resets them: a dial shows up here, a refusal does not.
      server = createServer((s) => {
        connections++;
        s.on('error', () => undefined);
        s.resetAndDestroy();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('outside the list: notFound, and the worker never connects', async () => {
      const before = connections;
      const report = await new SmbAdapter({ hosts: HostAllowlist.parse('10.0.0.0/8') }).test(config());
      expect(report).toMatchObject({ ok: false, code: 'notFound', steps: [{ ok: false, detail: expect.stringContaining('DESTINATION_HOSTS_ALLOWED') }] });
      expect(connections).toBe(before);
    });

    it('inside the list it connects to the checked address; a reset is the one connection failure', async () => {
      const before = connections;
      const report = await new SmbAdapter({ hosts: HostAllowlist.parse('127.0.0.0/8') }).test(config());
      expect(report).toEqual({ ok: false, code: 'mountfail', steps: [{ step: 'connect', ok: false, detail: CONNECT_FAILED, cause: expect.stringContaining('ECONNRESET') }] });
      expect(connections).toBe(before + 1);
    });
  });
});
