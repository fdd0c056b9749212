// Shared by e2e.mjs and bench.mjs: a skiff server on a free port serving the UI, its REST
// API, and headless Chromium through playwright-core.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const CHROMIUM = process.env.SKIFF_CHROMIUM || '/usr/bin/chromium';

export function skip(why) {
  console.log(`SKIP: ${why}`);
  process.exit(77);
}

// playwright-core from this folder's node_modules, or exit 77 (skipped).
export async function loadPlaywright() {
  if (!existsSync(CHROMIUM)) skip(`no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  try {
    return await import('playwright-core');
  } catch {
    skip('playwright-core is not installed: run `npm ci` in tests/ui');
  }
}

export async function launch(pw) {
  return pw.chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Serves `dir` (index.html for every path that is not a file) and sends /api and /metrics
// on to `target`. Only used when this skiff has no `--ui` flag yet.
function staticProxy(dir, target, port) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json' };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname.startsWith('/api/') || url.pathname === '/metrics') {
      const up = http.request({ host: '127.0.0.1', port: target, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
      res.on('close', () => up.destroy());
      return;
    }
    let file = path.join(dir, path.normalize(url.pathname).replace(/^(\.\.[/\\])+/, ''));
    if (!existsSync(file) || !statSync(file).isFile()) file = path.join(dir, 'index.html');
    res.writeHead(200, { 'Content-Type': types[path.extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

// Starts `skiff server` with the UI. auth "client" creates a token first (never printed),
// for `tokenNamespace` ('*': every namespace).
export async function startSkiff(skiff, uiDir, { auth = 'client', extra = [], tokenNamespace = 'argo' } = {}) {
  if (!existsSync(skiff)) throw new Error(`no skiff binary at ${skiff}`);
  if (!existsSync(path.join(uiDir, 'index.html'))) throw new Error(`no ${uiDir}/index.html: run \`npm ci && npm run build\` in ui/`);
  const data = mkdtempSync(path.join(os.tmpdir(), 'skiff-ui-'));
  let token = '';
  if (auth === 'client') token = execFileSync(skiff, ['token', 'create', '-n', tokenNamespace, '--data', data], { encoding: 'utf8' }).trim();
  const help = execFileSync(skiff, ['server', '--help'], { encoding: 'utf8' });
  const hasUi = /--ui\b/.test(help);
  const port = await freePort();
  const apiPort = hasUi ? port : await freePort();
  const args = ['server', '--data', data, '--port', String(apiPort), '--executor', 'host', '--auth-mode', auth, ...extra];
  if (hasUi) args.push('--ui', uiDir);
  else console.log('note: this skiff has no --ui flag yet; serving the UI from a local proxy instead');
  const proc = spawn(skiff, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.on('data', (d) => (output += d));
  proc.stderr.on('data', (d) => (output += d));
  let proxy = null;
  if (!hasUi) proxy = await staticProxy(uiDir, apiPort, port);
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`${base}/api/v1/version`);
      if (r.ok) break;
    } catch {
      /* not yet */
    }
    if (proc.exitCode !== null || i > 200) throw new Error(`skiff server did not start:\n${output.slice(-2000)}`);
    await sleep(50);
  }
  const api = async (method, p, body) => {
    const headers = { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    const r = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = { raw: text };
    }
    return { status: r.status, body: json };
  };
  return {
    base,
    token,
    data,
    api,
    hasUi,
    output: () => output,
    async stop() {
      proxy?.close();
      proxy?.closeAllConnections?.();
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await Promise.race([new Promise((r) => proc.once('exit', r)), sleep(10000)]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      rmSync(data, { recursive: true, force: true });
    },
  };
}

// Named checks that print as they go and are counted at the end; `reaches` waits up to
// `timeout` for a locator to get to a state (the page updates after what causes it).
export function checker() {
  const failures = [];
  const check = (what, ok, detail = '') => {
    if (!ok) {
      failures.push(`${what}${detail ? ': ' + detail : ''}`);
      console.log(`FAIL: ${what}${detail ? ': ' + detail : ''}`);
    } else console.log(`ok: ${what}`);
  };
  const reaches = (what, locator, state, timeout = 10000) =>
    locator.waitFor({ state, timeout }).then(
      () => check(what, true),
      () => check(what, false, `not ${state} after ${timeout / 1000} s`),
    );
  return { failures, check, reaches };
}
