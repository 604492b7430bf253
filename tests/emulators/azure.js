// azurite's blob service for tests, on 127.0.0.1 and a free port, with Shared Key
// enforced (the well-known devstoreaccount1 key), and containers created through the
// official SDK (npm @azure/storage-blob). Prints {"port": N, "sas": "<account SAS>"}
// once they exist (the SAS, made by the SDK, allows every blob operation for an hour);
// stops azurite and itself on SIGTERM.
//   node tests/emulators/azure.js <directory> <container>[,<container>...]
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
const [directory, containers] = process.argv.slice(2);
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
    '--location', directory, '--silent', '--skipApiVersionCheck'],
  { stdio: ['ignore', 'ignore', 'inherit'] });
  child.on('exit', (code) => process.exit(code === null ? 1 : code));
  const url = `http://127.0.0.1:${port}/${ACCOUNT}`;
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
  process.stdout.write(JSON.stringify({ port, sas }) + '\n');
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
