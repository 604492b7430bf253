// A proxy in front of any storage emulator that misbehaves as real servers and networks
// do, for the faults the emulators cannot show themselves: a server that accepts a
// request and never answers, a redirect to itself (a loop for any client that follows
// it), 429 with Retry-After, an answer cut short or replaced by garbage.
// Requests pass to <upstream> unchanged (the Host header included, so SigV4 signatures
// still verify) unless a rule matches. POST /__faults takes a JSON list of rules, as in
// s3.js: `method`, a `path` substring, `skip`, `count`, then one action:
//   status (+ body, retry_after)   answer that status with that body
//   silent                         read the request, answer nothing, keep the connection
//   redirect                       307 to the same URL
//   garbage                        forward, then answer 200 with `body` instead
//   truncate                       forward, then send half the answer and close
// GET /__faults returns the rules left; GET /__log every request seen since.
// Prints {"port": N} once listening on 127.0.0.1; stops on SIGTERM.
//   node tests/emulators/fault_proxy.js <upstream URL>
'use strict';
const http = require('http');

const upstream = new URL(process.argv[2]);
let rules = [];
const seen = [];
const held = new Set(); // sockets of requests left unanswered

function match(req) {
  for (const r of rules) {
    if (r.count <= 0) continue;
    if (r.method && r.method !== req.method) continue;
    if (r.path && !req.url.includes(r.path)) continue;
    if (r.skip > 0) {
      r.skip--;
      continue;
    }
    r.count--;
    return r;
  }
  return null;
}

function forward(req, body, onAnswer) {
  const out = http.request({
    host: upstream.hostname, port: upstream.port, method: req.method, path: req.url,
    headers: req.headers,
  }, (answer) => {
    const chunks = [];
    answer.on('data', (c) => chunks.push(c));
    answer.on('end', () => onAnswer(answer, Buffer.concat(chunks)));
  });
  out.on('error', () => req.socket.destroy());
  out.end(body);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (req.url === '/__faults' || req.url === '/__log') {
      if (req.method === 'POST') {
        rules = JSON.parse(body.toString() || '[]');
        for (const r of rules) r.skip = r.skip || 0;
        seen.length = 0;
        res.writeHead(204);
        return res.end();
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify(req.url === '/__log' ? seen : rules));
    }
    seen.push(`${req.method} ${req.url}`);
    const rule = match(req);
    if (rule && rule.silent) {
      held.add(req.socket);
      req.socket.on('close', () => held.delete(req.socket));
      return;
    }
    if (rule && rule.redirect) {
      res.writeHead(307, { Location: `http://${req.headers.host}${req.url}`, 'Content-Length': 0 });
      return res.end();
    }
    if (rule && rule.status) {
      const headers = { 'Content-Length': Buffer.byteLength(rule.body || '') };
      if (rule.retry_after !== undefined) headers['Retry-After'] = String(rule.retry_after);
      res.writeHead(rule.status, headers);
      return res.end(rule.body || '');
    }
    forward(req, body, (answer, data) => {
      const headers = { ...answer.headers };
      delete headers['transfer-encoding'];
      if (rule && rule.garbage !== undefined) {
        const text = Buffer.from(rule.garbage);
        headers['content-length'] = text.length;
        delete headers['content-md5'];
        res.writeHead(200, headers);
        return res.end(text);
      }
      headers['content-length'] = data.length;
      res.writeHead(answer.statusCode, headers);
      if (rule && rule.truncate) {
        res.write(data.subarray(0, Math.floor(data.length / 2)));
        return setImmediate(() => req.socket.destroy());
      }
      res.end(data);
    });
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
process.on('SIGTERM', () => {
  for (const s of held) s.destroy();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
});
