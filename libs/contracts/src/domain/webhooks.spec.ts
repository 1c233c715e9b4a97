import { webhookListSchema, webhookSchema, webhookUrlProblems } from './webhooks';

describe('webhook URLs', () => {
  it.each(['https://hooks.slack.com/services/T0/B0/xyz', 'http://10.0.0.5:8080/hook?x=1', 'https://[fd00::5]/pbx', 'https://outlook.office.com/webhook/abc'])('accepts %s', (url) => {
    expect(webhookUrlProblems(url)).toEqual([]);
  });

  it.each([
    ['', 'must not be empty'],
    ['hooks.example.com/x', 'must be an absolute URL like https://hooks.example.com/pbx'],
    ['ftp://hooks.example.com/x', 'must start with https:// or http://'],
    ['file:///etc/passwd', 'must start with https:// or http://'],
    ['https://user:pw@hooks.example.com/x', 'must not contain a user name or password (use the secret field to sign requests)'],
    ['https://token@hooks.example.com/x', 'must not contain a user name or password (use the secret field to sign requests)'],
    ['https://hooks.example.com/x#frag', 'must not contain a #fragment'],
    [`https://hooks.example.com/${'a'.repeat(2048)}`, 'must be at most 2048 characters'],
  ])('refuses %j', (url, message) => {
    const problems = webhookUrlProblems(url);
    expect(problems).toContain(message);
    // A message never repeats the URL: it may carry a token.
    for (const p of problems) if (url) expect(p).not.toContain(url);
  });
});

describe('webhookSchema', () => {
  it('defaults format json and events failure + staleness', () => {
    expect(webhookSchema.parse({ url: 'https://hooks.example.com/x' })).toEqual({ url: 'https://hooks.example.com/x', format: 'json', events: ['failure', 'staleness'] });
  });

  it('refuses unknown formats, events, duplicates, short secrets and unknown fields', () => {
    const r = webhookSchema.safeParse({ url: 'https://h.example.com/x', format: 'discord', events: ['failure', 'failure', 'boom'], secret: 'short', extra: 1 });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.')).sort();
    expect(paths).toEqual(expect.arrayContaining(['format', 'events.2', 'secret', '']));
    expect(JSON.stringify(r.error!.issues)).not.toContain('short');
    expect(webhookSchema.safeParse({ url: 'https://h.example.com/x', events: [] }).success).toBe(false);
    expect(webhookSchema.safeParse({ url: 'https://h.example.com/x', events: ['success', 'success'] }).error?.issues[0]).toMatchObject({ path: ['events', 1], message: 'is listed twice' });
  });

  it('marks the secret write-only (OpenAPI shows it, responses never do)', () => {
    expect(webhookSchema.shape.secret.unwrap().meta()?.writeOnly).toBe(true);
  });

  it('allows at most 5 webhooks and no id twice', () => {
    const w = { url: 'https://h.example.com/x' };
    expect(webhookListSchema.safeParse(Array(6).fill(w)).success).toBe(false);
    const id = '6f1c2c1e-8a43-4a57-9d0e-2f3b5c1d7e90';
    expect(webhookListSchema.safeParse([{ ...w, id }, { ...w, id }]).error?.issues[0]).toMatchObject({ path: [1, 'id'], message: 'is listed twice' });
  });
});
