// The workflows list of one namespace: filters (phase, labels, name), pages of 50 with
// continue tokens, and live updates from the watch stream.
import { api, enc, isAbort, stream } from '../api';
import { showError } from '../banner';
import { h } from '../dom';
import { ago, localTime, span } from '../format';
import { rememberNamespace } from '../ns';
import { phaseBadge, updatePhaseBadge } from '../phase';
import { navigate, setQuery, type Cleanup } from '../router';
import type { ListResult, Workflow } from '../types';
import { focusableRows } from './rows';

const PAGE = 50;
const PHASES = ['', 'Pending', 'Running', 'Succeeded', 'Failed', 'Error'];

interface Row {
  tr: HTMLTableRowElement;
  phase: HTMLSpanElement;
  started: HTMLTableCellElement;
  duration: HTMLTableCellElement;
  progress: HTMLTableCellElement;
  message: HTMLTableCellElement;
  wf: Workflow;
}

export function workflowsView(main: HTMLElement, params: string[], query: URLSearchParams, defaultNs: string): Cleanup {
  const ns = params[0] || defaultNs;
  rememberNamespace(ns);
  let tokens: string[] = ['']; // continue tokens of the pages seen; the last is the current page's
  let nextToken = '';
  let items: Workflow[] = [];
  const rows = new Map<string, Row>(); // by name
  let watchAbort: AbortController | null = null;
  let stopped = false;

  const nsInput = h('input', { name: 'namespace', 'data-testid': 'ns-input', value: ns, 'aria-label': 'namespace', size: 12 });
  const phaseSel = h('select', { name: 'phase', 'data-testid': 'phase-filter', 'aria-label': 'phase' }, PHASES.map((p) => h('option', { value: p }, p || 'any phase')));
  phaseSel.value = query.get('phase') ?? '';
  const labelInput = h('input', { name: 'labels', 'data-testid': 'label-filter', placeholder: 'labels: key=value,…', 'aria-label': 'label selector', value: query.get('labels') ?? '' });
  const search = h('input', { type: 'search', name: 'search', 'data-testid': 'name-filter', placeholder: 'filter by name', 'aria-label': 'filter by name', value: query.get('q') ?? '' });
  const form = h(
    'form',
    { class: 'filters row', role: 'search' },
    h('label', null, 'Namespace ', nsInput),
    h('label', null, 'Phase ', phaseSel),
    h('label', null, 'Labels ', labelInput),
    h('label', null, 'Name ', search),
    h('button', { type: 'submit' }, 'Apply'),
  );
  const tbody = h('tbody');
  const table = h(
    'table',
    { class: 'list', 'data-testid': 'wf-table' },
    h('thead', null, h('tr', null, h('th', null, 'Phase'), h('th', null, 'Name'), h('th', null, 'Started'), h('th', null, 'Duration'), h('th', null, 'Progress'), h('th', null, 'Message'))),
    tbody,
  );
  const empty = h('p', { class: 'muted', hidden: true, 'data-testid': 'empty' }, 'No workflows.');
  const prev = h('button', { 'data-testid': 'page-prev', disabled: true, onclick: () => page(-1) }, '← Previous');
  const next = h('button', { 'data-testid': 'page-next', disabled: true, onclick: () => page(1) }, 'Next →');
  const pageInfo = h('span', { class: 'muted' });
  const live = h('span', { class: 'live muted', 'data-testid': 'live' }, '');
  main.append(
    h('div', { class: 'page-head' }, h('div', { class: 'title-row' }, h('h1', null, 'Workflows'), live), form),
    table,
    empty,
    h('div', { class: 'row pager' }, prev, pageInfo, next),
  );
  focusableRows(tbody, (tr) => navigate(`/workflows/${enc(tr.dataset.ns!)}/${enc(tr.dataset.name!)}`));

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    if (phaseSel.value) q.set('phase', phaseSel.value);
    if (labelInput.value.trim()) q.set('labels', labelInput.value.trim());
    if (search.value.trim()) q.set('q', search.value.trim());
    const target = nsInput.value.trim() || ns;
    const qs = q.toString();
    navigate(`/workflows/${enc(target)}${qs ? '?' + qs : ''}`);
  });
  search.addEventListener('input', () => {
    const q = new URLSearchParams(location.search);
    if (search.value.trim()) q.set('q', search.value.trim());
    else q.delete('q');
    setQuery(q);
    draw();
  });
  phaseSel.addEventListener('change', () => form.requestSubmit());

  function selector(): string {
    const parts: string[] = [];
    if (phaseSel.value) parts.push(`workflows.argoproj.io/phase=${phaseSel.value}`);
    if (labelInput.value.trim()) parts.push(labelInput.value.trim());
    return parts.join(',');
  }

  function listPath(cont: string): string {
    const q = new URLSearchParams({ 'listOptions.limit': String(PAGE) });
    const sel = selector();
    if (sel) q.set('listOptions.labelSelector', sel);
    if (cont) q.set('listOptions.continue', cont);
    return `/api/v1/workflows/${enc(ns)}?${q}`;
  }

  function makeRow(wf: Workflow): Row {
    const st = wf.status ?? {};
    const phase = phaseBadge(st.phase);
    const started = h('td', null);
    const duration = h('td', { class: 'num' });
    const progress = h('td', { class: 'num' });
    const message = h('td', { class: 'msg' });
    const tr = h(
      'tr',
      { tabindex: 0, 'data-testid': 'wf-row', 'data-name': wf.metadata.name, 'data-ns': wf.metadata.namespace ?? ns },
      h('td', null, phase),
      h('td', null, h('a', { href: `/workflows/${enc(wf.metadata.namespace ?? ns)}/${enc(wf.metadata.name)}`, tabindex: -1 }, wf.metadata.name)),
      started,
      duration,
      progress,
      message,
    );
    const row = { tr, phase, started, duration, progress, message, wf };
    fill(row, wf);
    return row;
  }

  function fill(row: Row, wf: Workflow): void {
    row.wf = wf;
    const st = wf.status ?? {};
    updatePhaseBadge(row.phase, st.phase);
    row.tr.dataset.phase = st.phase || 'Pending';
    row.started.textContent = ago(st.startedAt ?? wf.metadata.creationTimestamp);
    row.started.title = localTime(st.startedAt ?? wf.metadata.creationTimestamp);
    row.duration.textContent = span(st.startedAt, st.finishedAt);
    row.progress.textContent = st.progress ?? '';
    row.message.textContent = st.message ?? '';
  }

  function visible(): Workflow[] {
    const q = search.value.trim().toLowerCase();
    return q ? items.filter((w) => w.metadata.name.toLowerCase().includes(q)) : items;
  }

  function draw(): void {
    const focusedName = (document.activeElement as HTMLElement | null)?.dataset?.name;
    const want = visible();
    const trs: HTMLTableRowElement[] = [];
    for (const wf of want) {
      let row = rows.get(wf.metadata.name);
      if (!row) {
        row = makeRow(wf);
        rows.set(wf.metadata.name, row);
      } else if (row.wf !== wf) fill(row, wf);
      trs.push(row.tr);
    }
    tbody.replaceChildren(...trs);
    if (focusedName) rows.get(focusedName)?.tr.focus();
    empty.hidden = want.length > 0;
    prev.disabled = tokens.length <= 1;
    next.disabled = !nextToken;
    pageInfo.textContent = `page ${tokens.length}`;
  }

  async function load(): Promise<void> {
    try {
      const res = await api<ListResult<Workflow>>('GET', listPath(tokens[tokens.length - 1]));
      if (stopped) return;
      items = res.items ?? [];
      for (const w of items) known.add(w.metadata.uid ?? w.metadata.name);
      nextToken = res.metadata?.continue ?? '';
      draw();
    } catch (e) {
      showError(e, 'list workflows');
    }
  }

  async function page(dir: number): Promise<void> {
    if (dir > 0 && nextToken) tokens.push(nextToken);
    if (dir < 0 && tokens.length > 1) tokens.pop();
    await load();
    (tbody.querySelector('tr') as HTMLElement | null)?.focus();
  }

  // The watch stream: rows change in place; new workflows appear on the first page.
  async function watch(): Promise<void> {
    const q = new URLSearchParams();
    const sel = selector();
    if (sel) q.set('listOptions.labelSelector', sel);
    q.set('fields', '-result.object.status.nodes'); // the list needs no nodes
    let backoff = 1000;
    while (!stopped) {
      const ctl = new AbortController();
      watchAbort = ctl;
      let pending = false;
      try {
        live.textContent = '● live';
        await stream(
          `/api/v1/workflow-events/${enc(ns)}${q.size ? '?' + q : ''}`,
          (r) => {
            backoff = 1000;
            const obj = r.object as Workflow | undefined;
            if (!obj?.metadata) return;
            if (obj.status) delete obj.status.nodes; // the list needs no nodes; keep memory small
            const i = items.findIndex((w) => w.metadata.uid === obj.metadata.uid || w.metadata.name === obj.metadata.name);
            const id = obj.metadata.uid ?? obj.metadata.name;
            if (r.type === 'DELETED') {
              if (i < 0) return;
              items.splice(i, 1);
              reloadSoon();
            } else if (i >= 0) {
              if (items[i].metadata.resourceVersion === obj.metadata.resourceVersion) return;
              items[i] = obj;
            } else {
              // A workflow this page does not show: the list decides where it goes (once
              // per workflow; the stream starts with an ADDED for every one there is).
              if (tokens.length === 1 && !known.has(id)) reloadSoon();
              known.add(id);
              return;
            }
            if (!pending) {
              pending = true;
              requestAnimationFrame(() => {
                pending = false;
                if (!stopped) draw();
              });
            }
          },
          ctl.signal,
        );
      } catch (e) {
        if (isAbort(e) || stopped) return;
      }
      live.textContent = '';
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 15000);
    }
  }

  // Workflows the watch stream announced that a page read already placed (the stream
  // starts with an ADDED for every workflow; only the first page takes new ones).
  const known = new Set<string>();
  let reloadTimer = 0;
  function reloadSoon(): void {
    window.clearTimeout(reloadTimer);
    reloadTimer = window.setTimeout(() => load(), 300);
  }

  const ticker = window.setInterval(() => {
    for (const row of rows.values()) {
      const st = row.wf.status ?? {};
      if (st.startedAt && !st.finishedAt) row.duration.textContent = span(st.startedAt, undefined);
    }
  }, 1000);

  load().then(() => watch());
  return () => {
    stopped = true;
    watchAbort?.abort();
    window.clearInterval(ticker);
    window.clearTimeout(reloadTimer);
  };
}
