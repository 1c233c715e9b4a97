#!/usr/bin/env node
// SMTP sink for tests (started by scripts/test-peers.sh): accepts any AUTH, stores every
// message as <MAILDIR>/<time>-<pid>-<n>.eml. Written to .part first and renamed, so a reader
// polling the maildir never sees half a message. Plain JS so it runs without a build.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { SMTPServer } = require('smtp-server');

const dir = process.env.MAILDIR;
const port = Number(process.env.SMTP_PORT || 2525);
const maxBytes = 100 * 1024 * 1024;
if (!dir) {
  console.error('MAILDIR is required');
  process.exit(2);
}
fs.mkdirSync(dir, { recursive: true });
let n = 0;

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  allowInsecureAuth: true,
  size: maxBytes,
  logger: false,
  onAuth(auth, _session, cb) {
    cb(null, { user: auth.username });
  },
  onData(stream, _session, cb) {
    const file = path.join(dir, `${Date.now()}-${process.pid}-${++n}.eml`);
    const part = `${file}.part`;
    const out = fs.createWriteStream(part);
    stream.on('error', (err) => {
      out.destroy();
      fs.rm(part, { force: true }, () => cb(err));
    });
    out.on('error', (err) => cb(err));
    out.on('finish', () => {
      if (stream.sizeExceeded) {
        fs.rm(part, { force: true }, () => cb(Object.assign(new Error('message exceeds fixed maximum message size'), { responseCode: 552 })));
        return;
      }
      fs.rename(part, file, (err) => (err ? cb(err) : cb(null, `stored ${path.basename(file)}`)));
    });
    stream.pipe(out);
  },
});
server.on('error', (err) => console.error('smtp sink error:', err.message));
server.listen(port, '127.0.0.1', () => console.log(`smtp sink on 127.0.0.1:${port} -> ${dir}`));
