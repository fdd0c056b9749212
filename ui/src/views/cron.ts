// CronWorkflows: the list (schedule, time zone, suspended, last and next run) with
// suspend/resume, and a detail page with its recent workflows and YAML.
import { api, enc } from '../api';
import { showError } from '../banner';
import { nextRun } from '../cron';
import { confirmAction } from '../dialogs';
import { h } from '../dom';
import { ago, localTime } from '../format';
import { rememberNamespace } from '../ns';
import { phaseBadge } from '../phase';
import { navigate, type Cleanup } from '../router';
import type { ListResult, Workflow } from '../types';
import { toYaml } from '../yaml';
import { focusableRows } from './rows';

interface Cron {
  metadata: { name: string; namespace?: string; creationTimestamp?: string };
  spec: { schedule?: string; schedules?: string[]; timezone?: string; suspend?: boolean; concurrencyPolicy?: string };
  status?: { lastScheduledTime?: string; active?: unknown[]; phase?: string; conditions?: Array<{ type?: string; message?: string }> };
}

function schedules(c: Cron): string[] {
  return c.spec.schedules?.length ? c.spec.schedules : c.spec.schedule ? [c.spec.schedule] : [];
}

function next(c: Cron): string {
  if (c.spec.suspend) return 'suspended';
  let best: Date | null = null;
  for (const s of schedules(c)) {
    const d = nextRun(s, c.spec.timezone);
    if (d && (!best || d < best)) best = d;
  }
  return best ? `${best.toLocaleString()} (${ago(best.toISOString())})` : '—';
}

async function toggle(c: Cron, done: () => void): Promise<void> {
  const verb = c.spec.suspend ? 'resume' : 'suspend';
  try {
    await api('PUT', `/api/v1/cron-workflows/${enc(c.metadata.namespace ?? '')}/${enc(c.metadata.name)}/${verb}`, {});
    done();
  } catch (e) {
    showError(e, verb);
  }
}

function toggleButton(c: Cron, done: () => void): HTMLButtonElement {
  const verb = c.spec.suspend ? 'resume' : 'suspend';
  return h('button', { 'data-testid': `action-${verb}`, onclick: (e: Event) => (e.stopPropagation(), toggle(c, done)) }, c.spec.suspend ? 'Resume' : 'Suspend');
}

export function cronListView(main: HTMLElement, ns: string): Cleanup {
  rememberNamespace(ns);
  let stopped = false;
  const nsInput = h('input', { name: 'namespace', 'data-testid': 'ns-input', value: ns, 'aria-label': 'namespace', size: 12 });
  const form = h('form', { class: 'filters row' }, h('label', null, 'Namespace ', nsInput), h('button', { type: 'submit' }, 'Show'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    navigate(`/cron-workflows/${enc(nsInput.value.trim() || ns)}`);
  });
  const tbody = h('tbody');
  const empty = h('p', { class: 'muted', hidden: true, 'data-testid': 'empty' }, 'No cron workflows in this namespace.');
  main.append(
    h('div', { class: 'page-head' }, h('div', { class: 'title-row' }, h('h1', null, 'Cron workflows')), form),
    h(
      'table',
      { class: 'list' },
      h('thead', null, h('tr', null, ['Name', 'Schedule', 'Time zone', 'Suspended', 'Last run', 'Next run', 'Active', ''].map((t) => h('th', null, t)))),
      tbody,
    ),
    empty,
    h('p', { class: 'muted small' }, 'Next run is worked out here from the schedule; the server does not report it.'),
  );
  focusableRows(tbody, (tr) => navigate(`/cron-workflows/${enc(ns)}/${enc(tr.dataset.name!)}`));
  const load = () =>
    api<ListResult<Cron>>('GET', `/api/v1/cron-workflows/${enc(ns)}`)
      .then((res) => {
        if (stopped) return;
        const items = (res.items ?? []).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
        empty.hidden = items.length > 0;
        tbody.replaceChildren(
          ...items.map((c) =>
            h(
              'tr',
              { tabindex: 0, 'data-testid': 'cron-row', 'data-name': c.metadata.name, 'data-suspended': String(!!c.spec.suspend) },
              h('td', null, h('a', { href: `/cron-workflows/${enc(ns)}/${enc(c.metadata.name)}`, tabindex: -1 }, c.metadata.name)),
              h('td', null, h('code', null, schedules(c).join('; '))),
              h('td', null, c.spec.timezone || 'server local'),
              h('td', null, c.spec.suspend ? '‖ yes' : 'no'),
              h('td', { title: localTime(c.status?.lastScheduledTime) }, c.status?.lastScheduledTime ? ago(c.status.lastScheduledTime) : 'never'),
              h('td', null, next(c)),
              h('td', { class: 'num' }, String(c.status?.active?.length ?? 0)),
              h('td', null, toggleButton(c, load)),
            ),
          ),
        );
      })
      .catch((e) => showError(e, 'list cron workflows'));
  load();
  const timer = window.setInterval(load, 10000);
  return () => {
    stopped = true;
    window.clearInterval(timer);
  };
}

export function cronView(main: HTMLElement, ns: string, name: string): Cleanup {
  let stopped = false;
  const path = `/api/v1/cron-workflows/${enc(ns)}/${enc(name)}`;
  const body = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  main.append(
    h('header', { class: 'page-head' }, h('nav', { class: 'crumbs' }, h('a', { href: `/cron-workflows/${enc(ns)}` }, 'Cron workflows'), ' / ', ns), h('div', { class: 'title-row' }, h('h1', null, name))),
    body,
  );
  const load = async () => {
    try {
      const [c, runs] = await Promise.all([
        api<Cron>('GET', path),
        api<ListResult<Workflow>>('GET', `/api/v1/workflows/${enc(ns)}?listOptions.limit=20&listOptions.labelSelector=${enc('workflows.argoproj.io/cron-workflow=' + name)}`),
      ]);
      if (stopped) return;
      const del = h('button', { class: 'danger-outline', 'data-testid': 'action-delete', onclick: () => remove() }, 'Delete');
      body.replaceChildren(
        h(
          'table',
          { class: 'kv' },
          h(
            'tbody',
            null,
            h('tr', null, h('th', null, 'Schedule'), h('td', null, h('code', null, schedules(c).join('; ')))),
            h('tr', null, h('th', null, 'Time zone'), h('td', null, c.spec.timezone || 'server local')),
            h('tr', null, h('th', null, 'Suspended'), h('td', null, c.spec.suspend ? 'yes' : 'no')),
            h('tr', null, h('th', null, 'Last run'), h('td', null, localTime(c.status?.lastScheduledTime) || 'never')),
            h('tr', null, h('th', null, 'Next run'), h('td', null, next(c))),
            c.status?.conditions?.length ? h('tr', null, h('th', null, 'Conditions'), h('td', null, c.status.conditions.map((x) => h('div', null, `${x.type}: ${x.message}`)))) : null,
          ),
        ),
        h('div', { class: 'row' }, toggleButton(c, load), del),
        h('h2', null, 'Recent workflows'),
        h(
          'table',
          { class: 'list' },
          h(
            'tbody',
            null,
            (runs.items ?? []).map((w) => h('tr', null, h('td', null, phaseBadge(w.status?.phase)), h('td', null, h('a', { href: `/workflows/${enc(ns)}/${enc(w.metadata.name)}` }, w.metadata.name)), h('td', null, ago(w.status?.startedAt)))),
          ),
        ),
        h('h2', null, 'YAML'),
        h('pre', { class: 'yaml', 'data-testid': 'yaml', tabindex: 0 }, toYaml(c)),
      );
    } catch (e) {
      showError(e, `cron workflow ${name}`);
    }
  };
  async function remove(): Promise<void> {
    if (!(await confirmAction('Delete this cron workflow?', `${ns}/${name} and the workflows it created are removed.`, 'Delete', true))) return;
    try {
      await api('DELETE', path);
      navigate(`/cron-workflows/${enc(ns)}`);
    } catch (e) {
      showError(e, 'delete');
    }
  }
  load();
  return () => {
    stopped = true;
  };
}
