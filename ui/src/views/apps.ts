// The Applications list (Argo CD's): name, project, source, destination, sync status,
// health and last sync; filters by name, sync and health (kept in the query string);
// live through Argo CD's application watch stream.
import { DEFAULT_APP_NAMESPACE, appNamespace, appPath, destinationText, lastSync, listPath, sourceOf, sourceText } from '../app-model';
import { api, enc, follow } from '../api';
import { showError } from '../banner';
import { h } from '../dom';
import { ago, localTime } from '../format';
import { phaseBadge } from '../phase';
import { navigate, setQuery, type Cleanup } from '../router';
import type { Application, ListResult } from '../types';
import { askNewApp } from './app-new';
import { focusableRows } from './rows';

const SYNC = ['', 'Synced', 'OutOfSync', 'Unknown'];
const HEALTH = ['', 'Healthy', 'Progressing', 'Degraded', 'Suspended', 'Missing', 'Unknown'];

export function appsView(main: HTMLElement, query: URLSearchParams): Cleanup {
  const ns = query.get('appNamespace') || DEFAULT_APP_NAMESPACE;
  const apps = new Map<string, Application>(); // by name
  let stopped = false;
  let stopWatch = () => {};

  const select = (name: string, label: string, values: string[]) => {
    const s = h('select', { name, 'data-testid': `${name}-filter`, 'aria-label': label }, values.map((v) => h('option', { value: v }, v || `any ${name}`)));
    s.value = query.get(name) ?? '';
    return s;
  };
  const syncSel = select('sync', 'sync status', SYNC);
  const healthSel = select('health', 'health status', HEALTH);
  const search = h('input', { type: 'search', name: 'search', 'data-testid': 'name-filter', placeholder: 'filter by name', 'aria-label': 'filter by name', value: query.get('q') ?? '' });
  const nsInput = h('input', { name: 'appNamespace', 'data-testid': 'ns-input', value: ns, 'aria-label': 'application namespace', size: 12 });
  const form = h(
    'form',
    { class: 'filters row', role: 'search' },
    h('label', null, 'Namespace ', nsInput),
    h('button', { type: 'submit', 'data-testid': 'ns-apply' }, 'Show'),
    h('label', null, 'Sync ', syncSel),
    h('label', null, 'Health ', healthSel),
    h('label', null, 'Name ', search),
  );
  const tbody = h('tbody');
  const head = ['Name', 'Project', 'Source', 'Destination', 'Sync', 'Health', 'Last sync'];
  const table = h('table', { class: 'list', 'data-testid': 'app-table' }, h('thead', null, h('tr', null, head.map((t) => h('th', null, t)))), tbody);
  const empty = h('p', { class: 'muted', hidden: true, 'data-testid': 'empty' }, 'No applications.');
  const live = h('span', { class: 'live muted', 'data-testid': 'live' }, '');
  const create = () => askNewApp(ns).then((made) => made && navigate(made));
  const newApp = h('button', { class: 'primary', 'data-testid': 'new-app', onclick: create }, 'New app');
  main.append(h('div', { class: 'page-head' }, h('div', { class: 'title-row' }, h('h1', null, 'Applications'), newApp, live), form), table, empty);
  focusableRows(tbody, (tr) => navigate(`/applications/${enc(tr.dataset.ns!)}/${enc(tr.dataset.name!)}`));

  const onFilter = () => {
    const q = new URLSearchParams();
    if (ns !== DEFAULT_APP_NAMESPACE) q.set('appNamespace', ns);
    if (syncSel.value) q.set('sync', syncSel.value);
    if (healthSel.value) q.set('health', healthSel.value);
    if (search.value.trim()) q.set('q', search.value.trim());
    setQuery(q);
    draw();
  };
  for (const el of [syncSel, healthSel]) el.addEventListener('change', onFilter);
  search.addEventListener('input', onFilter);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    navigate(listPath(nsInput.value.trim() || DEFAULT_APP_NAMESPACE));
  });

  function row(app: Application): HTMLTableRowElement {
    const st = app.status ?? {};
    const sync = st.sync?.status || 'Unknown';
    const health = st.health?.status || 'Unknown';
    const src = sourceOf(app);
    const when = lastSync(app);
    return h(
      'tr',
      { tabindex: 0, 'data-testid': 'app-row', 'data-name': app.metadata.name, 'data-ns': appNamespace(app), 'data-sync': sync, 'data-health': health },
      h('td', null, h('a', { href: appPath(app), tabindex: -1 }, app.metadata.name)),
      h('td', null, app.spec.project || 'default'),
      h('td', { class: 'msg', title: sourceText(src) }, sourceText(src), src?.targetRevision ? h('span', { class: 'muted' }, ` @ ${src.targetRevision}`) : null),
      h('td', null, destinationText(app)),
      h('td', null, phaseBadge(sync)),
      h('td', { title: st.health?.message ?? '' }, phaseBadge(health)),
      h('td', { title: localTime(when) }, ago(when)),
    );
  }

  // Rows are made again only for apps that changed (a stream of 1,000 apps redraws often).
  const rows = new Map<string, { app: Application; tr: HTMLTableRowElement }>();
  function rowOf(app: Application): HTMLTableRowElement {
    const known = rows.get(app.metadata.name);
    if (known?.app === app) return known.tr;
    const tr = row(app);
    rows.set(app.metadata.name, { app, tr });
    return tr;
  }

  function draw(): void {
    const q = search.value.trim().toLowerCase();
    const want = [...apps.values()]
      .filter((a) => !q || a.metadata.name.toLowerCase().includes(q))
      .filter((a) => !syncSel.value || (a.status?.sync?.status || 'Unknown') === syncSel.value)
      .filter((a) => !healthSel.value || (a.status?.health?.status || 'Unknown') === healthSel.value)
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    const focused = (document.activeElement as HTMLElement | null)?.dataset?.name;
    tbody.replaceChildren(...want.map(rowOf));
    if (focused) tbody.querySelector<HTMLElement>(`tr[data-name="${CSS.escape(focused)}"]`)?.focus();
    empty.hidden = want.length > 0;
  }

  async function load(): Promise<void> {
    try {
      const res = await api<ListResult<Application>>('GET', `/api/v1/applications?appNamespace=${enc(ns)}`);
      if (stopped) return;
      apps.clear();
      for (const a of res.items ?? []) apps.set(a.metadata.name, a);
      draw();
    } catch (e) {
      showError(e, 'list applications');
    }
  }

  // Argo CD's watch stream: an ADDED for every application first, then every change.
  function watch(): void {
    let pending = false;
    const onItem = (r: any) => {
      const a = r.application as Application | undefined;
      if (!a?.metadata) return;
      const name = a.metadata.name;
      if (r.type === 'DELETED') {
        apps.delete(name);
        rows.delete(name);
      } else if (apps.get(name)?.metadata.resourceVersion !== a.metadata.resourceVersion) apps.set(name, a);
      else return;
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        if (!stopped) draw();
      });
    };
    stopWatch = follow(`/api/v1/stream/applications?appNamespace=${enc(ns)}`, onItem, (on) => (live.textContent = on ? '● live' : ''));
  }

  // "Last sync" ages: every row is made again.
  const ticker = window.setInterval(() => (rows.clear(), draw()), 30000);
  load().then(() => watch());
  return () => {
    stopped = true;
    stopWatch();
    window.clearInterval(ticker);
  };
}
