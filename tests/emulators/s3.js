// s3rver for tests: serves buckets on 127.0.0.1 (a port the caller picks, or any free
// one) with what s3rver lacks and abs relies on:
// - every SigV4 signature is checked by AWS's own signer (npm @smithy/signature-v4) with
//   the key S3RVER / S3RVER; a mismatch answers 403 SignatureDoesNotMatch, as S3 does
//   (s3rver itself checks only the key id). The body's hash is not checked.
// - a conditional PUT (If-None-Match: *) answers 412 when the object exists.
// - faults for tests: POST /__faults with a JSON list of rules; each matching request
//   (method, and a query key or header it must carry) is skipped `skip` times, then
//   answered with `status` and S3 error `code`, or its connection reset (`reset`), `count`
//   times. GET /__faults returns the rules left; GET /__log every request seen since.
// Prints {"port": N} on stdout once listening; stops on SIGTERM.
//   node tests/emulators/s3.js <directory> <bucket>[,<bucket>...] [port]
'use strict';
const S3rver = require('s3rver');
const { SignatureV4 } = require('@smithy/signature-v4');
const { Hash } = require('@smithy/hash-node');

const [directory, buckets, port] = process.argv.slice(2);
if (!directory || !buckets) {
  console.error('usage: s3.js <directory> <bucket>[,<bucket>...] [port]');
  process.exit(2);
}
const SECRETS = { S3RVER: 'S3RVER' };

const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port || 0),
  directory,
  silent: true,
  configureBuckets: buckets.split(',').map((name) => ({ name })),
});

function s3Error(ctx, status, code, message) {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

// SigV4 checked by the official signer: the request is signed again from what arrived
// (the signed headers only, the path as sent, the query decoded) and the signatures must
// be equal.
async function verifySignature(ctx, next) {
  const auth = ctx.get('authorization');
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return next(); // unsigned or another scheme: s3rver decides
  const [, keyId, , region, service, signedHeaders, signature] = m;
  const secret = SECRETS[keyId];
  if (!secret) return next(); // s3rver answers InvalidAccessKeyId
  const headers = {};
  for (const name of signedHeaders.split(';')) headers[name] = ctx.get(name);
  const query = {};
  for (const pair of ctx.querystring ? ctx.querystring.split('&') : []) {
    const eq = pair.indexOf('=');
    const k = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
    const v = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1));
    if (k in query) query[k] = [].concat(query[k], v);
    else query[k] = v;
  }
  const date = ctx.get('x-amz-date');
  const when = new Date(
    `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:` +
      `${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
  );
  const signer = new SignatureV4({
    credentials: { accessKeyId: keyId, secretAccessKey: secret },
    region,
    service,
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: false,
    applyChecksum: false,
  });
  const url = ctx.originalUrl;
  const path = url.indexOf('?') < 0 ? url : url.slice(0, url.indexOf('?'));
  const signed = await signer.sign(
    { method: ctx.method, protocol: 'http:', hostname: headers.host, path, query, headers },
    { signingDate: when },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization)[1];
  if (expected !== signature) {
    return s3Error(ctx, 403, 'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided.');
  }
  return next();
}

// Conditional creates, one at a time per key so two racing PUTs cannot both win.
const locks = new Map();
async function conditionalPut(ctx, next) {
  if (ctx.method !== 'PUT' || ctx.get('if-none-match') !== '*' || ctx.querystring) {
    return next();
  }
  const path = decodeURIComponent(ctx.path).replace(/^\//, '');
  const slash = path.indexOf('/');
  const [b, key] = slash < 0 ? [path, ''] : [path.slice(0, slash), path.slice(slash + 1)];
  const previous = locks.get(path) || Promise.resolve();
  let release;
  const mine = new Promise((resolve) => (release = resolve));
  const chain = previous.then(() => mine);
  locks.set(path, chain);
  await previous;
  try {
    if (key && (await ctx.app.store.existsObject(b, key))) {
      return s3Error(ctx, 412, 'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold');
    }
    await next();
  } finally {
    release();
    if (locks.get(path) === chain) locks.delete(path);
  }
}
// Fault rules and a request log, driven by the test over the same port.
let rules = [];
const seen = [];
async function faults(ctx, next) {
  if (ctx.path === '/__faults' || ctx.path === '/__log') {
    if (ctx.method === 'POST') {
      const chunks = [];
      for await (const c of ctx.req) chunks.push(c);
      rules = JSON.parse(Buffer.concat(chunks).toString() || '[]');
      for (const r of rules) r.skip = r.skip || 0;
      seen.length = 0;
      ctx.status = 204;
      return;
    }
    ctx.type = 'application/json';
    ctx.body = JSON.stringify(ctx.path === '/__log' ? seen : rules);
    return;
  }
  seen.push(`${ctx.method} ${ctx.originalUrl}`);
  for (const r of rules) {
    if (r.count <= 0 || r.method !== ctx.method) continue;
    if (r.query && !(r.query in ctx.query)) continue;
    if (r.header && !ctx.get(r.header)) continue;
    if (r.skip > 0) {
      r.skip--;
      continue;
    }
    r.count--;
    if (r.reset) {
      ctx.req.socket.destroy();
      ctx.respond = false;
      return;
    }
    return s3Error(ctx, r.status, r.code || 'InternalError', r.message || 'injected fault');
  }
  return next();
}

server.middleware.unshift(faults, verifySignature, conditionalPut);

server.run().then((address) => {
  process.stdout.write(JSON.stringify({ port: address.port }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
