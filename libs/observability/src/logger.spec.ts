import { Writable } from 'node:stream';
import { createLogger } from './logger';

/** Collects what a logger writes, as text. */
function sink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

describe('createLogger formats', () => {
  it('json: one object a line with service and level label, secrets redacted', () => {
    const out = sink();
    createLogger({ service: 'api', format: 'json', destination: out.stream }).info({ destination: { password: 'hunter2', host: 'nas' } }, 'saved');
    const line = JSON.parse(out.text());
    expect(line).toMatchObject({ service: 'api', level: 'info', msg: 'saved', destination: { password: '[redacted]', host: 'nas' } });
  });

  it('pretty: a readable line (level, service, message; no JSON), secrets redacted too', () => {
    const out = sink();
    createLogger({ service: 'packer', format: 'pretty', destination: out.stream }).warn({ token: 'pbx_secret_value', run: 'r1' }, 'lock held');
    const text = out.text();
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN.*: lock held/);
    expect(text).toContain('service: "packer"');
    expect(text).toContain('token: "[redacted]"');
    expect(text).not.toContain('pbx_secret_value');
    expect(() => JSON.parse(text)).toThrow();
  });
});
