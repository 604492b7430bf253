// A Secret Agent for tests, speaking the protocol as Aerospike documents it: each message
// is an 8-byte header (magic 0x51dec1cc, then the body length, both big-endian) and a JSON
// body; a request is {"Resource", "SecretKey"}, an answer {"SecretValue"} or {"Error"}.
// A request that breaks the protocol (wrong magic, a body that is not that JSON) gets an
// Error and the connection is closed.
//
// Some resources misbehave, for the client's error paths:
//   garbage      bytes that are no answer at all
//   huge         a header announcing 2 GiB, then nothing
//   silent       no answer, the connection held open
//   trickle      a right answer, one byte every 300 ms
//   not-json     a right header over a body that is not JSON
//   no-value     a JSON answer with neither SecretValue nor Error
//   hang-up      the connection closed without a word
//
// Prints {"port": N} once listening on 127.0.0.1; stops on SIGTERM.
//   node tests/emulators/secret_agent.js <secrets.json> [--base64] [--tls CERT KEY]
//        [--client-ca CA] [--unix SOCKET_PATH]
//   --client-ca: with --tls, a client certificate signed by CA is required (mutual TLS).
//   secrets.json: {"<resource>": {"<key>": "<value>"}}
'use strict';
const fs = require('fs');
const net = require('net');
const tls = require('tls');

const MAGIC = 0x51dec1cc;
const args = process.argv.slice(2);
const secrets = JSON.parse(fs.readFileSync(args[0], 'utf8'));
const base64 = args.includes('--base64');
const tlsAt = args.indexOf('--tls');
const unixAt = args.indexOf('--unix');
const clientCaAt = args.indexOf('--client-ca');

function frame(body) {
  const b = Buffer.from(body);
  const h = Buffer.alloc(8);
  h.writeUInt32BE(MAGIC, 0);
  h.writeUInt32BE(b.length, 4);
  return Buffer.concat([h, b]);
}

function answer(socket, request) {
  const { Resource: resource, SecretKey: key } = request;
  switch (resource) {
    case 'garbage': return socket.end(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\nnot an agent'));
    case 'huge': {
      const h = Buffer.alloc(8);
      h.writeUInt32BE(MAGIC, 0);
      h.writeUInt32BE(0x80000000, 4);
      return socket.write(h);
    }
    case 'silent': return undefined;
    case 'not-json': return socket.end(frame('{"SecretValue": '));
    case 'no-value': return socket.end(frame(JSON.stringify({ Other: 'x' })));
    case 'hang-up': return socket.destroy();
    case 'trickle': {
      const bytes = frame(JSON.stringify({ SecretValue: 'slow-secret' }));
      let i = 0;
      const timer = setInterval(() => {
        if (socket.destroyed || i >= bytes.length) return clearInterval(timer);
        socket.write(bytes.subarray(i, ++i));
      }, 300);
      return undefined;
    }
    default: break;
  }
  const value = secrets[resource] && secrets[resource][key];
  if (typeof value !== 'string') {
    return socket.end(frame(JSON.stringify({ Error: `no secret ${key} in resource ${resource}` })));
  }
  const sent = base64 ? Buffer.from(value).toString('base64') : value;
  return socket.end(frame(JSON.stringify({ SecretValue: sent })));
}

function serve(socket) {
  let buffered = Buffer.alloc(0);
  socket.on('error', () => {});
  socket.on('data', (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    if (buffered.length < 8) return;
    if (buffered.readUInt32BE(0) !== MAGIC) {
      return socket.end(frame(JSON.stringify({ Error: 'bad magic number' })));
    }
    const length = buffered.readUInt32BE(4);
    if (buffered.length < 8 + length) return undefined;
    let request;
    try {
      request = JSON.parse(buffered.subarray(8, 8 + length).toString('utf8'));
    } catch (e) {
      return socket.end(frame(JSON.stringify({ Error: 'the request is not JSON' })));
    }
    if (typeof request.Resource !== 'string' || typeof request.SecretKey !== 'string') {
      return socket.end(frame(JSON.stringify({ Error: 'the request needs Resource and SecretKey' })));
    }
    return answer(socket, request);
  });
}

const server = tlsAt >= 0
  ? tls.createServer({
    cert: fs.readFileSync(args[tlsAt + 1]),
    key: fs.readFileSync(args[tlsAt + 2]),
    ...(clientCaAt >= 0
      ? { ca: fs.readFileSync(args[clientCaAt + 1]), requestCert: true, rejectUnauthorized: true }
      : {}),
  }, serve)
  : net.createServer(serve);
server.listen(0, '127.0.0.1', () => {
  const info = { port: server.address().port };
  if (unixAt >= 0) {
    const path = args[unixAt + 1];
    try { fs.unlinkSync(path); } catch (e) { /* not there */ }
    const local = net.createServer(serve);
    local.listen(path, () => {
      info.unix = path;
      console.log(JSON.stringify(info));
    });
  } else {
    console.log(JSON.stringify(info));
  }
});
process.on('SIGTERM', () => process.exit(0));
