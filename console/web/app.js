// abtest console: a single page over the admin API (/v1/admin/...). No
// framework and no inline code (the CSP forbids it): pages are built with
// DOM calls, text is always set as text. The credential lives in this tab's
// sessionStorage only; every call sends it to the admin API.
'use strict';

(function () {
  const STORE = 'abtest.credential';
  // Okabe-Ito: distinguishable with the common colour-vision deficiencies;
  // lines also differ by dash pattern and point shape.
  const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#000000', '#F0E442'];
  const DASHES = [[], [6, 4], [2, 3], [10, 3, 2, 3], [1, 2], [8, 8]];
  const SHAPES = ['circle', 'rect', 'triangle', 'rectRot', 'star', 'crossRot'];
  const main = document.getElementById('main');
  const flash = document.getElementById('flash');
  const charts = [];

  // ---- credential and API ----
  function credential() {
    try { return JSON.parse(sessionStorage.getItem(STORE) || 'null'); } catch (_) { return null; }
  }
  function authHeaders(cred) {
    return cred.kind === 'bearer' ? { Authorization: 'Bearer ' + cred.value } : { 'X-Api-Key': cred.value };
  }

  class ApiError extends Error {
    constructor(status, body) {
      const e = (body && body.error) || {};
      super(e.message || (body && body.message) || ('HTTP ' + status));
      this.status = status;
      this.code = e.code || '';
      this.details = e.details || {};
    }
  }

  async function api(method, path, body, cred, quiet) {
    cred = cred || credential();
    if (!cred) { go('#/signin'); throw new ApiError(401, { message: 'Not signed in' }); }
    const headers = authHeaders(cred);
    const init = { method, headers, credentials: 'omit', cache: 'no-store' };
    if (body !== undefined) { headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
    const resp = await fetch(path, init);
    const text = await resp.text();
    let data = null;
    if (text) { try { data = JSON.parse(text); } catch (_) { data = { message: text }; } }
    if (!resp.ok) {
      const err = new ApiError(resp.status, data);
      if (resp.status === 401 && !quiet) { sessionStorage.removeItem(STORE); go('#/signin'); }
      throw err;
    }
    return data;
  }

  // ---- DOM helpers ----
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'text') el.textContent = v;
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  function show(...nodes) {
    while (charts.length) charts.pop().destroy();
    main.replaceChildren(...nodes);
  }
  let flashFresh = false;
  function say(text, kind) {
    flashFresh = true;
    flash.replaceChildren(h('div', { class: 'banner ' + (kind || 'ok') }, text));
  }
  function clearFlash() { flash.replaceChildren(); }
  function go(hash) { if (location.hash !== hash) location.hash = hash; else route(); }
  function badge(status) { return h('span', { class: 'badge ' + status }, status); }
  function json(v) { return h('pre', {}, JSON.stringify(v, null, 2)); }
  function when(ts) { return ts ? new Date(ts).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '—'; }
  function table(head, rows, attrs) {
    return h('div', { class: 'table-wrap' }, h('table', attrs || {},
      h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col', class: /^(Exposed|Converted|Rate|Weight|Share|Assigned|p-value|Adjusted p|Chance|Percent|Size|Version|Rules)/.test(c) ? 'num' : null }, c)))),
      h('tbody', {}, rows)));
  }
  function errorBanner(err) {
    const text = err instanceof ApiError ? (err.code ? err.code + ': ' : '') + err.message : String(err);
    return h('div', { class: 'banner error', role: 'alert' }, text);
  }
  function failPage(err) { show(h('h1', {}, 'Something went wrong'), errorBanner(err)); }
  function pct(x, digits) { return x === null || x === undefined ? '—' : (x * 100).toFixed(digits === undefined ? 2 : digits) + '%'; }
  function signedPct(x) { return x === null || x === undefined ? '—' : (x > 0 ? '+' : '') + (x * 100).toFixed(2) + '%'; }
  function pval(x) { return x === null || x === undefined ? '—' : x < 0.0001 ? '<0.0001' : x.toFixed(4); }
  function int(x) { return x === null || x === undefined ? '—' : String(x); }

  function confirmAction(title, text, danger) {
    const dlg = document.getElementById('confirm');
    document.getElementById('confirm-title').textContent = title;
    document.getElementById('confirm-text').textContent = text;
    const ok = document.getElementById('confirm-ok');
    ok.textContent = title;
    ok.className = danger ? 'danger' : '';
    return new Promise((resolve) => {
      dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
      dlg.returnValue = 'cancel';
      dlg.showModal();
      ok.focus();
    });
  }

  // Fields from a VALIDATION_FAILED answer go next to their inputs
  // (data-field="variants[0].key"), the rest in a list at the top.
  function showFieldErrors(form, err, summary) {
    form.querySelectorAll('.field-error').forEach((e) => e.remove());
    form.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
    const fields = (err.details && err.details.fields) || {};
    const loose = [];
    for (const [name, problem] of Object.entries(fields)) {
      const input = form.querySelector('[data-field="' + CSS.escape(name) + '"]');
      if (!input) { loose.push(name + ': ' + problem); continue; }
      const id = 'err-' + name.replace(/[^a-z0-9]/gi, '-');
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', id);
      input.insertAdjacentElement('afterend', h('div', { class: 'field-error', id }, problem));
    }
    summary.replaceChildren(errorBanner(err), loose.length ? h('ul', {}, loose.map((l) => h('li', {}, l))) : '');
    const first = form.querySelector('[aria-invalid="true"]');
    if (first) first.focus();
  }

  // ---- sign in ----
  function signIn() {
    document.getElementById('nav').hidden = true;
    const kind = h('select', { id: 'kind', name: 'kind' },
      h('option', { value: 'apikey' }, 'Admin API key (X-Api-Key)'),
      h('option', { value: 'bearer' }, 'Bearer token from the identity provider (admin JWT)'));
    const secret = h('input', { id: 'secret', name: 'secret', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
    const status = h('div', { role: 'alert' });
    const form = h('form', { id: 'signin-form', onsubmit: async (ev) => {
      ev.preventDefault();
      const cred = { kind: kind.value, value: secret.value.trim() };
      try {
        await api('GET', '/v1/admin/experiments?limit=1', undefined, cred, true);
      } catch (err) {
        status.replaceChildren(errorBanner(err.status === 401 || err.status === 403
          ? new ApiError(err.status, { error: { code: 'SIGN_IN_REFUSED', message: 'The admin API refused this credential (' + err.status + '): it must be an admin key or an admin token.' } })
          : err));
        return;
      }
      sessionStorage.setItem(STORE, JSON.stringify(cred));
      secret.value = '';
      go('#/experiments');
    } },
    h('div', { class: 'field' }, h('label', { for: 'kind' }, 'Sign in with'), kind),
    h('div', { class: 'field' }, h('label', { for: 'secret' }, 'Credential'), secret,
      h('p', { class: 'muted' }, 'Kept in this tab only (session storage) and sent to the admin API; closing the tab or signing out forgets it.')),
    status,
    h('button', { type: 'submit' }, 'Sign in'));
    show(h('h1', {}, 'Sign in to the abtest console'), form);
    secret.focus();
  }

  // ---- experiments: list ----
  const STATUSES = ['draft', 'active', 'paused', 'ended'];

  async function experimentsList(q) {
    const status = q.get('status') || '';
    const search = (q.get('q') || '').trim().toLowerCase();
    const cursor = q.get('cursor') || '';
    const back = q.get('back') || '';
    const params = new URLSearchParams({ limit: search ? '100' : '20' });
    if (status) params.set('status', status);
    if (cursor && !search) params.set('cursor', cursor);
    let page = await api('GET', '/v1/admin/experiments?' + params);
    let items = page.experiments;
    if (search) {
      // The API lists by recency; a search reads up to 5 pages and filters.
      for (let i = 0; i < 4 && page.next_cursor; i++) {
        params.set('cursor', page.next_cursor);
        page = await api('GET', '/v1/admin/experiments?' + params);
        items = items.concat(page.experiments);
      }
      items = items.filter((e) => e.key.toLowerCase().includes(search) || e.name.toLowerCase().includes(search));
    }
    const totals = page.totals || {};
    const statusSel = h('select', { id: 'status-filter', name: 'status' },
      h('option', { value: '' }, 'Any status'),
      STATUSES.map((s) => h('option', { value: s, selected: s === status }, s + ' (' + (totals[s] || 0) + ')')));
    const searchIn = h('input', { id: 'search', name: 'q', type: 'search', value: q.get('q') || '', placeholder: 'key or name' });
    const filters = h('form', { class: 'row', role: 'search', onsubmit: (ev) => {
      ev.preventDefault();
      const p = new URLSearchParams();
      if (statusSel.value) p.set('status', statusSel.value);
      if (searchIn.value.trim()) p.set('q', searchIn.value.trim());
      go('#/experiments' + (p.toString() ? '?' + p : ''));
    } },
    h('div', {}, h('label', { for: 'status-filter' }, 'Status'), statusSel),
    h('div', { class: 'grow' }, h('label', { for: 'search' }, 'Search'), searchIn),
    h('div', {}, h('button', { type: 'submit' }, 'Filter')));
    statusSel.addEventListener('change', () => filters.requestSubmit());
    const rows = items.map((e) => h('tr', {},
      h('td', {}, h('a', { href: '#/experiments/' + encodeURIComponent(e.key) }, e.key)),
      h('td', {}, e.name), h('td', {}, badge(e.status)),
      h('td', {}, e.variants.map((v) => v.key).join(', ')),
      h('td', {}, when(e.updated_at))));
    const pager = h('div', { class: 'pager' });
    if (!search) {
      const base = new URLSearchParams(status ? { status } : {});
      if (cursor) {
        const prev = new URLSearchParams(base);
        const stack = back ? back.split('~') : [];
        const prevCursor = stack.pop();
        if (prevCursor) prev.set('cursor', prevCursor);
        if (stack.length) prev.set('back', stack.join('~'));
        pager.append(h('a', { href: '#/experiments' + (prev.toString() ? '?' + prev : '') }, '← Newer'));
      }
      if (page.next_cursor) {
        const next = new URLSearchParams(base);
        next.set('cursor', page.next_cursor);
        if (cursor) next.set('back', (back ? back + '~' : '') + cursor);
        pager.append(h('a', { href: '#/experiments?' + next }, 'Older →'));
      }
    }
    show(h('h1', {}, 'Experiments'),
      h('div', { class: 'actions' }, h('a', { href: '#/experiments/new', class: 'button', id: 'new-experiment' }, 'New experiment')),
      filters,
      items.length ? table(['Key', 'Name', 'Status', 'Variants', 'Updated'], rows, { id: 'experiments' })
        : h('p', { class: 'muted' }, search ? 'No experiment matches.' : 'No experiments yet.'),
      pager);
  }

  // ---- experiments: create ----
  function listInput(id, field, label, hint) {
    return h('div', { class: 'field' }, h('label', { for: id }, label),
      h('input', { id, name: id, type: 'text', 'data-field': field, placeholder: hint || 'comma-separated' }));
  }
  function split(v) { return v.split(',').map((s) => s.trim()).filter(Boolean); }

  function experimentCreate() {
    const tbody = h('tbody', {});
    function addVariant(key, weight) {
      const i = tbody.children.length;
      tbody.append(h('tr', {},
        h('td', {}, h('input', { type: 'text', 'aria-label': 'Variant ' + (i + 1) + ' key', name: 'vkey', value: key || '', 'data-field': 'variants[' + i + '].key' })),
        h('td', {}, h('input', { type: 'number', 'aria-label': 'Variant ' + (i + 1) + ' weight', name: 'vweight', value: weight === undefined ? 1 : weight, min: '0', step: 'any', 'data-field': 'variants[' + i + '].weight' })),
        h('td', {}, h('input', { type: 'text', 'aria-label': 'Variant ' + (i + 1) + ' payload (JSON)', name: 'vpayload', placeholder: '{"color":"green"}', 'data-field': 'variants[' + i + '].payload' }))));
    }
    addVariant('control', 50);
    addVariant('treatment', 50);
    const summary = h('div', { id: 'form-errors' });
    const form = h('form', { id: 'create-form', novalidate: true, onsubmit: async (ev) => {
      ev.preventDefault();
      const f = new FormData(form);
      const vs = [...tbody.children].map((tr) => {
        const [k, w, p] = tr.querySelectorAll('input');
        const v = { key: k.value.trim(), weight: w.value === '' ? undefined : Number(w.value) };
        if (p.value.trim()) { try { v.payload = JSON.parse(p.value); } catch (_) { v.payload = p.value; } }
        return v;
      });
      const body = { key: String(f.get('key')).trim(), name: String(f.get('name')).trim(), description: String(f.get('description')),
        variants: vs, events: split(String(f.get('events'))), unit: String(f.get('unit')) };
      const cov = String(f.get('coverage')).trim();
      if (cov) body.coverage = Number(cov);
      if (String(f.get('primary')).trim()) body.primary_metric = String(f.get('primary')).trim();
      const sec = split(String(f.get('secondary'))); if (sec.length) body.secondary_metrics = sec;
      const gr = split(String(f.get('guardrails'))); if (gr.length) body.guardrail_metrics = gr;
      try {
        const e = await api('POST', '/v1/admin/experiments', body);
        say('Created ' + e.key + ' (draft). Start it when it is ready.');
        go('#/experiments/' + encodeURIComponent(e.key));
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        showFieldErrors(form, err, summary);
      }
    } },
    summary,
    h('div', { class: 'field' }, h('label', { for: 'key' }, 'Key'), h('input', { id: 'key', name: 'key', type: 'text', 'data-field': 'key', placeholder: 'checkout_button_v3', autocomplete: 'off' })),
    h('div', { class: 'field' }, h('label', { for: 'name' }, 'Name'), h('input', { id: 'name', name: 'name', type: 'text', 'data-field': 'name' })),
    h('div', { class: 'field' }, h('label', { for: 'description' }, 'Description'), h('textarea', { id: 'description', name: 'description', 'data-field': 'description' })),
    h('h2', {}, 'Variants'), h('p', { class: 'muted' }, 'The first variant is the control. Weights are relative (1 and 1 split 50/50).'),
    h('div', { class: 'table-wrap' }, h('table', { id: 'variants-table' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'Weight'), h('th', { scope: 'col' }, 'Payload (JSON)'))), tbody)),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: () => addVariant('', 1) }, 'Add variant')),
    listInput('events', 'events', 'Conversion events', 'purchase, signup'),
    listInput('primary', 'primary_metric', 'Primary metric', 'a metric key'),
    listInput('secondary', 'secondary_metrics', 'Secondary metrics'),
    listInput('guardrails', 'guardrail_metrics', 'Guardrail metrics'),
    h('div', { class: 'row' },
      h('div', { class: 'field' }, h('label', { for: 'unit' }, 'Unit'), h('select', { id: 'unit', name: 'unit', 'data-field': 'unit' }, h('option', { value: 'user_id' }, 'user_id'), h('option', { value: 'device_id' }, 'device_id'))),
      h('div', { class: 'field' }, h('label', { for: 'coverage' }, 'Coverage (0–1]'), h('input', { id: 'coverage', name: 'coverage', type: 'number', step: 'any', min: '0', max: '1', value: '1', 'data-field': 'coverage' }))),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'create-submit' }, 'Create draft'), h('a', { href: '#/experiments' }, 'Cancel')));
    show(h('h1', {}, 'New experiment'), form);
    form.querySelector('#key').focus();
  }

  // ---- experiments: detail ----
  const TRANSITIONS = {
    draft: [['start', 'Start', 'Start: the experiment enrols units from now on, split by the weights.']],
    active: [['pause', 'Pause', 'Pause: no new users are enrolled; assigned users keep their variant.'],
      ['end', 'End', 'End: the experiment stops for good; results stay readable and its layer slice is freed.']],
    paused: [['resume', 'Resume', 'Resume: new users are enrolled again; assigned users keep their variant.'],
      ['end', 'End', 'End: the experiment stops for good; results stay readable and its layer slice is freed.']],
    ended: [],
  };

  async function experimentDetail(key) {
    const path = '/v1/admin/experiments/' + encodeURIComponent(key);
    const [e, hist] = await Promise.all([api('GET', path), api('GET', path + '/history?limit=50')]);
    const total = e.variants.reduce((s, v) => s + v.weight, 0) || 1;
    const actions = h('div', { class: 'actions', id: 'lifecycle' },
      h('a', { href: '#/experiments/' + encodeURIComponent(key) + '/results', id: 'open-results' }, 'Results →'),
      TRANSITIONS[e.status].map(([verb, label, text]) => h('button', { type: 'button', id: 'do-' + verb, class: verb === 'end' ? 'danger' : '', onclick: async () => {
        if (!(await confirmAction(label, text, verb === 'end'))) return;
        try { await api('POST', path + '/' + verb); say(label + ': done.'); route(); } catch (err) { say(err.message, 'error'); }
      } }, label)),
      e.status === 'draft' || e.status === 'ended' ? h('button', { type: 'button', class: 'danger secondary', id: 'do-archive', onclick: async () => {
        if (!(await confirmAction('Archive', 'Archive: the experiment is hidden for good and its key is never reused.', true))) return;
        try { await api('DELETE', path); say('Archived ' + key + '.'); go('#/experiments'); } catch (err) { say(err.message, 'error'); }
      } }, 'Archive') : null);
    const weights = e.variants.map((v) => h('input', { type: 'number', min: '0', step: 'any', value: v.weight, 'aria-label': 'Weight of ' + v.key, 'data-variant': v.key }));
    const conflict = h('div', { id: 'reweight-status', role: 'alert' });
    const reweight = h('form', { id: 'reweight-form', onsubmit: async (ev) => {
      ev.preventDefault();
      // By key: after a conflict e.variants is the new version's.
      const body = { version: e.version, variants: weights.map((inp) => {
        const v = e.variants.find((x) => x.key === inp.dataset.variant);
        return { key: inp.dataset.variant, weight: Number(inp.value), payload: v ? v.payload : null };
      }) };
      try {
        await api('PATCH', path, body);
        say('Weights saved.');
        route();
      } catch (err) {
        if (err.code !== 'VERSION_CONFLICT') { conflict.replaceChildren(errorBanner(err)); return; }
        const now = await api('GET', path);
        conflict.replaceChildren(h('div', { class: 'banner warn' },
          'Someone changed this experiment since you opened it (version ' + e.version + ' → ' + now.version + '). What changed:',
          h('ul', {}, diff(e, now).map((d) => h('li', {}, d))),
          'The weights you edited are kept below, the others show the new values; save again to apply them to the new version.'));
        // Weights left as they were take the new values; edited ones stay.
        for (const inp of weights) {
          const was = e.variants.find((x) => x.key === inp.dataset.variant);
          const fresh = now.variants.find((x) => x.key === inp.dataset.variant);
          if (was && fresh && Number(inp.value) === was.weight) inp.value = fresh.weight;
        }
        e.version = now.version;
        e.variants = now.variants;
      }
    } },
    table(['Variant', 'Weight'], e.variants.map((v, i) => h('tr', {}, h('td', {}, v.key), h('td', {}, weights[i])))),
    conflict,
    h('button', { type: 'submit', disabled: e.status === 'ended' }, 'Save weights'));
    show(
      h('h1', {}, e.name, ' ', badge(e.status)),
      h('p', { class: 'muted' }, e.description || ''),
      actions,
      h('h2', {}, 'Definition'),
      h('dl', { class: 'def', id: 'definition' },
        h('dt', {}, 'Key'), h('dd', {}, h('code', {}, e.key)),
        h('dt', {}, 'Unit'), h('dd', {}, e.unit),
        h('dt', {}, 'Coverage'), h('dd', {}, pct(e.coverage, 0)),
        h('dt', {}, 'Events'), h('dd', {}, e.events.join(', ') || '—'),
        h('dt', {}, 'Primary metric'), h('dd', {}, e.primary_metric || '—'),
        h('dt', {}, 'Secondary metrics'), h('dd', {}, e.secondary_metrics.join(', ') || '—'),
        h('dt', {}, 'Guardrails'), h('dd', {}, (e.guardrail_metrics.join(', ') || '—') + (e.stop_on_guardrail ? ' (a breach pauses it)' : '')),
        h('dt', {}, 'Layer'), h('dd', {}, e.layer ? e.layer.key + ' [' + e.layer.start + ', ' + e.layer.end + ')' : '—'),
        h('dt', {}, 'Targeting'), h('dd', {}, e.condition ? json(e.condition) : 'everyone'),
        h('dt', {}, 'Version'), h('dd', {}, String(e.version)),
        h('dt', {}, 'Created'), h('dd', {}, when(e.created_at) + ' by ' + e.created_by),
        h('dt', {}, 'Started'), h('dd', {}, when(e.started_at)),
        h('dt', {}, 'Updated'), h('dd', {}, when(e.updated_at) + ' by ' + e.updated_by)),
      h('h2', {}, 'Variants'),
      table(['Variant', 'Weight', 'Share', 'Assigned', 'Payload'], e.variants.map((v) => h('tr', {},
        h('td', {}, v.key, v.is_control ? ' (control)' : ''), h('td', { class: 'num' }, String(v.weight)),
        h('td', { class: 'num' }, pct(v.weight / total, 1)), h('td', { class: 'num' }, int(v.assigned_count)),
        h('td', {}, v.payload === null ? '—' : json(v.payload))))),
      h('h2', {}, 'Re-weight'),
      h('p', { class: 'muted' }, 'Assigned units keep their variant; the new weights apply to units enrolled from now on.'),
      reweight,
      h('h2', {}, 'Audit history'),
      table(['Version', 'Action', 'By', 'At', 'Details'], hist.history.map((a) => h('tr', {},
        h('td', { class: 'num' }, String(a.version)), h('td', {}, a.action), h('td', {}, a.by), h('td', {}, when(a.at)),
        h('td', {}, Object.keys(a.details || {}).length ? json(a.details) : '—'))), { id: 'history' }));
  }

  function diff(a, b) {
    const out = [];
    for (const k of ['status', 'name', 'description', 'coverage', 'unit', 'primary_metric', 'stop_on_guardrail']) {
      if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out.push(k + ': ' + JSON.stringify(a[k]) + ' → ' + JSON.stringify(b[k]));
    }
    for (const k of ['events', 'secondary_metrics', 'guardrail_metrics', 'condition', 'layer']) {
      if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out.push(k + ' changed');
    }
    const before = Object.fromEntries(a.variants.map((v) => [v.key, v.weight]));
    for (const v of b.variants) {
      if (before[v.key] === undefined) out.push('variant ' + v.key + ' added');
      else if (before[v.key] !== v.weight) out.push('weight of ' + v.key + ': ' + before[v.key] + ' → ' + v.weight);
    }
    if (!out.length) out.push('only its version (' + b.updated_by + ' at ' + when(b.updated_at) + ')');
    return out;
  }

  // ---- results ----
  function metricChoices(e) {
    const out = e.events.map((ev) => ({ value: 'event:' + ev, label: 'event ' + ev }));
    if (e.primary_metric) out.push({ value: 'metric:' + e.primary_metric, label: e.primary_metric + ' (primary)' });
    for (const m of e.secondary_metrics) out.push({ value: 'metric:' + m, label: m + ' (secondary)' });
    for (const m of e.guardrail_metrics) out.push({ value: 'metric:' + m, label: m + ' (guardrail)' });
    return out;
  }

  async function experimentResults(key, q) {
    const base = '/v1/admin/experiments/' + encodeURIComponent(key);
    const e = await api('GET', base);
    const choices = metricChoices(e);
    const back = h('p', {}, h('a', { href: '#/experiments/' + encodeURIComponent(key) }, '← ' + e.name));
    if (!choices.length) {
      show(h('h1', {}, 'Results: ' + e.name), back, h('p', { class: 'muted' }, 'The experiment declares no event and names no metric to read.'));
      return;
    }
    const chosen = choices.find((c) => c.value === q.get('on')) || choices[0];
    const method = ['frequentist', 'sequential', 'bayesian'].includes(q.get('method')) ? q.get('method') : 'frequentist';
    const correction = ['holm', 'bh', 'none'].includes(q.get('correction')) ? q.get('correction') : 'holm';
    const [kind, name] = [chosen.value.slice(0, chosen.value.indexOf(':')), chosen.value.slice(chosen.value.indexOf(':') + 1)];
    // CUPED adjusts metrics only (an event has no covariate).
    const cuped = kind === 'metric' && q.get('cuped') === 'true';
    const params = new URLSearchParams({ [kind]: name, method, correction });
    if (cuped) params.set('cuped', 'true');
    const onSel = h('select', { id: 'results-on', name: 'on' }, choices.map((c) => h('option', { value: c.value, selected: c === chosen }, c.label)));
    const methodSel = h('select', { id: 'results-method', name: 'method' }, ['frequentist', 'sequential', 'bayesian'].map((m) => h('option', { value: m, selected: m === method }, m)));
    const corrSel = h('select', { id: 'results-correction', name: 'correction' }, [['holm', 'Holm'], ['bh', 'Benjamini-Hochberg'], ['none', 'none']].map(([v, l]) => h('option', { value: v, selected: v === correction }, l)));
    const adjSel = h('select', { id: 'results-adjustment', name: 'adjustment', disabled: kind !== 'metric' },
      [['none', 'none'], ['cuped', 'CUPED (pre-exposure history)']].map(([v, l]) => h('option', { value: v, selected: (v === 'cuped') === cuped }, l)));
    const controls = h('form', { class: 'row', onsubmit: (ev) => ev.preventDefault() },
      h('div', {}, h('label', { for: 'results-on' }, 'Metric'), onSel),
      h('div', {}, h('label', { for: 'results-method' }, 'Method'), methodSel),
      h('div', {}, h('label', { for: 'results-correction' }, 'Correction'), corrSel),
      h('div', {}, h('label', { for: 'results-adjustment' }, 'Adjustment'), adjSel));
    for (const s of [onSel, methodSel, corrSel, adjSel]) {
      s.addEventListener('change', () => {
        const next = new URLSearchParams({ on: onSel.value, method: methodSel.value, correction: corrSel.value });
        if (adjSel.value === 'cuped') next.set('cuped', 'true');
        go('#/experiments/' + encodeURIComponent(key) + '/results?' + next);
      });
    }
    let r;
    try {
      r = await api('GET', base + '/results?' + params);
    } catch (err) {
      // A metric the counters cannot read yet (METRIC_NOT_COUNTED), say:
      // keep the switches so another can be chosen.
      if (!(err instanceof ApiError) || err.status !== 400) throw err;
      show(h('h1', {}, 'Results: ' + e.name), back, controls, errorBanner(err));
      return;
    }

    const banners = h('div', { id: 'banners' });
    if (r.srm && r.srm.warning) {
      banners.append(h('div', { class: 'banner error', role: 'alert', id: 'srm-banner' },
        '⚠ Sample ratio mismatch (p = ' + pval(r.srm.p_value) + '): the exposed units do not follow the weights. Do not trust these figures until the cause is found.'));
    }
    const breached = r.variants.filter((v) => v.guardrail_breached);
    if (breached.length) {
      banners.append(h('div', { class: 'banner error', role: 'alert', id: 'guardrail-banner' },
        '⚠ Guardrail breached by ' + breached.map((v) => v.variant).join(', ') + ' on ' + (r.metric || r.event) + (r.stopped_by_guardrail ? ': the experiment was paused.' : '.')));
    }
    if (r.warning) banners.append(h('div', { class: 'banner warn', id: 'results-warning' }, r.warning));

    const bayes = method === 'bayesian';
    const head = ['Variant', 'Exposed', 'Converted', 'Rate', 'Lift (' + Math.round((1 - r.alpha) * 100) + '% interval)'].concat(
      bayes ? ['Chance to beat control'] : ['p-value', 'Adjusted p'], r.cuped ? ['Variance removed'] : [], ['Significant']);
    const rows = r.variants.map((v) => {
      const rel = v.relative;
      return h('tr', { 'data-variant': v.variant },
        h('th', { scope: 'row' }, v.variant, v.is_control && v.variant !== 'control' ? ' (control)' : ''),
        h('td', { class: 'num', 'data-col': 'exposed' }, int(v.exposed_count)),
        h('td', { class: 'num', 'data-col': 'converted' }, int(v.converted_count)),
        h('td', { class: 'num', 'data-col': 'rate' }, pct(v.conversion_rate)),
        h('td', { class: 'num', 'data-col': 'lift' }, v.is_control ? '—' : rel ? signedPct(rel.estimate) + ' [' + signedPct(rel.ci[0]) + ', ' + signedPct(rel.ci[1]) + ']' : '—'),
        bayes ? h('td', { class: 'num', 'data-col': 'chance' }, v.is_control ? '—' : pct(v.chance_to_beat_control, 1))
          : [h('td', { class: 'num', 'data-col': 'p' }, v.is_control ? '—' : pval(v.p_value)),
            h('td', { class: 'num', 'data-col': 'adjusted' }, v.is_control ? '—' : pval(v.adjusted_p_value))],
        r.cuped ? h('td', { class: 'num', 'data-col': 'variance-removed' }, v.cuped && v.cuped.variance_reduction != null ? pct(v.cuped.variance_reduction, 0) : '—') : [],
        h('td', { 'data-col': 'significant' }, v.is_control ? '—' : v.significant ? 'yes' : 'no', v.guardrail_breached ? ' (guardrail breached)' : ''));
    });

    const liftCanvas = h('canvas', { id: 'lift-chart', role: 'img', 'aria-label': 'Relative lift of each variant against the control, with its interval' });
    const seriesCanvas = h('canvas', { id: 'series-chart', role: 'img', 'aria-label': 'Cumulative conversion rate of each variant per day' });
    const seriesNote = h('p', { class: 'muted', id: 'series-note' });
    show(h('h1', {}, 'Results: ' + e.name, ' ', badge(r.status)), back, controls, banners,
      h('p', { class: 'muted' }, 'On ' + (r.metric ? 'metric ' + r.metric + ' (event ' + r.event + ')' : 'event ' + r.event) + ', ' + r.method +
        ', α = ' + r.alpha + ', correction ' + r.correction + '.' +
        (r.cuped ? ' CUPED-adjusted by each unit\'s ' + r.cuped.lookback_days + ' days before its first exposure (θ = ' + r.cuped.theta.toPrecision(3) + ').' : '') +
        ' Counted as of ' + when(r.as_of) + '.' +
        (r.sample_size_per_variant ? ' Sample size per variant for a ' + pct(r.mde, 0) + ' effect: ' + r.sample_size_per_variant + (r.sample_size_reached ? ' (reached).' : ' (not yet reached).') : '')),
      table(head, rows, { id: 'results-table' }),
      h('div', { class: 'charts' },
        h('figure', {}, h('figcaption', {}, 'Lift against the control, with its interval (0 = no change)'), h('div', { class: 'chart-box' }, liftCanvas)),
        h('figure', {}, h('figcaption', {}, 'Cumulative conversion rate per day'), h('div', { class: 'chart-box' }, seriesCanvas), seriesNote)));
    liftChart(liftCanvas, r);
    let ts;
    try {
      ts = await api('GET', base + '/results/timeseries?' + params);
    } catch (err) {
      seriesNote.textContent = 'The daily series could not be read: ' + err.message;
      return;
    }
    if (!seriesCanvas.isConnected) return; // the user moved on meanwhile
    seriesChart(seriesCanvas, ts, r);
    seriesNote.textContent = ts.points.length + ' day(s), the last from the live counters.';
  }

  function styleFor(i) {
    const c = PALETTE[i % PALETTE.length];
    return { borderColor: c, backgroundColor: c + '99', pointStyle: SHAPES[i % SHAPES.length], borderDash: DASHES[i % DASHES.length] };
  }

  // One floating bar [low, high] per variant, the estimate marked on it,
  // and the zero line drawn heavier.
  const estimateMarks = {
    id: 'estimateMarks',
    afterDatasetsDraw(chart) {
      const ctx = chart.ctx;
      chart.data.datasets.forEach((ds, i) => {
        const meta = chart.getDatasetMeta(i);
        if (meta.hidden) return;
        meta.data.forEach((bar, j) => {
          const est = ds.estimates[j];
          if (est === null || est === undefined) return;
          // A diamond at the estimate, outlined so it reads on any bar.
          const x = chart.scales.x.getPixelForValue(est);
          const r = Math.max(6, Math.min(10, bar.height / 3));
          ctx.save();
          ctx.fillStyle = '#000';
          ctx.strokeStyle = '#fff';
          ctx.lineWidth = 2;
          ctx.beginPath();
          ctx.moveTo(x, bar.y - r);
          ctx.lineTo(x + r, bar.y);
          ctx.lineTo(x, bar.y + r);
          ctx.lineTo(x - r, bar.y);
          ctx.closePath();
          ctx.fill();
          ctx.stroke();
          ctx.restore();
        });
      });
    },
  };

  function liftChart(canvas, r) {
    const others = r.variants.filter((v) => !v.is_control);
    const labels = others.map((v) => v.variant);
    const datasets = others.map((v, i) => {
      const st = styleFor(i + 1);
      const rel = v.relative;
      return {
        label: v.variant, borderColor: st.borderColor, backgroundColor: st.backgroundColor, borderWidth: 2,
        data: labels.map((_, j) => (j === i && rel ? [rel.ci[0] * 100, rel.ci[1] * 100] : null)),
        estimates: labels.map((_, j) => (j === i && rel ? rel.estimate * 100 : null)),
      };
    });
    canvas.dataset.series = String(datasets.length);
    charts.push(new Chart(canvas, {
      type: 'bar',
      data: { labels, datasets },
      plugins: [estimateMarks],
      options: {
        indexAxis: 'y', responsive: true, maintainAspectRatio: false, animation: false,
        datasets: { bar: { grouped: false, barPercentage: 0.5 } },
        scales: {
          x: { title: { display: true, text: 'relative lift (%)' }, suggestedMin: -5, suggestedMax: 5,
            grid: { color: (c) => (c.tick && c.tick.value === 0 ? '#000' : '#e1e4e8'), lineWidth: (c) => (c.tick && c.tick.value === 0 ? 2 : 1) } },
        },
        plugins: {
          legend: { position: 'bottom' },
          tooltip: { callbacks: { label: (c) => {
            const v = others[c.datasetIndex];
            return v.relative ? v.variant + ': ' + signedPct(v.relative.estimate) + ' [' + signedPct(v.relative.ci[0]) + ', ' + signedPct(v.relative.ci[1]) + ']' : v.variant;
          } } },
        },
      },
    }));
  }

  function seriesChart(canvas, ts, r) {
    const labels = ts.points.map((p) => p.date);
    const keys = r.variants.map((v) => v.variant);
    const datasets = keys.map((k, i) => {
      const st = styleFor(i);
      return {
        label: k, borderColor: st.borderColor, backgroundColor: st.borderColor, borderDash: st.borderDash, pointStyle: st.pointStyle,
        pointRadius: 4, borderWidth: 2, tension: 0,
        data: ts.points.map((p) => {
          const v = p.variants.find((x) => x.variant === k);
          return v && v.conversion_rate !== null ? v.conversion_rate * 100 : null;
        }),
      };
    });
    canvas.dataset.series = String(datasets.length);
    charts.push(new Chart(canvas, {
      type: 'line',
      data: { labels, datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false, spanGaps: true,
        scales: { y: { title: { display: true, text: 'conversion rate (%)' }, beginAtZero: true } },
        plugins: { legend: { position: 'bottom', labels: { usePointStyle: true, boxWidth: 8, boxHeight: 8 } } },
      },
    }));
  }

  // ---- other resources ----
  async function listPage(title, path, field, head, row, extra) {
    const q = new URLSearchParams(location.hash.split('?')[1] || '');
    const params = new URLSearchParams({ limit: '50' });
    if (q.get('cursor')) params.set('cursor', q.get('cursor'));
    const page = await api('GET', path + '?' + params);
    const items = page[field] || [];
    const base = location.hash.split('?')[0];
    show(h('h1', {}, title), extra || '',
      items.length ? table(head, items.map(row), { id: field.replace('_', '-') }) : h('p', { class: 'muted' }, 'None yet.'),
      h('div', { class: 'pager' }, q.get('cursor') ? h('a', { href: base }, '← First page') : '',
        page.next_cursor ? h('a', { href: base + '?' + new URLSearchParams({ cursor: page.next_cursor }) }, 'Next page →') : ''));
  }

  function flagsList() {
    return listPage('Feature flags', '/v1/admin/flags', 'flags', ['Key', 'Type', 'Enabled', 'Default', 'Rules', 'Updated'], (f) => h('tr', {},
      h('td', {}, h('a', { href: '#/flags/' + encodeURIComponent(f.key) }, f.key)), h('td', {}, f.type), h('td', {}, f.enabled ? 'yes' : 'no'),
      h('td', {}, h('code', {}, JSON.stringify(f.default_value))), h('td', { class: 'num' }, String(f.rules.length)), h('td', {}, when(f.updated_at))));
  }

  async function flagDetail(key) {
    const f = await api('GET', '/v1/admin/flags/' + encodeURIComponent(key));
    const rules = f.rules.map((r, i) => {
      const kind = r.experiment ? 'experiment' : r.hash_attribute !== undefined ? 'rollout' : 'force';
      const what = kind === 'experiment' ? h('div', {}, 'experiment ', h('a', { href: '#/experiments/' + encodeURIComponent(r.experiment) }, r.experiment), json(r.values))
        : kind === 'rollout' ? h('div', {}, pct(r.coverage, 0) + ' of units by ' + r.hash_attribute + ' get ', h('code', {}, JSON.stringify(r.value)))
          : h('div', {}, 'serve ', h('code', {}, JSON.stringify(r.value)));
      return h('tr', {}, h('td', { class: 'num' }, String(i + 1)), h('td', {}, kind), h('td', {}, r.condition ? json(r.condition) : 'everyone'), h('td', {}, what));
    });
    show(h('h1', {}, 'Flag ', h('code', {}, f.key), ' ', badge(f.enabled ? 'live' : 'disabled')),
      h('p', {}, h('a', { href: '#/flags' }, '← Flags')),
      h('p', { class: 'muted' }, f.description || ''),
      h('dl', { class: 'def' }, h('dt', {}, 'Type'), h('dd', {}, f.type), h('dt', {}, 'Default value'), h('dd', {}, json(f.default_value)),
        h('dt', {}, 'Version'), h('dd', {}, String(f.version)), h('dt', {}, 'Updated'), h('dd', {}, when(f.updated_at) + ' by ' + f.updated_by)),
      h('h2', {}, 'Rules, in order (the first that applies decides)'),
      rules.length ? table(['#', 'Kind', 'Condition', 'Serves'], rules) : h('p', { class: 'muted' }, 'No rules: everyone gets the default value.'));
  }

  function allocationBar(l) {
    const bar = h('div', { class: 'alloc', role: 'img', 'aria-label': l.allocation.length
      ? 'Held: ' + l.allocation.map((a) => a.experiment + ' ' + pct(a.start, 0) + '–' + pct(a.end, 0)).join('; ') + '. Free: ' + (l.free.map((f) => pct(f.start, 0) + '–' + pct(f.end, 0)).join('; ') || 'none')
      : 'Entirely free' });
    l.allocation.forEach((a, i) => {
      const s = h('div', { class: 'slice s' + (i % 4), title: a.experiment + ' (' + a.status + '): ' + pct(a.start, 1) + '–' + pct(a.end, 1) }, a.experiment);
      // CSSOM, not a style attribute: the CSP allows it.
      s.style.left = (a.start * 100) + '%';
      s.style.width = ((a.end - a.start) * 100) + '%';
      bar.append(s);
    });
    return bar;
  }

  function layersList() {
    return listPage('Layers', '/v1/admin/layers', 'layers', ['Key', 'Name', 'Allocation (striped: free)', 'Free'], (l) => h('tr', {},
      h('td', {}, h('code', {}, l.key)), h('td', {}, l.name), h('td', { class: 'grow' }, allocationBar(l)),
      h('td', {}, l.free.map((f) => pct(f.start, 0) + '–' + pct(f.end, 0)).join(', ') || 'none')));
  }

  function holdoutsList() {
    return listPage('Holdouts', '/v1/admin/holdouts', 'holdouts', ['Key', 'Name', 'Percent', 'Layers', 'Events', 'Status'], (o) => h('tr', {},
      h('td', {}, h('code', {}, o.key)), h('td', {}, o.name), h('td', { class: 'num' }, o.percent + '%'),
      h('td', {}, o.layers.join(', ') || 'all'), h('td', {}, o.events.join(', ') || '—'), h('td', {}, badge(o.status))));
  }

  function metricsList() {
    return listPage('Metrics', '/v1/admin/metrics', 'metrics', ['Key', 'Name', 'Type', 'Event', 'Direction', 'Window', 'Status'], (m) => h('tr', {},
      h('td', {}, h('code', {}, m.key)), h('td', {}, m.name), h('td', {}, m.type),
      h('td', {}, m.event || (m.numerator ? JSON.stringify(m.numerator) + ' / ' + JSON.stringify(m.denominator) : '—')),
      h('td', {}, m.direction), h('td', {}, m.window_hours ? m.window_hours + ' h' : '—'), h('td', {}, badge(m.status))));
  }

  function savedGroupsList() {
    return listPage('Saved groups', '/v1/admin/saved-groups', 'saved_groups', ['Key', 'Name', 'Size', 'Version', 'Updated'], (g) => h('tr', {},
      h('td', {}, h('code', {}, g.key)), h('td', {}, g.name), h('td', { class: 'num' }, String(g.size)),
      h('td', { class: 'num' }, String(g.version)), h('td', {}, when(g.updated_at))));
  }

  function apiKeysList() {
    const name = h('input', { id: 'key-name', type: 'text', required: true, 'data-field': 'name' });
    const role = h('select', { id: 'key-role', 'data-field': 'role' }, ['client', 'server', 'admin'].map((r) => h('option', { value: r }, r)));
    const out = h('div', { id: 'new-key', role: 'status' });
    const form = h('form', { class: 'row', id: 'new-key-form', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        const k = await api('POST', '/v1/admin/api-keys', { name: name.value.trim(), role: role.value });
        await apiKeysList();
        document.getElementById('new-key').replaceChildren(h('div', { class: 'banner warn' },
          'Key "' + k.name + '" (' + k.role + ') created. Copy the secret now: it is shown only once.',
          h('div', { class: 'secret' }, k.key), k.signing_token ? h('div', {}, 'Signing token: ', h('span', { class: 'secret' }, k.signing_token)) : ''));
      } catch (err) { out.replaceChildren(errorBanner(err)); }
    } },
    h('div', { class: 'grow' }, h('label', { for: 'key-name' }, 'New key name'), name),
    h('div', {}, h('label', { for: 'key-role' }, 'Role'), role),
    h('div', {}, h('button', { type: 'submit' }, 'Create key')));
    return listPage('API keys', '/v1/admin/api-keys', 'api_keys', ['Id', 'Name', 'Role', 'Created', 'Last used', 'Status', ''], (k) => h('tr', {},
      h('td', {}, h('code', {}, k.id)), h('td', {}, k.name), h('td', {}, k.role), h('td', {}, when(k.created_at) + ' by ' + k.created_by),
      h('td', {}, when(k.last_used_at)), h('td', {}, badge(k.revoked_at ? 'revoked' : 'live')),
      h('td', {}, k.revoked_at ? '' : h('button', { type: 'button', class: 'secondary', onclick: async () => {
        if (!(await confirmAction('Revoke', 'Revoke key "' + k.name + '": every call with it is refused from now on (within the authorizer cache\'s minute).', true))) return;
        try { await api('DELETE', '/v1/admin/api-keys/' + encodeURIComponent(k.id)); say('Revoked ' + k.name + '.'); apiKeysList(); } catch (err) { say(err.message, 'error'); }
      } }, 'Revoke'))), h('div', {}, form, out));
  }

  // ---- routing ----
  const ROUTES = [
    [/^#\/experiments\/new$/, () => experimentCreate()],
    [/^#\/experiments\/([^/?]+)\/results$/, (m, q) => experimentResults(decodeURIComponent(m[1]), q)],
    [/^#\/experiments\/([^/?]+)$/, (m) => experimentDetail(decodeURIComponent(m[1]))],
    [/^#\/experiments$/, (m, q) => experimentsList(q)],
    [/^#\/flags\/([^/?]+)$/, (m) => flagDetail(decodeURIComponent(m[1]))],
    [/^#\/flags$/, () => flagsList()],
    [/^#\/layers$/, () => layersList()],
    [/^#\/holdouts$/, () => holdoutsList()],
    [/^#\/metrics$/, () => metricsList()],
    [/^#\/saved-groups$/, () => savedGroupsList()],
    [/^#\/api-keys$/, () => apiKeysList()],
  ];

  async function route() {
    if (!flashFresh) clearFlash();
    flashFresh = false;
    const [path, query] = (location.hash || '#/experiments').split('?');
    if (path === '#/signin' || !credential()) {
      if (path !== '#/signin') { history.replaceState(null, '', '#/signin'); }
      signIn();
      return;
    }
    document.getElementById('nav').hidden = false;
    for (const a of document.querySelectorAll('#nav a')) {
      if (path.startsWith(a.getAttribute('href'))) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    for (const [re, fn] of ROUTES) {
      const m = path.match(re);
      if (!m) continue;
      main.setAttribute('aria-busy', 'true');
      try { await fn(m, new URLSearchParams(query || '')); } catch (err) { if (!(err instanceof ApiError && err.status === 401)) failPage(err); }
      main.removeAttribute('aria-busy');
      // After a navigation, focus the new content (as a page load would put
      // a screen reader at its top); on the first load, leave the skip link first.
      if (navigated) main.focus({ preventScroll: true });
      return;
    }
    go('#/experiments');
  }

  document.getElementById('signout').addEventListener('click', () => {
    sessionStorage.removeItem(STORE);
    clearFlash();
    go('#/signin');
  });
  // The skip link focuses the content without touching the hash, which
  // holds the page's route.
  document.querySelector('.skip').addEventListener('click', (ev) => { ev.preventDefault(); main.focus(); });
  let navigated = false;
  window.addEventListener('hashchange', () => { navigated = true; route(); });
  route();
}());
