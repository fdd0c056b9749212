#!/usr/bin/env node
// The Applications pages of skiff's web UI in headless Chromium:
//   node tests/ui/apps.mjs SKIFF_BINARY UI_DIST_DIR
// A file:// git repository made here holds two WorkflowTemplates (skiff's own kinds: no
// cluster needed); an Application over it is created and synced through the API. Then in
// the browser: the list shows it Synced and Healthy (and filters); its page's tree shows
// the templates; a push and Refresh show OutOfSync and the diff names the changed field;
// the Sync dialog with one resource selected syncs only that one; a full sync, then
// History lists both revisions and Rollback (confirmed) to the first restores it; deep
// links (/applications/argocd/NAME, /applications/NAME) load directly; an app made with
// the New app form, with a missing path, shows its condition and is deleted (cascade). A Deployment -> ReplicaSet
// -> Pod tree and pod logs are checked against Argo CD's shapes with the two calls
// answered by the test (they need a cluster or the local destination).
// Screenshots go to $SKIFF_UI_ARTIFACTS (default tests/ui/artifacts/).
// Exit 0: passed; 1: failed (each failure printed); 77: Chromium or node_modules missing.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checker, launch, loadPlaywright, startSkiff } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const [skiff = path.join(here, '../../build/skiff'), uiDist = path.join(here, '../../ui/dist')] = process.argv.slice(2);
const artifacts = process.env.SKIFF_UI_ARTIFACTS || path.join(here, 'artifacts');
const { failures, check, reaches } = checker();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const template = (name, message) => `apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: ${name}
spec:
  entrypoint: hi
  templates:
    - name: hi
      container: {image: busybox, command: [echo, "${message}"]}
`;

function git(repo, ...args) {
  const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
  execFileSync('git', ['-C', repo, ...args], { env, stdio: 'pipe' });
}

function commit(repo, files, message) {
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
    writeFileSync(path.join(repo, file), text);
  }
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', message);
  return execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
}

const application = (name, repo, p) => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Application',
  metadata: { name, namespace: 'argocd' },
  spec: {
    project: 'default',
    source: { repoURL: `file://${repo}`, path: p, targetRevision: 'HEAD' },
    destination: { server: 'https://kubernetes.default.svc', namespace: 'argo' },
  },
});

const TMPL_A = 'argoproj.io/WorkflowTemplate/argo/tmpl-a';
const TMPL_B = 'argoproj.io/WorkflowTemplate/argo/tmpl-b';

async function main() {
  const pw = await loadPlaywright();
  mkdirSync(artifacts, { recursive: true });
  const repo = mkdtempSync(path.join(os.tmpdir(), 'skiff-ui-repo-'));
  git(repo, 'init', '-q', '-b', 'main');
  const first = commit(repo, { 'skiff/a.yaml': template('tmpl-a', 'one'), 'skiff/b.yaml': template('tmpl-b', 'one'), 'other/c.yaml': template('tmpl-c', 'one') }, 'one');
  const server = await startSkiff(skiff, uiDist, { auth: 'client', tokenNamespace: '*' });
  const browser = await launch(pw);
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.addInitScript((t) => localStorage.setItem('skiff.token', t), server.token);
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  let shot = 0;
  const snap = async (name) => page.screenshot({ path: path.join(artifacts, `apps-${String(++shot).padStart(2, '0')}-${name}.png`) });
  const appStatus = async (name) => (await server.api('GET', `/api/v1/applications/${name}?appNamespace=argocd`)).body?.status ?? {};
  const until = async (what, pred, timeout = 30000) => {
    const end = Date.now() + timeout;
    while (Date.now() < end) {
      if (await pred()) return true;
      await sleep(200);
    }
    check(what, false, `not within ${timeout / 1000} s`);
    return false;
  };
  const message = async (tmpl) => JSON.stringify((await server.api('GET', `/api/v1/workflow-templates/argo/${tmpl}`)).body?.spec ?? {}).match(/"echo","(\w+)"/)?.[1];
  try {
    const made = await server.api('POST', '/api/v1/applications', application('guestbook', repo, 'skiff'));
    check('application created through the API', made.status === 200, JSON.stringify(made.body).slice(0, 300));
    await server.api('POST', '/api/v1/applications/guestbook/sync?appNamespace=argocd', {});
    await until('synced through the API', async () => {
      const s = await appStatus('guestbook');
      return s.sync?.status === 'Synced' && s.health?.status === 'Healthy' && s.sync?.revision === first;
    });

    // The list, through the navigation.
    await page.goto(`${server.base}/workflows`);
    await page.getByRole('link', { name: 'Applications', exact: true }).click();
    const row = page.locator('[data-testid=app-row][data-name=guestbook]');
    await reaches('the list shows the app Synced and Healthy', page.locator('[data-testid=app-row][data-name=guestbook][data-sync=Synced][data-health=Healthy]'), 'visible');
    check('the row names repo and path', (await row.innerText()).includes(`file://${repo} · skiff`), await row.innerText());
    await server.api('POST', '/api/v1/applications', application('other', repo, 'other'));
    await reaches('a new app appears live, OutOfSync (never synced)', page.locator('[data-testid=app-row][data-name=other][data-sync=OutOfSync]'), 'visible');
    await page.getByTestId('sync-filter').selectOption('Synced');
    const shown = await page.locator('[data-testid=app-row]').evaluateAll((els) => els.map((e) => e.dataset.name));
    check('the sync filter keeps only Synced apps', shown.join(',') === 'guestbook', shown.join(','));
    check('the filter is in the URL', page.url().includes('sync=Synced'));
    await page.getByTestId('sync-filter').selectOption('');
    await page.getByTestId('name-filter').fill('oth');
    check('the name filter', (await page.locator('[data-testid=app-row]').count()) === 1);
    await page.getByTestId('name-filter').fill('');
    await page.getByTestId('ns-input').fill('team-a');
    await page.getByTestId('ns-input').press('Enter');
    await page.waitForURL(/\/applications\?appNamespace=team-a$/);
    await reaches('another app namespace lists its own apps (none)', page.getByTestId('empty'), 'visible');
    await page.goBack();
    await reaches('back to argocd', row, 'visible');
    await snap('list');
    await row.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/applications\/argocd\/guestbook$/);
    check('Enter on a row opens the app', true);

    // The tree.
    const node = (id) => page.locator(`[data-testid=node][data-node-id="${id}"]`);
    await reaches('the tree shows the application', page.locator('[data-testid=node][data-node-id=application][data-phase=Healthy]'), 'visible');
    await reaches('the tree shows tmpl-a', node(TMPL_A), 'visible');
    check('the tree shows both templates', (await page.locator('[data-testid=node][data-type=WorkflowTemplate]').count()) === 2);
    check('the header shows the synced revision', (await page.getByTestId('app-revision').innerText()) === first.slice(0, 7));
    await snap('tree');

    // A push and Refresh: OutOfSync, and the diff names the field.
    const second = commit(repo, { 'skiff/a.yaml': template('tmpl-a', 'two'), 'skiff/b.yaml': template('tmpl-b', 'two') }, 'two');
    await page.getByTestId('action-refresh').click();
    await reaches('Refresh shows OutOfSync', page.locator('[data-testid=app-sync][data-sync=OutOfSync]'), 'visible', 20000);
    await reaches('the changed resources carry an OutOfSync badge', page.locator(`[data-testid=node][data-node-id="${TMPL_B}"][data-badge=OutOfSync]`), 'visible');
    await node(TMPL_A).click();
    const panel = page.getByTestId('resource-panel');
    await reaches('clicking a resource opens its panel', panel.getByTestId('diff-fields'), 'visible');
    const fields = await panel.getByTestId('diff-fields').innerText();
    check('the diff names the changed field', fields.includes('spec.templates[0].container.command[1]'), fields);
    check('the unified diff shows the new value', /\+.*two/.test(await panel.getByTestId('diff-text').innerText()));
    await panel.getByTestId('panel-live').click();
    check('the live manifest', (await panel.getByTestId('manifest-live').innerText()).includes('one'));
    await panel.getByTestId('panel-desired').click();
    check('the desired manifest', (await panel.getByTestId('manifest-desired').innerText()).includes('two'));
    await snap('diff');
    await page.getByTestId('tab-diff').click();
    await reaches('the Diff tab lists both templates', page.locator('[data-testid=diff-item]').nth(1), 'visible');

    // The keyboard: into the tree, move, open a panel, close it.
    await page.getByTestId('tab-tree').click();
    await page.getByTestId('graph').focus();
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await reaches('arrow keys and Enter open a resource', panel.getByTestId('resource-health'), 'visible');
    await page.keyboard.press('Escape');
    await reaches('Escape closes the panel', panel, 'hidden');

    // A dry run with "apply out of sync only": what the dialog sends, and nothing changes.
    const syncBody = () => page.waitForRequest((r) => r.url().includes('/guestbook/sync') && r.method() === 'POST').then((r) => r.postDataJSON());
    await page.getByTestId('action-sync').click();
    const dialog = page.getByTestId('sync-dialog');
    await dialog.waitFor();
    check('the dialog lists the resources', (await dialog.getByTestId('sync-resource').count()) === 2);
    await dialog.getByTestId('sync-dry-run').check();
    await dialog.getByTestId('sync-apply-out-of-sync-only').check();
    let sent = syncBody();
    await dialog.getByTestId('sync-submit').click();
    const dry = await sent;
    check('a dry run sends dryRun and the sync option, no resources', dry.dryRun === true && dry.syncOptions?.items?.[0] === 'ApplyOutOfSyncOnly=true' && !dry.resources, JSON.stringify(dry));
    await until('the dry run finished', async () => (await appStatus('guestbook')).operationState?.operation?.sync?.dryRun === true && (await appStatus('guestbook')).operationState?.phase === 'Succeeded');
    check('a dry run changes nothing', (await message('tmpl-a')) === 'one');

    // Sync only tmpl-a.
    await page.getByTestId('action-sync').click();
    await dialog.waitFor();
    check('the options start unticked', !(await dialog.getByTestId('sync-dry-run').isChecked()));
    await dialog.getByTestId('sync-select-none').click();
    await dialog.locator(`[data-testid=sync-resource][data-id="${TMPL_A}"]`).check();
    await snap('sync-dialog');
    sent = syncBody();
    await dialog.getByTestId('sync-submit').click();
    const only = await sent;
    check('the dialog sends the one resource', JSON.stringify(only.resources) === JSON.stringify([{ group: 'argoproj.io', kind: 'WorkflowTemplate', namespace: 'argo', name: 'tmpl-a' }]), JSON.stringify(only));
    await until('the selective sync finished', async () => (await message('tmpl-a')) === 'two');
    check('the selected resource is synced', (await message('tmpl-a')) === 'two');
    check('the other one is not', (await message('tmpl-b')) === 'one', await message('tmpl-b'));
    await reaches('tmpl-a loses its badge', page.locator(`[data-testid=node][data-node-id="${TMPL_A}"]:not([data-badge])`), 'visible');
    check('tmpl-b keeps its badge', (await node(TMPL_B).getAttribute('data-badge')) === 'OutOfSync');

    // Sync everything, then roll back to the first revision.
    await page.getByTestId('action-sync').click();
    await dialog.getByTestId('sync-submit').click();
    await reaches('a full sync makes it Synced', page.locator('[data-testid=app-sync][data-sync=Synced]'), 'visible', 20000);
    check('tmpl-b synced', (await message('tmpl-b')) === 'two');
    await page.getByTestId('tab-history').click();
    const firstRow = page.locator(`[data-testid=history-row][data-revision="${first}"]`);
    await reaches('History lists the first revision', firstRow, 'visible');
    const revisions = await page.locator('[data-testid=history-row]').evaluateAll((els) => els.map((e) => e.dataset.revision));
    // Two entries, as in Argo CD: a sync of selected resources is not recorded in history.
    check('History lists two entries, newest first', revisions.join(',') === `${second},${first}`, revisions.join(','));
    await snap('history');
    await firstRow.getByTestId('action-rollback').click();
    await page.getByTestId('confirm-cancel').click();
    await sleep(300);
    check('a cancelled rollback changes nothing', (await message('tmpl-a')) === 'two');
    await firstRow.getByTestId('action-rollback').click();
    await page.getByTestId('confirm-ok').click();
    await until('the rollback restores the first revision', async () => (await message('tmpl-a')) === 'one' && (await message('tmpl-b')) === 'one');
    check('Rollback restores the first revision', (await message('tmpl-a')) === 'one' && (await message('tmpl-b')) === 'one');
    await reaches('after the rollback History shows the first revision on top', page.locator(`[data-testid=history-row]`).first().locator(`xpath=self::*[@data-revision="${first}"]`), 'visible');
    await page.getByTestId('tab-events').click();
    await reaches('the Events tab answers (events or none)', page.locator('[data-testid=event-row], [data-testid=events-none]').first(), 'visible');

    // Deep links, as Argo CD's.
    const fresh = await context.newPage();
    fresh.on('pageerror', (e) => pageErrors.push(String(e)));
    await fresh.goto(`${server.base}/applications/argocd/guestbook?tab=history`);
    await reaches('/applications/argocd/NAME?tab=history loads directly', fresh.getByTestId('history-row').first(), 'visible');
    await fresh.goto(`${server.base}/applications/guestbook?node=${encodeURIComponent(TMPL_B + '/0')}`);
    await reaches('/applications/NAME?node=... (Argo CD\'s link) loads the app in argocd, the resource selected', fresh.getByTestId('resource-panel').getByTestId('resource-health'), 'visible');

    // The tree a cluster gives (Deployment -> ReplicaSet -> Pod, parentRefs) and pod logs,
    // in the shapes of Argo CD's API, answered here.
    await fresh.route('**/resource-tree?*', (route) =>
      route.fulfill({
        json: {
          nodes: [
            { group: 'apps', version: 'v1', kind: 'Deployment', namespace: 'argo', name: 'web', uid: 'd1', health: { status: 'Progressing' } },
            { group: 'apps', version: 'v1', kind: 'ReplicaSet', namespace: 'argo', name: 'web-5d9', uid: 'r1', health: { status: 'Healthy' }, parentRefs: [{ group: 'apps', kind: 'Deployment', namespace: 'argo', name: 'web', uid: 'd1' }] },
            { version: 'v1', kind: 'Pod', namespace: 'argo', name: 'web-5d9-x1', uid: 'p1', health: { status: 'Degraded', message: 'back-off restarting' }, parentRefs: [{ group: 'apps', kind: 'ReplicaSet', namespace: 'argo', name: 'web-5d9', uid: 'r1' }] },
          ],
        },
      }),
    );
    let logQuery = '';
    await fresh.route('**/api/v1/applications/guestbook/logs?*', (route) => {
      logQuery = new URL(route.request().url()).search;
      const line = (content) => JSON.stringify({ result: { content, timeStamp: '2026-01-01T00:00:00Z', podName: 'web-5d9-x1' } });
      route.fulfill({ contentType: 'application/json', body: `${line('listening on :8080')}\n${line('second line')}\n` });
    });
    await fresh.goto(`${server.base}/applications/argocd/guestbook`);
    const pod = fresh.locator('[data-testid=node][data-type=Pod][data-phase=Degraded]');
    await reaches('a Pod node, coloured Degraded', pod, 'visible');
    const parentsOk = await fresh.evaluate(() => {
      const at = (t) => document.querySelector(`[data-testid=node][data-type=${t}]`)?.getAttribute('transform')?.match(/,([\d.]+)/)?.[1];
      return Number(at('Deployment')) < Number(at('ReplicaSet')) && Number(at('ReplicaSet')) < Number(at('Pod'));
    });
    check('Deployment above ReplicaSet above Pod (parentRefs)', parentsOk);
    check('a Progressing node', (await fresh.locator('[data-testid=node][data-type=Deployment][data-phase=Progressing]').count()) === 1);
    await pod.click();
    await reaches('a Pod shows its logs', fresh.getByTestId('pod-logs').getByText('listening on :8080'), 'visible');
    check('the logs call has Argo CD parameters', /podName=web-5d9-x1/.test(logQuery) && /namespace=argo/.test(logQuery) && /follow=true/.test(logQuery), logQuery);
    await fresh.getByTestId('log-container').fill('app');
    await fresh.getByTestId('log-container').press('Enter');
    await fresh.waitForFunction(() => document.querySelectorAll('[data-testid=log-line]').length === 2);
    check('a container can be named', /container=app/.test(logQuery), logQuery);
    await fresh.screenshot({ path: path.join(artifacts, `apps-${String(++shot).padStart(2, '0')}-pod-tree.png`) });
    await fresh.close();

    // New app (the form), with a missing path: the condition, then delete (cascade, confirmed).
    await page.goto(`${server.base}/applications`);
    await page.getByTestId('new-app').click();
    const form = page.getByTestId('new-app-form');
    await form.getByTestId('new-name').fill('guestbook');
    await form.getByTestId('new-repoURL').fill(`file://${repo}`);
    await form.getByTestId('new-path').fill('nowhere');
    await form.getByTestId('new-namespace').fill('argo');
    await form.getByTestId('new-submit').click();
    await reaches('the form shows the server error (another spec under that name)', form.getByTestId('new-error').getByText('existing application spec is different'), 'visible');
    await form.getByTestId('new-name').fill('broken');
    await form.getByTestId('new-submit').click();
    await page.waitForURL(/\/applications\/argocd\/broken$/).then(
      () => check('New app creates the app and opens it', true),
      () => check('New app creates the app and opens it', false),
    );
    const condition = page.locator('[data-testid=app-condition][data-type=ComparisonError]');
    await reaches('a missing path shows a ComparisonError', condition, 'visible', 20000);
    check('the condition names the path', (await condition.innerText()).includes('nowhere'), await condition.innerText());
    await snap('condition');
    await page.getByTestId('action-delete').click();
    await page.getByTestId('confirm-ok').click();
    await page.waitForURL(/\/applications$/, { timeout: 20000 }).then(
      () => check('delete (cascade) goes back to the list', true),
      () => check('delete (cascade) goes back to the list', false),
    );
    check('the app is gone', (await server.api('GET', '/api/v1/applications/broken?appNamespace=argocd')).status === 404);
    await page.goto(`${server.base}/applications/argocd/no-such-app`);
    await reaches('a missing app shows the API error', page.getByTestId('error'), 'visible');
    check('no uncaught errors in the page', pageErrors.length === 0, pageErrors.join('; '));
  } catch (e) {
    failures.push(String(e?.stack || e));
    console.log(`FAIL: ${e?.message || e}`);
    await snap('failure').catch(() => {});
  } finally {
    await browser.close();
    const out = server.output();
    await server.stop();
    rmSync(repo, { recursive: true, force: true });
    if (failures.length) console.log(`server output (last 2000 characters):\n${out.slice(-2000)}`);
  }
  console.log(failures.length ? `ui-apps: ${failures.length} checks failed (screenshots in ${artifacts})` : `ui-apps: all checks passed (screenshots in ${artifacts})`);
  process.exit(failures.length ? 1 : 0);
}

main().catch((e) => {
  console.log(`FAIL: ${e?.stack || e}`);
  process.exit(1);
});
