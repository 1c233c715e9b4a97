import { createHash } from 'node:crypto';
import { makeTestArchive, peers, readMaildir, tempDir, uniqueName, waitForMail } from '@pbx/testing';
import { EmailAdapter, estimateMailBytes } from './email.adapter';

/** Against the SMTP sink of scripts/test-peers.sh; mails are parsed back with mailparser. */
describe('EmailAdapter (real SMTP sink)', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let src: Awaited<ReturnType<typeof makeTestArchive>>;

  beforeAll(async () => {
    tmp = await tempDir('pbx-mail-');
    src = await makeTestArchive(tmp.path, 2 * 1024 * 1024 + 11, 'backup 2026-11-26.sar');
  });
  afterAll(() => tmp.remove());

  it('sends the archive as an attachment that arrives with the same sha256', async () => {
    const adapter = new EmailAdapter({ smtpUrl: `smtp://anyuser:anypass@127.0.0.1:${peers.smtp.port}`, mailFrom: 'pbx@example.test' });
    const name = `Nightly full ${uniqueName()}`;
    const to = `${uniqueName('ops')}@example.test`;
    const res = await adapter.deliver({ type: 'email', to }, { ...src, configurationName: name });
    expect(res).toEqual({ location: `starface-backup/${name}/${src.fileName}`, target: `[EMAIL]${to}`, verified: 'size' });

    const { mail } = await waitForMail((m) => m.subject?.includes(name) === true);
    expect(mail.to).toMatchObject({ text: to });
    expect(mail.attachments).toHaveLength(1);
    const [att] = mail.attachments;
    expect(att!.filename).toBe(src.fileName);
    expect(att!.size).toBe(src.size);
    expect(createHash('sha256').update(att!.content).digest('hex')).toBe(src.sha256);
  });

  it('too big -> mailtobig (permanent) and nothing is sent', async () => {
    const maxBytes = 1024 * 1024;
    const adapter = new EmailAdapter({ smtpUrl: peers.smtp.url, mailFrom: 'pbx@example.test', maxBytes });
    expect(estimateMailBytes(src.size)).toBeGreaterThan(maxBytes);
    const name = uniqueName('big');
    await expect(adapter.deliver({ type: 'email', to: 'ops@example.test' }, { ...src, configurationName: name })).rejects.toMatchObject({
      code: 'mailtobig',
      permanent: true,
    });
    // A small mail sent afterwards over the same sink arrives; the big one never did.
    const small = await makeTestArchive(tmp.path, 1000, 'small.sar');
    await adapter.deliver({ type: 'email', to: 'ops@example.test' }, { ...small, configurationName: name });
    await waitForMail((m) => m.subject?.includes(name) === true && m.attachments[0]?.filename === 'small.sar');
    const all = (await readMaildir()).filter((m) => m.mail.subject?.includes(name));
    expect(all.map((m) => m.mail.attachments[0]?.filename)).toEqual(['small.sar']);
  });

  it('the size estimate matches what actually goes over the wire (within the allowance)', async () => {
    const adapter = new EmailAdapter({ smtpUrl: peers.smtp.url, mailFrom: 'pbx@example.test' });
    const name = uniqueName('est');
    await adapter.deliver({ type: 'email', to: 'ops@example.test' }, { ...src, configurationName: name });
    const { file } = await waitForMail((m) => m.subject?.includes(name) === true);
    const { size } = await import('node:fs/promises').then((fs) => fs.stat(file));
    expect(size).toBeLessThanOrEqual(estimateMailBytes(src.size));
    expect(size).toBeGreaterThan(estimateMailBytes(src.size) - 16 * 1024);
  });

  it('unreachable server -> mountfail (transient); test() reports it', async () => {
    const adapter = new EmailAdapter({ smtpUrl: 'smtp://127.0.0.1:1', mailFrom: 'pbx@example.test', connectTimeoutMs: 5000 });
    await expect(adapter.deliver({ type: 'email', to: 'ops@example.test' }, { ...src, configurationName: uniqueName() })).rejects.toMatchObject({
      code: 'mountfail',
      permanent: false,
    });
    expect(await adapter.test({ type: 'email', to: 'ops@example.test' })).toMatchObject({ ok: false, code: 'mountfail' });
  });

  it('test() connects to the sink', async () => {
    const adapter = new EmailAdapter({ smtpUrl: peers.smtp.url, mailFrom: 'pbx@example.test' });
    expect(await adapter.test({ type: 'email', to: 'ops@example.test' })).toMatchObject({ ok: true });
    expect(await adapter.list()).toEqual([]);
  });
});
