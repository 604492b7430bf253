// A Google Cloud Storage test server: the JSON API calls abs and the official SDK make,
// served faithfully enough to referee both (no GCS emulator runs offline).
// - OAuth2: POST /token takes a JWT-bearer grant and checks its RS256 signature against
//   the service account's public key, its issuer, audience and expiry; every storage
//   call needs a token it issued. The one exception is the official SDK's emulator mode:
//   it sends resumable uploads to a custom endpoint without any Authorization header, so
//   those (and only those) may come without one; a wrong token is refused everywhere.
// - The GCE metadata server's token endpoint, for clients pointed here by
//   GCE_METADATA_HOST; its tokens are as good as those from /token.
// - Hashes as GCS gives them: md5Hash and crc32c in object resources and x-goog-hash,
//   which the SDK checks after every upload and download.
// - Objects: media and multipart uploads, resumable uploads (308 and Range, chunks in
//   multiples of 256 KiB, status queries, cancel), generations and ifGenerationMatch,
//   media downloads with Range, metadata, listing with prefix and page tokens, delete.
// - Faults for tests: POST /__faults with rules as in s3.js (method, a `path` substring,
//   `status`, `reset`, `partial` to keep only 256 KiB of a chunk, `lose_answer` to keep a
//   chunk and then drop the connection instead of answering, `count`, `skip`).
// It writes a service-account key file (to <key file>) whose token_uri points here, and
// prints {"port": N}.
//   node tests/emulators/gcs.js <key file> <bucket>[,<bucket>...]
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');

const [keyFile, buckets] = process.argv.slice(2);
const CHUNK = 256 * 1024;
const objects = new Map(); // "bucket/name" -> { data, generation, storageClass, updated }
const sessions = new Map();
const tokens = new Set();
let generation = 1000;
let rules = [];
const seen = [];
const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const email = 'abs-test@abs-test.iam.gserviceaccount.com';
const bucketSet = new Set(buckets.split(','));

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': typeof body === 'object' && !Buffer.isBuffer(body)
    ? 'application/json' : 'application/octet-stream', 'Content-Length': Buffer.byteLength(text),
  ...headers });
  res.end(text);
}
function error(res, status, message, headers = {}) {
  send(res, status, { error: { code: status, message, errors: [{ message }] } }, headers);
}
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
// CRC32C, big-endian, base64: the form GCS reports it in.
function crc32c(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}
function b64url(buf) {
  return Buffer.from(buf, 'base64url');
}
function resource(bucket, name, o) {
  return {
    kind: 'storage#object', id: `${bucket}/${name}/${o.generation}`, name, bucket,
    generation: String(o.generation), metageneration: '1', size: String(o.data.length),
    storageClass: o.storageClass || 'STANDARD', updated: o.updated, timeCreated: o.updated,
    contentType: o.contentType || 'application/octet-stream',
    md5Hash: o.md5, crc32c: o.crc32c,
  };
}
function put(bucket, name, data, meta, query, res) {
  const key = `${bucket}/${name}`;
  const existing = objects.get(key);
  if (query.get('ifGenerationMatch') !== null) {
    const want = Number(query.get('ifGenerationMatch'));
    if ((want === 0 && existing) || (want !== 0 && (!existing || existing.generation !== want))) {
      return error(res, 412, 'At least one of the pre-conditions you specified did not hold.');
    }
  }
  // Hashes once, when the object is stored: every download reports them.
  const o = { data, generation: ++generation, storageClass: meta.storageClass,
    contentType: meta.contentType, updated: new Date().toISOString(),
    md5: crypto.createHash('md5').update(data).digest('base64'), crc32c: crc32c(data) };
  objects.set(key, o);
  return send(res, 200, resource(bucket, name, o));
}
function parseMultipart(req, body) {
  const m = /boundary="?([^";]+)"?/.exec(req.headers['content-type'] || '');
  if (!m) return null;
  const parts = body.toString('latin1').split(`--${m[1]}`).slice(1, -1);
  const out = parts.map((p) => {
    const split = p.indexOf('\r\n\r\n');
    return Buffer.from(p.slice(split + 4, p.length - 2), 'latin1');
  });
  return out.length === 2 ? { meta: JSON.parse(out[0].toString() || '{}'), data: out[1] } : null;
}

function verifyJwt(assertion) {
  const [h, c, s] = (assertion || '').split('.');
  if (!h || !c || !s) return 'not a JWT';
  const header = JSON.parse(b64url(h).toString());
  const claims = JSON.parse(b64url(c).toString());
  if (header.alg !== 'RS256') return `alg ${header.alg}`;
  if (!crypto.verify('sha256', Buffer.from(`${h}.${c}`), publicKey, b64url(s))) {
    return 'bad signature';
  }
  const now = Date.now() / 1000;
  if (claims.iss !== email) return `issuer ${claims.iss}`;
  if (claims.aud !== `http://127.0.0.1:${server.address().port}/token`) return `audience ${claims.aud}`;
  if (!(claims.exp > now && claims.iat <= now + 60)) return 'expired';
  if (!String(claims.scope || '').includes('devstorage')) return `scope ${claims.scope}`;
  return null;
}

function fault(req, res) {
  seen.push(`${req.method} ${req.url}`);
  for (const r of rules) {
    if (r.count <= 0 || r.method !== req.method || (r.path && !req.url.includes(r.path))) continue;
    if (r.skip > 0) {
      r.skip--;
      continue;
    }
    r.count--;
    return r;
  }
  return null;
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    try {
      handle(req, res, Buffer.concat(chunks));
    } catch (e) {
      error(res, 500, String(e.stack));
    }
  });
});

function handle(req, res, body) {
  const url = new URL(req.url, 'http://x');
  const query = url.searchParams;
  const path = url.pathname;
  if (path === '/__faults' || path === '/__log') {
    if (req.method === 'POST') {
      rules = JSON.parse(body.toString() || '[]');
      for (const r of rules) r.skip = r.skip || 0;
      seen.length = 0;
      return send(res, 204, '');
    }
    return send(res, 200, path === '/__log' ? seen : rules);
  }
  if (req.method === 'POST' && path === '/token') {
    const form = new URLSearchParams(body.toString());
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      return send(res, 400, { error: 'unsupported_grant_type' });
    }
    const why = verifyJwt(form.get('assertion'));
    if (why) return send(res, 400, { error: 'invalid_grant', error_description: why });
    const token = crypto.randomBytes(16).toString('hex');
    tokens.add(token);
    return send(res, 200, { access_token: token, expires_in: 3600, token_type: 'Bearer' });
  }
  // The GCE metadata server's token for the instance's service account (what a client
  // finds at GCE_METADATA_HOST): only with the Metadata-Flavor header, as on GCE.
  if (path === '/computeMetadata/v1/instance/service-accounts/default/token') {
    if (req.headers['metadata-flavor'] !== 'Google') {
      return send(res, 403, 'Missing Metadata-Flavor:Google header.');
    }
    if (req.headers['x-forwarded-for']) return send(res, 403, 'forwarded requests refused');
    const token = crypto.randomBytes(16).toString('hex');
    tokens.add(token);
    return send(res, 200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
  }
  const auth = /^Bearer (.+)$/.exec(req.headers.authorization || '');
  const sdkEmulatorUpload = !req.headers.authorization &&
    path.startsWith('/upload/') && query.get('uploadType') === 'resumable';
  if (!sdkEmulatorUpload && (!auth || !tokens.has(auth[1]))) {
    return error(res, 401, 'Invalid Credentials');
  }
  const rule = fault(req, res);
  if (rule && rule.reset) return req.socket.destroy();
  if (rule && rule.lose_answer) {
    // The request is carried out, but its answer never arrives.
    res.writeHead = () => res;
    res.end = () => req.socket.destroy();
  }
  if (rule && rule.status) return error(res, rule.status, rule.message || 'injected fault');

  let m;
  if ((m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(path)) && req.method === 'POST') {
    const bucket = decodeURIComponent(m[1]);
    if (!bucketSet.has(bucket)) return error(res, 404, 'The specified bucket does not exist.');
    const type = query.get('uploadType');
    if (type === 'media') {
      return put(bucket, query.get('name'), body, { contentType: req.headers['content-type'] }, query, res);
    }
    if (type === 'multipart') {
      const mp = parseMultipart(req, body);
      if (!mp) return error(res, 400, 'bad multipart body');
      return put(bucket, mp.meta.name || query.get('name'), mp.data, mp.meta, query, res);
    }
    if (type === 'resumable') {
      const meta = body.length ? JSON.parse(body.toString()) : {};
      const name = query.get('name') || meta.name;
      if (!name) return error(res, 400, 'no object name');
      const id = crypto.randomBytes(12).toString('hex');
      sessions.set(id, { bucket, name, meta, query: new URLSearchParams(query), parts: [], received: 0 });
      const host = req.headers.host;
      return send(res, 200, '', {
        Location: `http://${host}/upload/storage/v1/b/${m[1]}/o?uploadType=resumable&upload_id=${id}`,
      });
    }
    return error(res, 400, `uploadType ${type}`);
  }
  if ((m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(path)) &&
      (req.method === 'PUT' || req.method === 'DELETE') && query.get('upload_id')) {
    const s = sessions.get(query.get('upload_id'));
    if (!s) return error(res, 404, 'No such upload session');
    if (req.method === 'DELETE') {
      sessions.delete(query.get('upload_id'));
      return send(res, 499, '');
    }
    const range = /^bytes (\*|(\d+)-(\d+))\/(\*|\d+)$/.exec(req.headers['content-range'] || '');
    if (!range) return error(res, 400, `bad Content-Range ${req.headers['content-range']}`);
    const total = range[4] === '*' ? null : Number(range[4]);
    const persisted = () => (s.received > 0 ? { Range: `bytes=0-${s.received - 1}` } : {});
    if (range[1] !== '*') {
      const first = Number(range[2]);
      const last = Number(range[3]);
      if (first !== s.received) return error(res, 400, `chunk starts at ${first}, not ${s.received}`);
      if (body.length !== last - first + 1) return error(res, 400, 'Content-Range does not match the body');
      const final = total !== null && last + 1 === total;
      if (!final && body.length % CHUNK !== 0) {
        return error(res, 400, 'a chunk that is not the last must be a multiple of 256 KiB');
      }
      const keep = rule && rule.partial ? body.subarray(0, CHUNK) : body;
      s.parts.push(keep);
      s.received += keep.length;
      if (rule && rule.partial) return send(res, 308, '', persisted());
    }
    if (total !== null && s.received === total) {
      sessions.delete(query.get('upload_id'));
      return put(s.bucket, s.name, Buffer.concat(s.parts), s.meta, s.query, res);
    }
    if (total !== null && s.received > total) return error(res, 400, 'more bytes than the total');
    return send(res, 308, '', persisted());
  }
  if ((m = /^\/storage\/v1\/b\/([^/]+)$/.exec(path)) && req.method === 'GET') {
    const bucket = decodeURIComponent(m[1]);
    if (!bucketSet.has(bucket)) return error(res, 404, 'The specified bucket does not exist.');
    return send(res, 200, { kind: 'storage#bucket', id: bucket, name: bucket });
  }
  if ((m = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(path)) && req.method === 'GET') {
    const bucket = decodeURIComponent(m[1]);
    if (!bucketSet.has(bucket)) return error(res, 404, 'The specified bucket does not exist.');
    const prefix = query.get('prefix') || '';
    const max = Math.min(Number(query.get('maxResults') || 1000), 1000);
    const names = [...objects.keys()].filter((k) => k.startsWith(`${bucket}/${prefix}`))
      .map((k) => k.slice(bucket.length + 1)).sort();
    const start = query.get('pageToken') ? names.findIndex((n) => n > Buffer.from(query.get('pageToken'), 'base64').toString()) : 0;
    const page = start < 0 ? [] : names.slice(start, start + max);
    const out = { kind: 'storage#objects', items: page.map((n) => resource(bucket, n, objects.get(`${bucket}/${n}`))) };
    if (start >= 0 && start + max < names.length) out.nextPageToken = Buffer.from(page[page.length - 1]).toString('base64');
    return send(res, 200, out);
  }
  if ((m = /^\/(?:download\/)?storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(path))) {
    const bucket = decodeURIComponent(m[1]);
    const name = decodeURIComponent(m[2]);
    const key = `${bucket}/${name}`;
    const o = objects.get(key);
    if (req.method === 'DELETE') {
      if (!o) return error(res, 404, `No such object: ${key}`);
      objects.delete(key);
      return send(res, 204, '');
    }
    if (req.method !== 'GET') return error(res, 405, 'method');
    if (!o) return error(res, 404, `No such object: ${key}`);
    if (query.get('alt') !== 'media') return send(res, 200, resource(bucket, name, o));
    const headers = { 'x-goog-hash': `crc32c=${o.crc32c},md5=${o.md5}`,
      'x-goog-generation': String(o.generation) };
    const r = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range || '');
    if (!r) return send(res, 200, o.data, headers);
    const first = Number(r[1]);
    const last = r[2] === '' ? o.data.length - 1 : Math.min(Number(r[2]), o.data.length - 1);
    if (first >= o.data.length) {
      return error(res, 416, 'The requested range cannot be satisfied.', { 'Content-Range': `bytes */${o.data.length}` });
    }
    return send(res, 206, o.data.subarray(first, last + 1),
      { ...headers, 'Content-Range': `bytes ${first}-${last}/${o.data.length}` });
  }
  return error(res, 404, `no such endpoint: ${req.method} ${path}`);
}

server.listen(0, '127.0.0.1', () => {
  const port = server.address().port;
  fs.writeFileSync(keyFile, JSON.stringify({
    type: 'service_account', project_id: 'abs-test', private_key_id: 'test',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }), client_email: email,
    client_id: '1', token_uri: `http://127.0.0.1:${port}/token`,
  }), { mode: 0o600 });
  process.stdout.write(JSON.stringify({ port }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
