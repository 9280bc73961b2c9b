// The console's browser test, run by console/browser_test.go (go test) against
// the whole stack it starts in-process. It drives Debian's Chromium through
// playwright-core (never a downloaded browser) and fails on any console
// error, page error, failed request or unexpected error status in the page.
//
// Environment: CONSOLE_URL (the gateway's base URL), ADMIN_KEY, ADMIN_TOKEN (an admin JWT), SCREENSHOT
// (where the results page's picture goes), CHROMIUM (the browser binary).
// Halfway it prints "TRAFFIC <experiment>" and waits for a line on stdin:
// the Go test sends client traffic and counts the table's stream meanwhile.
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';

const base = process.env.CONSOLE_URL;
const adminKey = process.env.ADMIN_KEY;
const adminToken = process.env.ADMIN_TOKEN;
const screenshot = process.env.SCREENSHOT;
const KEY = 'console_e2e';
const SRM = 'console_srm';
const GUARD = 'console_guard';

const problems = [];
// Error answers the script provokes on purpose: each entry allows one
// response with one of its statuses, and the console line Chromium logs
// for it.
const expected = [];
function expectStatus(...statuses) { expected.push(statuses); }

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
}
function step(name) { process.stderr.write('step: ' + name + '\n'); }

async function apiResults(params) {
  const resp = await fetch(`${base}/v1/admin/experiments/${KEY}/results?${params}`, { headers: { 'X-Api-Key': adminKey } });
  check(resp.ok, 'results API answered ' + resp.status);
  return resp.json();
}

const stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
let failed = false;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const allowedConsole = new Map();
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const m = /the server responded with a status of (\d+)/.exec(msg.text());
    if (m && (allowedConsole.get(Number(m[1])) || 0) > 0) {
      allowedConsole.set(Number(m[1]), allowedConsole.get(Number(m[1])) - 1);
      return;
    }
    problems.push('console error: ' + msg.text());
  });
  page.on('pageerror', (err) => problems.push('page error: ' + err.message));
  page.on('requestfailed', (req) => problems.push('request failed: ' + req.method() + ' ' + req.url() + ' ' + (req.failure() || {}).errorText));
  page.on('response', (resp) => {
    const s = resp.status();
    if (s < 400) return;
    const i = expected.findIndex((e) => e.includes(s));
    if (i >= 0) {
      expected.splice(i, 1);
      allowedConsole.set(s, (allowedConsole.get(s) || 0) + 1);
      return;
    }
    problems.push('error answer: ' + resp.request().method() + ' ' + resp.url() + ' ' + s);
  });

  step('open the console');
  const first = await page.goto(base + '/console/');
  check(first.status() === 200, 'GET /console/ answered ' + first.status());
  const csp = first.headers()['content-security-policy'] || '';
  check(csp.includes("script-src 'self'") && !csp.includes('unsafe-inline'), 'strict CSP: ' + csp);
  await page.waitForSelector('#signin-form');

  step('a wrong key is refused');
  expectStatus(401, 403); // a malformed or unknown key
  await page.fill('#secret', 'not-a-key');
  await page.click('#signin-form button[type=submit]');
  await page.waitForSelector('#signin-form .banner.error');

  step('sign in with the admin key');
  await page.selectOption('#kind', 'apikey');
  await page.fill('#secret', adminKey);
  await page.click('#signin-form button[type=submit]');
  await page.waitForSelector('h1:text("Experiments")');
  check(!(await page.url()).includes(adminKey), 'the key is not in the URL');

  step('create: a validation error, shown at its field');
  await page.click('#new-experiment');
  await page.waitForSelector('#create-form');
  await page.fill('#key', 'Not A Key!');
  await page.fill('#name', 'Console e2e');
  await page.fill('#events', 'purchase');
  expectStatus(400);
  await page.click('#create-submit');
  await page.waitForSelector('#key[aria-invalid="true"] + .field-error');
  check(expected.length === 0, 'the refused sign-in and create were answered with their error statuses');
  const keyProblem = await page.textContent('#key + .field-error');
  check(keyProblem.length > 0, 'the key field shows its problem');

  step('create: a valid experiment');
  await page.fill('#key', KEY);
  await page.click('#create-submit');
  await page.waitForSelector('h1:has-text("Console e2e") .badge.draft');

  step('start it (confirmed)');
  await page.click('#do-start');
  await page.waitForSelector('#confirm[open]');
  check((await page.textContent('#confirm-text')).includes('enrols units'), 'the start confirmation says what it does');
  await page.click('#confirm-ok');
  await page.waitForSelector('h1 .badge.active');

  step('client traffic');
  process.stdout.write('TRAFFIC ' + KEY + '\n');
  const go = await stdinLines.next();
  check(!go.done && go.value.trim() === 'GO', 'the test sent its traffic');

  step('results: the table equals the API');
  await page.click('#open-results');
  await page.waitForSelector('#results-table tbody tr');
  await page.waitForFunction(() => document.getElementById('series-note').textContent.length > 0);
  await page.screenshot({ path: screenshot, fullPage: true });
  const api = await apiResults('event=purchase&method=frequentist&correction=holm');
  check(api.variants.length === 2, 'two variants in the results');
  let exposedTotal = 0;
  for (const v of api.variants) {
    const row = `#results-table tr[data-variant="${v.variant}"]`;
    const cell = async (col) => (await page.textContent(`${row} td[data-col="${col}"]`)).trim();
    check(await cell('exposed') === String(v.exposed_count), v.variant + ' exposed ' + await cell('exposed') + ' vs ' + v.exposed_count);
    check(await cell('converted') === String(v.converted_count), v.variant + ' converted');
    check(await cell('rate') === (v.conversion_rate * 100).toFixed(2) + '%', v.variant + ' rate ' + await cell('rate') + ' vs ' + v.conversion_rate);
    if (!v.is_control) {
      const lift = await cell('lift');
      const sign = (x) => (x > 0 ? '+' : '') + (x * 100).toFixed(2) + '%';
      check(lift === `${sign(v.relative.estimate)} [${sign(v.relative.ci[0])}, ${sign(v.relative.ci[1])}]`, 'lift ' + lift);
      const p = await cell('p');
      check(p === (v.p_value < 0.0001 ? '<0.0001' : v.p_value.toFixed(4)), 'p-value ' + p + ' vs ' + v.p_value);
      check(await cell('significant') === (v.significant ? 'yes' : 'no'), 'significance');
    }
    exposedTotal += v.exposed_count;
  }
  check(exposedTotal > 0, 'the traffic was counted');

  step('results: the charts drew one series per variant');
  const series = await page.evaluate(() => ['lift-chart', 'series-chart'].map((id) => {
    const c = window.Chart.getChart(id);
    return c ? { n: c.data.datasets.length, labels: c.data.datasets.map((d) => d.label), points: c.data.labels.length, w: c.width } : null;
  }));
  check(series[0] && series[0].n === 1 && series[0].labels[0] === 'treatment' && series[0].w > 0, 'lift chart ' + JSON.stringify(series[0]));
  check(series[1] && series[1].n === 2 && series[1].labels.join() === 'control,treatment' && series[1].points >= 1, 'daily chart ' + JSON.stringify(series[1]));

  step('results: the method switch');
  const oldNote = await page.$('#series-note');
  await page.selectOption('#results-method', 'bayesian');
  await page.waitForFunction((el) => !el.isConnected, oldNote);
  await page.waitForSelector('#results-table td[data-col="chance"]');
  await page.waitForFunction(() => document.getElementById('series-note').textContent.length > 0);
  check(await page.isDisabled('#results-adjustment'), 'CUPED is offered for metrics only, not for an event');

  step('phone width');
  await page.setViewportSize({ width: 390, height: 844 });
  // Charts follow their box's size through a ResizeObserver: wait for it.
  await page.waitForFunction(() => document.documentElement.scrollWidth <= window.innerWidth + 1, null, { timeout: 5000 })
    .catch(() => check(false, 'no sideways scroll of the page at 390 px'));
  await page.setViewportSize({ width: 1280, height: 900 });

  step('re-weight: a conflict shows what changed, then saves');
  await page.click('a:text("← Console e2e")');
  await page.waitForSelector('#reweight-form');
  await page.fill('#reweight-form input[data-variant="treatment"]', '70');
  const current = await (await fetch(`${base}/v1/admin/experiments/${KEY}`, { headers: { 'X-Api-Key': adminKey } })).json();
  const other = await fetch(`${base}/v1/admin/experiments/${KEY}`, { method: 'PATCH', headers: { 'X-Api-Key': adminKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ version: current.version, variants: [{ key: 'control', weight: 40 }, { key: 'treatment', weight: 60 }] }) });
  check(other.ok, 'someone else re-weighted: ' + other.status);
  expectStatus(409);
  await page.click('#reweight-form button[type=submit]');
  await page.waitForSelector('#reweight-status .banner.warn');
  const changed = await page.textContent('#reweight-status');
  check(changed.includes('weight of control: 50 → 40') && changed.includes('weight of treatment: 50 → 60'), 'the conflict shows what changed: ' + changed);
  const oldForm = await page.$('#reweight-form');
  await page.click('#reweight-form button[type=submit]');
  await page.waitForSelector('#flash .banner.ok');
  await page.waitForFunction((el) => !el.isConnected, oldForm); // the page is drawn again
  await page.waitForSelector('#reweight-form');
  const weights = await page.$$eval('#reweight-form input[data-variant]', (is) => is.map((i) => i.value));
  check(weights.join() === '40,70', 'the saved weights (the edited one kept, the other the new value): ' + weights);

  step('pause it and see the audit entry');
  await page.waitForSelector('#do-pause');
  // By keyboard: Enter on the button, then Enter on the dialog's focused
  // confirmation.
  await page.focus('#do-pause');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#confirm[open]');
  check((await page.textContent('#confirm-text')).includes('assigned users keep their variant'), 'the pause confirmation says what it does');
  check(await page.evaluate(() => document.activeElement.id) === 'confirm-ok', 'the dialog focuses its confirmation');
  await page.keyboard.press('Enter');
  await page.waitForSelector('h1 .badge.paused');
  const actions = await page.$$eval('#history tbody tr td:nth-child(2)', (tds) => tds.map((td) => td.textContent));
  check(actions.some((a) => a.includes('pause')), 'the history shows the pause: ' + actions.join(','));

  step('results: a sample-ratio mismatch is bannered');
  // Enrolled at 90/10, then re-weighted to 10/90: the exposed units no
  // longer follow the weights, the classic cause of a mismatch.
  const admin = { 'X-Api-Key': adminKey, 'Content-Type': 'application/json' };
  const created = await fetch(`${base}/v1/admin/experiments`, { method: 'POST', headers: admin, body: JSON.stringify({
    key: SRM, name: 'Console SRM', events: ['purchase'], status: 'active',
    variants: [{ key: 'control', weight: 90 }, { key: 'treatment', weight: 10 }] }) });
  check(created.status === 201, 'SRM experiment created: ' + created.status);
  process.stdout.write('TRAFFIC ' + SRM + '\n');
  const go2 = await stdinLines.next();
  check(!go2.done && go2.value.trim() === 'GO', 'the test sent its traffic');
  const srmExp = await (await fetch(`${base}/v1/admin/experiments/${SRM}`, { headers: admin })).json();
  const rew = await fetch(`${base}/v1/admin/experiments/${SRM}`, { method: 'PATCH', headers: admin,
    body: JSON.stringify({ version: srmExp.version, variants: [{ key: 'control', weight: 10 }, { key: 'treatment', weight: 90 }] }) });
  check(rew.ok, 're-weighted: ' + rew.status);
  await page.goto(`${base}/console/#/experiments/${SRM}/results`);
  await page.waitForSelector('#srm-banner[role="alert"]');
  check((await page.textContent('#srm-banner')).includes('Sample ratio mismatch'), 'the SRM banner says what it is');

  step('results: a breached guardrail is bannered');
  // The guardrail reads purchases as a metric whose good direction is down:
  // the treatment's many purchases breach it.
  await fetch(`${base}/v1/admin/metrics`, { method: 'POST', headers: admin, body: JSON.stringify({
    key: 'e2e_guard', name: 'Purchases (lower is better)', type: 'binomial', event: 'purchase', direction: 'decrease' }) })
    .then((r) => check(r.status === 201, 'metric created: ' + r.status));
  await fetch(`${base}/v1/admin/experiments`, { method: 'POST', headers: admin, body: JSON.stringify({
    key: GUARD, name: 'Console guardrail', events: ['purchase'], status: 'active', guardrail_metrics: ['e2e_guard'],
    variants: [{ key: 'control', weight: 1 }, { key: 'treatment', weight: 1 }] }) })
    .then((r) => check(r.status === 201, 'guardrail experiment created: ' + r.status));
  process.stdout.write('TRAFFIC ' + GUARD + ' 60 10 70\n');
  const go3 = await stdinLines.next();
  check(!go3.done && go3.value.trim() === 'GO', 'the test sent its traffic');
  await page.goto(`${base}/console/#/experiments/${GUARD}/results`);
  await page.waitForSelector('#guardrail-banner[role="alert"]');
  check((await page.textContent('#guardrail-banner')).includes('Guardrail breached by treatment'), 'the guardrail banner names the variant');
  check((await page.textContent('#results-table tr[data-variant="treatment"] td[data-col="significant"]')).includes('guardrail breached'), 'the row says so too');

  step('list: search and status filter');
  await page.click('#nav a[href="#/experiments"]');
  await page.waitForSelector('#experiments');
  await page.fill('#search', 'SRM');
  await page.press('#search', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('#experiments tbody tr').length === 1);
  check((await page.textContent('#experiments tbody')).includes(SRM), 'the search finds by name');
  await page.fill('#search', '');
  const before = await page.$('#experiments');
  await page.selectOption('#status-filter', 'paused');
  await page.waitForFunction((el) => !el.isConnected, before); // the list is drawn again
  await page.waitForSelector('#experiments tbody tr');
  check(await page.evaluate(() => location.hash) === '#/experiments?status=paused', 'the filter is in the address');
  const listed = await page.textContent('#experiments tbody');
  check(listed.includes(KEY) && !listed.includes(SRM), 'under paused, the paused experiment only: ' + listed);

  step('list: paging');
  for (let i = 0; i < 20; i++) {
    const r = await fetch(`${base}/v1/admin/experiments`, { method: 'POST', headers: admin, body: JSON.stringify({
      key: 'e2e_page_' + String(i).padStart(2, '0'), name: 'Page filler ' + i, variants: [{ key: 'a', weight: 1 }, { key: 'b', weight: 1 }] }) });
    check(r.status === 201, 'filler created: ' + r.status);
  }
  const firstPage = await page.$('#experiments');
  await page.selectOption('#status-filter', '');
  await page.waitForFunction((el) => !el.isConnected, firstPage);
  await page.waitForSelector('#experiments');
  check(await page.$$eval('#experiments tbody tr', (rs) => rs.length) === 20, 'a page holds 20');
  check(!(await page.textContent('#experiments tbody')).includes(KEY), 'the oldest is not on the first page');
  await page.click('a:text("Older →")');
  await page.waitForSelector(`#experiments a:text("${KEY}")`);
  await page.click('a:text("← Newer")');
  await page.waitForSelector('#experiments a:text("e2e_page_19")');

  step('the other resources');
  const post = async (path, body) => {
    const r = await fetch(base + path, { method: 'POST', headers: admin, body: JSON.stringify(body) });
    check(r.status === 201, 'POST ' + path + ': ' + r.status + ' ' + await r.text());
  };
  await post('/v1/admin/layers', { key: 'e2e_layer', name: 'E2E layer' });
  await post('/v1/admin/experiments', { key: 'e2e_in_layer', name: 'In a layer', events: ['purchase'], layer: { key: 'e2e_layer', start: 0, end: 0.3 },
    variants: [{ key: 'control', weight: 1 }, { key: 'treatment', weight: 1 }] });
  await post('/v1/admin/flags', { key: 'e2e_flag', type: 'boolean', default_value: false, rules: [
    { condition: { country: 'US' }, value: true }, { experiment: KEY, values: { control: false, treatment: true } }] });
  for (const [hash, title] of [['#/flags', 'Feature flags'], ['#/layers', 'Layers'], ['#/holdouts', 'Holdouts'], ['#/metrics', 'Metrics'], ['#/saved-groups', 'Saved groups']]) {
    await page.click(`#nav a[href="${hash}"]`);
    await page.waitForSelector(`h1:text("${title}")`);
  }
  await page.click('#nav a[href="#/layers"]');
  await page.waitForSelector('#layers .alloc .slice:text("e2e_in_layer")');
  check((await page.getAttribute('#layers .alloc', 'aria-label')).includes('Free: 30%–100%'), 'the layer bar says what is free');
  await page.click('#nav a[href="#/flags"]');
  await page.click('a:text("e2e_flag")');
  await page.waitForSelector('h1:has-text("e2e_flag")');
  const kinds = await page.$$eval('main table tbody tr td:nth-child(2)', (tds) => tds.map((td) => td.textContent));
  check(kinds.join() === 'force,experiment', 'the flag rules in order: ' + kinds);
  await page.click('#nav a[href="#/api-keys"]');
  await page.waitForSelector('h1:text("API keys")');
  await page.fill('#key-name', 'e2e client');
  await page.selectOption('#key-role', 'client');
  await page.click('#new-key-form button[type=submit]');
  await page.waitForSelector('#new-key .secret');
  check((await page.textContent('#new-key .secret')).startsWith('abk_'), 'the new key is shown once');
  await page.click('#nav a[href="#/experiments"]');
  await page.waitForSelector('#experiments');

  step('keyboard: the skip link leads to the content');
  await page.reload();
  await page.waitForSelector('#experiments');
  await page.keyboard.press('Tab');
  check(await page.evaluate(() => document.activeElement.classList.contains('skip')), 'the first Tab reaches the skip link');
  await page.keyboard.press('Enter');
  check(await page.evaluate(() => location.hash.startsWith('#/experiments') && document.activeElement.id === 'main'), 'the skip link focuses the content, the page stays');

  step('sign out');
  await page.click('#signout');
  await page.waitForSelector('#signin-form');
  check(await page.evaluate(() => sessionStorage.length === 0), 'sign-out clears the session storage');

  step('sign in with an admin token (bearer JWT) instead of a key');
  await page.selectOption('#kind', 'bearer');
  await page.fill('#secret', adminToken);
  await page.click('#signin-form button[type=submit]');
  await page.waitForSelector('h1:text("Experiments")');
  await page.waitForSelector('#experiments a:text("e2e_page_19")');
  check(!(await page.url()).includes(adminToken), 'the token is not in the URL');
  await page.click('#signout');
  await page.waitForSelector('#signin-form');
  check(await page.evaluate(() => sessionStorage.length === 0), 'sign-out clears the token too');
  await context.close();
} catch (err) {
  failed = true;
  process.stderr.write(String(err && err.stack || err) + '\n');
} finally {
  await browser.close();
}
for (const p of problems) process.stderr.write('problem: ' + p + '\n');
process.exit(failed || problems.length ? 1 : 0);
