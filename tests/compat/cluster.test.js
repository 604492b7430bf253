// Node loss, scan faults, login and TLS, as the official Node.js client sees them.
'use strict'
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const Aerospike = require('aerospike')
const { startDevCluster, rawInfo, collect } = require('./devcluster')

const NS = 'test'
const quiet = { level: Aerospike.log.OFF }

async function fill (client, n, set = 'loss') {
  for (let i = 0; i < n; i += 50) {
    const wave = []
    for (let j = i; j < i + 50 && j < n; j++) wave.push(client.put(new Aerospike.Key(NS, set, j), { i: j }))
    await Promise.all(wave)
  }
}

test('a stopped node: the client drops it, partitions move, nothing is lost', async () => {
  const cluster = await startDevCluster({ nodes: 3, namespaces: ['test:rf=2'] })
  const client = await Aerospike.connect({ hosts: cluster.hosts, log: quiet, tendInterval: 250 })
  try {
    await fill(client, 2000)
    const victim = cluster.nodes[2]
    assert.equal((await rawInfo(cluster.nodes[0].port, [`dev-fault:cmd=stop;node=${victim.id}`]))[`dev-fault:cmd=stop;node=${victim.id}`], 'ok')
    const deadline = Date.now() + 10000
    while (client.getNodes().length !== 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(client.getNodes().length, 2)
    const recs = await collect(client.scan(NS).foreach())
    assert.equal(recs.length, 2000)
    for (let i = 0; i < 2000; i += 97) assert.equal((await client.get(new Aerospike.Key(NS, 'loss', i))).bins.i, i)
    await rawInfo(cluster.nodes[0].port, [`dev-fault:cmd=start;node=${victim.id}`])
    while (client.getNodes().length !== 3 && Date.now() < deadline + 10000) await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(client.getNodes().length, 3)
    assert.equal((await collect(client.scan(NS).foreach())).length, 2000)
  } finally {
    client.close(false)
    await cluster.stop()
  }
})

test('a scan connection dropped mid-stream is retried from the partition cursors', async () => {
  const cluster = await startDevCluster({ nodes: 3 })
  const client = await Aerospike.connect({ hosts: cluster.hosts, log: quiet })
  try {
    await fill(client, 3000, 'drop')
    const cmd = `dev-fault:cmd=drop-scan;node=${cluster.nodes[1].id};after=150`
    assert.equal((await rawInfo(cluster.nodes[0].port, [cmd]))[cmd], 'ok')
    const policy = new Aerospike.ScanPolicy({ maxRetries: 5 })
    const recs = await collect(client.scan(NS, 'drop').foreach(policy))
    const digests = recs.map((r) => r.key.digest.toString('hex'))
    assert.equal(new Set(digests).size, 3000, 'every record once')
    assert.equal(digests.length, 3000, 'no record twice')
  } finally {
    client.close(false)
    await cluster.stop()
  }
})

test('with users, login is required and wrong credentials are refused', async () => {
  const cluster = await startDevCluster({ nodes: 2, user: 'admin', password: 'secret' })
  try {
    await assert.rejects(Aerospike.connect({ hosts: cluster.hosts, log: quiet, user: 'admin', password: 'wrong', connTimeoutMs: 2000 }))
    await assert.rejects(Aerospike.connect({ hosts: cluster.hosts, log: quiet, connTimeoutMs: 2000 }))
    const client = await Aerospike.connect({ hosts: cluster.hosts, log: quiet, user: 'admin', password: 'secret' })
    try {
      assert.equal(client.getNodes().length, 2)
      const key = new Aerospike.Key(NS, 'sec', 1)
      await client.put(key, { a: 1 })
      assert.equal((await client.get(key)).bins.a, 1)
      assert.equal((await collect(client.scan(NS, 'sec').foreach())).length, 1)
    } finally {
      client.close(false)
    }
    const raw = await rawInfo(cluster.nodes[0].port, ['node'])
    assert.equal(raw.node, 'ERROR:80:not authenticated')
  } finally {
    await cluster.stop()
  }
})

test('TLS service ports with a tls-name: verified by CA, plain text refused', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abs-tls-'))
  const ossl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
  ossl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=abs-test-ca')
  ossl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'node.key', '-out', 'node.csr', '-subj', '/CN=abs-cluster')
  fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=DNS:abs-cluster\n')
  ossl('x509', '-req', '-in', 'node.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'node.pem', '-days', '2', '-extfile', 'ext.cnf')
  const cluster = await startDevCluster({ nodes: 3, tlsCert: path.join(dir, 'node.pem'), tlsKey: path.join(dir, 'node.key') })
  try {
    const hosts = cluster.hosts.slice(0, 1).map((h) => ({ ...h, tlsname: 'abs-cluster' }))
    const client = await Aerospike.connect({ hosts, log: quiet, tls: { enable: true, cafile: path.join(dir, 'ca.pem') } })
    try {
      assert.equal(client.getNodes().length, 3)
      const key = new Aerospike.Key(NS, 'tls', 1)
      await client.put(key, { a: 'secret' })
      assert.equal((await client.get(key)).bins.a, 'secret')
      assert.equal((await collect(client.scan(NS, 'tls').foreach())).length, 1)
    } finally {
      client.close(false)
    }
    await assert.rejects(Aerospike.connect({ hosts: cluster.hosts, log: quiet, connTimeoutMs: 2000 }))
    const wrongName = cluster.hosts.slice(0, 1).map((h) => ({ ...h, tlsname: 'other-name' }))
    await assert.rejects(Aerospike.connect({ hosts: wrongName, log: quiet, connTimeoutMs: 2000, tls: { enable: true, cafile: path.join(dir, 'ca.pem') } }))
  } finally {
    await cluster.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

// The client's event loop keeps the process alive until released.
require('node:test').after(() => Aerospike.releaseEventLoop())
