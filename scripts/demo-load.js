// Demo helper: loads records with the official Node.js client and prints, per node, the
// master and replica object counts of namespace `test` (the numbers `asadm info` shows).
'use strict'
const Aerospike = require('aerospike')
const [basePort, records, objectSize] = process.argv.slice(2).map(Number)

;(async () => {
  const client = await Aerospike.connect({
    hosts: [{ addr: '127.0.0.1', port: basePort }],
    log: { level: Aerospike.log.OFF }
  })
  const payload = Buffer.alloc(objectSize, 7)
  const started = Date.now()
  const wave = 64
  for (let i = 0; i < records; i += wave) {
    const batch = []
    for (let j = i; j < Math.min(i + wave, records); j++) {
      batch.push({ type: Aerospike.batchType.BATCH_WRITE, key: new Aerospike.Key('test', 'demo', j), ops: [Aerospike.operations.write('payload', payload)] })
    }
    await client.batchWrite(batch)
  }
  const secs = (Date.now() - started) / 1000
  console.log(`loaded ${records} records in ${secs.toFixed(1)} s (${Math.round(records / secs)} records/s)`)
  let masters = 0
  for (const { host, info } of await client.infoAll('namespace/test')) {
    const kv = Object.fromEntries(info.split('\t')[1].trim().split(';').map((p) => p.split('=')))
    masters += Number(kv.master_objects)
    console.log(`node ${host.node_id}: master_objects=${kv.master_objects} prole_objects=${kv.prole_objects}`)
  }
  console.log(`sum of master objects = ${masters} (expected ${records})`)
  client.close()
  if (masters !== records) process.exit(1)
})().catch((e) => { console.error('demo-load:', e.message); process.exit(1) })
