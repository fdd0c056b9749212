// What the Applications pages compute from Argo CD's objects: resource keys, the
// application's source and destination as text, and which fields a diff changes.
import type { Application, AppSource, ResourceKey } from './types';

// Applications live in Argo CD's namespace unless they name another.
export const DEFAULT_APP_NAMESPACE = 'argocd';

// group/kind/namespace/name: one resource of an application, whichever view names it.
export function resourceId(r: ResourceKey): string {
  return `${r.group ?? ''}/${r.kind}/${r.namespace ?? ''}/${r.name}`;
}

// The Applications list of a namespace.
export function listPath(ns: string): string {
  return ns === DEFAULT_APP_NAMESPACE ? '/applications' : `/applications?appNamespace=${encodeURIComponent(ns)}`;
}

export function appNamespace(app: Application): string {
  return app.metadata.namespace || DEFAULT_APP_NAMESPACE;
}

export function appPath(app: Application): string {
  return `/applications/${encodeURIComponent(appNamespace(app))}/${encodeURIComponent(app.metadata.name)}`;
}

export function sourceOf(app: Application): AppSource | undefined {
  return app.spec.source ?? app.spec.sources?.[0];
}

export function sourceText(s: AppSource | undefined): string {
  if (!s) return '';
  return s.chart ? `${s.repoURL} (chart ${s.chart})` : `${s.repoURL}${s.path ? ' · ' + s.path : ''}`;
}

export function destinationText(app: Application): string {
  const d = app.spec.destination ?? {};
  return `${d.name || d.server || ''}${d.namespace ? ' / ' + d.namespace : ''}`;
}

export function shortRevision(rev: string | undefined): string {
  return rev && /^[0-9a-f]{40}$/.test(rev) ? rev.slice(0, 7) : rev ?? '';
}

// When the application last finished a sync: its operation's end, else the newest history entry.
export function lastSync(app: Application): string | undefined {
  const st = app.status ?? {};
  return st.operationState?.finishedAt ?? st.history?.[st.history.length - 1]?.deployedAt;
}

// The fields `desired` sets that `live` lacks or holds differently, as dotted paths
// (spec.templates[0].container.command[1]). `live` is the normalized live state (only
// the fields git sets), so what the server adds is not listed.
//   desired {a: {b: 1, c: [1, 2]}}, live {a: {b: 1, c: [1, 3]}}  ->  ["a.c[1]"]
export function changedFields(desired: unknown, live: unknown, path = '', out: string[] = []): string[] {
  if (out.length >= 50) return out;
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(desired) && isObj(live)) {
    for (const k of Object.keys(desired)) changedFields(desired[k], live[k], path ? `${path}.${k}` : k, out);
  } else if (Array.isArray(desired) && Array.isArray(live) && desired.length === live.length) {
    desired.forEach((d, i) => changedFields(d, live[i], `${path}[${i}]`, out));
  } else if (JSON.stringify(desired) !== JSON.stringify(live)) {
    out.push(path || '(the whole object)');
  }
  return out;
}

export function parseState(text: string | undefined): unknown {
  if (!text || text === 'null') return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
