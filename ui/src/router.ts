// Client-side routes over the history API. A view draws itself into the main element and
// returns what to do when the page is left (stop polls, close streams).
import { clearError } from './banner';

export type Cleanup = () => void;
export type View = (main: HTMLElement, params: string[], query: URLSearchParams) => Cleanup | void;

const routes: Array<[RegExp, View]> = [];
let main: HTMLElement;
let cleanup: Cleanup | void;
let notFound: View;

export function route(pattern: RegExp, view: View): void {
  routes.push([pattern, view]);
}

export function navigate(url: string, replace = false): void {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render();
}

// Changes the query string without drawing the page again (filters, tabs).
export function setQuery(q: URLSearchParams): void {
  const s = q.toString();
  history.replaceState(null, '', location.pathname + (s ? '?' + s : ''));
}

function render(): void {
  if (cleanup) cleanup();
  cleanup = undefined;
  clearError();
  main.replaceChildren();
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const query = new URLSearchParams(location.search);
  for (const [re, view] of routes) {
    const m = re.exec(path);
    if (m) {
      cleanup = view(main, m.slice(1).map(decodeURIComponent), query);
      markCurrentNav(path);
      return;
    }
  }
  cleanup = notFound(main, [path], query);
}

function markCurrentNav(path: string): void {
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a[data-nav]')) {
    const on = path === a.dataset.nav || path.startsWith(a.dataset.nav + '/') || (a.dataset.nav === '/workflows' && path === '/');
    if (on) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

export function startRouter(el: HTMLElement, fallback: View): void {
  main = el;
  notFound = fallback;
  window.addEventListener('popstate', render);
  document.addEventListener('click', (e) => {
    const a = (e.target as Element | null)?.closest?.('a');
    if (!a || a.target || a.hasAttribute('download') || a.origin !== location.origin) return;
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    if (a.pathname.startsWith('/api/')) return;
    e.preventDefault();
    navigate(a.pathname + a.search);
  });
  render();
}
