// The workflow page: header with actions, then tabs — the live graph with the node
// panel, the YAML, the history of what happened, and all logs. Watches the workflow
// (Argo's watch stream, reconnecting with back-off) while it runs; phase changes are
// painted in place, the graph is laid out again only when its node set changes.
import { api, ApiError, apiNoBody, enc, isAbort, stream } from '../api';
import { clearError, showError } from '../banner';
import { confirmAction } from '../dialogs';
import { append, h } from '../dom';
import { localTime, span } from '../format';
import { layout } from '../graph/layout';
import { buildGraph, collapsedId, structureKey, type Graph } from '../graph/model';
import { GraphView } from '../graph/view';
import { FINISHED, phaseBadge, updatePhaseBadge } from '../phase';
import { navigate, setQuery, type Cleanup } from '../router';
import type { WfNode, Workflow } from '../types';
import { toYaml } from '../yaml';
import { NodePanel } from './node-panel';

type Tab = 'graph' | 'yaml' | 'events' | 'logs';

interface Action {
  verb: string;
  label: string;
  enabled(wf: Workflow): boolean;
  confirm?: { title: string; detail: string; danger?: boolean };
}

const running = (wf: Workflow) => !FINISHED.has(wf.status?.phase ?? '');

const ACTIONS: Action[] = [
  { verb: 'retry', label: 'Retry', enabled: (wf) => wf.status?.phase === 'Failed' || wf.status?.phase === 'Error', confirm: { title: 'Retry this workflow?', detail: 'Failed and errored steps run again; steps that succeeded are kept.' } },
  { verb: 'resubmit', label: 'Resubmit', enabled: () => true, confirm: { title: 'Resubmit this workflow?', detail: 'A new workflow is created from the same definition.' } },
  { verb: 'suspend', label: 'Suspend', enabled: (wf) => running(wf) && !wf.spec?.suspend },
  { verb: 'resume', label: 'Resume', enabled: (wf) => running(wf) && (!!wf.spec?.suspend || suspendedNodes(wf)) },
  { verb: 'stop', label: 'Stop', enabled: running, confirm: { title: 'Stop this workflow?', detail: 'Running steps are stopped; exit handlers still run.', danger: true } },
  { verb: 'terminate', label: 'Terminate', enabled: running, confirm: { title: 'Terminate this workflow?', detail: 'Running steps are killed and exit handlers do not run.', danger: true } },
  { verb: 'delete', label: 'Delete', enabled: () => true, confirm: { title: 'Delete this workflow?', detail: 'The workflow, its nodes and its logs are removed for good.', danger: true } },
];

function suspendedNodes(wf: Workflow): boolean {
  for (const n of Object.values(wf.status?.nodes ?? {})) if (n.type === 'Suspend' && n.phase === 'Running') return true;
  return false;
}

function rootId(wf: Workflow): string | undefined {
  const nodes = wf.status?.nodes;
  if (!nodes) return undefined;
  if (nodes[wf.metadata.name]) return wf.metadata.name;
  return Object.values(nodes).find((n) => !n.boundaryID)?.id;
}

interface HistoryEntry {
  at: string;
  what: string;
  phase: string;
  node?: string;
}

export function workflowView(main: HTMLElement, params: string[], query: URLSearchParams): Cleanup {
  const [ns, name] = params;
  const base = `/api/v1/workflows/${enc(ns)}/${enc(name)}`;
  let wf: Workflow | null = null;
  let tab: Tab = (['graph', 'yaml', 'events', 'logs'] as Tab[]).includes(query.get('tab') as Tab) ? (query.get('tab') as Tab) : 'graph';
  let ticker = 0;
  let stopped = false;
  let graph: Graph | null = null;
  let graphKey = '';
  let laying = false;
  let marked = false;
  const collapsed = new Set<string>();
  const seen = new Map<string, string>(); // node id -> phase last seen (for the history tab)
  const observed: HistoryEntry[] = [];
  let logsAbort: AbortController | null = null;
  // The server's events for this workflow (Argo's event stream), read while History shows.
  const serverEvents: HistoryEntry[] = [];
  let eventsAbort: AbortController | null = null;

  // Header.
  const phaseEl = phaseBadge(undefined);
  phaseEl.dataset.testid = 'wf-phase';
  const title = h('h1', null, name);
  const meta = h('div', { class: 'meta' });
  const message = h('p', { class: 'message', 'data-testid': 'wf-message', hidden: true });
  const buttons = ACTIONS.map((a) => h('button', { 'data-testid': `action-${a.verb}`, class: a.confirm?.danger ? 'danger-outline' : '', disabled: true, onclick: () => act(a) }, a.label));
  const header = h(
    'header',
    { class: 'page-head' },
    h('nav', { class: 'crumbs', 'aria-label': 'breadcrumb' }, h('a', { href: `/workflows/${enc(ns)}` }, 'Workflows'), ' / ', ns),
    h('div', { class: 'title-row' }, title, phaseEl),
    meta,
    message,
    h('div', { class: 'row actions', role: 'toolbar', 'aria-label': 'workflow actions' }, buttons),
  );

  // Tabs.
  const tabNames: Array<[Tab, string]> = [
    ['graph', 'Graph'],
    ['yaml', 'YAML'],
    ['events', 'History'],
    ['logs', 'Logs'],
  ];
  const tabButtons = tabNames.map(([t, label]) =>
    h('button', { role: 'tab', 'data-testid': `tab-${t}`, 'aria-selected': String(t === tab), onclick: () => showTab(t) }, label),
  );
  const tabBar = h('div', { class: 'tabs', role: 'tablist' }, tabButtons);
  tabBar.addEventListener('keydown', (e) => {
    const i = tabNames.findIndex(([t]) => t === tab);
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      const j = (i + (e.key === 'ArrowRight' ? 1 : tabNames.length - 1)) % tabNames.length;
      showTab(tabNames[j][0]);
      tabButtons[j].focus();
    }
  });

  // Graph tab.
  const view = new GraphView({
    select: (id) => {
      const q = new URLSearchParams(location.search);
      if (id) q.set('node', id);
      else q.delete('node');
      setQuery(q);
      showPanel(id);
    },
    toggle: (id) => toggleGroup(id.endsWith('/collapsed') ? id.slice(0, -'/collapsed'.length) : id),
  });
  const panel = new NodePanel({
    close: () => {
      view.select(null, false);
      view.el.focus();
    },
    toggleGroup: (id) => toggleGroup(id),
    changed: () => refresh(),
  });
  const info = h('span', { class: 'muted small', 'data-testid': 'graph-info' });
  const graphTools = h(
    'div',
    { class: 'graph-tools row' },
    h('button', { 'aria-label': 'zoom in', onclick: () => view.zoom(1.25) }, '+'),
    h('button', { 'aria-label': 'zoom out', onclick: () => view.zoom(0.8) }, '−'),
    h('button', { onclick: () => view.fit() }, 'Fit'),
    h('button', { 'data-testid': 'collapse-all', onclick: () => collapseAll(true) }, 'Collapse groups'),
    h('button', { 'data-testid': 'expand-all', onclick: () => collapseAll(false) }, 'Expand all'),
    info,
    h('span', { class: 'muted small keys' }, 'Keys: arrows move · Enter selects · Esc closes · + − zoom · 0 fits · drag pans · wheel zooms · double-click folds a group'),
  );
  const graphPane = h('div', { class: 'graph-pane' }, graphTools, h('div', { class: 'graph-wrap' }, view.el, panel.el));
  const yamlPane = h('pre', { class: 'yaml', 'data-testid': 'yaml', tabindex: 0 });
  const eventsPane = h('div', { class: 'history', 'data-testid': 'history' });
  const logsPane = h('div', { class: 'log big', 'data-testid': 'all-logs', role: 'log', tabindex: 0 });
  const body = h('div', { class: 'tab-body' });
  const loading = h('p', { class: 'muted', 'data-testid': 'loading' }, 'Loading…');

  main.append(h('div', { class: 'workflow-page' }, header, tabBar, body));
  body.append(loading);

  function showTab(t: Tab): void {
    tab = t;
    tabButtons.forEach((b, i) => b.setAttribute('aria-selected', String(tabNames[i][0] === t)));
    const q = new URLSearchParams(location.search);
    if (t === 'graph') q.delete('tab');
    else q.set('tab', t);
    setQuery(q);
    logsAbort?.abort();
    logsAbort = null;
    if (!wf) return;
    if (t === 'graph') {
      body.replaceChildren(graphPane);
      drawGraph();
    } else if (t === 'yaml') {
      yamlPane.textContent = toYaml(wf);
      body.replaceChildren(yamlPane);
    } else if (t === 'events') {
      body.replaceChildren(eventsPane);
      drawHistory();
      followServerEvents();
    } else {
      body.replaceChildren(logsPane);
      streamAllLogs();
    }
  }

  function nodesOf(): Record<string, WfNode> {
    return wf?.status?.nodes ?? {};
  }

  async function drawGraph(): Promise<void> {
    if (!wf || laying) return;
    const nodes = nodesOf();
    const tb = performance.now();
    const key = structureKey(nodes, collapsed);
    const next = buildGraph(nodes, collapsed, rootId(wf));
    if (key === graphKey && graph) {
      for (const n of next.list) view.updateNode(n.id, n.phase, n.sub);
      view.calm();
      return;
    }
    laying = true;
    const t0 = performance.now();
    performance.measure('skiff:graph-model', { start: tb, end: t0 });
    let engine: string;
    try {
      engine = await layout(next);
    } finally {
      laying = false;
    }
    if (stopped) return;
    const t1 = performance.now();
    performance.measure('skiff:graph-layout', { start: t0, end: t1 });
    const hadGraph = graph !== null;
    graph = next;
    graphKey = key;
    view.setGraph(next, hadGraph);
    performance.measure('skiff:graph-draw', { start: t1 });
    info.textContent = `${next.list.length} nodes · ${engine} layout ${Math.round(t1 - t0)} ms · ${view.drawnCount} drawn`;
    if (!hadGraph) {
      const want = new URLSearchParams(location.search).get('node');
      if (want && next.nodes.has(want)) view.select(want);
    } else if (view.selected) showPanel(view.selected);
    if (!marked) {
      marked = true;
      // Marked after the frame that shows the graph (what bench.mjs measures).
      requestAnimationFrame(() =>
        setTimeout(() => {
          performance.mark('graph-interactive');
          document.body.dataset.graph = 'ready';
        }, 0),
      );
    }
    // Phases may have moved on while laying out.
    if (structureKey(nodesOf(), collapsed) !== graphKey) drawGraph();
  }

  function showPanel(id: string | null): void {
    if (!wf || !id) {
      panel.hide();
      return;
    }
    const gn = graph?.nodes.get(id);
    if (gn?.shape === 'collapsed') panel.show(wf, id, { group: gn.group!, count: gn.hidden ?? 0 });
    else panel.show(wf, id);
  }

  function toggleGroup(group: string): void {
    if (collapsed.has(group)) collapsed.delete(group);
    else if (nodesOf()[group]?.children?.length) collapsed.add(group);
    else return;
    drawGraph().then(() => view.select(collapsed.has(group) ? collapsedId(group) : group));
  }

  function collapseAll(on: boolean): void {
    collapsed.clear();
    if (on) {
      for (const n of Object.values(nodesOf())) {
        if ((n.type === 'TaskGroup' || n.type === 'Retry' || n.type === 'StepGroup') && (n.children?.length ?? 0) > 1) collapsed.add(n.id);
      }
    }
    drawGraph();
  }

  function drawHeader(): void {
    if (!wf) return;
    const st = wf.status ?? {};
    updatePhaseBadge(phaseEl, st.phase);
    if (wf.spec?.suspend && running(wf)) phaseEl.lastChild!.textContent = `${st.phase ?? 'Pending'} (suspended)`;
    const labels = Object.entries(wf.metadata.labels ?? {}).filter(([k]) => !k.startsWith('workflows.argoproj.io/'));
    meta.replaceChildren();
    append(meta, [
      h('span', null, 'Started ', h('time', { datetime: st.startedAt ?? '' }, localTime(st.startedAt) || '—')),
      h('span', null, 'Duration ', h('span', { 'data-started': st.startedAt ?? '', 'data-finished': st.finishedAt ?? '', 'data-testid': 'wf-duration' }, span(st.startedAt, st.finishedAt) || '—')),
      st.progress ? h('span', null, 'Progress ', h('strong', { 'data-testid': 'wf-progress' }, st.progress)) : null,
      labels.length ? h('span', null, 'Labels ', labels.map(([k, v]) => h('code', { class: 'label' }, `${k}=${v}`))) : null,
      wf.spec?.workflowTemplateRef ? h('span', null, 'From ', h('a', { href: wf.spec.workflowTemplateRef.clusterScope ? `/cluster-workflow-templates/${enc(wf.spec.workflowTemplateRef.name)}` : `/workflow-templates/${enc(ns)}/${enc(wf.spec.workflowTemplateRef.name)}` }, wf.spec.workflowTemplateRef.name)) : null,
    ]);
    message.hidden = !st.message;
    message.textContent = st.message ?? '';
    ACTIONS.forEach((a, i) => (buttons[i].disabled = !a.enabled(wf!)));
  }

  // Node timestamps tell when each node started and ended; what they lose is a node that
  // ran again (a retry resets it), so those moves are remembered as they are seen.
  function noteTransitions(): void {
    const now = new Date().toISOString();
    for (const n of Object.values(nodesOf())) {
      const p = n.phase || 'Pending';
      const before = seen.get(n.id);
      if (before === p) continue;
      seen.set(n.id, p);
      if (before && FINISHED.has(before) && !FINISHED.has(p)) {
        observed.push({ at: now, what: `${before} → ${p} (runs again)`, phase: p, node: n.displayName || n.name });
      }
    }
  }

  // Kubernetes-style events (WorkflowRunning, WorkflowNodeFailed, ...) as the server tells
  // them; they join the history as they come. One stream per page, closed with it.
  function followServerEvents(): void {
    if (eventsAbort) return;
    const ctl = new AbortController();
    eventsAbort = ctl;
    const path = `/api/v1/stream/events/${enc(ns)}?listOptions.fieldSelector=${enc('involvedObject.name=' + name)}`;
    stream(
      path,
      (ev) => {
        const reason: string = ev.reason ?? '';
        const phase = reason.replace(/^WorkflowNode|^Workflow/, '');
        serverEvents.push({ at: ev.lastTimestamp ?? '', what: `${reason}: ${ev.message ?? ''}`, phase, node: 'server' });
        if (tab === 'events') drawHistory();
      },
      ctl.signal,
    ).catch((e) => {
      if (!isAbort(e)) eventsAbort = null;  // tried again when History is shown next
    });
  }

  function drawHistory(): void {
    if (!wf) return;
    const entries: HistoryEntry[] = [...observed, ...serverEvents];
    const st = wf.status ?? {};
    if (wf.metadata.creationTimestamp) entries.push({ at: wf.metadata.creationTimestamp, what: 'workflow created', phase: 'Pending' });
    if (st.startedAt) entries.push({ at: st.startedAt, what: 'workflow started', phase: 'Running' });
    if (st.finishedAt) entries.push({ at: st.finishedAt, what: `workflow ${st.phase ?? 'finished'}${st.message ? ': ' + st.message : ''}`, phase: st.phase ?? '' });
    for (const n of Object.values(nodesOf())) {
      if (n.type === 'StepGroup' || n.type === 'TaskGroup') continue;
      const label = n.displayName || n.name;
      if (n.startedAt) entries.push({ at: n.startedAt, what: 'started', phase: 'Running', node: label });
      if (n.finishedAt) entries.push({ at: n.finishedAt, what: `${n.phase}${n.message ? ': ' + n.message : ''}`, phase: n.phase ?? '', node: label });
    }
    entries.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
    const shown = entries.slice(0, 2000);
    eventsPane.replaceChildren();
    append(eventsPane, [
      h(
        'table',
        { class: 'list' },
        h('thead', null, h('tr', null, h('th', null, 'Time'), h('th', null, 'Node'), h('th', null, 'Event'))),
        h(
          'tbody',
          null,
          shown.map((e) => h('tr', { 'data-testid': 'history-row' }, h('td', null, localTime(e.at)), h('td', null, e.node ?? '—'), h('td', null, phaseBadge(e.phase || 'Pending', e.what)))),
        ),
      ),
      entries.length > shown.length ? h('p', { class: 'muted' }, `${entries.length - shown.length} older entries not shown`) : null,
    ]);
  }

  function streamAllLogs(): void {
    logsPane.replaceChildren();
    const ctl = new AbortController();
    logsAbort = ctl;
    const names = new Map(Object.values(nodesOf()).map((n) => [n.id, n.displayName || n.name]));
    const follow = wf && running(wf) ? '&logOptions.follow=true' : '';
    stream(
      `${base}/log?logOptions.container=main${follow}`,
      (r) => {
        const d = document.createElement('div');
        d.className = 'line';
        d.dataset.testid = 'log-line';
        const who = document.createElement('span');
        who.className = 'pod';
        who.textContent = (names.get(r.podName) ?? r.podName ?? '') + ': ';
        d.append(who, String(r.content ?? ''));
        logsPane.append(d);
      },
      ctl.signal,
    ).catch((e) => {
      if (!isAbort(e)) showError(e, 'logs');
    });
  }

  async function act(a: Action): Promise<void> {
    if (!wf) return;
    if (a.confirm && !(await confirmAction(a.confirm.title, `${a.confirm.detail} (${ns}/${name})`, a.label, a.confirm.danger))) return;
    try {
      clearError();
      if (a.verb === 'delete') {
        await api('DELETE', base);
        navigate(`/workflows/${enc(ns)}`);
        return;
      }
      if (a.verb === 'resubmit') {
        const res = await api<Workflow>('PUT', `${base}/${a.verb}`, {});
        navigate(`/workflows/${enc(res.metadata.namespace ?? ns)}/${enc(res.metadata.name)}`);
        return;
      }
      await apiNoBody('PUT', `${base}/${a.verb}`, {});
      refresh();
    } catch (e) {
      showError(e, a.verb);
    }
  }

  function apply(next: Workflow): void {
    const firstLoad = wf === null;
    wf = next;
    noteTransitions();
    drawHeader();
    if (firstLoad) {
      document.title = `${name} · skiff`;
      showTab(tab);
      return;
    }
    if (tab === 'graph') drawGraph();
    else if (tab === 'events') drawHistory();
    if (tab === 'graph' && panel.current && !panel.el.hidden) showPanel(view.selected);
  }

  // The workflow comes from the watch stream narrowed to its name: the first event is the
  // whole workflow (sent uncompressed, unlike GET), then one event per change. The stream
  // is closed once the workflow has finished (each open stream holds a server thread) and
  // opened again after an action. A small list call tells whether the workflow exists
  // (the stream just stays silent when it does not).
  let watchAbort: AbortController | null = null;
  let watching = false;

  async function exists(): Promise<boolean> {
    try {
      const q = `listOptions.fieldSelector=${enc('metadata.name=' + name)}&listOptions.limit=1`;
      const res = await api<{ items?: Workflow[] | null }>('GET', `/api/v1/workflows/${enc(ns)}?${q}`);
      if (res.items?.length) return true;
      showError(new ApiError(404, 5, `workflow ${ns}/${name} not found`));
    } catch (e) {
      showError(e, `workflow ${ns}/${name}`);
    }
    return false;
  }

  async function watch(): Promise<void> {
    if (watching || stopped) return;
    watching = true;
    let backoff = 500;
    try {
      while (!stopped) {
        const ctl = new AbortController();
        watchAbort = ctl;
        const tf = performance.now();
        let finished = false;
        try {
          await stream(
            `/api/v1/workflow-events/${enc(ns)}?listOptions.fieldSelector=${enc('metadata.name=' + name)}`,
            (r) => {
              if (r.type === 'DELETED') {
                showError(new ApiError(404, 5, `workflow ${ns}/${name} was deleted`));
                finished = true;
                ctl.abort();
                return;
              }
              const obj = r.object as Workflow | undefined;
              if (!obj?.metadata || obj.metadata.name !== name) return;
              if (!wf) performance.measure('skiff:get-workflow', { start: tf });
              backoff = 500;
              apply(obj);
              if (!running(obj)) {
                finished = true;
                ctl.abort();
              }
            },
            ctl.signal,
          );
        } catch (e) {
          if (!isAbort(e) && !stopped) showError(e, `watch ${ns}/${name}`);
        }
        if (finished || stopped) return;
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 10000);
      }
    } finally {
      watching = false;
      watchAbort = null;
    }
  }

  function refresh(): void {
    if (!watching) watch();
  }

  // Durations of running things tick once a second.
  ticker = window.setInterval(() => {
    for (const el of main.querySelectorAll<HTMLElement>('[data-started]')) {
      if (el.dataset.started && !el.dataset.finished) el.textContent = span(el.dataset.started, undefined);
    }
  }, 1000);

  watch();
  exists().then((ok) => {
    if (ok || stopped) return;
    stopped = true;
    watchAbort?.abort();
    loading.textContent = 'Could not load this workflow.';
  });
  return () => {
    stopped = true;
    watchAbort?.abort();
    window.clearInterval(ticker);
    panel.hide();
    logsAbort?.abort();
    eventsAbort?.abort();
  };
}
