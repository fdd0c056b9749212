// The namespace the views start in, remembered across visits.
const KEY = 'skiff.namespace';

export function currentNamespace(): string {
  return localStorage.getItem(KEY) || 'argo';
}

export function rememberNamespace(ns: string): void {
  if (ns) localStorage.setItem(KEY, ns);
}
