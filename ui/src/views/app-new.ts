// The "New app" dialog of the Applications list: the fields `skiff app create` (and Argo
// CD's form) asks for, sent as an Application; the server's error shows in the dialog,
// which stays open to fix it. Resolves with the created application's page, or null.
import { api } from '../api';
import { appPath } from '../app-model';
import { errorText } from '../banner';
import { h } from '../dom';
import type { Application } from '../types';

export function askNewApp(appNamespace: string): Promise<string | null> {
  return new Promise((resolve) => {
    const field = (name: string, label: string, value = '', required = true) => {
      const input = h('input', { name, value, required, 'data-testid': `new-${name}`, autocomplete: 'off' });
      return { input, label: h('label', null, label, input) };
    };
    const name = field('name', 'Name');
    const project = field('project', 'Project', 'default');
    const repo = field('repoURL', 'Repository URL');
    const path = field('path', 'Path', '', false);
    const revision = field('targetRevision', 'Revision', 'HEAD');
    const server = field('server', 'Cluster URL', 'https://kubernetes.default.svc');
    const namespace = field('namespace', 'Namespace', '', false);
    const auto = h('input', { type: 'checkbox', name: 'automated', 'data-testid': 'new-automated' });
    const error = h('p', { class: 'message p-Failed', hidden: true, 'data-testid': 'new-error', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'new-submit' }, 'Create');
    const form = h(
      'form',
      { class: 'stack', 'data-testid': 'new-app-form' },
      h('h2', null, 'New application'),
      name.label,
      project.label,
      h('fieldset', { class: 'stack tight' }, h('legend', null, 'Source'), repo.label, path.label, revision.label),
      h('fieldset', { class: 'stack tight' }, h('legend', null, 'Destination'), server.label, namespace.label),
      h('label', { class: 'check' }, auto, ' Automated sync (prune and self-heal)'),
      error,
      h('div', { class: 'row end' }, h('button', { type: 'button', onclick: () => dlg.close() }, 'Cancel'), submit),
    );
    const dlg = h('dialog', { class: 'modal wide', 'data-testid': 'new-app-dialog' }, form);
    let created: string | null = null;
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const app: Application = {
        metadata: { name: name.input.value.trim(), namespace: appNamespace },
        spec: {
          project: project.input.value.trim() || 'default',
          source: { repoURL: repo.input.value.trim(), path: path.input.value.trim() || undefined, targetRevision: revision.input.value.trim() || 'HEAD' },
          destination: { server: server.input.value.trim(), namespace: namespace.input.value.trim() || undefined },
          syncPolicy: auto.checked ? { automated: { prune: true, selfHeal: true } } : undefined,
        },
      };
      submit.disabled = true;
      try {
        const made = await api<Application>('POST', `/api/v1/applications?appNamespace=${encodeURIComponent(appNamespace)}`, { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', ...app });
        created = appPath(made.metadata ? made : app);
        dlg.close();
      } catch (err) {
        error.hidden = false;
        error.textContent = errorText(err);
        submit.disabled = false;
      }
    });
    dlg.addEventListener('close', () => {
      dlg.remove();
      resolve(created);
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    name.input.focus();
  });
}
