// abs dashboard: reads absd's own REST API (the routines, currentBackup, the job history
// and /v1/coverage, which unions the manifests exactly as `absctl verify` does) and
// redraws in place. Every string from the service goes into the page as text, never as
// markup.
'use strict';

const API = new URL('../', location.href);
const params = new URLSearchParams(location.search);
const REFRESH_MS = Math.max(250, Number(params.get('refresh')) || 2000);
const COVERAGE_EVERY = 5;  // coverage is re-read every fifth refresh (it lists storage)
const PARTITIONS = 4096;

// el('td', {class: 'x'}, 'text', child...): strings become text nodes.
function el (tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, String(v));
    else e[k] = v;
  }
  for (const c of children.flat()) {
    if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

async function getJson (path) {
  const res = await fetch(new URL(path, API), { cache: 'no-store' });
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
  if (!res.ok) {
    const msg = body && body.message ? body.message : `${res.status} ${res.statusText}`;
    throw new Error(`${path}: ${msg}`);
  }
  return body;
}

const num = (n) => (n === undefined || n === null) ? '' : Number(n).toLocaleString('en-US');
function bytes (n) {
  if (n === undefined || n === null) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Number(n); let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${v.toFixed(u ? 1 : 0)} ${units[u]}`;
}
function duration (s) {
  if (s === undefined || s === null) return '';
  s = Math.max(0, Math.round(Number(s)));
  const h = Math.floor(s / 3600); const m = Math.floor(s / 60) % 60; const sec = s % 60;
  return (h ? `${h}:${String(m).padStart(2, '0')}` : `${m}`) + `:${String(sec).padStart(2, '0')}`;
}
function when (iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
const badge = (text, kind) => el('span', { class: `badge ${kind || text}` }, text);
const enc = encodeURIComponent;

// The routine's slice on this instance: an auto-slice as resolved when absd loaded its
// configuration (from /v1/coverage), else as configured.
function sliceOf (r, coverage) {
  if (r['auto-slice']) {
    const a = (coverage && coverage['auto-slice']) || r['auto-slice'];
    const index = a.index !== undefined ? a.index : `$${a['index-env']}`;
    const key = coverage && coverage['instance-slice'];
    return `slice ${index} of ${a.count}` +
      (key ? ` (partitions ${key.replace('partition-list:', '')})` : '');
  }
  if (r['partition-list']) return `partitions ${r['partition-list']}`;
  if (r['node-list'] && r['node-list'].length) return `nodes ${r['node-list'].join(', ')}`;
  if (r['rack-list'] && r['rack-list'].length) return `racks ${r['rack-list'].join(', ')}`;
  return 'whole cluster';
}

function replaceBody (table, rows, emptyText, columns) {
  const body = table.tBodies[0];
  body.replaceChildren(...(rows.length
    ? rows
    : [el('tr', {}, el('td', { class: 'empty', colSpan: columns }, emptyText))]));
}

const lastCoverage = new Map();  // routine -> its last /v1/coverage answer

function renderRoutines (routines, current) {
  const rows = Object.entries(routines).sort(([a], [b]) => a.localeCompare(b)).map(([name, r]) => {
    const c = current[name] || {};
    const running = c.full || c.incremental;
    const state = r.disabled ? badge('disabled') : running ? badge('running') : badge('idle', 'idle');
    return el('tr', { 'data-routine': name },
      el('td', { class: 'name' }, name),
      el('td', {}, `${r['source-cluster'] || ''} → ${r.storage || ''}`),
      el('td', {}, (r.namespaces && r.namespaces.length) ? r.namespaces.join(', ') : 'all'),
      el('td', { class: 'slice' }, sliceOf(r, lastCoverage.get(name))),
      el('td', {}, r['interval-cron'] || '', el('br'), r['incr-interval-cron'] || ''),
      el('td', { class: 'next-full' }, when(c['next-full'])),
      el('td', { class: 'next-incremental' }, when(c['next-incremental'])),
      el('td', {}, when(c['last-full'])),
      el('td', {}, state));
  });
  replaceBody(document.getElementById('routines'), rows, 'No routines are configured.', 9);
}

function jobRow (attrs, title, p) {
  const done = p['done-records'] || 0; const total = p['total-records'] || 0;
  const rate = p.metrics ? p.metrics['records-per-second'] : undefined;
  let eta = '';
  if (p['estimated-end-time']) {
    eta = ` · ETA ${duration((new Date(p['estimated-end-time']) - Date.now()) / 1000)}`;
  }
  return el('div', Object.assign({ class: 'job' }, attrs),
    el('div', { class: 'title' }, title),
    el('progress', { max: Math.max(total, 1), value: done }),
    el('div', { class: 'numbers' },
      `${num(done)} / ${num(total)} records (${p['percentage-done'] || 0}%) · ` +
      `${num(rate)} records/s · running ${duration(p.duration)}${eta}`));
}

function renderRunning (current, restores) {
  const jobs = [];
  for (const [name, c] of Object.entries(current).sort(([a], [b]) => a.localeCompare(b))) {
    for (const type of ['full', 'incremental']) {
      if (c[type]) jobs.push(jobRow({ 'data-routine': name, 'data-type': type }, `${name} · ${type} backup`, c[type]));
    }
  }
  for (const [id, r] of Object.entries(restores)) {
    if (r['current-job']) jobs.push(jobRow({ 'data-restore': id }, `restore ${id}`, r['current-job']));
  }
  const box = document.getElementById('running');
  box.replaceChildren(...(jobs.length ? jobs : [el('p', { class: 'empty' }, 'Nothing is running.')]));
}

function renderHistory (backupJobs, restoreJobs) {
  const byStart = (a, b) => String(b[1]['start-time'] || '').localeCompare(String(a[1]['start-time'] || ''));
  const backups = Object.entries(backupJobs).sort(byStart).map(([id, j]) =>
    el('tr', { 'data-job': id },
      el('td', {}, when(j['start-time'])), el('td', {}, j.routine), el('td', {}, j.type),
      el('td', {}, badge(j.status)), el('td', {}, duration(j.duration)),
      el('td', {}, num(j['record-count'])), el('td', {}, bytes(j['byte-count'])),
      el('td', { class: 'error' }, j.error || '')));
  replaceBody(document.getElementById('backup-history'), backups, 'No backup has run on this instance.', 8);
  const restores = Object.entries(restoreJobs).map(([id, j]) => [id, Object.assign({}, j['current-job'] || {}, j)])
    .sort(byStart).map(([id, j]) =>
      el('tr', { 'data-job': id },
        el('td', {}, when(j['start-time'])), el('td', {}, id), el('td', {}, badge(j.status)),
        el('td', {}, duration(j.duration)), el('td', {}, num(j['read-records'])),
        el('td', {}, num(j['inserted-records'])), el('td', { class: 'error' }, j.error || '')));
  replaceBody(document.getElementById('restore-history'), restores, 'No restore has run on this instance.', 7);
}

// One namespace of one set: 4,096 squares, partition 0 top left, row by row.
function namespaceMap (ns, c, inProgress) {
  const grid = el('div', { class: 'grid' + (inProgress ? ' in-progress' : ''), 'data-namespace': ns });
  const cells = c.partitions || '';
  const frag = document.createDocumentFragment();
  for (let p = 0; p < PARTITIONS; p++) {
    frag.append(el('i', { class: 'p' + (cells[p] || '0') }));
  }
  grid.append(frag);
  const parts = [`${num(c.covered)} of 4,096 covered`, `${num(c.missing)} missing`,
    `${num(c.overlapping)} covered twice`, `${num(c.records)} records in ${num(c.backups)} backups`];
  if (c.reading) parts.splice(1, 0, `${num(c.reading)} being read`);
  return el('div', { class: 'namespace-map', 'data-namespace': ns },
    el('h4', {}, `namespace ${ns}`),
    el('div', { class: 'summary' }, parts.join(' · ')),
    c.gaps ? el('div', { class: 'summary gaps' }, `gaps (start-count): ${c.gaps}`) : null,
    c.overlaps ? el('div', { class: 'summary overlaps' }, `covered twice (start-count): ${c.overlaps}`) : null,
    grid);
}

function backupSet (set) {
  const runs = (set.runs || []).map((r) =>
    el('li', { 'data-state': r.state },
      `${r.path} · ${r.slice || 'whole namespace'} · ${r.state}` + (r.owner ? ` · ${r.owner}` : '')));
  const problems = (set.problems || []).map((p) => el('li', {}, p));
  const maps = Object.entries(set.namespaces || {}).map(([ns, c]) => namespaceMap(ns, c, set['in-progress']));
  return el('div', { class: 'backup-set', 'data-timestamp': set.timestamp, 'data-verdict': set.verdict },
    el('div', { class: 'set-head' },
      el('strong', {}, when(set['start-time'])), badge(set.verdict, set.verdict),
      el('span', { class: 'help' }, `${runs.length} run${runs.length === 1 ? '' : 's'}`)),
    el('ul', { class: 'runs' }, runs),
    problems.length ? el('ul', { class: 'problems' }, problems) : null,
    el('div', { class: 'maps' }, maps.length ? maps : el('p', { class: 'empty' }, 'No namespace has finished yet.')));
}

const coverageText = new Map();  // routine -> the JSON last drawn, to redraw only on change

function renderCoverage (name, result) {
  if (!result.error) lastCoverage.set(name, result);
  const box = document.getElementById('coverage');
  let section = [...box.children].find((s) => s.dataset.routine === name);
  if (!section) {
    section = el('div', { class: 'routine-coverage', 'data-routine': name });
    box.append(section);
  }
  const text = result.error ? 'error:' + result.error : JSON.stringify(result);
  if (coverageText.get(name) === text) return;
  coverageText.set(name, text);
  const head = el('h3', {}, `routine ${name}`);
  if (result.error) {
    section.replaceChildren(head, el('p', { class: 'error' }, result.error));
  } else if (!result.sets.length) {
    section.replaceChildren(head, el('p', { class: 'empty' }, 'No full backup yet.'));
  } else {
    section.replaceChildren(head, ...result.sets.map(backupSet));
  }
}

function removeGone (names) {
  for (const s of [...document.getElementById('coverage').children]) {
    if (!names.includes(s.dataset.routine)) {
      s.remove();
      coverageText.delete(s.dataset.routine);
      lastCoverage.delete(s.dataset.routine);
    }
  }
}

let tick = 0;
async function refresh () {
  const state = document.getElementById('service-state');
  try {
    const routines = await getJson('v1/config/routines');
    const names = Object.keys(routines);
    const current = {};
    await Promise.all(names.map(async (n) => {
      try { current[n] = await getJson(`v1/backups/currentBackup/${enc(n)}`); } catch (e) { current[n] = {}; }
    }));
    const [restoresRunning, backupJobs, restoreJobs] = await Promise.all([
      getJson('v1/restore/jobs?status=running'), getJson('v1/backups/jobs?limit=50'), getJson('v1/restore/jobs')]);
    const anyRunning = Object.values(current).some((c) => c.full || c.incremental);
    if (tick % COVERAGE_EVERY === 0 || anyRunning) {
      removeGone(names);
      await Promise.all(names.sort().map(async (n) => {
        let result;
        try { result = await getJson(`v1/coverage/${enc(n)}?limit=5`); } catch (e) { result = { error: e.message }; }
        renderCoverage(n, result);
      }));
    }
    renderRoutines(routines, current);
    renderRunning(current, restoresRunning);
    renderHistory(backupJobs, restoreJobs);
    state.className = 'state ok';
    state.textContent = `connected · updated ${new Date().toLocaleTimeString('en-GB')}`;
    document.body.dataset.refreshed = String(++tick);
  } catch (e) {
    state.className = 'state bad';
    state.textContent = `cannot reach absd: ${e.message}`;
  }
  setTimeout(refresh, REFRESH_MS);
}

// Which partition the pointer is on.
document.addEventListener('mousemove', (ev) => {
  const info = document.getElementById('cell-info');
  const cell = ev.target;
  if (!(cell instanceof HTMLElement) || cell.tagName !== 'I' || !cell.parentElement.classList.contains('grid')) {
    info.hidden = true;
    return;
  }
  const index = Array.prototype.indexOf.call(cell.parentElement.children, cell);
  const what = { p0: 'missing', p1: 'covered', p2: 'covered twice', pr: 'being read' }[cell.className] || '';
  info.textContent = `partition ${index}: ${what}`;
  info.style.left = `${ev.clientX + 12}px`;
  info.style.top = `${ev.clientY + 12}px`;
  info.hidden = false;
});

getJson('version').then((v) => {
  document.getElementById('footer').textContent = `absd ${v.version}`;
}).catch(() => {});
refresh();
