import { DELIVERY_CODES } from '@pbx/contracts';
import { DELIVERY_CODE_TEXTS, deliveryLabel, escapeHtml, renderRunReport, renderStaleAlert, type RunReportModel } from './index';

const base: RunReportModel = {
  kind: 'backup',
  outcome: 'partially_failed',
  configurationName: 'Nightly <R&D>',
  runId: '3f2b1c4d-0000-4000-8000-000000000001',
  trigger: 'schedule',
  catchUp: true,
  scheduledFor: new Date('2030-01-01T02:00:00Z'),
  startedAt: new Date('2030-01-01T02:00:05Z'),
  finishedAt: new Date('2030-01-01T02:03:00Z'),
  failedStep: 'delivery',
  error: null,
  deliveries: [
    { type: 'sftp', target: '[SFTP]10.0.0.5:/backups', status: 'failed', code: 'sftpRightProblem', error: 'Permission denied', location: null },
    { type: 'local', target: '', status: 'succeeded', code: 'successful', error: null, location: 'Nightly/backup.sar' },
  ],
  deferrals: 0,
  artifact: { fileName: 'backup.sar', size: 3 * 1024 * 1024 },
  counts: null,
  nextRunAt: new Date('2030-01-02T02:00:00Z'),
  timezone: 'Europe/Berlin',
  link: 'https://pbx.example/api/v1/runs/3f2b1c4d-0000-4000-8000-000000000001',
};

describe('notifier templates', () => {
  it('has a sentence and a hint for every delivery code in both languages', () => {
    for (const lang of ['en', 'de'] as const) {
      for (const code of DELIVERY_CODES) {
        expect(DELIVERY_CODE_TEXTS[lang][code].sentence.length).toBeGreaterThan(10);
        expect(DELIVERY_CODE_TEXTS[lang][code].hint.length).toBeGreaterThan(5);
      }
    }
    expect(DELIVERY_CODE_TEXTS.de.authFailed.sentence).not.toBe(DELIVERY_CODE_TEXTS.en.authFailed.sentence);
  });

  it('escapes HTML in the html part and keeps the text part literal', () => {
    const mail = renderRunReport(base, 'en');
    expect(mail.html).toContain('Nightly &lt;R&amp;D&gt;');
    expect(mail.html).not.toContain('<R&D>');
    expect(mail.text).toContain('Nightly <R&D>');
    expect(escapeHtml(`"'<>&`)).toBe('&quot;&#39;&lt;&gt;&amp;');
  });

  it('renders times in the configuration time zone, per language', () => {
    expect(renderRunReport(base, 'en').text).toMatch(/Next scheduled run:\s+2030-01-02 03:00:00 Europe\/Berlin/);
    expect(renderRunReport(base, 'de').text).toMatch(/Nächster geplanter Lauf:\s+02\.01\.2030 03:00:00 Europe\/Berlin/);
  });

  it('lists failing destinations with code sentence and hint, successful ones with their location', () => {
    const { subject, text } = renderRunReport(base, 'en');
    expect(subject).toBe('[PBX backup] PARTIALLY FAILED: "Nightly <R&D>" (3f2b1c4d)');
    expect(text).toContain('! [SFTP]10.0.0.5:/backups — failed');
    expect(text).toContain(`Code sftpRightProblem: ${DELIVERY_CODE_TEXTS.en.sftpRightProblem.sentence}`);
    expect(text).toContain(DELIVERY_CODE_TEXTS.en.sftpRightProblem.hint);
    expect(text).toContain('Detail: Permission denied');
    expect(text).toContain('- [LOCAL] — stored');
    expect(text).toContain('Stored as: Nightly/backup.sar');
    expect(text).toContain('catch-up');
    expect(text).not.toContain(DELIVERY_CODE_TEXTS.en.successful.hint);
  });

  it('shows archive counts with byte sizes', () => {
    const text = renderRunReport({ ...base, kind: 'archive', outcome: 'failed', failedStep: 'deletion', error: 'boom', deliveries: [], counts: { cdr: 1234, voicemails: 5, pbxBytesBefore: 10 * 1024 * 1024 } }, 'en').text;
    expect(text).toMatch(/Call records \(CDR\):\s+1,234/);
    expect(text).toMatch(/PBX data before:\s+10\.0 MiB/);
    expect(text).toContain('deleting the archived data');
  });

  it('labels a delivery by its target, or its type when the target is empty', () => {
    expect(deliveryLabel({ type: 'smb', target: '' })).toBe('[SMB]');
    expect(deliveryLabel({ type: 'smb', target: '//nas/backup' })).toBe('[SMB]//nas/backup');
    expect(deliveryLabel({ type: 'sftp', target: '[SFTP]h:/p' })).toBe('[SFTP]h:/p');
  });

  it('renders a staleness alert in both languages', () => {
    const model = {
      kind: 'backup' as const,
      configurationId: 'c1',
      configurationName: 'Daily',
      interval: 'daily' as const,
      lastSuccessAt: null,
      createdAt: new Date('2030-01-01T00:00:00Z'),
      thresholdMs: 49 * 3_600_000,
      lastRun: null,
      nextRunAt: null,
      timezone: 'UTC',
      link: 'http://x/api/v1/backup-configurations/c1',
    };
    expect(renderStaleAlert(model, 'en').text).toContain('more than 49 hours');
    expect(renderStaleAlert(model, 'en').text).toContain('never (configuration created 2030-01-01 00:00:00 UTC)');
    expect(renderStaleAlert(model, 'de').subject).toBe('[TK-Anlagen-Sicherung] "Daily": seit zu langer Zeit kein erfolgreicher Lauf');
  });
});
