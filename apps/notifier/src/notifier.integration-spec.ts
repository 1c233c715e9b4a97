import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { DeliveryCode, DestinationType, Envelope, MessageType, PayloadOf, ConfigurationKind } from '@pbx/contracts';
import { AmqpConnection, createEnvelope, DeadLetterRecorder, MessagePublisher, republishDeadLetter } from '@pbx/messaging';
import { createLogger } from '@pbx/observability';
import { ConfigurationEntity, DeliveryEntity, DestinationEntity, RestoreEntity, RunEntity, snapshotOf, type DeliveryStatus, type Language } from '@pbx/persistence';
import { amqpNamespace, deleteAmqpNamespace, expectEventually, peers, uniqueName } from '@pbx/testing';
import { MailAdapter } from './mail.adapter';
import { NotificationsRepository } from './notifications.repository';
import { notifierTestBed, PUBLIC_URL } from './notifier.test-helper';
import { ReportService } from './report.service';
import { StalenessService } from './staleness.service';
import { DELIVERY_CODE_TEXTS } from './templates';

const logger = createLogger({ service: 'notifier-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const SECRET = `s3cr3t-${randomUUID()}`;
const SETTINGS_USER = `settings-user-${randomUUID().slice(0, 8)}`;
const NEXT_RUN = new Date('2030-01-02T03:00:00Z');

const bed = notifierTestBed('notifier', { logger });
const { inboxHas } = bed;

const address = (tag: string) => `${uniqueName(tag).toLowerCase()}@reports.example.test`;

/** Every mail addressed to `to` in the sink (cheap pre-filter on the raw bytes: the maildir is shared). */
async function mailsTo(to: string): Promise<{ raw: string; mail: ParsedMail }[]> {
  const dir = peers.smtp.maildir;
  const since = Date.now() - 10 * 60_000;
  const out: { raw: string; mail: ParsedMail }[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.eml'))) {
    const file = join(dir, name);
    const st = await stat(file).catch(() => null);
    if (!st || st.mtimeMs < since || st.size > 1024 * 1024) continue;
    const raw = await readFile(file, 'utf8').catch(() => null);
    if (!raw || !raw.includes(to)) continue;
    const mail = await simpleParser(raw);
    const recipients = [mail.to ?? []].flat().flatMap((a) => a.value.map((v) => v.address));
    if (recipients.includes(to)) out.push({ raw, mail });
  }
  return out;
}

const oneMailTo = (to: string) =>
  expectEventually(async () => {
    const mails = await mailsTo(to);
    return mails.length ? mails : null;
  }, { timeoutMs: 20_000, message: `no mail to ${to}` }).then((mails) => {
    expect(mails).toHaveLength(1);
    return mails[0];
  });

interface SeedDelivery {
  type: DestinationType;
  target: string;
  status: DeliveryStatus;
  code: DeliveryCode | null;
  error?: string;
  location?: string;
}

interface Seeded {
  configuration: ConfigurationEntity;
  run: RunEntity;
}

async function seedRun(opts: {
  kind?: ConfigurationKind;
  reportTo: string;
  language?: Language;
  notifyOnSuccess?: boolean;
  name?: string;
  deliveries?: SeedDelivery[];
  status?: RunEntity['status'];
  counts?: Record<string, number>;
}): Promise<Seeded> {
  const m = bed.db.dataSource.manager;
  const kind = opts.kind ?? 'backup';
  const configuration = await m.save(
    m.create(ConfigurationEntity, {
      kind,
      name: opts.name ?? uniqueName('Nightly R&D'),
      nameKey: uniqueName('k'),
      reportTo: opts.reportTo,
      interval: 'daily',
      startAt: '03:00',
      timezone: 'UTC',
      data: kind === 'backup' ? { coreData: true, cdrAndVoicemails: true, announcements: false } : { cdr: { enabled: true, daysToKeep: 30 }, voicemails: { enabled: true, daysToKeep: 30 } },
      keepLast: 5,
      notifyOnSuccess: opts.notifyOnSuccess ?? false,
      language: opts.language ?? 'en',
      nextRunAt: NEXT_RUN,
    }),
  );
  const destinations: DestinationEntity[] = [];
  for (const [i, d] of (opts.deliveries ?? []).entries()) {
    destinations.push(
      await m.save(
        m.create(DestinationEntity, {
          configurationId: configuration.id,
          position: i,
          type: d.type,
          settings: { host: '10.0.0.5', path: '/backups', username: SETTINGS_USER },
          secrets: { password: SECRET },
        }),
      ),
    );
  }
  const run = await m.save(
    m.create(RunEntity, {
      kind,
      configurationId: configuration.id,
      configurationName: configuration.name,
      trigger: 'schedule',
      catchUp: true,
      status: opts.status ?? 'failed',
      scheduledFor: new Date('2030-01-01T03:00:00Z'),
      startedAt: new Date('2030-01-01T03:00:02Z'),
      finishedAt: new Date('2030-01-01T03:04:10Z'),
      deferrals: [],
      snapshot: snapshotOf(configuration, destinations),
      counts: opts.counts ?? null,
      artifactFileName: opts.deliveries?.length ? 'pbx-backup-20300101-0300.sar' : null,
      artifactSize: opts.deliveries?.length ? 5 * 1024 * 1024 : null,
    }),
  );
  for (const [i, d] of (opts.deliveries ?? []).entries()) {
    await m.save(
      m.create(DeliveryEntity, {
        runId: run.id,
        destinationId: destinations[i].id,
        type: d.type,
        target: d.target,
        status: d.status,
        code: d.code,
        error: d.error ?? null,
        location: d.location ?? null,
        attempts: 1,
      }),
    );
  }
  return { configuration, run };
}

function expectNoSecrets(raw: string): void {
  expect(raw).not.toContain(SECRET);
  expect(raw).not.toContain(SETTINGS_USER);
}

describe('notifier (real SMTP sink, Postgres, RabbitMQ)', () => {
  const notifier = bed.running();

  const publish = <T extends MessageType>(type: T, payload: PayloadOf<T>, runId: string): Promise<Envelope<T>> => {
    const env = createEnvelope(type, payload, runId);
    return notifier.publisher.publish(env).then(() => env);
  };

  /** Publishes a message that mails nobody and waits until it was handled: with prefetch 1 everything before it was handled too. */
  async function drain(): Promise<void> {
    const { run } = await seedRun({ reportTo: address('sentinel'), status: 'succeeded', notifyOnSuccess: false });
    const env = await publish('backup.succeeded', { runId: run.id }, run.id);
    await expectEventually(() => inboxHas(env.messageId));
  }

  describe.each(['en', 'de'] as const)('failure reports in %s', (language) => {
    const t = {
      en: { failed: 'FAILED', partial: 'PARTIALLY FAILED', run: 'Run id', step: 'packing (collecting', next: '2030-01-02 03:00:00 UTC', due: '2030-01-01 03:00:00 UTC', trigger: 'scheduled, catch-up' },
      de: { failed: 'FEHLGESCHLAGEN', partial: 'TEILWEISE FEHLGESCHLAGEN', run: 'Lauf-ID', step: 'Packen (Zusammenstellen', next: '02.01.2030 03:00:00 UTC', due: '01.01.2030 03:00:00 UTC', trigger: 'geplant, Nachholung' },
    }[language];

    it('reports a packing failure with what, when, why, the next run and the link', async () => {
      const reportTo = address(`pack-${language}`);
      const { run, configuration } = await seedRun({
        reportTo,
        language,
        deliveries: [{ type: 'sftp', target: '[SFTP]10.0.0.5:/backups', status: 'pending', code: null }],
      });
      await bed.db.dataSource.query('DELETE FROM deliveries WHERE run_id = $1', [run.id]); // packing failed: no deliveries started
      await publish('backup.failed', { runId: run.id, status: 'failed', step: 'packing', error: 'PBX database unreachable (ECONNREFUSED)' }, run.id);
      const { raw, mail } = await oneMailTo(reportTo);

      expect(mail.subject).toContain(t.failed);
      expect(mail.subject).not.toContain(t.partial);
      expect(mail.subject).toContain(configuration.name);
      expect(mail.from?.text).toContain('backup@pbx.example.test');
      expect(mail.messageId).toBe(`<${run.id}.backup.failed@pbx.example.test>`);
      const link = `${PUBLIC_URL}/api/v1/runs/${run.id}`;
      for (const body of [mail.text ?? '', String(mail.html)]) {
        expect(body).toContain(run.id);
        expect(body).toContain(t.run);
        expect(body).toContain(t.step);
        expect(body).toContain('PBX database unreachable (ECONNREFUSED)');
        expect(body).toContain(t.next);
        expect(body).toContain(t.due);
        expect(body).toContain(t.trigger);
        expect(body).toContain(link);
      }
      expect(mail.text).toContain(configuration.name);
      expect(String(mail.html)).toContain(configuration.name.replace('&', '&amp;'));
      expectNoSecrets(raw);
      const [row] = await bed.db.dataSource.query('SELECT recipient, sent_at FROM notifications WHERE subject_id = $1 AND kind = $2', [run.id, 'backup.failed']);
      expect(row.recipient).toBe(reportTo);
      expect(row.sent_at).toBeInstanceOf(Date);
    });

    it('reports a partial delivery failure naming the failing destination, its code sentence and hint', async () => {
      const reportTo = address(`partial-${language}`);
      const { run, configuration } = await seedRun({
        reportTo,
        language,
        status: 'partially_failed',
        deliveries: [
          { type: 'local', target: '[LOCAL]/var/backups', status: 'succeeded', code: 'successful', location: 'Nightly/pbx-backup-20300101-0300.sar' },
          { type: 'sftp', target: '[SFTP]10.0.0.5:/backups', status: 'failed', code: 'sftpRightProblem', error: 'Permission denied (/backups/pbx-backup.sar)' },
        ],
      });
      await publish('backup.failed', { runId: run.id, status: 'partially_failed', step: 'delivery', error: null }, run.id);
      const { raw, mail } = await oneMailTo(reportTo);

      expect(mail.subject).toContain(t.partial);
      expect(mail.subject).toContain(configuration.name);
      const texts = DELIVERY_CODE_TEXTS[language];
      for (const body of [mail.text ?? '', String(mail.html)]) {
        expect(body).toContain('[SFTP]10.0.0.5:/backups');
        expect(body).toContain('sftpRightProblem');
        expect(body).toContain(texts.sftpRightProblem.sentence.replace("'", '&#39;').slice(0, 30));
        expect(body).toContain(texts.sftpRightProblem.hint.slice(0, 30));
        expect(body).toContain('Permission denied (/backups/pbx-backup.sar)');
        expect(body).toContain('[LOCAL]/var/backups');
        expect(body).toContain(run.id);
        expect(body).toContain(t.next);
        expect(body).toContain(`${PUBLIC_URL}/api/v1/runs/${run.id}`);
      }
      expectNoSecrets(raw);
    });
  });

  it('reports an archive failure with what was archived', async () => {
    const reportTo = address('archive');
    const { run } = await seedRun({ kind: 'archive', reportTo, counts: { cdr: 1234, voicemails: 56, pbxBytesBefore: 10 * 1024 * 1024, pbxBytesAfter: 1024 * 1024 } });
    await publish('archive.failed', { runId: run.id, step: 'deletion', error: 'could not delete voicemails: permission denied' }, run.id);
    const { raw, mail } = await oneMailTo(reportTo);
    expect(mail.subject).toContain('[PBX archiving] FAILED');
    expect(mail.text).toMatch(/Call records \(CDR\):\s+1,234/);
    expect(mail.text).toMatch(/Voicemails:\s+56/);
    expect(mail.text).toMatch(/PBX data before:\s+10\.0 MiB/);
    expect(mail.text).toMatch(/PBX data after:\s+1\.0 MiB/);
    expect(mail.text).toContain('could not delete voicemails: permission denied');
    expectNoSecrets(raw);
  });

  it('sends one mail per run and kind under redelivery, a replayed message id and concurrent duplicates', async () => {
    const reportTo = address('dup');
    const { run } = await seedRun({ reportTo, status: 'failed' });
    const payload = { runId: run.id, status: 'failed' as const, step: 'packing' as const, error: 'boom' };
    const first = createEnvelope('backup.failed', payload, run.id);
    await notifier.publisher.publish(first);
    await notifier.publisher.publish(first); // the same message delivered twice
    const other = await publish('backup.failed', payload, run.id); // a second event for the same run and kind
    await expectEventually(async () => (await inboxHas(first.messageId)) && inboxHas(other.messageId));
    await drain();
    expect(await mailsTo(reportTo)).toHaveLength(1);

    // Concurrent duplicates (two replicas, or prefetch > 1): the row lock lets exactly one send.
    const reportTo2 = address('dup-concurrent');
    const seeded = await seedRun({ reportTo: reportTo2, status: 'failed' });
    const reports = notifier.app.get(ReportService);
    const outcomes = await Promise.all([1, 2, 3].map(() => reports.reportFailure({ kind: 'backup', runId: seeded.run.id, status: 'failed', step: 'packing', error: 'x' })));
    expect(outcomes.sort()).toEqual(['already-sent', 'already-sent', 'sent']);
    expect(await mailsTo(reportTo2)).toHaveLength(1);
  });

  it('mails successes only when the configuration asks for it', async () => {
    const quiet = address('success-off');
    const loud = address('success-on');
    const off = await seedRun({ reportTo: quiet, status: 'succeeded', notifyOnSuccess: false, deliveries: [{ type: 'local', target: '[LOCAL]/var/backups', status: 'succeeded', code: 'successful', location: 'Nightly/a.sar' }] });
    const on = await seedRun({ reportTo: loud, status: 'succeeded', notifyOnSuccess: true, deliveries: [{ type: 'local', target: '[LOCAL]/var/backups', status: 'succeeded', code: 'successful', location: 'Nightly/a.sar' }] });
    await publish('backup.succeeded', { runId: off.run.id }, off.run.id);
    await publish('backup.succeeded', { runId: on.run.id }, on.run.id);
    const { mail, raw } = await oneMailTo(loud);
    expect(mail.subject).toContain('[PBX backup] succeeded');
    expect(mail.text).toContain('Stored as: Nightly/a.sar');
    expectNoSecrets(raw);
    await drain();
    expect(await mailsTo(quiet)).toHaveLength(0);
    expect(await mailsTo(loud)).toHaveLength(1);
    const rows: unknown[] = await bed.db.dataSource.query('SELECT 1 FROM notifications WHERE subject_id = $1', [off.run.id]);
    expect(rows).toHaveLength(0);
  });

  it('mails a read-back that found a copy changed or missing (en and de), once per verification; one that found all intact is not mailed', async () => {
    for (const [language, changed, gone] of [['en', 'CHANGED', 'MISSING'], ['de', 'VERÄNDERT', 'FEHLT']] as const) {
      const reportTo = address(`verify-${language}`);
      const { run } = await seedRun({
        reportTo,
        language,
        status: 'succeeded',
        deliveries: [
          { type: 'sftp', target: '[SFTP]10.0.0.5:/backups', status: 'succeeded', code: 'successful', location: 'Nightly/a.sar' },
          { type: 'local', target: '[LOCAL]/var/backups', status: 'succeeded', code: 'successful', location: 'Nightly/a.sar' },
        ],
      });
      const [sftp, local] = await bed.db.dataSource.manager.find(DeliveryEntity, { where: { runId: run.id }, order: { type: 'DESC' } });
      const intact = await publish('run.verified', { runId: run.id, reason: 'manual', results: [{ deliveryId: sftp!.id, destinationType: 'sftp', result: 'verified' }] }, run.id);
      const found = await publish('run.verified', {
        runId: run.id,
        reason: 'schedule',
        results: [
          { deliveryId: sftp!.id, destinationType: 'sftp', result: 'mismatch' },
          { deliveryId: local!.id, destinationType: 'local', result: 'missing' },
        ],
      }, run.id);
      await notifier.publisher.publish(found); // a redelivery mails nothing more
      const { mail, raw } = await oneMailTo(reportTo);
      for (const body of [mail.text ?? '', String(mail.html)]) {
        expect(body).toContain('[SFTP]10.0.0.5:/backups');
        expect(body).toContain(changed);
        expect(body).toContain(gone);
        expect(body).toContain('pbx-backup-20300101-0300.sar');
        expect(body).toContain(`${PUBLIC_URL}/api/v1/runs/${run.id}`);
      }
      expectNoSecrets(raw);
      await expectEventually(async () => (await inboxHas(intact.messageId)) || null);
      await drain();
      expect(await mailsTo(reportTo)).toHaveLength(1);
    }
  });

  it('mails a restore\'s result to the report-to address of the configuration its archive came from, once', async () => {
    const reportTo = address('restore');
    const { run } = await seedRun({ reportTo, language: 'de', status: 'succeeded', deliveries: [{ type: 'local', target: '[LOCAL]/var/backups', status: 'succeeded', code: 'successful', location: 'Nightly/a.sar' }] });
    const restore = await bed.db.dataSource.manager.save(
      bed.db.dataSource.manager.create(RestoreEntity, {
        source: { runId: run.id }, requestedSections: [], mode: 'replace', preview: false, allowOtherPbx: false, keySealed: null, status: 'rolled_back', phase: 'done',
        sections: [{ name: 'cdrAndVoicemails', status: 'rolled-back', counts: { rowsInserted: 0, rowsDeleted: 0, filesWritten: 0 } }],
        safetyBackup: { path: '/var/artifacts/safety-x.sar', size: 2048, sha256: 'a'.repeat(64) }, error: 'disk full while swapping the voicemail folder', finishedAt: new Date('2030-01-02T10:00:00Z'),
      }),
    );
    const env = await publish('restore.failed', { restoreId: restore.id, status: 'rolled_back', error: 'disk full while swapping the voicemail folder' }, restore.id);
    await notifier.publisher.publish(env); // a redelivery mails nothing more
    const { mail, raw } = await oneMailTo(reportTo);
    expect(mail.subject).toBe('[TK-Anlagen-Wiederherstellung] ZURÜCKGEROLLT');
    for (const body of [mail.text ?? '', String(mail.html)]) {
      expect(body).toContain('Verbindungsdaten und Voicemails');
      expect(body).toContain('/var/artifacts/safety-x.sar');
      expect(body).toContain('disk full while swapping the voicemail folder');
      expect(body).toContain(`${PUBLIC_URL}/api/v1/restores/${restore.id}`);
    }
    expectNoSecrets(raw);
    await drain();
    expect(await mailsTo(reportTo)).toHaveLength(1);
  });

  describe('staleness alarm', () => {
    const setLastSuccess = (id: string, agoMs: number | null, clearAlert = false) =>
      bed.db.dataSource.query(
        `UPDATE configurations SET last_success_at = CASE WHEN $2::bigint IS NULL THEN NULL ELSE now() - $2::bigint * interval '1 millisecond' END
           ${clearAlert ? ', stale_alerted_at = NULL' : ''} WHERE id = $1`,
        [id, agoMs],
      );
    const DAY = 24 * 3_600_000;

    it('fires once (even with two replicas), re-arms after a success and fires again only when stale again', async () => {
      const reportTo = address('stale');
      const { configuration } = await seedRun({ reportTo, status: 'failed' });
      await setLastSuccess(configuration.id, 3 * DAY); // daily: threshold 2 days + 1 h
      // Configurations the alarm must ignore: fresh, manual, ephemeral, deleted.
      const ignored = [address('fresh'), address('manual'), address('ephemeral'), address('deleted')];
      const others = await Promise.all(ignored.map((to) => seedRun({ reportTo: to })));
      await setLastSuccess(others[0].configuration.id, DAY);
      for (const [i, patch] of [[1, `"interval" = 'manual', next_run_at = NULL`], [2, 'ephemeral = true'], [3, 'deleted_at = now()']] as const) {
        await setLastSuccess(others[i].configuration.id, 30 * DAY);
        await bed.db.dataSource.query(`UPDATE configurations SET ${patch} WHERE id = $1`, [others[i].configuration.id]);
      }

      const env = bed.env(notifier.namespace);
      const replica = new StalenessService(bed.db.dataSource, new NotificationsRepository(), new MailAdapter({ smtpUrl: env.SMTP_URL, mailFrom: env.MAIL_FROM }), env, logger);
      const mine = notifier.app.get(StalenessService);
      const [a, b] = await Promise.all([mine.checkOnce(), replica.checkOnce()]);
      expect([...a, ...b]).toEqual([configuration.id]);
      const { mail, raw } = await oneMailTo(reportTo);
      expect(mail.subject).toBe(`[PBX backup] "${configuration.name}": no successful run for too long`);
      expect(mail.text).toContain('more than 49 hours');
      expect(mail.text).toContain(`${PUBLIC_URL}/api/v1/backup-configurations/${configuration.id}`);
      expect(mail.text).toMatch(/Latest run:\s+failed/);
      expectNoSecrets(raw);
      for (const to of ignored) expect(await mailsTo(to)).toHaveLength(0);

      // Still stale, already alerted: nothing more.
      expect(await mine.checkOnce()).toEqual([]);
      expect(await mailsTo(reportTo)).toHaveLength(1);

      // A success (as the dispatcher records it) re-arms the alarm; a fresh success is not stale.
      await setLastSuccess(configuration.id, 0, true);
      expect(await mine.checkOnce()).toEqual([]);
      expect(await mailsTo(reportTo)).toHaveLength(1);

      // Stale again: a second alert, with its own Message-ID.
      await setLastSuccess(configuration.id, 2 * DAY + 2 * 3_600_000);
      expect(await mine.checkOnce()).toEqual([configuration.id]);
      const mails = await mailsTo(reportTo);
      expect(mails).toHaveLength(2);
      expect(new Set(mails.map((m) => m.mail.messageId)).size).toBe(2);
      const [{ n }] = await bed.db.dataSource.query(`SELECT count(*)::int AS n FROM notifications WHERE subject_id = $1 AND kind LIKE 'stale:%' AND sent_at IS NOT NULL`, [configuration.id]);
      expect(n).toBe(2);
      replica['mail'].close();
    });

    it('runs by itself every STALENESS_CHECK_MS', async () => {
      const reportTo = address('stale-timer');
      const { configuration } = await seedRun({ reportTo, language: 'de' });
      await bed.db.dataSource.query(`UPDATE configurations SET created_at = now() - interval '3 days' WHERE id = $1`, [configuration.id]); // never succeeded
      const env = bed.env(notifier.namespace, { STALENESS_CHECK_MS: '200' });
      const service = new StalenessService(bed.db.dataSource, new NotificationsRepository(), new MailAdapter({ smtpUrl: env.SMTP_URL, mailFrom: env.MAIL_FROM }), env, logger);
      service.onApplicationBootstrap();
      try {
        const { mail } = await oneMailTo(reportTo);
        expect(mail.subject).toContain('seit zu langer Zeit kein erfolgreicher Lauf');
        expect(mail.text).toContain('noch nie (Konfiguration angelegt');
      } finally {
        await service.onApplicationShutdown();
      }
    });
  });
});

describe('notifier with the SMTP server down', () => {
  it('retries, dead-letters without marking anything sent, and a replay after the fix mails exactly once', async () => {
    const namespace = amqpNamespace();
    const closedPort = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => resolve(port));
      });
    });
    const reportTo = address('smtp-down');
    const { run } = await seedRun({ reportTo, status: 'failed' });
    let broken: INestApplication | undefined = await bed.boot(bed.env(namespace, { SMTP_URL: `smtp://127.0.0.1:${closedPort}`, AMQP_MAX_ATTEMPTS: '2', AMQP_RETRY_DELAY_MS: '100' }));
    let fixed: INestApplication | undefined;
    const recorder = new DeadLetterRecorder(broken.get(AmqpConnection), bed.db.dataSource, logger);
    try {
      await recorder.start();
      const envelope = createEnvelope('backup.failed', { runId: run.id, status: 'failed', step: 'packing', error: 'boom' }, run.id);
      await new MessagePublisher(broken.get(AmqpConnection)).publish(envelope);
      const { letter, replay } = await bed.deadLetter(envelope.messageId);
      expect(letter.attempts).toBe(2);
      expect(letter.reason).toContain('could not send the mail');
      expect(letter.reason).not.toContain(SECRET);
      const sent: unknown[] = await bed.db.dataSource.query('SELECT 1 FROM notifications WHERE subject_id = $1 AND sent_at IS NOT NULL', [run.id]);
      expect(sent).toHaveLength(0);
      expect(await inboxHas(envelope.messageId)).toBe(false);

      // An event for a run that does not exist cannot succeed later: dead-lettered on the first attempt.
      const orphan = createEnvelope('archive.failed', { runId: randomUUID(), step: 'packing', error: null }, 'orphan');
      await new MessagePublisher(broken.get(AmqpConnection)).publish(orphan);
      const [dead] = await expectEventually(async () => {
        const rows: { reason: string; attempts: number }[] = await bed.db.dataSource.query('SELECT reason, attempts FROM dead_letters WHERE message_id = $1', [orphan.messageId]);
        return rows.length ? rows : null;
      });
      expect(dead).toEqual({ reason: `run ${orphan.payload.runId} does not exist`, attempts: 1 });
      await recorder.stop();
      await broken.close();
      broken = undefined;

      fixed = await bed.boot(bed.env(namespace));
      const amqp = fixed.get(AmqpConnection);
      await republishDeadLetter(amqp, replay);
      const { mail } = await oneMailTo(reportTo);
      expect(mail.messageId).toBe(`<${run.id}.backup.failed@pbx.example.test>`);
      await expectEventually(() => inboxHas(envelope.messageId));
      // A second replay of the same letter is a duplicate: still one mail.
      await republishDeadLetter(amqp, replay);
      const sentinel = await seedRun({ reportTo: address('sentinel'), status: 'succeeded' });
      const marker = createEnvelope('backup.succeeded', { runId: sentinel.run.id }, sentinel.run.id);
      await new MessagePublisher(amqp).publish(marker);
      await expectEventually(() => inboxHas(marker.messageId));
      expect(await mailsTo(reportTo)).toHaveLength(1);
    } finally {
      await recorder.stop();
      await broken?.close();
      await fixed?.close();
      await deleteAmqpNamespace(namespace);
    }
  });
});
