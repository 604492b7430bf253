// The dashboard in a real browser: Debian's chromium, headless, driven by puppeteer-core.
// Two absd instances share one storage and one configuration (auto-slice, the index from
// the environment); the page of one of them must show a complete parallel set, a set with
// a gap, a set with partitions covered twice, a running backup with live progress, the
// history, and every name and error message as text. Screenshots are saved under
// ABS_ARTIFACTS (default build/artifacts/ui).
'use strict'
const { test, before, after } = require('node:test')
const assert = require('node:assert')
const { spawn, execFile } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const net = require('node:net')
const path = require('node:path')
const puppeteer = require('puppeteer-core')
const { startDevCluster } = require('../compat/devcluster')

const ROOT = path.join(__dirname, '..', '..')
const BIN = process.env.ABS_BIN || path.join(ROOT, 'build', 'bin')
const ARTIFACTS = process.env.ABS_ARTIFACTS || path.join(ROOT, 'build', 'artifacts', 'ui')
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'
const RECORDS = 20000
// A name and a namespace holding markup: the page must show them as text.
const HOSTILE = '<img src=x onerror="document.body.dataset.pwned=\'yes\'">'
const HOSTILE_NS = 'no<b>such'

const cleanup = []
let cluster, work, a, b, browser, page
const requested = []

function freePort () {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)) })
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function waitFor (what, fn, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs
  let last
  while (Date.now() < deadline) {
    try { if ((last = await fn())) return last } catch (e) { last = e }
    await sleep(100)
  }
  throw new Error(`timed out waiting for ${what}: ${last}`)
}

function run (file, args) {
  return new Promise((resolve, reject) => {
    execFile(file, args, (err, stdout, stderr) => err ? reject(new Error(`${file}: ${stderr || err}`)) : resolve(stdout))
  })
}

function config (port, storage) {
  const seeds = cluster.nodes.map((n) => ({ 'host-name': '127.0.0.1', port: n.port }))
  const slice = { count: 2, 'index-env': 'ABS_SLICE_INDEX' }
  const routine = (extra) => Object.assign({
    'interval-cron': '@yearly', 'source-cluster': 'c1', storage: 'shared', 'backup-policy': 'fast', namespaces: ['test']
  }, extra)
  return {
    service: { http: { address: '127.0.0.1', port }, logger: { level: 'WARN' } },
    'aerospike-clusters': { c1: { 'seed-nodes': seeds } },
    storage: { shared: { 'local-storage': { path: storage } } },
    'backup-policies': { fast: { parallel: 4 }, slow: { parallel: 1, 'records-per-second': 400 } },
    'backup-routines': {
      parallel: routine({ 'interval-cron': '0 0 3 1 1 ?', 'incr-interval-cron': '0 0 4 1 1 ?', 'auto-slice': slice }),
      gappy: routine({ 'auto-slice': slice }),
      overlap: routine({ 'partition-list': '0-3000' }),
      slow: routine({ 'backup-policy': 'slow' }),
      [HOSTILE]: routine({ namespaces: [HOSTILE_NS] })
    }
  }
}

async function startAbsd (name, index) {
  const dir = path.join(work, name)
  fs.mkdirSync(dir, { recursive: true })
  const port = await freePort()
  const file = path.join(dir, 'aerospike-backup-service.yml')
  fs.writeFileSync(file, JSON.stringify(config(port, path.join(work, 'storage')), null, 2))
  const child = spawn(path.join(BIN, 'absd'), ['-c', file, '--state-dir', path.join(dir, 'state')], {
    env: Object.assign({}, process.env, { ABS_SLICE_INDEX: String(index) }),
    stdio: ['ignore', 'ignore', 'pipe']
  })
  let stderr = ''
  child.stderr.on('data', (d) => { stderr += d })
  cleanup.push(() => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once('exit', resolve)
    process.kill(child.pid, 'SIGTERM')
  }))
  const base = `http://127.0.0.1:${port}`
  await waitFor(`absd ${name} (${stderr})`, async () => child.exitCode === null && (await fetch(`${base}/health`)).ok)
  const api = async (method, p) => {
    const res = await fetch(base + p, { method })
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text.startsWith('{') || text.startsWith('[') ? text : JSON.stringify(text)) : null }
  }
  return { base, api }
}

async function trigger (inst, routine) {
  const r = await inst.api('POST', `/v1/backups/full/${encodeURIComponent(routine)}`)
  assert.strictEqual(r.status, 202, `trigger ${routine}: ${JSON.stringify(r.body)}`)
  // Running from the trigger until the job ends.
}

async function idle (inst, routine) {
  await waitFor(`${routine} to finish`, async () => {
    const r = await inst.api('GET', `/v1/backups/currentBackup/${encodeURIComponent(routine)}`)
    return r.status === 200 && !r.body.full
  })
}

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true })
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'abs-ui-'))
  cluster = await startDevCluster({ nodes: 2, namespaces: ['test'] })
  cleanup.push(() => cluster.stop())
  await run(path.join(BIN, 'absctl'), ['load', '-h', `127.0.0.1:${cluster.nodes[0].port}`, '-n', 'test', '-s', 'ui',
    '-k', String(RECORDS), '-o', '64'])
  a = await startAbsd('a', 0)
  b = await startAbsd('b', 1)
  // A parallel set: both slices at once.
  await Promise.all([trigger(a, 'parallel'), trigger(b, 'parallel')])
  await Promise.all([idle(a, 'parallel'), idle(b, 'parallel')])
  // A set with a gap: slice 1 never ran.
  await trigger(a, 'gappy')
  await idle(a, 'gappy')
  // The same partition-list from both instances, one after the other: 0..2999 twice.
  await trigger(a, 'overlap')
  await idle(a, 'overlap')
  await trigger(b, 'overlap')
  await idle(b, 'overlap')
  // A job that fails with the hostile namespace in its error.
  await trigger(a, HOSTILE)
  await idle(a, HOSTILE)

  // No sandbox: the browser loads only absd's page on loopback, and CI runs as root in a
  // container where chromium's sandbox cannot start; /dev/shm there may be small.
  const args = ['--headless=new', '--disable-gpu', '--no-first-run', '--no-sandbox',
    '--disable-dev-shm-usage', '--window-size=1400,1000']
  browser = await puppeteer.launch({ executablePath: CHROMIUM, args, defaultViewport: { width: 1400, height: 1000 } })
  cleanup.unshift(() => browser.close())
  page = await browser.newPage()
  page.on('request', (r) => requested.push(r.url()))
  await page.goto(`${a.base}/ui/?refresh=300`)
  await page.waitForSelector('.routine-coverage[data-routine="overlap"] .backup-set', { timeout: 30000 })
})

after(async () => {
  for (const stop of cleanup) { try { await stop() } catch (e) { } }
  if (work) fs.rmSync(work, { recursive: true, force: true })
})

// What one set of one routine shows: its verdict, runs and per-state cell counts.
function setView (routine) {
  return page.evaluate((routine) => {
    const section = [...document.querySelectorAll('.routine-coverage')].find((s) => s.dataset.routine === routine)
    const set = section && section.querySelector('.backup-set')
    if (!set) return null
    const grid = set.querySelector('.grid[data-namespace="test"]')
    const count = (cls) => grid ? grid.querySelectorAll('i.' + cls).length : -1
    return {
      verdict: set.dataset.verdict,
      badge: set.querySelector('.badge').textContent,
      runs: [...set.querySelectorAll('.runs li')].map((li) => li.textContent),
      cells: grid ? grid.children.length : 0,
      covered: count('p1'),
      missing: count('p0'),
      twice: count('p2'),
      reading: count('pr'),
      firstMissing: grid ? [...grid.children].findIndex((c) => c.className === 'p0') : -1,
      summary: [...set.querySelectorAll('.summary')].map((s) => s.textContent).join(' | ')
    }
  }, routine)
}

async function shoot (selector, file) {
  const target = selector ? await page.$(selector) : page
  await target.screenshot(Object.assign({ path: path.join(ARTIFACTS, file) }, selector ? {} : { fullPage: true }))
}

test('a complete parallel set: both slices, every partition once', async () => {
  const v = await setView('parallel')
  assert.strictEqual(v.verdict, 'complete', JSON.stringify(v))
  assert.strictEqual(v.badge, 'complete')
  assert.strictEqual(v.runs.length, 2)
  assert.ok(v.runs.some((r) => r.includes('partition-list:0-2048')), v.runs.join())
  assert.ok(v.runs.some((r) => r.includes('partition-list:2048-2048')), v.runs.join())
  assert.deepStrictEqual([v.cells, v.covered, v.missing, v.twice], [4096, 4096, 0, 0])
  assert.match(v.summary, /4,096 of 4,096 covered · 0 missing · 0 covered twice · 20,000 records in 2 backups/)
  await shoot('.routine-coverage[data-routine="parallel"]', 'coverage-complete.png')
})

test('a set with a gap: the missing slice is drawn and named', async () => {
  const v = await setView('gappy')
  assert.strictEqual(v.verdict, 'incomplete', JSON.stringify(v))
  assert.strictEqual(v.runs.length, 1)
  assert.deepStrictEqual([v.covered, v.missing, v.twice, v.firstMissing], [2048, 2048, 0, 2048])
  assert.match(v.summary, /gaps \(start-count\): 2048-2048/)
  await shoot('.routine-coverage[data-routine="gappy"]', 'coverage-gap.png')
})

test('partitions covered twice and missing in one set', async () => {
  const v = await setView('overlap')
  assert.strictEqual(v.verdict, 'incomplete', JSON.stringify(v))
  assert.strictEqual(v.runs.length, 2)
  assert.deepStrictEqual([v.covered, v.missing, v.twice, v.firstMissing], [0, 1096, 3000, 3000])
  assert.match(v.summary, /covered twice \(start-count\): 0-3000/)
  await shoot('.routine-coverage[data-routine="overlap"]', 'coverage-overlap.png')
})

test('routines with their schedules and next runs', async () => {
  const rows = await page.$$eval('#routines tbody tr', (trs) => trs.map((tr) => ({
    name: tr.dataset.routine, cells: [...tr.cells].map((c) => c.textContent)
  })))
  const parallel = rows.find((r) => r.name === 'parallel')
  assert.ok(parallel, JSON.stringify(rows))
  assert.strictEqual(parallel.cells[3], 'slice 0 of 2 (partitions 0-2048)')
  assert.match(parallel.cells[4], /0 0 3 1 1 \?0 0 4 1 1 \?/)
  const current = (await a.api('GET', '/v1/backups/currentBackup/parallel')).body
  for (const [cell, key] of [[5, 'next-full'], [6, 'next-incremental']]) {
    assert.match(parallel.cells[cell], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/)
    assert.strictEqual(Date.parse(parallel.cells[cell].replace(' ', 'T')), Date.parse(current[key]))
    assert.ok(Date.parse(current[key]) > Date.now())
  }
  assert.strictEqual(rows.find((r) => r.name === 'overlap').cells[3], 'partitions 0-3000')
})

test('a running backup shows live progress without a reload', async () => {
  const navigations = []
  page.on('framenavigated', (f) => navigations.push(f.url()))
  await trigger(a, 'slow')
  const job = '#running .job[data-routine="slow"][data-type="full"]'
  await page.waitForSelector(job, { timeout: 20000 })
  const progress = async () => page.$eval(job, (e) => ({ value: e.querySelector('progress').value, text: e.querySelector('.numbers').textContent }))
  const first = await waitFor('records to be read', async () => { const p = await progress(); return p.value > 0 && p ? p : null }, 30000)
  const later = await waitFor('progress to move', async () => { const p = await progress(); return p.value > first.value ? p : null }, 30000)
  assert.match(later.text, /^[\d,]+ \/ [\d,]+ records \(\d+%\) · [\d,]+ records\/s · running \d+:\d\d/, later.text)
  // The routine's row says it is running; its newest set is in progress.
  const state = await page.$eval('#routines tr[data-routine="slow"] td:last-child', (td) => td.textContent)
  assert.strictEqual(state, 'running')
  await page.waitForSelector('.routine-coverage[data-routine="slow"] .backup-set[data-verdict="in-progress"] .grid', { timeout: 20000 })
  const slow = await setView('slow')
  assert.strictEqual(slow.badge, 'in-progress')
  assert.strictEqual(slow.reading, 4096, JSON.stringify(slow))  // its whole namespace, being read
  assert.match(slow.summary, /0 of 4,096 covered · 4,096 being read/)
  await shoot(null, 'dashboard-running.png')
  assert.deepStrictEqual(navigations, [], 'the page must not reload')

  const cancelled = await a.api('POST', '/v1/backups/cancel/slow')
  assert.strictEqual(cancelled.status, 202)
  await page.waitForFunction((sel) => !document.querySelector(sel), { timeout: 20000 }, job)
  await page.waitForFunction(() => [...document.querySelectorAll('#backup-history tbody tr')]
    .some((tr) => tr.cells[1].textContent === 'slow' && tr.cells[3].textContent === 'canceled'), { timeout: 20000 })
})

test('history from the job store', async () => {
  const rows = await page.$$eval('#backup-history tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)))
  const ok = rows.filter((r) => r[3] === 'success')
  assert.deepStrictEqual(ok.map((r) => r[1]).sort(), ['gappy', 'overlap', 'parallel'], JSON.stringify(rows))
  const parallel = ok.find((r) => r[1] === 'parallel')
  assert.strictEqual(parallel[2], 'full')
  assert.match(parallel[5], /^[\d,]+$/)  // this instance's half of the records
})

test('names and error messages holding markup are shown as text', async () => {
  const view = await page.evaluate((hostile) => ({
    pwned: document.body.dataset.pwned,
    images: document.querySelectorAll('main img').length,
    bolds: document.querySelectorAll('main b').length,
    routineCell: [...document.querySelectorAll('#routines tbody tr')].map((tr) => tr.cells[0].textContent).includes(hostile),
    coverageHead: [...document.querySelectorAll('.routine-coverage h3')].some((h) => h.textContent === 'routine ' + hostile),
    errors: [...document.querySelectorAll('#backup-history td.error')].map((td) => td.textContent)
  }), HOSTILE)
  assert.strictEqual(view.pwned, undefined)
  assert.strictEqual(view.images, 0)
  assert.strictEqual(view.bolds, 0)
  assert.ok(view.routineCell, 'the routine name shows as text')
  assert.ok(view.coverageHead)
  assert.ok(view.errors.some((e) => e.includes(HOSTILE_NS)), JSON.stringify(view.errors))
  await shoot(null, 'dashboard.png')
})

test('the page loads nothing from anywhere but absd', () => {
  assert.ok(requested.length > 0)
  for (const url of requested) assert.ok(url.startsWith(a.base + '/'), url)
})

// ABS's /api-docs/ page: Swagger UI, compiled into absd, renders every documented
// operation with nothing fetched from elsewhere and nothing refused by its CSP.
test('the API page renders every operation offline', async () => {
  const docs = await browser.newPage()
  const urls = []
  const problems = []
  docs.on('request', (r) => urls.push(r.url()))
  docs.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()) })
  docs.on('pageerror', (e) => problems.push(String(e)))
  await docs.goto(`${a.base}/api-docs/`)
  const doc = await (await fetch(`${a.base}/api-docs/doc.json`)).json()
  let operations = 0
  for (const item of Object.values(doc.paths)) {
    for (const m of ['get', 'post', 'put', 'delete']) if (item[m]) operations++
  }
  await waitFor('Swagger UI to render the operations', async () =>
    (await docs.$$eval('.opblock', (els) => els.length)) >= operations, 30000)
  const shown = await docs.$$eval('.opblock-summary-path', (els) => els.map((e) => e.textContent))
  assert.ok(shown.some((p) => p.includes('/v1/backups/full/')), JSON.stringify(shown.slice(0, 5)))
  assert.ok(urls.length > 0)
  // data: URLs are Swagger UI's icons, drawn inline.
  for (const url of urls) assert.ok(url.startsWith(a.base + '/api-docs/') || url.startsWith('data:'), url)
  assert.deepStrictEqual(problems, [])
  await docs.screenshot({ path: path.join(ARTIFACTS, 'api-docs.png') })
  await docs.close()
})
