// The official Node.js client (npm aerospike, embedding the C client) against a 3-node
// abs-devcluster: connect, tend, single-record commands and write policies.
'use strict'
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const Aerospike = require('aerospike')
const { startDevCluster, rawInfo } = require('./devcluster')

let cluster, client
const NS = 'test'

before(async () => {
  cluster = await startDevCluster({ nodes: 3, racks: [1, 2, 3], namespaces: ['test:rf=2', 'bar'] })
  client = await Aerospike.connect({ hosts: cluster.hosts, log: { level: Aerospike.log.OFF } })
})

after(async () => {
  if (client) client.close(false)
  if (cluster) await cluster.stop()
})

test('the client discovers every node through peers and sees the namespaces', async () => {
  const nodes = client.getNodes()
  assert.equal(nodes.length, 3)
  assert.deepEqual(nodes.map((n) => n.name).sort(), cluster.nodes.map((n) => n.id).sort())
  const answer = await client.infoAny('namespaces')
  assert.match(answer, /namespaces\ttest;bar/)
  const all = await client.infoAll('statistics')
  assert.equal(all.length, 3)
  for (const a of all) assert.match(a.info, /cluster_size=3/)
})

test('put, get, select, exists, remove round-trip every bin type', async () => {
  const key = new Aerospike.Key(NS, 'kv', 'types')
  const bins = {
    i: 42,
    neg: -7,
    f: 3.25,
    s: 'hello wörld',
    b: Buffer.from([0, 1, 2, 255]),
    l: [1, 'two', [3], { four: 4 }],
    m: { a: 1, b: 'x', c: [1, 2] },
    g: new Aerospike.GeoJSON({ type: 'Point', coordinates: [103.9, 1.3] }),
    t: true
  }
  await client.put(key, bins)
  const rec = await client.get(key)
  assert.equal(rec.gen, 1)
  assert.equal(rec.bins.i, 42)
  assert.equal(rec.bins.neg, -7)
  assert.equal(rec.bins.f, 3.25)
  assert.equal(rec.bins.s, 'hello wörld')
  assert.deepEqual(rec.bins.b, Buffer.from([0, 1, 2, 255]))
  assert.deepEqual(rec.bins.l, [1, 'two', [3], { four: 4 }])
  assert.deepEqual(rec.bins.m, { a: 1, b: 'x', c: [1, 2] })
  assert.deepEqual(JSON.parse(rec.bins.g.toString()), { type: 'Point', coordinates: [103.9, 1.3] })
  assert.equal(rec.bins.t, true)
  const sel = await client.select(key, ['i', 's'])
  assert.deepEqual(Object.keys(sel.bins).sort(), ['i', 's'])
  assert.equal(await client.exists(key), true)
  await client.remove(key)
  assert.equal(await client.exists(key), false)
  await assert.rejects(client.get(key), (e) => e.code === Aerospike.status.ERR_RECORD_NOT_FOUND)
})

test('write policies: create-only, update-only, replace, generation', async () => {
  const key = new Aerospike.Key(NS, 'kv', 'policies')
  const create = new Aerospike.WritePolicy({ exists: Aerospike.policy.exists.CREATE })
  await client.put(key, { a: 1, b: 2 }, {}, create)
  await assert.rejects(client.put(key, { a: 1 }, {}, create),
    (e) => e.code === Aerospike.status.ERR_RECORD_EXISTS)
  const replace = new Aerospike.WritePolicy({ exists: Aerospike.policy.exists.REPLACE })
  await client.put(key, { c: 3 }, {}, replace)
  let rec = await client.get(key)
  assert.deepEqual(rec.bins, { c: 3 })
  assert.equal(rec.gen, 2)
  const update = new Aerospike.WritePolicy({ exists: Aerospike.policy.exists.UPDATE })
  await assert.rejects(client.put(new Aerospike.Key(NS, 'kv', 'missing'), { a: 1 }, {}, update),
    (e) => e.code === Aerospike.status.ERR_RECORD_NOT_FOUND)
  const genEq = new Aerospike.WritePolicy({ gen: Aerospike.policy.gen.EQ })
  await assert.rejects(client.put(key, { c: 4 }, { gen: 1 }, genEq),
    (e) => e.code === Aerospike.status.ERR_RECORD_GENERATION)
  await client.put(key, { c: 4 }, { gen: 2 }, genEq)
  const genGt = new Aerospike.WritePolicy({ gen: Aerospike.policy.gen.GT })
  await assert.rejects(client.put(key, { c: 5 }, { gen: 3 }, genGt),
    (e) => e.code === Aerospike.status.ERR_RECORD_GENERATION)
  await client.put(key, { c: 5 }, { gen: 10 }, genGt)
  rec = await client.get(key)
  assert.equal(rec.bins.c, 5)
  assert.equal(rec.gen, 4)
})

test('TTL is kept as void time and touch resets it', async () => {
  const key = new Aerospike.Key(NS, 'kv', 'ttl')
  await client.put(key, { a: 1 }, { ttl: 1000 })
  let rec = await client.get(key)
  assert.ok(rec.ttl > 990 && rec.ttl <= 1000, `ttl ${rec.ttl}`)
  await client.put(key, { a: 2 }, { ttl: -1 })
  rec = await client.get(key)
  assert.equal(rec.ttl, -1)
  await client.operate(key, [Aerospike.operations.touch(500)])
  rec = await client.get(key)
  assert.ok(rec.ttl > 490 && rec.ttl <= 500)
  assert.equal(rec.gen, 3)
})

test('operate with incr, append, prepend, read', async () => {
  const key = new Aerospike.Key(NS, 'kv', 'operate')
  await client.put(key, { n: 1, s: 'b' })
  const op = Aerospike.operations
  const rec = await client.operate(key, [op.incr('n', 5), op.append('s', 'c'), op.prepend('s', 'a'),
    op.read('n'), op.read('s')])
  assert.equal(rec.bins.n, 6)
  assert.equal(rec.bins.s, 'abc')
})

test('a stored key comes back with the record, and a different key is refused', async () => {
  const key = new Aerospike.Key(NS, 'kv', 'sendkey')
  const send = new Aerospike.WritePolicy({ key: Aerospike.policy.key.SEND })
  await client.put(key, { a: 1 }, {}, send)
  const rec = await client.get(key, new Aerospike.ReadPolicy({ key: Aerospike.policy.key.SEND }))
  assert.equal(rec.bins.a, 1)
  const ns = await rawInfo(cluster.nodes[0].port, ['sets/test/kv'])
  assert.match(ns['sets/test/kv'], /objects=\d+/)
})

test('unknown namespaces and bad info commands answer like the real server', async () => {
  await assert.rejects(client.put(new Aerospike.Key('nope', 's', 1), { a: 1 }),
    (e) => e.code === Aerospike.status.ERR_NAMESPACE_NOT_FOUND)
  const a = await rawInfo(cluster.nodes[1].port, ['frobnicate', 'build', 'namespace/nope'])
  assert.equal(a.frobnicate, 'ERROR:4:unrecognized command')
  assert.equal(a['namespace/nope'], 'type=unknown')
  assert.match(a.build, /^\d+\.\d+\.\d+\.\d+$/)
})

// The client's event loop keeps the process alive until released.
require('node:test').after(() => Aerospike.releaseEventLoop())
