#!/usr/bin/env node
// How fast the Applications list shows many applications, in headless Chromium:
//   node tests/ui/bench-apps.mjs SKIFF_BINARY UI_DIST_DIR [--apps 1000] [--runs 3]
// Creates APPS Applications through the API (`skiff server --no-app-controller`: the list
// is what is measured, not reconciles), then opens /applications RUNS times in fresh
// browser contexts and prints, by the browser's clock from navigation start, when every
// row is drawn, and how long a name filter takes to redraw the table.
// Exit 0 with the figures (1 if the list never showed them all, 77 if no Chromium).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, loadPlaywright, startSkiff } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(argv[i + 1]);
  argv.splice(i, 2);
  return v;
};
const APPS = opt('--apps', 1000);
const RUNS = opt('--runs', 3);
const [skiff = path.join(here, '../../build/skiff'), uiDist = path.join(here, '../../ui/dist')] = argv;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const application = (i) => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Application',
  metadata: { name: `app-${String(i).padStart(4, '0')}`, namespace: 'argocd' },
  spec: {
    project: 'default',
    source: { repoURL: 'https://example.com/repo.git', path: `apps/${i}`, targetRevision: 'HEAD' },
    destination: { server: 'https://kubernetes.default.svc', namespace: 'argo' },
  },
});

async function main() {
  const pw = await loadPlaywright();
  const server = await startSkiff(skiff, uiDist, { auth: 'client', tokenNamespace: '*', extra: ['--no-app-controller'] });
  let code = 0;
  try {
    const t0 = Date.now();
    for (let i = 0; i < APPS; i++) {
      const r = await server.api('POST', '/api/v1/applications', application(i));
      if (r.status !== 200) throw new Error(`create app ${i}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    }
    console.log(`${APPS} applications created through the API in ${Date.now() - t0} ms`);
    const browser = await launch(pw);
    const shown = [];
    const filtered = [];
    for (let run = 0; run < RUNS; run++) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      await context.addInitScript((t) => localStorage.setItem('skiff.token', t), server.token);
      const page = await context.newPage();
      await page.goto(`${server.base}/applications`);
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid=app-row]').length === n, APPS, { timeout: 60000, polling: 'raf' });
      shown.push(await page.evaluate(() => performance.now()));
      const start = await page.evaluate(() => performance.now());
      await page.getByTestId('name-filter').fill('app-00');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=app-row]').length === 100, null, { polling: 'raf' });
      filtered.push((await page.evaluate(() => performance.now())) - start);
      await context.close();
    }
    await browser.close();
    const ms = (xs) => xs.map((x) => Math.round(x)).join(', ');
    console.log(`list of ${APPS} shown (from navigation start): ${ms(shown)} ms; median ${Math.round(median(shown))} ms`);
    console.log(`name filter to 100 rows: ${ms(filtered)} ms; median ${Math.round(median(filtered))} ms`);
  } catch (e) {
    console.log(`FAIL: ${e?.stack || e}`);
    code = 1;
  } finally {
    await server.stop();
  }
  process.exit(code);
}

main();
