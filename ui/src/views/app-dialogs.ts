// The application page's dialogs: Sync (prune, dry run, apply out of sync only, the
// resources to sync) and Delete (cascade or not). Each resolves with the request body's
// parts, or null when cancelled.
import { resourceId } from '../app-model';
import { h } from '../dom';
import { phaseBadge } from '../phase';
import type { AppResource, ResourceKey } from '../types';

export interface SyncChoice {
  prune: boolean;
  dryRun: boolean;
  revision: string;
  syncOptions: string[];
  resources: ResourceKey[] | null; // null: all of them
}

function modal(testid: string, form: HTMLFormElement, onSubmit: () => void, resolveNull: () => void): HTMLDialogElement {
  const dlg = h('dialog', { class: 'modal wide', 'data-testid': testid }, form);
  let submitted = false;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submitted = true;
    dlg.close();
    onSubmit();
  });
  dlg.addEventListener('close', () => {
    dlg.remove();
    if (!submitted) resolveNull();
  });
  document.body.appendChild(dlg);
  dlg.showModal();
  return dlg;
}

const check = (name: string, label: string, on = false) => {
  const input = h('input', { type: 'checkbox', name, 'data-testid': `sync-${name}`, checked: on });
  return { input, label: h('label', { class: 'check' }, input, ' ', label) };
};

export function askSync(appName: string, resources: AppResource[], targetRevision: string): Promise<SyncChoice | null> {
  return new Promise((resolve) => {
    const prune = check('prune', 'Prune: delete resources git no longer has');
    const dryRun = check('dry-run', 'Dry run: check only, change nothing');
    const outOfSyncOnly = check('apply-out-of-sync-only', 'Apply out of sync only');
    const revision = h('input', { name: 'revision', 'data-testid': 'sync-revision', value: targetRevision || 'HEAD', 'aria-label': 'revision' });
    const boxes = resources.map((r) =>
      h('input', { type: 'checkbox', checked: true, 'data-testid': 'sync-resource', 'data-id': resourceId(r), 'aria-label': `${r.kind} ${r.name}` }),
    );
    const set = (pick: (r: AppResource) => boolean) => boxes.forEach((b, i) => (b.checked = pick(resources[i])));
    const list = h(
      'ul',
      { class: 'resource-list', 'aria-label': 'resources to sync' },
      resources.map((r, i) =>
        h('li', null, h('label', { class: 'check' }, boxes[i], ' ', h('span', { class: 'muted' }, r.kind), ' ', r.name, r.namespace ? h('span', { class: 'muted' }, ` (${r.namespace})`) : null), ' ', phaseBadge(r.status || 'Unknown')),
      ),
    );
    const form = h(
      'form',
      { class: 'stack', 'data-testid': 'sync-form' },
      h('h2', null, `Sync ${appName}`),
      h('label', null, 'Revision', revision),
      h('fieldset', { class: 'stack tight' }, h('legend', null, 'Options'), prune.label, dryRun.label, outOfSyncOnly.label),
      h(
        'fieldset',
        { class: 'stack tight' },
        h('legend', null, 'Resources'),
        h(
          'div',
          { class: 'row' },
          h('button', { type: 'button', 'data-testid': 'sync-select-all', onclick: () => set(() => true) }, 'All'),
          h('button', { type: 'button', 'data-testid': 'sync-select-none', onclick: () => set(() => false) }, 'None'),
          h('button', { type: 'button', 'data-testid': 'sync-select-out-of-sync', onclick: () => set((r) => r.status === 'OutOfSync') }, 'Out of sync'),
        ),
        resources.length ? list : h('p', { class: 'muted' }, 'No resources yet: the sync applies what git holds.'),
      ),
      h('div', { class: 'row end' }, h('button', { type: 'button', 'data-testid': 'sync-cancel', onclick: () => dlg.close() }, 'Cancel'), h('button', { type: 'submit', class: 'primary', 'data-testid': 'sync-submit' }, 'Synchronize')),
    );
    const dlg = modal(
      'sync-dialog',
      form,
      () => {
        const chosen = resources.filter((_, i) => boxes[i].checked);
        const key = ({ group, kind, namespace, name }: AppResource): ResourceKey => ({ group: group ?? '', kind, namespace: namespace ?? '', name });
        resolve({
          prune: prune.input.checked,
          dryRun: dryRun.input.checked,
          revision: revision.value.trim(),
          syncOptions: outOfSyncOnly.input.checked ? ['ApplyOutOfSyncOnly=true'] : [],
          resources: chosen.length === resources.length ? null : chosen.map(key),
        });
      },
      () => resolve(null),
    );
    (dlg.querySelector('[data-testid=sync-submit]') as HTMLElement).focus();
  });
}

// Resolves with whether to cascade (delete the app's resources too), or null.
export function askDelete(appName: string): Promise<boolean | null> {
  return new Promise((resolve) => {
    const cascade = h('input', { type: 'checkbox', name: 'cascade', 'data-testid': 'delete-cascade', checked: true });
    const form = h(
      'form',
      { class: 'stack' },
      h('h2', null, `Delete ${appName}?`),
      h('label', { class: 'check' }, cascade, ' Cascade: delete the resources the application made too'),
      h('p', { class: 'muted' }, 'Without cascade the application goes and its resources stay.'),
      h('div', { class: 'row end' }, h('button', { type: 'button', 'data-testid': 'confirm-cancel', onclick: () => dlg.close() }, 'Cancel'), h('button', { type: 'submit', class: 'danger', 'data-testid': 'confirm-ok' }, 'Delete')),
    );
    const dlg = modal('confirm-dialog', form, () => resolve(cascade.checked), () => resolve(null));
    (dlg.querySelector('[data-testid=confirm-cancel]') as HTMLElement).focus();
  });
}
