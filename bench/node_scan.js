// The official Node.js client's full scan of a namespace, for comparison with ours.
// Usage: node node_scan.js <port> <namespace>; prints "records=<n> seconds=<s>".
'use strict'
const Aerospike = require('aerospike')
const [port, ns] = [Number(process.argv[2]), process.argv[3]]
;(async () => {
  const client = await Aerospike.connect({ hosts: [{ addr: '127.0.0.1', port }], log: { level: Aerospike.log.OFF } })
  const started = process.hrtime.bigint()
  let n = 0
  await new Promise((resolve, reject) => {
    const stream = client.scan(ns).foreach(new Aerospike.ScanPolicy({ totalTimeout: 0, socketTimeout: 0 }))
    stream.on('data', () => { n++ })
    stream.on('error', reject)
    stream.on('end', resolve)
  })
  const secs = Number(process.hrtime.bigint() - started) / 1e9
  console.log(`records=${n} seconds=${secs}`)
  client.close()
  Aerospike.releaseEventLoop()
})().catch((e) => { console.error(e.message); process.exit(1) })
