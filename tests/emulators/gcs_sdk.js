// The official Cloud Storage SDK (npm @google-cloud/storage) as referee for tests, against
// tests/emulators/gcs.js. The SDK's auth library sends key-file JWTs only to Google's own
// token URL, so this script trades the key for a token at the key's token_uri itself
// (RS256 JWT, as abs does) and hands the SDK that token. Prints JSON.
//   node gcs_sdk.js <endpoint> <key file> <bucket> put-simple|put-resumable <name> <size>
//   node gcs_sdk.js <endpoint> <key file> <bucket> get <name>
//   node gcs_sdk.js <endpoint> <key file> <bucket> list <prefix>
//   node gcs_sdk.js <endpoint> <key file> <bucket> delete <name>
// Uploaded content is byte i = (i * 7) % 251; `get` and `put-*` print {size, sha256}.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const { Storage } = require('@google-cloud/storage');
const { OAuth2Client } = require('google-auth-library');

const [endpoint, keyFilename, bucketName, op, name, size] = process.argv.slice(2);

async function accessToken() {
  const key = JSON.parse(fs.readFileSync(keyFilename));
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({
    iss: key.client_email, aud: key.token_uri, iat: now, exp: now + 3600,
    scope: 'https://www.googleapis.com/auth/devstorage.read_write',
  })}`;
  const jwt = `${input}.${crypto.sign('sha256', Buffer.from(input), key.private_key).toString('base64url')}`;
  const res = await fetch(key.token_uri, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jwt }),
  });
  if (!res.ok) throw new Error(`token: ${res.status} ${await res.text()}`);
  return (await res.json()).access_token;
}
const digest = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
const content = (n) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7) % 251;
  return b;
};

(async () => {
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: await accessToken(), expiry_date: Date.now() + 3000000 });
  const storage = new Storage({
    apiEndpoint: endpoint, authClient, projectId: 'abs-test', useAuthWithCustomEndpoint: true,
    retryOptions: { autoRetry: false },
  });
  const bucket = storage.bucket(bucketName);
  if (op === 'put-simple' || op === 'put-resumable') {
    const data = content(Number(size));
    await bucket.file(name).save(data, op === 'put-simple'
      ? { resumable: false } : { resumable: true, chunkSize: 256 * 1024 });
    console.log(JSON.stringify({ size: data.length, sha256: digest(data) }));
  } else if (op === 'get') {
    const [data] = await bucket.file(name).download();
    console.log(JSON.stringify({ size: data.length, sha256: digest(data) }));
  } else if (op === 'list') {
    const [files] = await bucket.getFiles({ prefix: name });
    console.log(JSON.stringify(files.map((f) => ({ name: f.name, size: Number(f.metadata.size) }))));
  } else if (op === 'delete') {
    await bucket.file(name).delete();
    console.log('{}');
  }
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
