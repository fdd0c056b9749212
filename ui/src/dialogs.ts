// Modal dialogs built on <dialog>: the login form (asked for on any 401) and the
// confirmation asked before an action that changes or ends a workflow.
import { setToken } from './api';
import { h } from './dom';

export function askToken(reason: string): Promise<void> {
  return new Promise((resolve) => {
    const input = h('input', { type: 'password', name: 'token', autocomplete: 'off', required: true, 'aria-label': 'token', placeholder: 'token from `skiff token create`' });
    const form = h(
      'form',
      { class: 'stack', 'data-testid': 'login-form', method: 'dialog' },
      h('h2', null, 'Log in'),
      h('p', { class: 'muted' }, reason),
      h('label', null, 'Bearer token', input),
      h('div', { class: 'row end' }, h('button', { type: 'submit', class: 'primary', 'data-testid': 'login-submit' }, 'Log in')),
    );
    const dlg = h('dialog', { class: 'modal' }, form);
    dlg.addEventListener('cancel', (e) => e.preventDefault()); // a token is needed to go on
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!input.value.trim()) return;
      setToken(input.value);
      dlg.close();
      dlg.remove();
      resolve();
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    input.focus();
  });
}

export function confirmAction(title: string, detail: string, okText: string, danger = false): Promise<boolean> {
  return new Promise((resolve) => {
    let answer = false;
    const ok = h('button', { type: 'submit', class: danger ? 'danger' : 'primary', 'data-testid': 'confirm-ok', value: 'ok' }, okText);
    const cancel = h('button', { type: 'button', 'data-testid': 'confirm-cancel', onclick: () => dlg.close() }, 'Cancel');
    const form = h('form', { method: 'dialog', class: 'stack' }, h('h2', null, title), h('p', null, detail), h('div', { class: 'row end' }, cancel, ok));
    const dlg = h('dialog', { class: 'modal', 'data-testid': 'confirm-dialog' }, form);
    form.addEventListener('submit', () => (answer = true));
    dlg.addEventListener('close', () => {
      dlg.remove();
      resolve(answer);
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    ok.focus();
  });
}
