#!/usr/bin/env node
// End-to-end test of skiff's web UI in headless Chromium:
//   node tests/ui/e2e.mjs SKIFF_BINARY UI_DIST_DIR
// Starts `skiff server --auth-mode client --ui UI_DIST_DIR` over a fresh data dir, logs in
// with a new token, submits a WorkflowTemplate from its form, watches a step fail, reads
// its message and log in the node panel, retries, and sees the workflow succeed.
// Screenshots go to $SKIFF_UI_ARTIFACTS (default tests/ui/artifacts/).
// Exit 0: passed; 1: failed (each failure printed); 77: Chromium or node_modules missing.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checker, launch, loadPlaywright, startSkiff } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const [skiff = path.join(here, '../../build/skiff'), uiDist = path.join(here, '../../ui/dist')] = process.argv.slice(2);
const artifacts = process.env.SKIFF_UI_ARTIFACTS || path.join(here, 'artifacts');
const TIMEOUT = 60000;

function template(stateDir) {
  const step = (name, script) => ({ name, inputs: { parameters: [{ name: 'greeting' }, { name: 'mode' }] }, container: { image: 'busybox', command: ['sh', '-c', script], volumeMounts: [{ name: 'state', mountPath: '/state' }] } });
  const args = { parameters: [{ name: 'greeting', value: '{{workflow.parameters.greeting}}' }, { name: 'mode', value: '{{workflow.parameters.mode}}' }] };
  return {
    template: {
      metadata: { name: 'ui-flaky' },
      spec: {
        entrypoint: 'main',
        arguments: {
          parameters: [
            { name: 'greeting', value: 'hello', description: 'printed by the first step' },
            { name: 'mode', value: 'flaky', enum: ['flaky', 'pass'], description: 'flaky: the check fails once' },
          ],
        },
        volumes: [{ name: 'state', hostPath: { path: stateDir } }],
        templates: [
          {
            name: 'main',
            dag: {
              tasks: [
                { name: 'prepare', template: 'say', arguments: args },
                { name: 'lint', template: 'say', arguments: args, dependencies: ['prepare'] },
                { name: 'check', template: 'check', arguments: args, dependencies: ['prepare'] },
                // (Nothing depends on check: skiff's retry does not yet rerun a task that was
                // Omitted because its dependency failed.)
                { name: 'report', template: 'say', arguments: args, dependencies: ['lint'] },
              ],
            },
          },
          step('say', 'echo "{{inputs.parameters.greeting}}"; echo "second line"'),
          // Fails the first time in "flaky" mode (no marker yet); a retry finds the marker.
          // It also leaves a report, an output artifact (saved even when the step fails).
          { ...step('check', 'echo "checked in {{inputs.parameters.mode}} mode" > /tmp/report.txt; if [ "{{inputs.parameters.mode}}" = pass ] || [ -e /state/marker ]; then echo "check passed"; else touch /state/marker; echo "check failing: no marker yet"; exit 3; fi'),
            outputs: { artifacts: [{ name: 'report', path: '/tmp/report.txt', archive: { none: {} } }] } },
        ],
      },
    },
  };
}

const tiny = (name) => ({ workflow: { metadata: { name }, spec: { entrypoint: 'm', templates: [{ name: 'm', container: { image: 'busybox', command: ['true'] } }] } } });

// Pagination and filters, a Suspend node resumed from its panel, stop (cancelled, then
// confirmed), the YAML tab, delete, CronWorkflow suspend/resume, and the other routes.
async function otherPages(server, page, snap) {
  for (let i = 0; i < 110; i++) await server.api('POST', '/api/v1/workflows/argo', tiny(`tiny-${String(i).padStart(3, '0')}`));
  await server.api('POST', '/api/v1/workflows/argo', {
    workflow: {
      metadata: { name: 'gated' },
      spec: {
        entrypoint: 'main',
        templates: [
          { name: 'main', steps: [[{ name: 'approve', template: 'gate' }], [{ name: 'after', template: 'sleep' }]] },
          { name: 'gate', suspend: {} },
          { name: 'sleep', container: { image: 'busybox', command: ['sleep', '30'] } },
        ],
      },
    },
  });
  await server.api('POST', '/api/v1/cron-workflows/argo', { cronWorkflow: { metadata: { name: 'nightly' }, spec: { schedule: '@daily', workflowSpec: { entrypoint: 'm', templates: [{ name: 'm', container: { image: 'busybox', command: ['true'] } }] } } } });
  const rows = page.locator('[data-testid=wf-row]');
  await page.goto(`${server.base}/workflows/argo`);
  await rows.first().waitFor();
  check('page 1 holds 50 rows', (await rows.count()) === 50, `${await rows.count()}`);
  const first1 = await rows.first().getAttribute('data-name');
  await page.getByTestId('page-next').click();
  await page.waitForFunction((n) => document.querySelector('[data-testid=wf-row]')?.getAttribute('data-name') !== n, first1);
  const first2 = await rows.first().getAttribute('data-name');
  await page.getByTestId('page-next').click();
  await page.waitForFunction((n) => document.querySelector('[data-testid=wf-row]')?.getAttribute('data-name') !== n, first2);
  check('page 3 holds the rest (113 workflows)', (await rows.count()) === 13, `${await rows.count()}`);
  check('no Next on the last page', await page.getByTestId('page-next').isDisabled());
  await page.getByTestId('page-prev').click();
  await page.waitForFunction((n) => document.querySelector('[data-testid=wf-row]')?.getAttribute('data-name') === n, first2).then(
    () => check('Previous goes back a page', true),
    () => check('Previous goes back a page', false),
  );
  await page.getByTestId('phase-filter').selectOption('Running');
  await page.waitForURL(/phase=Running/);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=wf-row]').length === 1, null, { timeout: 5000 }).catch(() => {});
  const running = await rows.evaluateAll((els) => els.map((e) => e.dataset.name));
  check('phase filter', running.length === 1 && running[0] === 'gated', running.join(','));
  await page.getByTestId('name-filter').fill('no-such-name');
  check('name filter', (await rows.count()) === 0);

  await page.goto(`${server.base}/workflows/argo/gated`);
  const gate = page.locator('[data-testid=node][data-type=Suspend][data-phase=Running]');
  await gate.waitFor();
  await gate.click();
  await page.getByTestId('resume-node').click();
  await page.locator('[data-testid=node][data-type=Pod][data-phase=Running]').waitFor({ timeout: 15000 }).then(
    () => check('resuming a Suspend node from its panel runs the next step', true),
    () => check('resuming a Suspend node from its panel runs the next step', false),
  );
  await page.getByTestId('action-stop').click();
  await page.getByTestId('confirm-cancel').click();
  await page.waitForTimeout(500);
  check('a cancelled stop leaves it running', (await page.getByTestId('wf-phase').getAttribute('data-phase')) === 'Running');
  await page.getByTestId('action-stop').click();
  await page.getByTestId('confirm-ok').click();
  await page.locator('[data-testid=wf-phase][data-phase=Failed]').waitFor({ timeout: 20000 }).then(
    () => check('stop (confirmed) ends the workflow', true),
    () => check('stop (confirmed) ends the workflow', false),
  );
  await page.getByTestId('tab-yaml').click();
  check('YAML tab', (await page.getByTestId('yaml').innerText()).includes('name: gated'));
  await page.getByTestId('action-delete').click();
  await page.getByTestId('confirm-ok').click();
  await page.waitForURL(/\/workflows\/argo$/);
  check('delete removes the workflow', (await server.api('GET', '/api/v1/workflows/argo/gated')).status === 404);

  await page.goto(`${server.base}/cron-workflows`);
  await page.locator('[data-testid=cron-row][data-name=nightly]').getByTestId('action-suspend').click();
  await page.locator('[data-testid=cron-row][data-name=nightly][data-suspended=true]').waitFor();
  check('cron suspend', (await server.api('GET', '/api/v1/cron-workflows/argo/nightly')).body.spec?.suspend === true);
  await snap('cron');
  await page.locator('[data-testid=cron-row][data-name=nightly]').getByTestId('action-resume').click();
  await page.locator('[data-testid=cron-row][data-name=nightly][data-suspended=false]').waitFor();
  check('cron resume', !(await server.api('GET', '/api/v1/cron-workflows/argo/nightly')).body.spec?.suspend);
  await page.goto(`${server.base}/cluster-workflow-templates`);
  await page.getByTestId('empty').waitFor();
  check('cluster templates list', true);
  await page.goto(`${server.base}/workflows/argo/tiny-001?tab=workflow`);
  await page.locator('[data-testid=node]').first().waitFor();
  check('?tab=workflow (Hera get_workflow_link) opens the graph', true);
}

const { failures, check, reaches } = checker();

async function main() {
  const pw = await loadPlaywright();
  mkdirSync(artifacts, { recursive: true });
  const state = mkdtempSync(path.join(os.tmpdir(), 'skiff-ui-state-'));
  // The template's hostPath volume needs the operator's consent under --auth-mode client.
  const server = await startSkiff(skiff, uiDist, { auth: 'client', extra: ['--allow-host-path'] });
  const browser = await launch(pw);
  let shot = 0;
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  const snap = async (name) => page.screenshot({ path: path.join(artifacts, `${String(++shot).padStart(2, '0')}-${name}.png`) });
  try {
    const made = await server.api('POST', '/api/v1/workflow-templates/argo', template(state));
    check('template created through the API', made.status === 200, JSON.stringify(made.body).slice(0, 300));

    // Log in.
    await page.goto(`${server.base}/workflows/argo`);
    const login = page.getByTestId('login-form');
    await login.waitFor({ timeout: 10000 });
    await snap('login');
    await login.locator('input[name=token]').fill(server.token);
    await login.getByTestId('login-submit').click();
    await page.getByTestId('wf-table').waitFor();
    await reaches('logged in: the workflows list shows', page.getByTestId('empty'), 'visible');  // loads after the table
    await server.api('POST', '/api/v1/workflows/argo', tiny('hello-live'));
    await page.locator('[data-testid=wf-row][data-name=hello-live][data-phase=Succeeded]').waitFor({ timeout: 10000 }).then(
      () => check('a new workflow appears in the list and updates live', true),
      () => check('a new workflow appears in the list and updates live', false),
    );

    // The template, through the navigation.
    await page.getByRole('link', { name: 'Templates', exact: true }).click();
    const row = page.locator('[data-testid=tmpl-row][data-name=ui-flaky]');
    await row.waitFor();
    await row.press('Enter');
    const form = page.getByTestId('submit-form');
    await form.waitFor();
    check('enum parameter is a select', (await form.locator('select[name=mode]').count()) === 1);
    check('default filled in', (await form.locator('input[name=greeting]').inputValue()) === 'hello');
    await page.locator('[data-testid=graph] [data-testid=node]').first().waitFor();
    check('template graph drawn', (await page.locator('[data-testid=graph] [data-testid=node]').count()) === 5);
    await form.locator('input[name=greeting]').fill('hello from the UI');
    await form.locator('select[name=mode]').selectOption('flaky');
    await snap('template');
    await form.getByTestId('submit-button').click();
    await page.waitForURL(/\/workflows\/argo\/ui-flaky-[a-z0-9]+$/, { timeout: 10000 });
    const name = page.url().split('/').pop();
    console.log(`submitted ${name}`);

    // Watch it fail.
    await page.locator('[data-testid=node]').first().waitFor({ timeout: 10000 });
    await page.locator('[data-testid=wf-phase][data-phase=Failed]').waitFor({ timeout: TIMEOUT });
    const failed = page.locator('[data-testid=node][data-type=Pod][data-phase=Failed]');
    await failed.first().waitFor({ timeout: 5000 });
    check('one Pod node failed', (await failed.count()) === 1, `${await failed.count()}`);
    check('prepare, lint and report succeeded', (await page.locator('[data-testid=node][data-type=Pod][data-phase=Succeeded]').count()) === 3);
    await snap('failed');

    // Its message and log in the panel.
    await failed.first().click();
    const panel = page.getByTestId('node-panel');
    await panel.waitFor();
    const message = panel.getByTestId('node-message');
    await message.waitFor({ timeout: 5000 });
    check('panel shows the failed step message', /exit code 3/.test(await message.innerText()), await message.innerText());
    await panel.locator('[data-testid=log-line]', { hasText: 'check failing: no marker yet' }).waitFor({ timeout: 10000 });
    check('panel shows the failed step log', true);
    check('panel shows the exit code', /3/.test(await panel.getByTestId('node-outputs').innerText()));
    const link = panel.getByTestId('node-output-artifacts').getByTestId('artifact-link');
    await link.waitFor({ timeout: 5000 });
    // A user's click: the link carries the token in a cookie, and the browser downloads.
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 10000 }), link.click()]);
    const report = readFileSync(await download.path(), 'utf8');
    check('panel links the output artifact to its download', report === 'checked in flaky mode\n', JSON.stringify(report));
    check('the node is selected in the URL', page.url().includes('node='));
    await snap('panel');

    // Keyboard: Escape closes the panel; arrows and Enter select from the graph.
    await page.getByTestId('graph').focus();
    await page.keyboard.press('Escape');
    await reaches('Escape closes the panel', panel, 'hidden');
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await reaches('arrow keys and Enter select a node', panel, 'visible');

    // Retry (confirmed) and see it succeed.
    await failed.first().click();
    await page.getByTestId('action-retry').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    await snap('confirm-retry');
    await dialog.getByTestId('confirm-ok').click();
    await page.locator('[data-testid=wf-phase][data-phase=Succeeded]').waitFor({ timeout: TIMEOUT });
    const pods = page.locator('[data-testid=node][data-type=Pod]');
    const states = await pods.evaluateAll((els) => els.map((e) => e.getAttribute('data-phase')));
    check('after retry every step succeeded', states.length === 4 && states.every((p) => p === 'Succeeded'), states.join(','));
    await panel.locator('[data-testid=log-line]', { hasText: 'check passed' }).waitFor({ timeout: 10000 }).then(
      () => check('panel log follows the step that ran again', true),
      () => check('panel log follows the step that ran again', false, 'no "check passed" line'),
    );
    await snap('succeeded');

    // History tab.
    await page.getByTestId('tab-events').click();
    await page.getByTestId('history-row').first().waitFor();
    check('history lists what happened', (await page.getByTestId('history-row').count()) >= 8);
    await page.getByTestId('history').getByText('WorkflowNodeFailed', { exact: false }).first().waitFor({ timeout: 10000 });
    check('history shows the server\'s events', (await page.getByTestId('history').getByText('WorkflowSucceeded', { exact: false }).count()) >= 1);
    await snap('history');

    // Back in the list, the row is live and keyboard-openable.
    await page.getByRole('link', { name: 'Workflows', exact: true }).first().click();
    const wfRow = page.locator(`[data-testid=wf-row][data-name="${name}"]`);
    await wfRow.waitFor();
    check('list row shows Succeeded', (await wfRow.getAttribute('data-phase')) === 'Succeeded');
    await wfRow.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`/workflows/argo/${name}`));
    check('Enter on a row opens the workflow', true);
    await page.getByRole('link', { name: 'Workflows', exact: true }).first().click();
    await wfRow.waitFor();
    await snap('list');

    // API errors show in the banner.
    await page.goto(`${server.base}/workflows/argo/no-such-workflow`);
    const banner = page.getByTestId('error');
    await banner.waitFor({ timeout: 5000 });
    check('a missing workflow shows the API error', /not found/i.test(await banner.innerText()), await banner.innerText());
    await snap('error');
    await otherPages(server, page, snap);
    check('no uncaught errors in the page', pageErrors.length === 0, pageErrors.join('; '));
  } catch (e) {
    failures.push(String(e?.stack || e));
    console.log(`FAIL: ${e?.message || e}`);
    await snap('failure').catch(() => {});
  } finally {
    await browser.close();
    const out = server.output();
    await server.stop();
    rmSync(state, { recursive: true, force: true });
    if (failures.length) console.log(`server output (last 2000 characters):\n${out.slice(-2000)}`);
  }
  console.log(failures.length ? `ui-e2e: ${failures.length} checks failed (screenshots in ${artifacts})` : `ui-e2e: all checks passed (screenshots in ${artifacts})`);
  process.exit(failures.length ? 1 : 0);
}

main().catch((e) => {
  console.log(`FAIL: ${e?.stack || e}`);
  process.exit(1);
});
