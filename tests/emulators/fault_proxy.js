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
// POST /__chaos takes random faults for every request no rule matches, for soak tests:
//   {"seed": 1, "status": 0.05, "reset": 0.02, "stall": 0.02, "stall_ms": 2000,
//    "latency_ms": 20}
// `status`: that share is answered 500, 503 or 429 (Retry-After: 0) without being passed
// on; `reset`: the connection is dropped before any answer; `stall`: the answer is held
// `stall_ms` first; every request waits up to `latency_ms` more. {} ends the chaos.
// GET /__chaos counts what it did.
// Prints {"port": N} once listening on 127.0.0.1; stops on SIGTERM.
//   node tests/emulators/fault_proxy.js <upstream URL>
'use strict';
const http = require('http');

const upstream = new URL(process.argv[2]);
let rules = [];
let chaos = null;
const chaosCounts = { requests: 0, status: 0, reset: 0, stall: 0 };
const seen = [];
// A small seeded generator (mulberry32), so a soak's faults can be replayed by its seed.
let rngState = 1;
function random() {
  rngState = (rngState + 0x6d2b79f5) | 0;
  let t = rngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
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
    if (req.url === '/__chaos') {
      if (req.method === 'POST') {
        const c = JSON.parse(body.toString() || '{}');
        chaos = Object.keys(c).length ? c : null;
        rngState = (chaos && chaos.seed) || 1;
        res.writeHead(204);
        return res.end();
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify(chaosCounts));
    }
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
    if (seen.length > 100000) seen.splice(0, 50000);  // a long soak stays bounded
    const rule = match(req);
    if (!rule && chaos) return chaotic(req, res, body);
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
// One request under chaos: perhaps a fault instead of the answer, perhaps a slow answer.
function chaotic(req, res, body) {
  chaosCounts.requests++;
  const roll = random();
  const latency = Math.floor(random() * (chaos.latency_ms || 0));
  const status = chaos.status || 0, reset = chaos.reset || 0, stall = chaos.stall || 0;
  let delay = latency;
  if (roll < status) {
    chaosCounts.status++;
    const code = [500, 503, 429][Math.floor(random() * 3)];
    return setTimeout(() => {
      const headers = { 'Content-Length': 0 };
      if (code === 429) headers['Retry-After'] = '0';
      res.writeHead(code, headers);
      res.end();
    }, delay);
  }
  if (roll < status + reset) {
    chaosCounts.reset++;
    return setTimeout(() => req.socket.destroy(), delay);
  }
  if (roll < status + reset + stall) {
    chaosCounts.stall++;
    delay += chaos.stall_ms || 2000;
  }
  setTimeout(() => forward(req, body, (answer, data) => {
    const headers = { ...answer.headers };
    delete headers['transfer-encoding'];
    headers['content-length'] = data.length;
    res.writeHead(answer.statusCode, headers);
    res.end(data);
  }), delay);
}

server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
process.on('SIGTERM', () => {
  for (const s of held) s.destroy();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
});
