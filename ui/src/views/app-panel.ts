// The side panel of the application page's tree: one resource's sync and health, its
// diff (the fields that differ and the unified diff), its live and desired manifests
// (from managed-resources, as YAML) and, for a Pod, its logs (Argo CD's pod logs,
// followed while shown).
import { changedFields, parseState, resourceId } from '../app-model';
import { isAbort, notServed, stream } from '../api';
import { errorText } from '../banner';
import { h } from '../dom';
import { localTime } from '../format';
import { phaseBadge } from '../phase';
import type { AppResource, ManagedResource, TreeNode } from '../types';
import { toYaml } from '../yaml';

type Part = 'diff' | 'live' | 'desired' | 'logs';

export interface AppPanelEvents {
  close(): void;
  managed(): Promise<ManagedResource[]>; // the app's managed-resources (cached by the page)
}

export class AppPanel {
  readonly el: HTMLElement;
  private readonly body: HTMLElement;
  private part: Part = 'diff';
  private logsAbort: AbortController | null = null;
  private item: (TreeNode & Partial<AppResource>) | null = null;

  constructor(
    private readonly events: AppPanelEvents,
    private readonly appBase: string, // /api/v1/applications/{name}
    private readonly appNs: string,
  ) {
    this.body = h('div', { class: 'panel-body' });
    this.el = h('aside', { class: 'panel', hidden: true, 'data-testid': 'resource-panel', 'aria-label': 'resource' }, this.body);
    this.el.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.events.close();
    });
  }

  hide(): void {
    this.stopLogs();
    this.item = null;
    this.el.hidden = true;
  }

  // Shows a resource: its tree node with, when the app manages it, its status.resources
  // entry's sync status.
  show(item: TreeNode & Partial<AppResource>): void {
    const same = this.item && resourceId(this.item) === resourceId(item);
    this.item = item;
    if (!same) this.part = item.kind === 'Pod' ? 'logs' : 'diff';
    this.el.hidden = false;
    this.draw();
  }

  // The app changed: the shown resource's manifests may have too.
  refresh(item: (TreeNode & Partial<AppResource>) | undefined): void {
    if (!this.item) return;
    if (!item) return this.hide();
    this.item = item;
    if (this.part !== 'logs') this.draw();
  }

  private draw(): void {
    const it = this.item!;
    this.stopLogs();
    const parts: Array<[Part, string]> = [
      ['diff', 'Diff'],
      ['live', 'Live'],
      ['desired', 'Desired'],
    ];
    if (it.kind === 'Pod') parts.push(['logs', 'Logs']);
    const content = h('div', { class: 'panel-part' });
    this.body.replaceChildren(
      h(
        'div',
        { class: 'panel-head' },
        h('h2', null, h('span', { class: 'muted' }, it.kind, ' '), it.name),
        h('button', { class: 'icon-btn', 'aria-label': 'close panel', 'data-testid': 'panel-close', onclick: () => this.events.close() }, '×'),
      ),
      h(
        'table',
        { class: 'kv' },
        h(
          'tbody',
          null,
          it.namespace ? h('tr', null, h('th', null, 'Namespace'), h('td', null, it.namespace)) : null,
          it.status ? h('tr', null, h('th', null, 'Sync'), h('td', { 'data-testid': 'resource-sync' }, phaseBadge(it.status))) : null,
          h('tr', null, h('th', null, 'Health'), h('td', { 'data-testid': 'resource-health' }, it.health?.status ? phaseBadge(it.health.status) : h('span', { class: 'muted' }, 'no health check'))),
          it.health?.message ? h('tr', null, h('th', null, 'Message'), h('td', null, it.health.message)) : null,
          it.requiresPruning ? h('tr', null, h('th', null, 'Prune'), h('td', null, 'git no longer has it: a sync with Prune deletes it')) : null,
        ),
      ),
      h(
        'div',
        { class: 'tabs', role: 'tablist' },
        parts.map(([p, label]) =>
          h('button', { role: 'tab', 'data-testid': `panel-${p}`, 'aria-selected': String(p === this.part), onclick: () => ((this.part = p), this.draw()) }, label),
        ),
      ),
      content,
    );
    if (this.part === 'logs') this.followLogs(content, it);
    else this.drawManifest(content, it);
  }

  private async drawManifest(content: HTMLElement, it: TreeNode): Promise<void> {
    content.append(h('p', { class: 'muted' }, 'Loading…'));
    let items: ManagedResource[];
    try {
      items = await this.events.managed();
    } catch (e) {
      content.replaceChildren(h('p', { class: 'message p-Failed', 'data-testid': 'panel-error' }, errorText(e)));
      return;
    }
    if (this.item !== it) return;
    const m = items.find((r) => resourceId(r) === resourceId(it));
    const live = parseState(m?.liveState);
    const desired = parseState(m?.targetState);
    const yaml = (v: unknown, none: string) => h('pre', { class: 'yaml small-pre', 'data-testid': `manifest-${this.part}` }, v === null ? none : toYaml(v));
    if (this.part === 'live') return void content.replaceChildren(yaml(live, 'Not live (missing).'));
    if (this.part === 'desired') return void content.replaceChildren(yaml(desired, m ? 'Git has no such resource: it is pruned on a sync with Prune.' : 'Not managed by the application (created by another resource).'));
    if (!m) return void content.replaceChildren(h('p', { class: 'muted', 'data-testid': 'diff-none' }, 'Not managed by the application: nothing to compare.'));
    const fields = m.modified ? changedFields(desired, parseState(m.normalizedLiveState)) : [];
    content.replaceChildren(
      m.modified
        ? h('div', { 'data-testid': 'diff-fields' }, h('h3', null, 'Changed fields'), h('ul', { class: 'fields' }, fields.map((f) => h('li', null, h('code', null, f)))))
        : h('p', { class: 'muted', 'data-testid': 'diff-none' }, 'In sync: the live object matches git.'),
      m.diff ? diffBlock(m.diff) : '',
    );
  }

  // A Pod's log, followed; `container` empty means the pod's first (the server's default).
  private followLogs(content: HTMLElement, it: TreeNode, container = ''): void {
    const log = h('div', { class: 'log', role: 'log', 'data-testid': 'pod-logs', tabindex: 0 });
    const pick = h('input', { name: 'container', 'data-testid': 'log-container', value: container, placeholder: 'first container', 'aria-label': 'container', size: 16 });
    const form = h('form', { class: 'row small' }, h('label', null, 'Container ', pick), h('button', { type: 'submit' }, 'Show'));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.stopLogs();
      this.followLogs(content, it, pick.value.trim());
    });
    content.replaceChildren(form, log);
    const ctl = new AbortController();
    this.logsAbort = ctl;
    const q = new URLSearchParams({ appNamespace: this.appNs, namespace: it.namespace ?? '', podName: it.name, follow: 'true', tailLines: '500' });
    if (container) q.set('container', container);
    stream(
      `${this.appBase}/logs?${q}`,
      (r) => {
        if (r.content === undefined || (r.last && !r.content)) return; // Argo CD ends with {last: true}
        const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
        log.append(h('div', { 'data-testid': 'log-line', title: localTime(r.timeStamp) }, r.content));
        if (stick) log.scrollTop = log.scrollHeight;
      },
      ctl.signal,
    ).then(
      () => {
        if (!log.firstChild) log.append(h('span', { class: 'muted' }, 'No log lines.'));
      },
      (e) => {
        if (isAbort(e)) return;
        log.append(h('span', { class: 'muted', 'data-testid': 'logs-none' }, notServed(e) ? 'No logs for this application.' : `Logs: ${errorText(e)}`));
      },
    );
  }

  private stopLogs(): void {
    this.logsAbort?.abort();
    this.logsAbort = null;
  }
}

// A unified diff with its added and removed lines marked (not by colour alone: the
// leading + and - stay).
export function diffBlock(text: string): HTMLElement {
  const pre = h('pre', { class: 'yaml diff', 'data-testid': 'diff-text' });
  for (const line of text.split('\n')) {
    const cls = line.startsWith('+++') || line.startsWith('---') ? 'd-file' : line.startsWith('+') ? 'd-add' : line.startsWith('-') ? 'd-del' : line.startsWith('@@') ? 'd-hunk' : '';
    pre.append(h('span', { class: cls }, line), '\n');
  }
  return pre;
}
