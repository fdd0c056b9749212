// The side panel of the selected node: what it ran, its phase and message, times,
// inputs and outputs, and its log, streamed live while the step runs.
import { apiNoBody, enc, isAbort, setArtifactCookie, stream } from '../api';
import { showError } from '../banner';
import { h, type Child } from '../dom';
import { localTime, span } from '../format';
import { GROUP_TYPES } from '../graph/model';
import { NODE_FINISHED, phaseBadge } from '../phase';
import type { Artifact, Parameter, WfNode, Workflow } from '../types';

const MAX_LOG_LINES = 10000;

export interface PanelEvents {
  close(): void;
  toggleGroup(groupId: string): void;
  changed(): void; // an action on the node was taken: fetch the workflow again
}

function params(ps: Parameter[] | undefined): Child {
  if (!ps?.length) return null;
  return h('table', { class: 'kv' }, h('tbody', null, ps.map((p) => h('tr', null, h('th', null, p.name), h('td', null, h('code', null, p.value ?? p.default ?? ''))))));
}

// A node's artifacts: those in a repository link to their download (Argo Server's path).
function artifacts(list: Artifact[] | undefined, base: string, testid: string): Child {
  if (!list?.length) return null;
  const where = (a: Artifact): Child =>
    a.s3?.key
      ? h('a', { href: `${base}/${enc(a.name)}`, download: true, onclick: setArtifactCookie, 'data-testid': 'artifact-link', title: a.path ?? '' }, a.s3.key)
      : h('code', null, a.http?.url ?? (a.raw ? 'raw' : (a.path ?? '')));
  return h('table', { class: 'kv', 'data-testid': testid }, h('tbody', null, list.map((a) => h('tr', null, h('th', null, a.name), h('td', null, where(a))))));
}

export class NodePanel {
  readonly el: HTMLElement;
  private body: HTMLElement;
  private logEl: HTMLElement | null = null;
  private logAbort: AbortController | null = null;
  private logStartedAt: string | undefined;
  private logDone = false;
  private logEnd = '';
  private nodeId: string | null = null;
  private pending: string[] = [];
  private flushQueued = false;
  private lineCount = 0;

  constructor(private readonly events: PanelEvents) {
    this.body = h('div', { class: 'panel-body' });
    this.el = h('aside', { class: 'panel', 'data-testid': 'node-panel', 'aria-label': 'selected node', hidden: true }, this.body);
    this.el.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') events.close();
    });
  }

  // Shows (or refreshes) one node; a group id with "/collapsed" shows the collapsed group.
  show(wf: Workflow, id: string | null, collapsedCount?: { group: string; count: number }): void {
    if (!id) return this.hide();
    const ns = wf.metadata.namespace!;
    const name = wf.metadata.name;
    this.el.hidden = false;
    if (collapsedCount) {
      this.stopLogs();
      this.nodeId = id;
      this.body.replaceChildren(
        this.head('Collapsed group', null),
        h('p', null, `${collapsedCount.count} nodes are hidden in this group.`),
        h('button', { 'data-testid': 'expand-group', onclick: () => this.events.toggleGroup(collapsedCount.group) }, 'Expand group'),
      );
      return;
    }
    const n = wf.status?.nodes?.[id];
    if (!n) return this.hide();
    const fresh = this.nodeId !== id;
    this.nodeId = id;
    const o = n.outputs ?? {};
    const files = `/artifact-files/${enc(ns)}/workflows/${enc(name)}/${enc(n.id)}`;
    const rows: Array<[string, Child]> = [
      ['Phase', phaseBadge(n.phase)],
      ['Type', n.type],
      ['Template', n.templateName ?? ''],
      ['Name', n.name],
      ['ID', h('code', null, n.id)],
      ['Started', localTime(n.startedAt)],
      ['Finished', localTime(n.finishedAt)],
      ['Duration', h('span', { 'data-started': n.startedAt ?? '', 'data-finished': n.finishedAt ?? '' }, span(n.startedAt, n.finishedAt))],
    ];
    if (n.progress) rows.push(['Progress', n.progress]);
    const actions: Child[] = [];
    if (GROUP_TYPES.has(n.type) && n.children?.length) {
      actions.push(h('button', { 'data-testid': 'collapse-group', onclick: () => this.events.toggleGroup(n.id) }, 'Collapse group'));
    }
    if (n.type === 'Suspend' && n.phase === 'Running') {
      actions.push(h('button', { class: 'primary', 'data-testid': 'resume-node', onclick: () => this.resumeNode(ns, name, n) }, 'Resume this node'));
    }
    const content: Child[] = [
      this.head(n.displayName || n.name, n.phase),
      n.message ? h('p', { class: `message p-${n.phase}`, 'data-testid': 'node-message' }, n.message) : null,
      h('table', { class: 'kv' }, h('tbody', null, rows.filter(([, v]) => v !== '').map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v))))),
      actions.length ? h('div', { class: 'row' }, actions) : null,
      n.inputs?.parameters?.length || n.inputs?.artifacts?.length
        ? [h('h3', null, 'Inputs'), params(n.inputs.parameters), artifacts(n.inputs.artifacts, `${files}/inputs`, 'node-input-artifacts')]
        : null,
      o.result !== undefined || o.exitCode !== undefined || o.parameters?.length || o.artifacts?.length
        ? [
            h('h3', null, 'Outputs'),
            h(
              'table',
              { class: 'kv', 'data-testid': 'node-outputs' },
              h(
                'tbody',
                null,
                o.exitCode !== undefined ? h('tr', null, h('th', null, 'exit code'), h('td', null, h('code', null, o.exitCode))) : null,
                o.result !== undefined ? h('tr', null, h('th', null, 'result'), h('td', null, h('pre', { class: 'result' }, o.result))) : null,
              ),
            ),
            params(o.parameters),
            artifacts(o.artifacts, `${files}/outputs`, 'node-output-artifacts'),
          ]
        : null,
    ];
    // Keep the log element across refreshes so the stream is not restarted; start again
    // when the step starts again (a retry) — a running step's stream follows, a finished
    // step's log is read once.
    if (n.type === 'Pod') {
      const done = NODE_FINISHED.has(n.phase ?? '');
      if (fresh || !this.logEl) this.logEl = h('div', { class: 'log', 'data-testid': 'logs', role: 'log', tabindex: 0 });
      content.push(h('h3', null, 'Log'), this.logEl);
      // Times have a one-second grain, so a quick rerun can keep startedAt: a finished
      // node whose phase or end changed ran again.
      const end = `${n.phase}|${n.finishedAt ?? ''}`;
      if (fresh || n.startedAt !== this.logStartedAt || (this.logDone && (!done || end !== this.logEnd))) this.startLogs(ns, name, n, !done);
      this.logStartedAt = n.startedAt;
      this.logDone = done;
      this.logEnd = end;
    } else {
      this.stopLogs();
      this.logEl = null;
    }
    const scroll = this.body.scrollTop;
    this.body.replaceChildren(...content.flat().filter((c): c is Node => c instanceof Node));
    if (!fresh) this.body.scrollTop = scroll;
  }

  private head(title: string, phase: string | null | undefined): HTMLElement {
    return h(
      'div',
      { class: 'panel-head' },
      h('h2', null, title),
      phase !== null ? phaseBadge(phase) : null,
      h('button', { class: 'icon-btn', 'aria-label': 'close panel', 'data-testid': 'panel-close', onclick: () => this.events.close() }, '×'),
    );
  }

  private async resumeNode(ns: string, name: string, n: WfNode): Promise<void> {
    try {
      await apiNoBody('PUT', `/api/v1/workflows/${enc(ns)}/${enc(name)}/resume`, { nodeFieldSelector: `id=${n.id}` });
      this.events.changed();
    } catch (e) {
      showError(e, 'resume');
    }
  }

  private startLogs(ns: string, name: string, n: WfNode, follow: boolean): void {
    this.stopLogs();
    const el = this.logEl!;
    el.replaceChildren();
    this.lineCount = 0;
    const ctl = new AbortController();
    this.logAbort = ctl;
    const path = `/api/v1/workflows/${enc(ns)}/${enc(name)}/log?podName=${enc(n.id)}&logOptions.container=main${follow ? '&logOptions.follow=true' : ''}`;
    stream(path, (r) => this.queueLine(String(r.content ?? '')), ctl.signal)
      .then(() => {
        if (ctl.signal.aborted) return;
        this.flush();
        if (this.lineCount === 0) el.append(h('div', { class: 'muted', 'data-testid': 'log-empty' }, 'no log lines'));
      })
      .catch((e) => {
        if (!isAbort(e)) showError(e, 'log');
      });
  }

  private queueLine(line: string): void {
    this.pending.push(line);
    if (!this.flushQueued) {
      this.flushQueued = true;
      requestAnimationFrame(() => this.flush());
    }
  }

  private flush(): void {
    this.flushQueued = false;
    const el = this.logEl;
    if (!el || !this.pending.length) return;
    const atEnd = el.scrollTop + el.clientHeight >= el.scrollHeight - 4;
    const frag = document.createDocumentFragment();
    for (const line of this.pending) {
      const d = document.createElement('div');
      d.className = 'line';
      d.dataset.testid = 'log-line';
      d.textContent = line;
      frag.append(d);
    }
    this.lineCount += this.pending.length;
    this.pending = [];
    el.append(frag);
    while (el.childElementCount > MAX_LOG_LINES) el.firstElementChild!.remove();
    if (atEnd) el.scrollTop = el.scrollHeight;
  }

  private stopLogs(): void {
    this.logAbort?.abort();
    this.logAbort = null;
    this.pending = [];
  }

  hide(): void {
    this.stopLogs();
    this.nodeId = null;
    this.logEl = null;
    this.el.hidden = true;
    this.body.replaceChildren();
  }

  get current(): string | null {
    return this.nodeId;
  }
}
