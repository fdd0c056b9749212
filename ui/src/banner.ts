// The error banner at the top of the page: API errors shown plainly, dismissible.
import { ApiError, isAbort } from './api';
import { h } from './dom';

let host: HTMLElement;

export function mountBanner(el: HTMLElement): void {
  host = el;
}

// An error as the page shows it: the server's message, code and HTTP status.
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return `${e.message}${e.code !== undefined ? ` (code ${e.code}, HTTP ${e.status})` : ` (HTTP ${e.status})`}`;
  return e instanceof Error ? e.message : String(e);
}

export function showError(e: unknown, context?: string): void {
  if (isAbort(e)) return;
  let text = errorText(e);
  if (context) text = `${context}: ${text}`;
  const close = h('button', { class: 'icon-btn', 'aria-label': 'dismiss', onclick: () => clearError() }, '×');
  host.replaceChildren(h('div', { class: 'error', role: 'alert', 'data-testid': 'error' }, h('span', null, text), close));
}

export function clearError(): void {
  host?.replaceChildren();
}
