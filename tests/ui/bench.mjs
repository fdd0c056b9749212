#!/usr/bin/env node
// How fast a 5,000-node workflow opens in skiff's web UI, in headless Chromium:
//   node tests/ui/bench.mjs SKIFF_BINARY UI_DIST_DIR [--tasks 5000] [--runs 3]
// Runs a DAG of `true` tasks in layers of 100 (each task depends on two of the layer
// above) with the host executor, then opens its page RUNS times in fresh browser
// contexts and reads the browser's own clock: performance.mark('graph-interactive'),
// which the app sets once the graph is drawn and takes input, measured from navigation
// start. Also times a click on a node until its panel shows, and a zoom step.
// Exit 0 with the figures (1 if the page never got interactive, 77 if no Chromium).
import { mkdirSync } from 'node:fs';
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
const TASKS = opt('--tasks', 5000);
const RUNS = opt('--runs', 3);
const [skiff = path.join(here, '../../build/skiff'), uiDist = path.join(here, '../../ui/dist')] = argv;
const TARGET_MS = 2000;
const WIDTH = 100;

function bigWorkflow(n) {
  const tasks = [];
  for (let i = 0; i < n; i++) {
    const layer = Math.floor(i / WIDTH);
    const pos = i % WIDTH;
    const t = { name: `t${i}`, template: 'ok' };
    if (layer > 0) {
      const prev = (layer - 1) * WIDTH;
      t.dependencies = [...new Set([`t${prev + pos}`, `t${prev + ((pos * 7 + 3) % WIDTH)}`])];
    }
    tasks.push(t);
  }
  return {
    workflow: {
      metadata: { generateName: 'big-' },
      spec: { entrypoint: 'main', templates: [{ name: 'main', dag: { tasks } }, { name: 'ok', container: { image: 'busybox', command: ['true'] } }] },
    },
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const pw = await loadPlaywright();
  mkdirSync(process.env.SKIFF_UI_ARTIFACTS || path.join(here, 'artifacts'), { recursive: true });
  const server = await startSkiff(skiff, uiDist, { auth: 'client' });
  let code = 0;
  try {
    let t0 = Date.now();
    const made = await server.api('POST', '/api/v1/workflows/argo', bigWorkflow(TASKS));
    if (made.status !== 200) throw new Error(`create: ${made.status} ${JSON.stringify(made.body).slice(0, 300)}`);
    const name = made.body.metadata.name;
    let wf;
    for (;;) {
      wf = (await server.api('GET', `/api/v1/workflows/argo/${name}`)).body;
      if (['Succeeded', 'Failed', 'Error'].includes(wf.status?.phase)) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const nodes = Object.keys(wf.status.nodes ?? {}).length;
    console.log(`workflow ${name}: ${wf.status.phase}, ${nodes} nodes, ran in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    t0 = performance.now();
    await server.api('GET', `/api/v1/workflows/argo/${name}`);
    console.log(`GET of the workflow with its nodes: ${(performance.now() - t0).toFixed(0)} ms (from Node)`);

    const browser = await launch(pw);
    // Twice: as a browser asks (Accept-Encoding with br), and asking for gzip only, which
    // shows the UI's own time apart from the server's brotli compression.
    const variants = [['as browsers ask', null], ['Accept-Encoding: gzip', 'gzip']];
    const summary = [];
    const results = [];
    for (const [label, encoding] of variants) {
      console.log(`\n${label}:`);
      const times = [];
      for (let run = 0; run < RUNS; run++) {
        const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
        if (encoding) await ctx.setExtraHTTPHeaders({ 'Accept-Encoding': encoding });
        await ctx.addInitScript((token) => localStorage.setItem('skiff.token', token), server.token);
        const page = await ctx.newPage();
        await page.goto(`${server.base}/workflows/argo/${name}`);
        await page.waitForFunction(() => performance.getEntriesByName('graph-interactive').length > 0, null, { timeout: 60000 });
        const m = await page.evaluate(() => {
          const ms = (n) => performance.getEntriesByName(n)[0]?.duration ?? NaN;
          return {
            interactive: performance.getEntriesByName('graph-interactive')[0].startTime,
            fetch: ms('skiff:get-workflow'),
            model: ms('skiff:graph-model'),
            layout: ms('skiff:graph-layout'),
            draw: ms('skiff:graph-draw'),
            drawn: document.querySelectorAll('[data-testid=node]').length,
          };
        });
        // Input is taken at once: a click on a node until its panel shows, and a zoom step.
        const input = await page.evaluate(async () => {
          const el = document.querySelectorAll('[data-testid=node]')[40] ?? document.querySelector('[data-testid=node]');
          const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
          const t = performance.now();
          el.dispatchEvent(new MouseEvent('click', { bubbles: true }));
          await frame();
          const panelShown = !document.querySelector('[data-testid=node-panel]').hidden;
          const click = performance.now() - t;
          const svg = document.querySelector('[data-testid=graph] svg');
          const wheel = async (dy) => {
            const t0 = performance.now();
            svg.dispatchEvent(new WheelEvent('wheel', { deltaY: dy, clientX: 400, clientY: 300, bubbles: true, cancelable: true }));
            await frame();
            return performance.now() - t0;
          };
          const zoomIn = await wheel(-200);
          const zoomOut = await wheel(1200); // far out: the level-of-detail view
          return { click, panelShown, zoomIn, zoomOut };
        });
        results.push({ ...m, ...input });
        times.push(m.interactive);
        console.log(
          `  run ${run + 1}: interactive ${m.interactive.toFixed(0)} ms after navigation start ` +
            `(GET workflow ${m.fetch.toFixed(0)}, graph model ${m.model.toFixed(0)}, layout ${m.layout.toFixed(0)}, draw ${m.draw.toFixed(0)} ms; ${m.drawn} node elements in the DOM); ` +
            `click -> panel ${input.click.toFixed(0)} ms${input.panelShown ? '' : ' (panel did not show!)'}, zoom in ${input.zoomIn.toFixed(0)} ms, zoom far out ${input.zoomOut.toFixed(0)} ms`,
        );
        if (run === 0 && !encoding) await page.screenshot({ path: path.join(process.env.SKIFF_UI_ARTIFACTS || path.join(here, 'artifacts'), 'bench-5000.png') }).catch(() => {});
        await ctx.close();
      }
      summary.push([label, median(times)]);
    }
    await browser.close();
    console.log('');
    for (const [label, med] of summary) {
      console.log(`${nodes}-node workflow interactive in ${med.toFixed(0)} ms (median of ${RUNS}, ${label}); target ${TARGET_MS} ms; ratio ${(med / TARGET_MS).toFixed(2)}`);
    }
    if (results.some((r) => !r.panelShown)) code = 1;
  } catch (e) {
    console.log(`FAIL: ${e?.stack || e}`);
    console.log(server.output().slice(-2000));
    code = 1;
  } finally {
    await server.stop();
  }
  process.exit(code);
}

main();
