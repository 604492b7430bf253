// azurite's blob service for tests, on 127.0.0.1 and a free port, with Shared Key
// enforced (the well-known devstoreaccount1 key), and containers created through the
// official SDK (npm @azure/storage-blob). Prints {"port": N, "sas": "<account SAS>"}
// once they exist (the SAS, made by the SDK, allows every blob operation for an hour);
// stops azurite and itself on SIGTERM.
// With a certificate and key, azurite serves HTTPS and accepts Azure AD bearer tokens
// (`--oauth basic`: issuer, audience and lifetime checked, as azurite does), and this
// process also serves an Azure AD authority for the service principal
// <tenant>/<client id>/<client secret> on another port: POST /<tenant>/oauth2/v2.0/token
// (client credentials) issues tokens for https://storage.azure.com. It then prints
// "authority" too.
//   node tests/emulators/azure.js <directory> <container>[,<container>...] \
//       [<cert.pem> <key.pem> <tenant> <client id> <client secret>]
'use strict';
const { spawn } = require('child_process');
const net = require('net');
const path = require('path');
const {
  AccountSASPermissions, AccountSASResourceTypes, AccountSASServices, BlobServiceClient,
  StorageSharedKeyCredential, generateAccountSASQueryParameters,
} = require('@azure/storage-blob');

const ACCOUNT = 'devstoreaccount1';
const KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const [directory, containers, cert, key, tenant, clientId, clientSecret] = process.argv.slice(2);
const https = Boolean(cert);
// The SDK creates the containers over HTTPS with the test's self-signed certificate.
if (https) process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
if (!directory || !containers) {
  console.error('usage: azure.js <directory> <container>[,<container>...]');
  process.exit(2);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

let child;
async function main() {
  const port = await freePort();
  const main = path.join(path.dirname(require.resolve('azurite/package.json')),
    'dist/src/blob/main.js');
  child = spawn(process.execPath, [main, '--blobHost', '127.0.0.1', '--blobPort', String(port),
    '--location', directory, '--silent', '--skipApiVersionCheck',
    ...(https ? ['--cert', cert, '--key', key, '--oauth', 'basic'] : [])],
  { stdio: ['ignore', 'ignore', 'inherit'] });
  child.on('exit', (code) => process.exit(code === null ? 1 : code));
  const url = `${https ? 'https' : 'http'}://127.0.0.1:${port}/${ACCOUNT}`;
  const credential = new StorageSharedKeyCredential(ACCOUNT, KEY);
  const service = new BlobServiceClient(url, credential);
  for (let attempt = 0; ; attempt++) {
    try {
      for (const name of containers.split(',')) await service.getContainerClient(name).createIfNotExists();
      break;
    } catch (e) {
      if (attempt > 100) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const sas = generateAccountSASQueryParameters({
    expiresOn: new Date(Date.now() + 3600 * 1000),
    permissions: AccountSASPermissions.parse('rwdlacup'),
    resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
    services: AccountSASServices.parse('b').toString(),
  }, credential).toString();
  const info = { port, sas };
  if (https) info.authority = await startAuthority();
  process.stdout.write(JSON.stringify(info) + '\n');
}

function b64url(value) {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

// An Azure AD v2 token endpoint for one service principal; resolves to its URL.
function startAuthority() {
  const crypto = require('crypto');
  const http = require('http');
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const answer = (status, body) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      if (req.method !== 'POST' || req.url !== `/${tenant}/oauth2/v2.0/token`) {
        return answer(404, { error: 'invalid_request', error_description: `no tenant at ${req.url}` });
      }
      if (form.get('grant_type') !== 'client_credentials') {
        return answer(400, { error: 'unsupported_grant_type' });
      }
      if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret) {
        return answer(401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
      }
      if (form.get('scope') !== 'https://storage.azure.com/.default') {
        return answer(400, { error: 'invalid_scope' });
      }
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        aud: 'https://storage.azure.com', iss: `https://sts.windows.net/${tenant}/`,
        iat: now, nbf: now, exp: now + 3600, appid: clientId, tid: tenant, oid: clientId,
      };
      const head = `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url(claims)}`;
      const signature = crypto.sign('RSA-SHA256', Buffer.from(head), privateKey).toString('base64url');
      answer(200, { token_type: 'Bearer', expires_in: 3599, access_token: `${head}.${signature}` });
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`));
  });
}
// azurite is stopped and waited for, so its files are closed when this process ends.
function stop() {
  if (!child || child.exitCode !== null) process.exit(0);
  child.removeAllListeners('exit');
  child.on('exit', () => process.exit(0));
  child.kill('SIGTERM');
  setTimeout(() => {
    child.kill('SIGKILL');
    process.exit(0);
  }, 5000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
main().catch((e) => {
  console.error(e);
  if (child) child.kill('SIGTERM');
  process.exit(1);
});
