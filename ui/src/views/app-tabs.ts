// The application page's Diff, History and Events tabs, each drawn into its pane from
// what the page read.
import { changedFields, parseState, resourceId, shortRevision } from '../app-model';
import { api, notServed } from '../api';
import { errorText } from '../banner';
import { h, type Child } from '../dom';
import { ago, localTime } from '../format';
import type { Application, ManagedResource } from '../types';
import { diffBlock } from './app-panel';

function table(head: string[], rows: Child[]): HTMLTableElement {
  return h('table', { class: 'list' }, h('thead', null, h('tr', null, head.map((t) => h('th', null, t)))), h('tbody', null, rows));
}

const none = (testid: string, text: string) => h('p', { class: 'muted', 'data-testid': testid }, text);

// Every resource that differs from git: its changed fields and unified diff.
export async function drawDiffTab(pane: HTMLElement, managed: Promise<ManagedResource[]>, shown: () => boolean): Promise<void> {
  pane.replaceChildren(h('p', { class: 'muted' }, 'Comparing with git…'));
  let items: ManagedResource[];
  try {
    items = (await managed).filter((m) => m.modified);
  } catch (e) {
    return void pane.replaceChildren(h('p', { class: 'message p-Failed', 'data-testid': 'diff-error' }, errorText(e)));
  }
  if (!shown()) return;
  if (!items.length) return void pane.replaceChildren(none('diff-none', 'No differences: every resource matches git.'));
  pane.replaceChildren(
    ...items.map((m) =>
      h(
        'section',
        { class: 'card', 'data-testid': 'diff-item', 'data-id': resourceId(m) },
        h('h2', null, h('span', { class: 'muted' }, m.kind, ' '), m.name),
        h('p', { class: 'small' }, 'Changed: ', changedFields(parseState(m.targetState), parseState(m.normalizedLiveState)).map((f) => h('code', { class: 'label' }, f))),
        m.diff ? diffBlock(m.diff) : null,
      ),
    ),
  );
}

// status.history, newest first, with Rollback on the older entries (not while automated
// sync is on: the API refuses it).
export function drawHistoryTab(pane: HTMLElement, app: Application, rollback: (id: number, revision?: string) => void): void {
  const hist = [...(app.status?.history ?? [])].reverse();
  if (!hist.length) return void pane.replaceChildren(none('history-empty', 'Not synced yet.'));
  const auto = !!app.spec.syncPolicy?.automated;
  const rows = hist.map((e, i) =>
    h(
      'tr',
      { 'data-testid': 'history-row', 'data-id': e.id, 'data-revision': e.revision ?? '' },
      h('td', null, String(e.id)),
      h('td', null, h('code', { title: e.revision ?? '' }, shortRevision(e.revision))),
      h('td', { title: localTime(e.deployedAt) }, ago(e.deployedAt)),
      h('td', { class: 'msg' }, e.source?.path ?? ''),
      h('td', null, e.initiatedBy?.automated ? 'automated' : e.initiatedBy?.username ?? ''),
      h(
        'td',
        null,
        i === 0
          ? h('span', { class: 'muted' }, 'current')
          : h('button', { 'data-testid': 'action-rollback', disabled: auto, title: auto ? 'turn automated sync off to roll back' : '', onclick: () => rollback(e.id, e.revision) }, 'Rollback'),
      ),
    ),
  );
  pane.replaceChildren(table(['ID', 'Revision', 'Deployed', 'Source', 'By', ''], rows));
}

// The application's events (a Kubernetes EventList), newest first.
export async function drawEventsTab(pane: HTMLElement, path: string): Promise<void> {
  let items: any[];
  try {
    items = (await api<{ items?: any[] }>('GET', path)).items ?? [];
  } catch (e) {
    if (notServed(e)) items = [];
    else return void pane.replaceChildren(h('p', { class: 'message p-Failed' }, errorText(e)));
  }
  const when = (ev: any): string => ev.lastTimestamp ?? ev.eventTime ?? ev.firstTimestamp ?? '';
  items.sort((a, b) => when(b).localeCompare(when(a)));
  if (!items.length) return void pane.replaceChildren(none('events-none', 'No events for this application.'));
  const rows = items.map((ev) =>
    h(
      'tr',
      { 'data-testid': 'event-row', 'data-reason': ev.reason ?? '' },
      h('td', { title: localTime(when(ev)) }, ago(when(ev))),
      h('td', null, ev.type ?? ''),
      h('td', null, ev.reason ?? ''),
      h('td', null, `${ev.involvedObject?.kind ?? ''} ${ev.involvedObject?.name ?? ''}`),
      h('td', { class: 'msg-wrap' }, ev.message ?? ''),
    ),
  );
  pane.replaceChildren(table(['When', 'Type', 'Reason', 'Object', 'Message'], rows));
}
