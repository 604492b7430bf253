// Starts and stops abs-devcluster for the compat tests: loopback only, ports picked by
// the test, stopped by pid when the test ends.
'use strict'
const { spawn } = require('node:child_process')
const path = require('node:path')
const net = require('node:net')

const BIN = process.env.ABS_BIN || path.join(__dirname, '..', '..', 'build', 'bin')

function portFree (port) {
  return new Promise((resolve) => {
    const s = net.createServer()
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}

async function pickBasePort (nodes) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 30000)
    let ok = true
    for (let i = 0; i < nodes && ok; i++) ok = await portFree(base + i)
    if (ok) return base
  }
  throw new Error('no free port range')
}

// Returns { basePort, nodes: [{index, id, port, rack}], hosts, stop() }.
async function startDevCluster ({ nodes = 3, racks, namespaces = ['test'], user, password,
  tlsCert, tlsKey, extraArgs = [] } = {}) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const basePort = await pickBasePort(nodes)
    const args = ['--nodes', String(nodes), '--base-port', String(basePort)]
    if (racks) args.push('--racks', racks.join(','))
    for (const ns of namespaces) args.push('--namespace', ns)
    if (user) args.push('--user', user, '--password', password || '')
    if (tlsCert) args.push('--tls-cert', tlsCert, '--tls-key', tlsKey)
    args.push(...extraArgs)
    const child = spawn(path.join(BIN, 'abs-devcluster'), args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => { stderr += d })
    const started = await new Promise((resolve) => {
      let out = ''
      const info = []
      child.stdout.on('data', (d) => {
        out += d
        let nl
        while ((nl = out.indexOf('\n')) >= 0) {
          const line = out.slice(0, nl)
          out = out.slice(nl + 1)
          const m = line.match(/^node (\d+) id=(\S+) port=(\d+) rack=(\d+)/)
          if (m) info.push({ index: Number(m[1]), id: m[2], port: Number(m[3]), rack: Number(m[4]) })
          if (line.startsWith('ready')) resolve(info)
        }
      })
      child.once('exit', () => resolve(null))
    })
    if (!started) {
      if (/cannot listen/.test(stderr)) continue
      throw new Error('abs-devcluster failed: ' + stderr)
    }
    const stop = () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve()
      child.once('exit', resolve)
      process.kill(child.pid, 'SIGTERM')
    })
    return {
      basePort,
      nodes: started,
      hosts: started.map((n) => ({ addr: '127.0.0.1', port: n.port })),
      child,
      stop
    }
  }
  throw new Error('could not start abs-devcluster on free ports')
}

// Sends info commands to one node over a raw socket (no client), returning name -> value.
function rawInfo (port, commands) {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(commands.map((c) => c + '\n').join(''))
    const header = Buffer.alloc(8)
    header.writeBigUInt64BE((2n << 56n) | (1n << 48n) | BigInt(body.length))
    const sock = net.connect(port, '127.0.0.1', () => sock.write(Buffer.concat([header, body])))
    let buf = Buffer.alloc(0)
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d])
      if (buf.length < 8) return
      const len = Number(buf.readBigUInt64BE(0) & 0xffffffffffffn)
      if (buf.length < 8 + len) return
      sock.end()
      const out = {}
      for (const line of buf.slice(8, 8 + len).toString().split('\n')) {
        if (!line) continue
        const tab = line.indexOf('\t')
        out[line.slice(0, tab)] = line.slice(tab + 1)
      }
      resolve(out)
    })
    sock.on('error', reject)
  })
}

// Gathers every record a scan or query stream emits.
function collect (stream) {
  return new Promise((resolve, reject) => {
    const out = []
    stream.on('data', (r) => out.push(r))
    stream.on('error', reject)
    stream.on('end', () => resolve(out))
  })
}

module.exports = { startDevCluster, rawInfo, collect }
