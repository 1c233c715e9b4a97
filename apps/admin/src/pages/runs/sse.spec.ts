import { describe, expect, it } from '@jest/globals';
import { SseParser } from './sse';

describe('SseParser', () => {
  it('splits events across arbitrary chunk borders and drops comments and retry', () => {
    const parser = new SseParser();
    const stream = 'retry: 3000\n\nid: 1\nevent: status\ndata: {"status":"queued"}\n\n: heartbeat\n\nid: 2\nevent: progress\ndata: {"a":1}\n\n';
    const out = [];
    for (let i = 0; i < stream.length; i += 7) out.push(...parser.push(stream.slice(i, i + 7)));
    expect(out).toEqual([
      { id: '1', event: 'status', data: '{"status":"queued"}' },
      { id: '2', event: 'progress', data: '{"a":1}' },
    ]);
  });

  it('joins multi-line data and accepts CRLF', () => {
    expect(new SseParser().push('data: a\r\ndata: b\r\n\r\n')).toEqual([{ event: 'message', data: 'a\nb' }]);
  });
});
