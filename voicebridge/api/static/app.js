// voicebridge console: plain JavaScript, no build step, nothing loaded from elsewhere.
// Every figure comes from this service's /v1 API with the key the user pasted
// (kept in sessionStorage, sent as "Authorization: Bearer"). The DOM is built
// with textContent only: no API value is ever parsed as HTML.
'use strict';

const KEY_STORE = 'voicebridge.apiKey';
const TABS = ['reminders', 'cdrs', 'numbers', 'finance', 'webhooks'];
const CDR_STATUSES = ['answered', 'no_answer', 'busy', 'rejected', 'invalid_number', 'unreachable', 'failed',
  'cancelled', 'blocked'];
const REFRESH_MS = 2000;

let apiKey = null;
let refreshTimer = null;   // the reminder detail view's auto-refresh
let cdrState = null;       // the call records tab remembers its query and page while the tab is open

// ---------------------------------------------------------------- small helpers

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'class') el.className = value;
    else if (name in el && typeof value !== 'string') el[name] = value;
    else el.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function $(id) { return document.getElementById(id); }

/** Replace ``el``'s children, skipping null, undefined and false (replaceChildren would print "null"). */
function fill(el, ...kids) {
  el.replaceChildren(...kids.flat().filter(k => k !== null && k !== undefined && k !== false)
    .map(k => (k instanceof Node ? k : document.createTextNode(String(k)))));
}

/** Integer fen as CNY with two decimals, by integer arithmetic only (never a float division). */
function cny(fen) {
  if (fen === null || fen === undefined || fen === '') return '—';
  const f = Number(fen);
  if (!Number.isSafeInteger(f)) return String(fen);
  const sign = f < 0 ? '-' : '';
  const a = Math.abs(f);
  return `${sign}${Math.trunc(a / 100)}.${String(a % 100).padStart(2, '0')}`;
}

function pad(n, w = 2) { return String(n).padStart(w, '0'); }

function offsetText(date) {
  const off = -date.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${sign}${pad(Math.trunc(a / 60))}:${pad(a % 60)}`;
}

/** An ISO 8601 instant from the API, in the browser's local time with its offset. */
function localTime(iso, withMs = false) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const ms = withMs ? `.${pad(d.getMilliseconds(), 3)}` : '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${ms} ${offsetText(d)}`;
}

function timeCell(iso, withMs = false) {
  return h('td', { title: iso || '' }, localTime(iso, withMs));
}

/** A datetime-local input value ("2026-03-01T10:00") as ISO 8601 with the browser's offset. */
function inputToIso(value) {
  const d = new Date(value);
  if (!value || Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:` +
    `${pad(d.getMinutes())}:${pad(d.getSeconds())}${offsetText(d)}`;
}

function dateToInput(d, withTime = true) {
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return withTime ? `${day}T${pad(d.getHours())}:${pad(d.getMinutes())}` : day;
}

function seconds(ms) {
  if (ms === null || ms === undefined) return '—';
  return `${Math.trunc(ms / 1000)}.${pad(ms % 1000, 3)}`;
}

function chip(status, extra = '') {
  return h('span', { class: `chip st-${status} ${extra}` }, status);
}

function summaryChips(summary) {
  const entries = Object.entries(summary || {});
  if (!entries.length) return [h('span', { class: 'muted' }, '—')];
  return entries.map(([s, n]) => h('span', { class: `chip st-${s}` }, `${s} ${n}`));
}

function table(columns, rows, { onRow, empty = 'Nothing found.', footer } = {}) {
  if (!rows.length) return h('div', { class: 'empty' }, empty);
  const head = h('tr', {}, columns.map(c => h('th', { class: c.num ? 'num' : '' }, c.label)));
  const body = rows.map(row => {
    const tr = h('tr', { class: onRow ? 'click' : '' }, columns.map(c => {
      const v = c.cell(row);
      if (v instanceof Node && v.tagName === 'TD') return v;
      return h('td', { class: c.num ? 'num' : (c.wrap ? 'wrap' : '') }, v);
    }));
    if (onRow) tr.addEventListener('click', () => onRow(row));
    return tr;
  });
  if (footer) body.push(footer);
  return h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, head), h('tbody', {}, body)));
}

// ---------------------------------------------------------------- the API

class ApiError extends Error {
  constructor(status, problem) {
    super(problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** One API request with the key; resolves to the Response, or throws ApiError with the problem+json. */
async function api(method, path, params, { accept = 'application/json' } = {}) {
  let resp;
  try {
    resp = await fetch(path + query(params), {
      method, cache: 'no-store', credentials: 'omit',
      headers: { Authorization: `Bearer ${apiKey}`, Accept: accept },
    });
  } catch (err) {
    throw new ApiError(0, { title: 'Network error', detail: `the service did not answer (${err.message})` });
  }
  if (!resp.ok) {
    let problem;
    const text = await resp.text();
    try { problem = JSON.parse(text); } catch (_) { problem = { title: resp.statusText, detail: text.slice(0, 500) }; }
    throw new ApiError(resp.status, problem || {});
  }
  return resp;
}

async function getJson(path, params) {
  return (await api('GET', path, params)).json();
}

function problemBox(err) {
  if (!(err instanceof ApiError)) {
    return h('div', { class: 'problem', role: 'alert' }, h('strong', {}, 'Error'), String(err && err.message || err));
  }
  const p = err.problem || {};
  const errs = Array.isArray(p.errors) ? p.errors : [];
  return h('div', { class: 'problem', role: 'alert' },
    h('strong', {}, `${err.status ? err.status + ' ' : ''}${p.title || 'Error'}`),
    p.detail ? h('div', {}, p.detail) : null,
    errs.length ? h('ul', {}, errs.map(e => h('li', {},
      h('code', {}, e.field || '(body)'), ': ', e.message || '', e.code ? h('span', { class: 'muted' }, ` (${e.code})`) : null))) : null,
    p.hint ? h('div', { class: 'muted' }, p.hint) : null,
    err.status === 401 ? h('div', {}, h('button', { type: 'button', class: 'link', onclick: forgetKey },
      'Enter another key')) : null);
}

/** Show a problem in ``slot`` (replacing what it held). */
function showError(slot, err) {
  fill(slot, problemBox(err));
}

function loading(slot, text = 'Loading…') {
  fill(slot, h('div', { class: 'empty' }, text));
}

function filenameOf(resp, fallback) {
  const cd = resp.headers.get('Content-Disposition') || '';
  const m = /filename="([^"]+)"/.exec(cd);
  return m ? m[1] : fallback;
}

/** Download a CSV through fetch (the key must travel in the header, never in a URL) and save it as a Blob. */
async function downloadCsv(path, params, fallbackName, status) {
  fill(status, h('span', { class: 'muted' }, 'Downloading…'));
  try {
    const resp = await api('GET', path, { ...params, format: 'csv', bom: '1' }, { accept: 'text/csv' });
    const chunks = [];
    let bytes = 0;
    if (resp.body && resp.body.getReader) {
      const reader = resp.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        bytes += value.length;
        fill(status, h('span', { class: 'muted' }, `Downloading… ${Math.trunc(bytes / 1024)} KiB`));
      }
    } else {
      const buf = await resp.arrayBuffer();
      chunks.push(buf);
      bytes = buf.byteLength;
    }
    const blob = new Blob(chunks, { type: 'text/csv;charset=utf-8' });
    const url = URL.createObjectURL(blob);
    const name = filenameOf(resp, fallbackName);
    const a = h('a', { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    fill(status, h('span', { class: 'muted' }, `Saved ${name} (${Math.trunc(bytes / 1024)} KiB).`));
  } catch (err) {
    showError(status, err);
  }
}

// ---------------------------------------------------------------- key and navigation

function readKeyFromFragment() {
  // "#key=vb_…" (optionally "&tab=cdrs" or "&tab=reminders/<id>"): for links and screenshots. The fragment never reaches the
  // server; it is removed from the address bar at once.
  const frag = location.hash.replace(/^#/, '');
  if (!frag.includes('key=')) return;
  const params = new URLSearchParams(frag);
  const key = params.get('key');
  if (key) sessionStorage.setItem(KEY_STORE, key.trim());
  const tab = params.get('tab');
  const keep = tab && TABS.includes(tab.split('/')[0]) ? `#${tab}` : '';  // e.g. tab=reminders/rm_…
  history.replaceState(null, '', location.pathname + location.search + keep);
}

function forgetKey() {
  sessionStorage.removeItem(KEY_STORE);
  apiKey = null;
  stopRefresh();
  start();
}

function currentTab() {
  const name = location.hash.replace(/^#/, '').split('/')[0];
  return TABS.includes(name) ? name : 'reminders';
}

function stopRefresh() {
  if (refreshTimer !== null) {
    clearTimeout(refreshTimer);
    refreshTimer = null;
  }
}

function route() {
  stopRefresh();
  const tab = currentTab();
  for (const a of document.querySelectorAll('#tabs a')) a.classList.toggle('active', a.dataset.tab === tab);
  const view = $('view');
  fill(view);
  const rest = location.hash.replace(/^#/, '').split('/').slice(1).map(decodeURIComponent);
  if (tab === 'reminders' && rest[0]) reminderDetail(view, rest[0]);
  else ({ reminders: remindersTab, cdrs: cdrsTab, numbers: numbersTab, finance: financeTab, webhooks: webhooksTab })[tab](view);
}

function start() {
  readKeyFromFragment();
  apiKey = sessionStorage.getItem(KEY_STORE);
  const signedIn = Boolean(apiKey);
  $('login').hidden = signedIn;
  $('tabs').hidden = !signedIn;
  $('who').hidden = !signedIn;
  fill($('view'));
  if (!signedIn) {
    $('key-input').focus();
    return;
  }
  $('key-label').textContent = `key ${apiKey.slice(0, 10)}…`;
  route();
}

// ---------------------------------------------------------------- Reminders

function remindersTab(view) {
  const status = h('select', { name: 'status' }, ['', 'active', 'completed', 'cancelled'].map(
    s => h('option', { value: s }, s || 'any')));
  const group = h('input', { type: 'text', name: 'group_id', placeholder: 'group id' });
  const message = h('input', { type: 'text', name: 'message_id', placeholder: 'message id' });
  const result = h('div', {});
  const more = h('div', { class: 'bar' });
  let before = null;

  async function load(append) {
    if (!append) { before = null; loading(result); }
    fill(more);
    try {
      const data = await getJson('/v1/reminders', {
        status: status.value, group_id: group.value.trim(), message_id: message.value.trim(), limit: 50, before,
      });
      const rows = data.reminders || [];
      const t = table([
        { label: 'Created', cell: r => timeCell(r.created_at) },
        { label: 'Reminder', cell: r => h('span', { class: 'mono' }, r.id) },
        { label: 'Group / message', cell: r => `${r.group_id} / ${r.message_id}` },
        { label: 'Sender', cell: r => (r.sender && (r.sender.name || r.sender.user_id)) || '' },
        { label: 'Text', wrap: true, cell: r => (r.text || '').length > 60 ? `${r.text.slice(0, 60)}…` : r.text },
        { label: 'Status', cell: r => chip(r.status) },
        { label: 'Calls', wrap: true, cell: r => summaryChips(r.summary) },
        { label: 'Caller', cell: r => h('span', { class: 'mono' }, r.caller) },
      ], rows, { onRow: r => { location.hash = `#reminders/${encodeURIComponent(r.id)}`; },
        empty: 'No reminders yet. A chat client posts them to POST /v1/reminders.' });
      if (append) result.append(t); else fill(result, t);
      before = data.next_before;
      if (before) more.append(h('button', { type: 'button', class: 'secondary', onclick: () => load(true) }, 'Older reminders'));
    } catch (err) {
      showError(result, err);
    }
  }

  const form = h('form', { class: 'filters', onsubmit: e => { e.preventDefault(); load(false); } },
    h('label', {}, 'Status', status), h('label', {}, 'Group', group), h('label', {}, 'Message', message),
    h('button', { type: 'submit' }, 'Search'));
  view.append(h('section', { class: 'card' }, h('h2', {}, 'Reminders'), form, result, more));
  load(false);
}

function reminderDetail(view, id) {
  const head = h('div', {});
  const calls = h('div', {});
  const live = h('span', { class: 'live' });
  const back = h('a', { href: '#reminders' }, '← All reminders');
  const cdrLink = h('a', { href: `#cdrs/${encodeURIComponent(id)}` }, 'Call records of this reminder');
  view.append(h('section', { class: 'card' }, h('div', { class: 'bar' }, back, h('span', { class: 'spacer' }), live, cdrLink),
    head, calls));

  async function cancel() {
    if (!confirm('Cancel the calls not dialled yet? Calls in progress finish.')) return;
    try {
      await api('POST', `/v1/reminders/${encodeURIComponent(id)}/cancel`);
      refresh();
    } catch (err) {
      head.append(problemBox(err));
    }
  }

  async function refresh() {
    stopRefresh();
    let r;
    try {
      r = await getJson(`/v1/reminders/${encodeURIComponent(id)}`);
    } catch (err) {
      showError(head, err);
      live.textContent = '';
      return;
    }
    if (!head.isConnected) return;  // the user went elsewhere meanwhile: stop refreshing
    fill(head,
      h('h2', {}, 'Reminder ', h('span', { class: 'mono' }, r.id), ' ', chip(r.status)),
      h('dl', { class: 'kv' },
        h('dt', {}, 'Sender'), h('dd', {}, `${(r.sender && r.sender.name) || ''} (${(r.sender && r.sender.user_id) || ''})`),
        h('dt', {}, 'Group / message'), h('dd', {}, `${r.group_id} / ${r.message_id}`),
        h('dt', {}, 'Text'), h('dd', {}, r.text || ''),
        h('dt', {}, 'Language'), h('dd', {}, r.language || ''),
        h('dt', {}, 'Caller shown'), h('dd', { class: 'mono' }, r.caller || ''),
        h('dt', {}, 'Created'), h('dd', {}, localTime(r.created_at)),
        h('dt', {}, 'Completed'), h('dd', {}, localTime(r.completed_at)),
        h('dt', {}, 'Calls'), h('dd', {}, summaryChips(r.summary)),
        h('dt', {}, 'Charged'), h('dd', {}, `CNY ${cny((r.calls || []).reduce((s, c) => s + (c.charge_fen || 0), 0))}`)),
      r.status === 'active' ? h('div', { class: 'bar' },
        h('button', { type: 'button', class: 'danger', onclick: cancel }, 'Cancel pending calls')) : null);
    fill(calls, h('h3', {}, 'Members'), table([
      { label: 'Member', cell: c => c.name ? `${c.name} (${c.user_id})` : c.user_id },
      { label: 'Phone', cell: c => h('span', { class: 'mono' }, c.phone) },
      { label: 'Status', cell: c => chip(c.status) },
      { label: 'Answered?', cell: c => c.answered_at ? 'yes' : (['queued', 'deferred', 'calling', 'ringing'].includes(c.status) ? '…' : 'no') },
      { label: 'Attempts', num: true, cell: c => c.attempts },
      { label: 'Started', cell: c => timeCell(c.started_at) },
      { label: 'Answered', cell: c => timeCell(c.answered_at) },
      { label: 'Ended', cell: c => timeCell(c.ended_at) },
      { label: 'Talk (s)', num: true, cell: c => c.talk_seconds },
      { label: 'Replays', num: true, cell: c => c.replays },
      { label: 'Keys', cell: c => c.digits || '' },
      { label: 'Cause', cell: c => c.cause || '' },
      { label: 'SIP', num: true, cell: c => c.sip_code ?? '' },
      { label: 'Next try', cell: c => timeCell(c.next_attempt_at) },
      { label: 'Charge (CNY)', num: true, cell: c => cny(c.charge_fen) },
    ], r.calls || []));
    if (r.status === 'active') {
      live.textContent = `● live: refreshing every ${REFRESH_MS / 1000} s`;
      refreshTimer = setTimeout(refresh, REFRESH_MS);
    } else {
      live.textContent = '';
    }
  }
  loading(head);
  refresh();
}

// ---------------------------------------------------------------- Call records

function cdrsTab(view) {
  const reminderFromHash = location.hash.replace(/^#/, '').split('/').slice(1).map(decodeURIComponent)[0] || '';
  const now = new Date();
  const from = h('input', { type: 'datetime-local', name: 'from', value: dateToInput(new Date(now.getTime() - 7 * 86400000)) });
  const to = h('input', { type: 'datetime-local', name: 'to', value: dateToInput(new Date(now.getTime() + 3600000)) });
  const text = name => h('input', { type: 'text', name, placeholder: name === 'callee' || name === 'caller' ? 'exact or prefix*' : '' });
  const caller = text('caller');
  const callee = text('callee');
  const session = text('session_id');
  const app = h('select', { name: 'app_name' }, ['', 'call_notify', 'welink'].map(s => h('option', { value: s }, s || 'any')));
  const status = h('select', { name: 'status' }, ['', ...CDR_STATUSES].map(s => h('option', { value: s }, s || 'any')));
  const reminder = text('reminder_id');
  reminder.value = reminderFromHash;
  const limit = h('select', { name: 'limit' }, ['50', '100', '200'].map(s => h('option', { value: s }, s)));
  const result = h('div', {});
  const pager = h('div', { class: 'bar' });
  const csvStatus = h('span', {});

  function params() {
    return {
      from: inputToIso(from.value), to: inputToIso(to.value), caller: caller.value.trim(), callee: callee.value.trim(),
      session_id: session.value.trim(), app_name: app.value, status: status.value, reminder_id: reminder.value.trim(),
    };
  }

  async function load(cursor, pageNo) {
    loading(result);
    fill(pager);
    try {
      const q = cdrState.query;
      const data = await getJson('/v1/cdrs', { ...q, limit: limit.value, cursor });
      const rows = data.cdrs || [];
      const total = rows.reduce((s, r) => s + (r.charge_fen || 0), 0);
      fill(result, table([
        { label: 'Call start', cell: r => timeCell(r.start_at, true) },
        { label: 'App', cell: r => r.app_name },
        { label: 'Caller', cell: r => h('span', { class: 'mono' }, r.caller) },
        { label: 'Callee', cell: r => h('span', { class: 'mono' }, r.callee) },
        { label: 'Session id', cell: r => h('span', { class: 'mono', title: r.session_id }, (r.session_id || '').slice(0, 18)) },
        { label: 'Answer', cell: r => timeCell(r.answer_at, true) },
        { label: 'End', cell: r => timeCell(r.end_at, true) },
        { label: 'Duration (s)', num: true, cell: r => seconds(r.duration_ms) },
        { label: 'Billed min', num: true, cell: r => r.billable_minutes },
        { label: 'Status', cell: r => chip(r.status) },
        { label: 'Hang-up reason', cell: r => `${r.cause || ''}${r.hangup_by ? ` (${r.hangup_by})` : ''}` },
        { label: 'SIP', num: true, cell: r => r.sip_code ?? '' },
        { label: 'Keys', cell: r => r.digits || '' },
        { label: 'Charge (CNY)', num: true, cell: r => cny(r.charge_fen) },
      ], rows, {
        empty: 'No call records match.',
        footer: rows.length ? h('tr', { class: 'total' }, h('td', { colspan: '13' }, `Page ${pageNo}: ${rows.length} records`),
          h('td', { class: 'num' }, cny(total))) : null,
      }));
      cdrState.cursors[pageNo] = cursor;
      if (pageNo > 1) {
        pager.append(h('button', { type: 'button', class: 'secondary', onclick: () => load(cdrState.cursors[1], 1) }, 'First page'));
        pager.append(h('button', { type: 'button', class: 'secondary', onclick: () => load(cdrState.cursors[pageNo - 1], pageNo - 1) }, 'Previous page'));
      }
      if (data.next_cursor) {
        pager.append(h('button', { type: 'button', class: 'secondary', onclick: () => load(data.next_cursor, pageNo + 1) }, 'Next page'));
      }
      pager.append(h('span', { class: 'muted' }, `Newest first. ${localTime(data.from)} to ${localTime(data.to)}.`));
    } catch (err) {
      showError(result, err);
    }
  }

  function search(e) {
    if (e) e.preventDefault();
    cdrState = { query: params(), cursors: {} };
    load(undefined, 1);
  }

  const csvButton = h('button', { type: 'button', class: 'secondary', onclick: () => {
    downloadCsv('/v1/cdrs', params(), 'cdrs.csv', csvStatus);
  } }, 'Download CSV');

  const form = h('form', { class: 'filters', onsubmit: search },
    h('label', {}, 'From', from), h('label', {}, 'To (exclusive)', to), h('label', {}, 'Caller', caller),
    h('label', {}, 'Callee', callee), h('label', {}, 'Session id', session), h('label', {}, 'Status', status),
    h('label', {}, 'App', app), h('label', {}, 'Reminder', reminder), h('label', {}, 'Per page', limit),
    h('button', { type: 'submit' }, 'Search'), csvButton);
  view.append(h('section', { class: 'card' }, h('h2', {}, 'Call records'), form,
    h('div', { class: 'bar' }, csvStatus), result, pager));
  search();
}

// ---------------------------------------------------------------- Numbers

function numbersTab(view) {
  const status = h('select', { name: 'status' }, ['', 'in_use', 'paused', 'released'].map(s => h('option', { value: s }, s || 'any')));
  const app = h('select', { name: 'app_name' }, ['', 'call_notify', 'welink'].map(s => h('option', { value: s }, s || 'any')));
  const fmt = h('select', { name: 'format' }, ['national', 'e164'].map(s => h('option', { value: s }, s)));
  const result = h('div', {});
  async function load(e) {
    if (e) e.preventDefault();
    loading(result);
    try {
      const data = await getJson('/v1/numbers', { status: status.value, app_name: app.value, format: fmt.value });
      fill(result, table([
        { label: 'Number', cell: n => h('span', { class: 'mono', title: n.e164 }, n.number) },
        { label: 'City', cell: n => n.city },
        { label: 'App', cell: n => n.app_name || '' },
        { label: 'Service type', cell: n => n.service_type || '' },
        { label: 'Number type', cell: n => n.number_type || '' },
        { label: 'Status', cell: n => chip(n.status) },
        { label: 'Ordered', cell: n => timeCell(n.ordered_at) },
        { label: 'Issued', cell: n => timeCell(n.issued_at) },
        { label: 'Released', cell: n => timeCell(n.released_at) },
      ], data.numbers || [], { empty: 'No numbers. They are issued when the number order is approved.' }));
    } catch (err) {
      showError(result, err);
    }
  }
  const form = h('form', { class: 'filters', onsubmit: load },
    h('label', {}, 'Status', status), h('label', {}, 'App', app), h('label', {}, 'Show as', fmt),
    h('button', { type: 'submit' }, 'Show'));
  view.append(h('section', { class: 'card' }, h('h2', {}, 'Numbers'), form, result));
  load();
}

// ---------------------------------------------------------------- Balance, usage and statements

function financeTab(view) {
  const balance = h('div', {});
  const usageResult = h('div', {});
  const usageCsv = h('span', {});
  const stResult = h('div', {});
  const stCsv = h('span', {});
  const now = new Date();
  const monthStart = new Date(now.getFullYear(), now.getMonth(), 1);
  const nextMonth = new Date(now.getFullYear(), now.getMonth() + 1, 1);
  const uFrom = h('input', { type: 'date', name: 'from', value: dateToInput(monthStart, false) });
  const uTo = h('input', { type: 'date', name: 'to', value: dateToInput(nextMonth, false) });
  const gran = h('select', { name: 'granularity' }, ['day', 'month'].map(s => h('option', { value: s }, s)));
  const month = h('input', { type: 'month', name: 'month', value: `${now.getFullYear()}-${pad(now.getMonth() + 1)}` });

  async function loadBalance() {
    loading(balance);
    try {
      const b = await getJson('/v1/balance');
      fill(balance,
        h('div', { class: `big ${b.balance_fen < 0 ? 'neg' : ''}` }, `CNY ${cny(b.balance_fen)}`),
        h('div', { class: 'muted' }, `${b.balance_fen} fen · arrears state `, chip(b.arrears_state)),
        b.arrears_state !== 'active' ? h('p', {}, 'The balance is below zero: grace, then retention (reminders refused), ' +
          'then release (numbers released, documents deleted). A top-up back to zero or above restores service at once.') : null);
    } catch (err) {
      showError(balance, err);
    }
  }

  const usageParams = () => ({ from: uFrom.value, to: uTo.value, granularity: gran.value });
  async function loadUsage(e) {
    if (e) e.preventDefault();
    loading(usageResult);
    try {
      const u = await getJson('/v1/usage', usageParams());
      const t = u.total || {};
      fill(usageResult, h('div', { class: 'muted' }, `Periods in ${u.timezone}.`), table([
        { label: 'Period', cell: r => r.period },
        { label: 'Calls', num: true, cell: r => r.calls },
        { label: 'Answered', num: true, cell: r => r.answered },
        { label: 'Billable minutes', num: true, cell: r => r.billable_minutes },
        { label: 'Call charges (CNY)', num: true, cell: r => cny(r.charge_fen) },
      ], u.periods || [], {
        empty: 'No usage in this range.',
        footer: h('tr', { class: 'total' }, h('td', {}, 'Total'), h('td', { class: 'num' }, t.calls),
          h('td', { class: 'num' }, t.answered), h('td', { class: 'num' }, t.billable_minutes),
          h('td', { class: 'num' }, cny(t.charge_fen))),
      }));
    } catch (err) {
      showError(usageResult, err);
    }
  }

  async function loadStatement(e) {
    if (e) e.preventDefault();
    loading(stResult);
    try {
      const s = await getJson(`/v1/statements/${encodeURIComponent(month.value)}`);
      const line = (label, fen, strong) => h('tr', { class: strong ? 'total' : '' }, h('td', {}, label),
        h('td', { class: 'num' }, cny(fen)));
      const items = (title, list) => (Array.isArray(list) && list.length) ? [h('h3', {}, title), table(
        Object.keys(list[0]).map(k => ({
          label: k.endsWith('_fen') ? `${k.slice(0, -4)} (CNY)` : k, num: k.endsWith('_fen'),
          cell: r => k.endsWith('_fen') ? cny(r[k]) : (k === 'at' || k.endsWith('_at') ? localTime(r[k])
            : (Array.isArray(r[k]) ? r[k].join(', ') : r[k])),
        })), list)] : [];
      fill(stResult,
        h('div', { class: 'muted' }, `${s.month} in ${s.timezone}: ${localTime(s.period_start)} to ${localTime(s.period_end)}`),
        h('div', { class: 'table-wrap' }, h('table', {}, h('tbody', {},
          line('Opening balance', s.opening_balance_fen), line('+ Top-ups', s.topups_fen),
          line(`− Call charges (${s.calls_charged} calls)`, s.call_charges_fen), line('− Rent', s.rent_fen),
          line('± Adjustments', s.adjustments_fen), line('Closing balance', s.closing_balance_fen, true)))),
        ...items('Top-ups', s.topups), ...items('Rent per number', s.rent), ...items('Adjustments', s.adjustments));
    } catch (err) {
      showError(stResult, err);
    }
  }

  view.append(h('div', { class: 'grid2' },
    h('section', { class: 'card' }, h('h2', {}, 'Balance'), balance),
    h('section', { class: 'card' }, h('h2', {}, 'Monthly statement'),
      h('form', { class: 'filters', onsubmit: loadStatement }, h('label', {}, 'Month', month),
        h('button', { type: 'submit' }, 'Show'),
        h('button', { type: 'button', class: 'secondary', onclick: () => downloadCsv(
          `/v1/statements/${encodeURIComponent(month.value)}`, {}, `statement-${month.value}.csv`, stCsv) }, 'Download CSV')),
      stCsv, stResult)),
  h('section', { class: 'card' }, h('h2', {}, 'Usage'),
    h('form', { class: 'filters', onsubmit: loadUsage },
      h('label', {}, 'From', uFrom), h('label', {}, 'To (exclusive)', uTo), h('label', {}, 'Per', gran),
      h('button', { type: 'submit' }, 'Show'),
      h('button', { type: 'button', class: 'secondary', onclick: () => downloadCsv('/v1/usage', usageParams(), 'usage.csv', usageCsv) },
        'Download CSV')),
    usageCsv, usageResult));
  loadBalance();
  loadUsage();
  loadStatement();
}

// ---------------------------------------------------------------- Webhooks

function webhooksTab(view) {
  const hooks = h('div', {});
  const deliveries = h('div', {});
  const notice = h('div', {});
  const state = h('select', { name: 'state' }, ['dead', 'pending', 'delivered', ''].map(s => h('option', { value: s }, s || 'any')));

  async function loadHooks() {
    loading(hooks);
    try {
      const data = await getJson('/v1/webhooks');
      fill(hooks, table([
        { label: 'Id', cell: w => h('span', { class: 'mono' }, w.id) },
        { label: 'URL', wrap: true, cell: w => h('span', { class: 'mono' }, w.url) },
        { label: 'Events', wrap: true, cell: w => (w.events || []).join(', ') },
        { label: 'Created', cell: w => timeCell(w.created_at) },
      ], data.webhooks || [], { empty: 'No webhooks. Add one with POST /v1/webhooks.' }));
    } catch (err) {
      showError(hooks, err);
    }
  }

  async function redeliver(d) {
    fill(notice);
    try {
      await api('POST', `/v1/webhooks/deliveries/${encodeURIComponent(d.id)}/redeliver`);
      fill(notice, h('div', { class: 'notice' }, `Delivery ${d.id} (${d.event}) queued again with the same event id.`));
      loadDeliveries();
    } catch (err) {
      showError(notice, err);
    }
  }

  async function loadDeliveries(e) {
    if (e) e.preventDefault();
    loading(deliveries);
    try {
      const data = await getJson('/v1/webhooks/deliveries', { state: state.value, limit: 100 });
      fill(deliveries, table([
        { label: 'Id', num: true, cell: d => d.id },
        { label: 'Event', cell: d => d.event },
        { label: 'Event id', cell: d => h('span', { class: 'mono' }, d.event_id) },
        { label: 'URL', wrap: true, cell: d => h('span', { class: 'mono' }, d.url) },
        { label: 'State', cell: d => chip(d.state) },
        { label: 'Attempts', num: true, cell: d => d.attempts },
        { label: 'Last error', wrap: true, cell: d => d.last_error || '' },
        { label: 'Created', cell: d => timeCell(d.created_at) },
        { label: 'Delivered', cell: d => timeCell(d.delivered_at) },
        { label: '', cell: d => d.state === 'delivered' ? '' : h('button', { type: 'button', class: 'secondary', onclick: ev => {
          ev.stopPropagation(); redeliver(d);
        } }, 'Redeliver') },
      ], data.deliveries || [], { empty: state.value === 'dead' ? 'No dead deliveries.' : 'No deliveries.' }));
    } catch (err) {
      showError(deliveries, err);
    }
  }

  view.append(
    h('section', { class: 'card' }, h('h2', {}, 'Webhooks'), hooks),
    h('section', { class: 'card' }, h('h2', {}, 'Deliveries'),
      h('form', { class: 'filters', onsubmit: loadDeliveries }, h('label', {}, 'State', state),
        h('button', { type: 'submit' }, 'Show')),
      notice, deliveries));
  loadHooks();
  loadDeliveries();
}

// ---------------------------------------------------------------- start

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', e => {
    e.preventDefault();
    const key = $('key-input').value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_STORE, key);
    $('key-input').value = '';
    start();
  });
  $('forget').addEventListener('click', forgetKey);
  window.addEventListener('hashchange', () => {
    if (location.hash.includes('key=')) start();
    else if (apiKey) route();
  });
  start();
});
