// The application page (Argo CD's): header with source, revision, sync and health, the
// conditions as banners, actions (Sync, Refresh, Hard refresh, Terminate, Delete), then tabs — the
// resource tree with a resource panel, every difference from git, the sync history with
// Rollback, and the application's events. Live through the application watch stream;
// the resource tree and managed-resources are read again after each change.
import { DEFAULT_APP_NAMESPACE, destinationText, lastSync, listPath, resourceId, shortRevision, sourceOf } from '../app-model';
import { api, apiNoBody, enc, follow, notServed } from '../api';
import { clearError, showError } from '../banner';
import { confirmAction } from '../dialogs';
import { h } from '../dom';
import { ago, localTime } from '../format';
import { APP_NODE, buildAppTree, treeItem } from '../graph/app-tree';
import { layout } from '../graph/layout';
import { GraphView } from '../graph/view';
import { phaseBadge } from '../phase';
import { navigate, setQuery, type Cleanup } from '../router';
import type { Application, ManagedResource, TreeNode } from '../types';
import { askDelete, askSync } from './app-dialogs';
import { AppPanel } from './app-panel';
import { drawDiffTab, drawEventsTab, drawHistoryTab } from './app-tabs';

type Tab = 'tree' | 'diff' | 'history' | 'events';
const TABS: Array<[Tab, string]> = [
  ['tree', 'Resources'],
  ['diff', 'Diff'],
  ['history', 'History'],
  ['events', 'Events'],
];

// params: [namespace, name], or [name] (Argo CD's /applications/{name}: namespace argocd).
export function appView(main: HTMLElement, params: string[], query: URLSearchParams): Cleanup {
  const [ns, name] = params.length === 2 ? params : [DEFAULT_APP_NAMESPACE, params[0]];
  const base = `/api/v1/applications/${enc(name)}`;
  const nsq = `appNamespace=${enc(ns)}`;
  let app: Application | null = null;
  let tree: TreeNode[] = [];
  let managed: Promise<ManagedResource[]> | null = null; // read once per change of the app
  let tab: Tab = TABS.some(([t]) => t === query.get('tab')) ? (query.get('tab') as Tab) : 'tree';
  let stopped = false;
  let stopWatch = () => {};
  let treeTimer = 0;
  let treeKey = ''; // the drawn tree's edges

  // Header.
  const syncEl = h('span', { 'data-testid': 'app-sync' });
  const healthEl = h('span', { 'data-testid': 'app-health' });
  const meta = h('div', { class: 'meta' });
  const operation = h('p', { class: 'message', hidden: true, 'data-testid': 'app-operation' });
  const conditions = h('div', { class: 'conditions stack tight', 'data-testid': 'app-conditions' });
  const action = (id: string, label: string, fn: () => void, cls = '') => h('button', { 'data-testid': `action-${id}`, class: cls, disabled: true, onclick: fn }, label);
  const buttons = [
    action('sync', 'Sync', () => sync(), 'primary'),
    action('refresh', 'Refresh', () => refresh('normal')),
    action('hard-refresh', 'Hard refresh', () => refresh('hard')),
    action('terminate', 'Terminate', () => terminate(), 'danger-outline'),
    action('delete', 'Delete', () => remove(), 'danger-outline'),
  ];
  const terminateButton = buttons[3];
  terminateButton.hidden = true; // while an operation runs
  const header = h(
    'header',
    { class: 'page-head' },
    h('nav', { class: 'crumbs', 'aria-label': 'breadcrumb' }, h('a', { href: listPath(ns) }, 'Applications'), ' / ', ns),
    h('div', { class: 'title-row' }, h('h1', null, name), syncEl, healthEl),
    meta,
    operation,
    conditions,
    h('div', { class: 'row actions', role: 'toolbar', 'aria-label': 'application actions' }, buttons),
  );

  // Tabs.
  const tabButtons = TABS.map(([t, label]) => h('button', { role: 'tab', 'data-testid': `tab-${t}`, 'aria-selected': String(t === tab), onclick: () => showTab(t) }, label));
  const tabBar = h('div', { class: 'tabs', role: 'tablist' }, tabButtons);
  tabBar.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const i = TABS.findIndex(([t]) => t === tab);
    const j = (i + (e.key === 'ArrowRight' ? 1 : TABS.length - 1)) % TABS.length;
    showTab(TABS[j][0]);
    tabButtons[j].focus();
  });

  const view = new GraphView({ select: (id) => select(id) }, 'resource tree');
  const panel = new AppPanel({ close: () => (view.select(null, false), view.el.focus()), managed: () => managedResources() }, base, ns);
  const treePane = h(
    'div',
    null,
    h('div', { class: 'graph-tools row' }, h('button', { 'aria-label': 'zoom in', onclick: () => view.zoom(1.25) }, '+'), h('button', { 'aria-label': 'zoom out', onclick: () => view.zoom(0.8) }, '−'), h('button', { onclick: () => view.fit() }, 'Fit'), h('span', { class: 'muted small keys' }, 'Keys: arrows move · Enter selects · Esc closes · + − zoom · 0 fits')),
    h('div', { class: 'graph-wrap' }, view.el, panel.el),
  );
  const diffPane = h('div', { 'data-testid': 'app-diff' });
  const historyPane = h('div', { class: 'history', 'data-testid': 'app-history' });
  const eventsPane = h('div', { 'data-testid': 'app-events' });
  const body = h('div', { class: 'tab-body' }, h('p', { class: 'muted', 'data-testid': 'loading' }, 'Loading…'));
  main.append(h('div', { class: 'app-page' }, header, tabBar, body));

  function showTab(t: Tab): void {
    tab = t;
    tabButtons.forEach((b, i) => b.setAttribute('aria-selected', String(TABS[i][0] === t)));
    const q = new URLSearchParams(location.search);
    if (t === 'tree') q.delete('tab');
    else q.set('tab', t);
    setQuery(q);
    if (!app) return;
    const pane = { tree: treePane, diff: diffPane, history: historyPane, events: eventsPane }[t];
    if (body.firstChild !== pane) body.replaceChildren(pane);
    if (t === 'tree') drawTree();
    else if (t === 'diff') drawDiff();
    else if (t === 'history') drawHistory();
    else drawEvents();
  }

  function managedResources(): Promise<ManagedResource[]> {
    if (!managed) {
      managed = api<{ items?: ManagedResource[] }>('GET', `${base}/managed-resources?${nsq}`).then((r) => r.items ?? []);
      managed.catch(() => (managed = null)); // asked again next time
    }
    return managed;
  }

  function drawHeader(): void {
    const a = app!;
    const st = a.status ?? {};
    const src = sourceOf(a);
    syncEl.replaceChildren(h('span', { class: 'muted small' }, 'Sync '), phaseBadge(st.sync?.status || 'Unknown'));
    syncEl.dataset.sync = st.sync?.status || 'Unknown';
    healthEl.replaceChildren(h('span', { class: 'muted small' }, 'Health '), phaseBadge(st.health?.status || 'Unknown'));
    healthEl.dataset.health = st.health?.status || 'Unknown';
    healthEl.title = st.health?.message ?? '';
    const when = lastSync(a);
    const field = (label: string, value: Node | string, testid?: string) => h('span', null, `${label} `, h('strong', { 'data-testid': testid }, value));
    meta.replaceChildren(
      field('Project', a.spec.project || 'default'),
      field('Repository', src?.repoURL ?? '', 'app-repo'),
      src?.path ? field('Path', src.path) : '',
      field('Target', src?.targetRevision || 'HEAD'),
      st.sync?.revision ? field('Synced to', h('code', { title: st.sync.revision }, shortRevision(st.sync.revision)), 'app-revision') : '',
      field('Destination', destinationText(a)),
      when ? h('span', null, 'Last sync ', h('time', { datetime: when, title: localTime(when) }, ago(when))) : '',
      a.spec.syncPolicy?.automated ? h('span', null, 'Auto-sync ', h('strong', null, 'on')) : '',
      a.metadata.deletionTimestamp ? h('strong', { class: 'deleting' }, 'Being deleted') : '',
    );
    const op = st.operationState;
    operation.hidden = !op && !a.operation;
    if (a.operation && op?.phase !== 'Running') {
      // Asked for (Sync, Rollback) and not taken up by the controller yet.
      operation.className = 'message p-Running';
      operation.dataset.phase = 'Requested';
      operation.textContent = 'Operation requested: waiting for the application controller…';
    } else if (op) {
      operation.className = `message p-${op.phase === 'Failed' || op.phase === 'Error' ? 'Failed' : op.phase === 'Running' ? 'Running' : 'Succeeded'}`;
      operation.dataset.phase = op.phase ?? '';
      operation.textContent = `Last operation: ${op.phase ?? ''}${op.message ? ' — ' + op.message : ''}${op.finishedAt ? ` (${ago(op.finishedAt)})` : ''}`;
    }
    conditions.replaceChildren(
      ...(st.conditions ?? []).map((c) =>
        h('p', { class: `message ${/Error$/.test(c.type) ? 'p-Failed' : 'p-Error'}`, role: 'status', 'data-testid': 'app-condition', 'data-type': c.type }, h('strong', null, c.type), ': ', c.message),
      ),
    );
    for (const b of buttons) b.disabled = false;
    terminateButton.hidden = op?.phase !== 'Running' && op?.phase !== 'Terminating';
    terminateButton.disabled = op?.phase !== 'Running';
  }

  async function drawTree(): Promise<void> {
    if (!app) return;
    const g = buildAppTree(app, tree);
    await layout(g);
    if (stopped || !app) return;
    // Same resources: statuses change in place of the same view; others: start afresh.
    const key = 'tree:' + g.edges.map((e) => e.join('>')).join('|');
    const had = treeKey !== '';
    view.setGraph(g, key === treeKey);
    treeKey = key;
    if (!had) {
      // Argo CD's ?node=group/kind/namespace/name/0 (a container index last).
      const want = new URLSearchParams(location.search).get('node')?.replace(/\/\d+$/, '');
      if (want && g.nodes.has(want)) view.select(want);
    }
    if (view.selected) panel.refresh(view.selected === APP_NODE ? undefined : itemOf(view.selected));
  }

  function itemOf(id: string) {
    const t = treeItem(app!, tree, id);
    if (!t) return undefined;
    const r = app!.status?.resources?.find((x) => resourceId(x) === id);
    return { ...t, status: r?.status, requiresPruning: r?.requiresPruning, health: t.health ?? r?.health };
  }

  function select(id: string | null): void {
    const q = new URLSearchParams(location.search);
    if (id && id !== APP_NODE) q.set('node', `${id}/0`);
    else q.delete('node');
    setQuery(q);
    const it = id && id !== APP_NODE ? itemOf(id) : undefined;
    if (it) panel.show(it);
    else panel.hide();
  }

  function drawDiff(): void {
    drawDiffTab(diffPane, managedResources(), () => tab === 'diff');
  }

  function drawHistory(): void {
    if (app) drawHistoryTab(historyPane, app, rollback);
  }

  function drawEvents(): void {
    drawEventsTab(eventsPane, `${base}/events?${nsq}`);
  }

  // The app changed (or was first read): draw it, then read its tree again.
  function changed(a: Application): void {
    app = a;
    managed = null;
    drawHeader();
    if (body.querySelector('[data-testid=loading]')) showTab(tab);
    else if (tab === 'history') drawHistory();
    else if (tab === 'diff') drawDiff();
    window.clearTimeout(treeTimer);
    treeTimer = window.setTimeout(loadTree, 100);
  }

  async function loadTree(): Promise<void> {
    try {
      const res = await api<{ nodes?: TreeNode[] }>('GET', `${base}/resource-tree?${nsq}`);
      if (stopped) return;
      tree = res.nodes ?? [];
    } catch (e) {
      tree = [];
      if (!notServed(e)) showError(e, 'resource tree');
    }
    if (tab === 'tree') drawTree();
  }

  async function load(): Promise<boolean> {
    try {
      changed(await api<Application>('GET', `${base}?${nsq}`));
      return true;
    } catch (e) {
      body.replaceChildren();
      showError(e, `application ${ns}/${name}`);
      return false;
    }
  }

  function watch(): void {
    stopWatch = follow(`/api/v1/stream/applications?name=${enc(name)}&${nsq}`, (r) => {
      const a = r.application as Application | undefined;
      if (!a?.metadata || a.metadata.name !== name || stopped) return;
      if (r.type === 'DELETED') navigate(listPath(ns));
      else if (a.metadata.resourceVersion !== app?.metadata.resourceVersion) changed(a);
    });
  }

  async function sync(): Promise<void> {
    if (!app) return;
    const choice = await askSync(name, (app.status?.resources ?? []).filter((r) => !r.hook), sourceOf(app)?.targetRevision ?? '');
    if (!choice) return;
    const req: Record<string, unknown> = { prune: choice.prune, dryRun: choice.dryRun };
    if (choice.revision) req.revision = choice.revision;
    if (choice.resources) req.resources = choice.resources;
    if (choice.syncOptions.length) req.syncOptions = { items: choice.syncOptions };
    await act('sync', 'POST', `${base}/sync?${nsq}`, req);
  }

  // Sends an action; what it changes comes back through the watch stream.
  async function act(what: string, method: string, path: string, body?: unknown): Promise<boolean> {
    try {
      clearError();
      await apiNoBody(method, path, body);
      return true;
    } catch (e) {
      showError(e, what);
      return false;
    }
  }

  async function refresh(kind: 'normal' | 'hard'): Promise<void> {
    try {
      clearError();
      changed(await api<Application>('GET', `${base}?${nsq}&refresh=${kind}`));
    } catch (e) {
      showError(e, 'refresh');
    }
  }

  async function rollback(id: number, revision?: string): Promise<void> {
    if (!(await confirmAction(`Roll back ${name}?`, `The resources go back to deployment ${id} (${shortRevision(revision) || 'no revision'}). Until the source changes, the application then shows OutOfSync.`, 'Rollback', true))) return;
    await act('rollback', 'POST', `${base}/rollback?${nsq}`, { id });
  }

  async function terminate(): Promise<void> {
    if (!(await confirmAction(`Terminate the operation on ${name}?`, 'The running sync stops; what it applied stays.', 'Terminate', true))) return;
    await act('terminate', 'DELETE', `${base}/operation?${nsq}`);
  }

  async function remove(): Promise<void> {
    const cascade = await askDelete(name);
    if (cascade === null) return;
    // Without cascade the app is gone at once; with it, the stream says when.
    if ((await act('delete', 'DELETE', `${base}?${nsq}&cascade=${cascade}`)) && !cascade) navigate(listPath(ns));
  }

  load().then((ok) => {
    if (ok) watch();
  });
  return () => {
    stopped = true;
    stopWatch();
    panel.hide();
    window.clearTimeout(treeTimer);
  };
}
