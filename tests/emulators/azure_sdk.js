// The official Azure SDK (npm @azure/storage-blob) as referee for tests: writes a blob
// abs must read, or reads one abs wrote, and prints its size and SHA-256 as JSON.
//   node tests/emulators/azure_sdk.js <blob endpoint> <container> put <blob> <size>
//   node tests/emulators/azure_sdk.js <blob endpoint> <container> get <blob>
// The content of `put` is byte i = (i * 7) % 251, in 4 MiB blocks.
'use strict';
const crypto = require('crypto');
const { BlobServiceClient, StorageSharedKeyCredential } = require('@azure/storage-blob');

const KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const [endpoint, container, op, blob, size] = process.argv.slice(2);
const client = new BlobServiceClient(endpoint, new StorageSharedKeyCredential('devstoreaccount1', KEY))
  .getContainerClient(container).getBlockBlobClient(blob);
const digest = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

(async () => {
  if (op === 'put') {
    const data = Buffer.alloc(Number(size));
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 251;
    await client.uploadData(data, { blockSize: 4 * 1024 * 1024, concurrency: 2 });
    console.log(JSON.stringify({ size: data.length, sha256: digest(data) }));
  } else {
    const data = await client.downloadToBuffer();
    console.log(JSON.stringify({ size: data.length, sha256: digest(data) }));
  }
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
