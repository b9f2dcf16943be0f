// The imgpipe dashboard: polls /api/state every 2 s and draws it. Every text from the
// server goes into the page through textContent (never innerHTML), so a URL or title with
// markup in it is shown, not run. Actions are POSTs carrying the page's token.
'use strict';
const TOKEN = document.querySelector('meta[name="imgpipe-token"]').content;
const POLL_MS = 2000, HISTORY_MS = 10 * 60 * 1000;
const history = [];         // [{t, done}] summed over queues, for the chart and rates
const workerSeen = new Map(); // name -> {last row data, samples}
// Per queue state is kept in Maps: a queue may be called "constructor" or "__proto__".
const cursors = new Map();  // queue -> id of the newest failure shown ('' = newest)
const queueHistory = new Map(); // queue -> [{t, done}]

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null) continue;
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k);
  return e;
}
const num = (v, cls) => el('td', {class: 'n ' + (cls || ''), text: String(v)});
// Only http(s) links are links: a javascript: URL stays text.
function link(url) {
  return /^https?:\/\//i.test(url) ? el('a', {href: url, rel: 'noreferrer', class: 'url', text: url})
                                   : el('span', {class: 'url', text: url});
}
function banner(msg) {
  const b = document.getElementById('banner');
  b.textContent = msg || '';
  b.hidden = !msg;
}
async function post(path, params, confirmText) {
  if (confirmText && !window.confirm(confirmText)) return;
  const r = await fetch(path + '?' + new URLSearchParams(params),
                        {method: 'POST', headers: {'X-Imgpipe-Token': TOKEN}});
  const body = await r.json().catch(() => ({}));
  if (!r.ok) banner('Action failed: ' + (body.error || r.status));
  refresh();
}
function duration(s) {
  if (!isFinite(s)) return '—';
  if (s < 90) return Math.round(s) + ' s';
  if (s < 5400) return Math.round(s / 60) + ' min';
  return (s / 3600).toFixed(1) + ' h';
}
// Jobs per minute over the last minute of samples.
function rate(samples, now) {
  const old = samples.find(s => now - s.t <= 60000) || samples[0];
  const last = samples[samples.length - 1];
  if (!old || last.t - old.t < 1000) return NaN;
  return (last.done - old.done) / (last.t - old.t) * 60000;
}

function drawQueues(queues, now) {
  const tb = document.querySelector('#queues tbody');
  tb.replaceChildren();
  for (const q of queues) {
    if (!queueHistory.has(q.name)) queueHistory.set(q.name, []);
    const h = queueHistory.get(q.name);
    h.push({t: now, done: q.done});
    while (h.length && now - h[0].t > HISTORY_MS) h.shift();
    const r = rate(h, now);
    const left = q.waiting + q.in_progress + (q.scheduled || 0);
    const eta = r > 0 ? duration(left / r * 60) : (left ? '—' : 'done');
    tb.append(el('tr', {'data-queue': q.name},
      el('td', {class: 'name', text: q.name}), num(q.waiting, 'waiting'),
      num(q.in_progress, 'in_progress'), num(q.scheduled, 'scheduled'),
      num(q.retried, 'retried'), num(q.done, 'done'),
      num(q.failed, 'failed'), num(isNaN(r) ? '—' : r.toFixed(0), 'rate'),
      el('td', {class: 'eta', text: eta}),
      el('td', {}, el('button', {class: 'danger', text: 'purge',
        onclick: () => post('/api/purge', {queue: q.name},
                            'Drop every waiting and scheduled job of queue ' + q.name + '?')}))));
  }
}

function drawChart(now) {
  const c = document.getElementById('chart'), g = c.getContext('2d');
  g.clearRect(0, 0, c.width, c.height);
  const pts = [];
  for (let i = 1; i < history.length; i++) {
    const a = history[i - 1], b = history[i];
    pts.push({t: b.t, v: Math.max(0, (b.done - a.done) / ((b.t - a.t) / 1000))});
  }
  const max = Math.max(1, ...pts.map(p => p.v));
  g.strokeStyle = '#2f6fb0'; g.lineWidth = 2; g.beginPath();
  pts.forEach((p, i) => {
    const x = c.width - (now - p.t) / HISTORY_MS * c.width, y = c.height - 4 - p.v / max * (c.height - 20);
    i ? g.lineTo(x, y) : g.moveTo(x, y);
  });
  g.stroke();
  g.fillStyle = '#555'; g.font = '12px sans-serif';
  g.fillText('max ' + max.toFixed(1) + ' jobs/s', 6, 14);
}

function drawWorkers(workers, now) {
  const live = new Set(workers.map(w => w.name));
  for (const w of workers) {
    const s = workerSeen.get(w.name) || {samples: []};
    s.w = w; s.samples.push({t: now, done: w.done});
    while (s.samples.length && now - s.samples[0].t > 120000) s.samples.shift();
    workerSeen.set(w.name, s);
  }
  const tb = document.querySelector('#workers tbody');
  tb.replaceChildren();
  for (const [name, s] of workerSeen) {
    const w = s.w, alive = live.has(name), r = alive ? rate(s.samples, now) : NaN;
    tb.append(el('tr', {'data-worker': name},
      el('td', {class: 'name', text: name}),
      el('td', {class: alive ? 'alive' : 'gone', text: alive ? 'alive' : 'gone'}),
      el('td', {text: w.host}), el('td', {text: w.queues}),
      el('td', {class: 'n', text: alive ? (w.heartbeat_age_ms / 1000).toFixed(1) + ' s ago' : '—'}),
      num(alive ? w.in_flight : 0, 'in_flight'), num(w.done, 'done'), num(w.failed, 'failed'),
      num(isNaN(r) ? '—' : r.toFixed(0), 'rate')));
  }
}

async function drawFailures(queues) {
  const box = document.getElementById('failures');
  const parts = [];
  for (const q of queues) {
    if (!q.failed) continue;
    const page = await getJSON('/api/failures?' + new URLSearchParams(
      {queue: q.name, before: cursors.get(q.name) || '', count: 50}));
    const reasons = el('table', {class: 'reasons'},
      el('thead', {}, el('tr', {}, el('th', {text: 'reason'}),
        el('th', {class: 'n', text: 'count (latest ' + q.reasons_sampled + ')'}),
        el('th', {text: 'for example'}))),
      el('tbody', {}, ...q.reasons.map(g => el('tr', {class: 'reason-group'},
        el('td', {class: 'reason', text: g.reason}), num(g.count),
        el('td', {}, ...g.urls.map(u => el('div', {}, link(u))))))));
    const rows = page.failures.map(f => el('tr', {class: 'failure', 'data-id': f.id},
      el('td', {class: 'reason', text: f.reason}),
      el('td', {}, link(f.url), el('div', {class: 'error', text: f.error})),
      el('td', {},
        el('button', {text: 'requeue', onclick: () => post('/api/requeue', {queue: q.name, id: f.id})}),
        el('button', {class: 'danger', text: 'drop',
                      onclick: () => post('/api/drop', {queue: q.name, id: f.id})}))));
    const pager = el('div', {class: 'pager'},
      cursors.get(q.name) ? el('button', {text: '« newest', onclick: () => { cursors.set(q.name, ''); refresh(); }}) : null,
      page.next ? el('button', {text: 'older »', onclick: () => { cursors.set(q.name, page.next); refresh(); }}) : null);
    parts.push(el('div', {class: 'queue-failures', 'data-queue': q.name},
      el('h3', {text: 'queue ' + q.name + ': ' + q.failed + ' failed '},
        el('button', {text: 'requeue all', onclick: () => post('/api/requeue', {queue: q.name})}),
        el('button', {class: 'danger', text: 'drop all',
          onclick: () => post('/api/drop', {queue: q.name}, 'Drop all ' + q.failed + ' failures of ' + q.name + '?')})),
      reasons, el('h3', {text: 'latest failures'}),
      el('table', {class: 'failures'}, el('tbody', {}, ...rows)), pager));
  }
  box.replaceChildren(...(parts.length ? parts : [el('p', {text: 'No failures.'})]));
}

async function getJSON(url) {
  const r = await fetch(url, {cache: 'no-store'});
  const body = await r.json().catch(() => ({error: 'HTTP ' + r.status}));
  if (!r.ok) throw new Error(body.error || ('HTTP ' + r.status));
  return body;
}

let busy = false;
async function refresh() {
  if (busy) return;
  busy = true;
  try {
    const s = await getJSON('/api/state'), now = Date.now();
    history.push({t: now, done: s.queues.reduce((a, q) => a + q.done, 0)});
    while (history.length && now - history[0].t > HISTORY_MS) history.shift();
    drawQueues(s.queues, now);
    drawChart(now);
    drawWorkers(s.workers, now);
    await drawFailures(s.queues);
    banner('');
    document.getElementById('updated').textContent = 'updated ' + new Date(now).toLocaleTimeString();
  } catch (e) {
    banner('Redis is unreachable: ' + e.message + ' (retrying every 2 s)');
  } finally {
    busy = false;
  }
}

// ---- the gallery -----------------------------------------------------------------------
function size(n) {
  return n < 1024 ? n + ' B' : n < 1048576 ? (n / 1024).toFixed(1) + ' KB' : (n / 1048576).toFixed(1) + ' MB';
}
async function gallery(page) {
  let g;
  try { g = await getJSON('/api/gallery?page=' + page); } catch (e) { banner(e.message); return; }
  document.getElementById('gtotal').textContent = '(' + g.total + ' images)';
  // The links come from the server, made from the names as they are on disk: a name
  // whose bytes are not UTF-8 is shown with U+FFFD but still reached.
  document.getElementById('grid').replaceChildren(...g.items.map(it => el('div', {class: 'tile'},
    el('a', {href: it.href, class: 'img'},
      el('img', {src: it.thumb_href || it.href, alt: it.name, loading: 'lazy'})),
    el('div', {class: 'name', text: it.name}),
    el('div', {class: 'meta', text: size(it.bytes)}),
    it.url ? el('div', {class: 'meta'}, link(it.url)) : null)));
  document.getElementById('gpager').replaceChildren(
    el('button', {text: '« previous', onclick: () => gallery(g.page - 1)}),
    el('span', {text: 'page ' + g.page + ' of ' + Math.max(1, g.pages) + ' '}),
    el('button', {text: 'next »', onclick: () => gallery(g.page + 1)}));
  if (g.page >= g.pages) document.querySelector('#gpager button:last-child').disabled = true;
  if (g.page <= 1) document.querySelector('#gpager button').disabled = true;
}

if (location.pathname === '/gallery') {
  document.getElementById('gallery').hidden = false;
  document.getElementById('updated').textContent = '';
  gallery(Number(new URLSearchParams(location.search).get('page')) || 1);
} else {
  document.getElementById('dash').hidden = false;
  refresh();
  setInterval(refresh, POLL_MS);
}
