// WorkflowTemplates and ClusterWorkflowTemplates: lists, and a detail page with the
// submit form (built from spec.arguments.parameters), a graph of the entrypoint and the
// YAML.
import { api, enc } from '../api';
import { clearError, showError } from '../banner';
import { confirmAction } from '../dialogs';
import { h } from '../dom';
import { ago, localTime } from '../format';
import { layout } from '../graph/layout';
import { buildGraph } from '../graph/model';
import { GraphView } from '../graph/view';
import { rememberNamespace } from '../ns';
import { navigate, type Cleanup } from '../router';
import type { ListResult, Parameter, WfNode, Workflow } from '../types';
import { toYaml } from '../yaml';
import { focusableRows } from './rows';

interface Template {
  metadata: { name: string; namespace?: string; creationTimestamp?: string; labels?: Record<string, string> };
  spec: any;
}

function detailPath(t: Template, cluster: boolean): string {
  return cluster ? `/cluster-workflow-templates/${enc(t.metadata.name)}` : `/workflow-templates/${enc(t.metadata.namespace ?? '')}/${enc(t.metadata.name)}`;
}

export function templatesView(main: HTMLElement, ns: string, cluster: boolean): Cleanup {
  if (!cluster) rememberNamespace(ns);
  let stopped = false;
  const nsInput = h('input', { name: 'namespace', 'data-testid': 'ns-input', value: ns, 'aria-label': 'namespace', size: 12 });
  const form = h('form', { class: 'filters row' }, h('label', null, 'Namespace ', nsInput), h('button', { type: 'submit' }, 'Show'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    navigate(`/workflow-templates/${enc(nsInput.value.trim() || ns)}`);
  });
  const tbody = h('tbody');
  const empty = h('p', { class: 'muted', hidden: true, 'data-testid': 'empty' }, cluster ? 'No cluster workflow templates.' : 'No workflow templates in this namespace.');
  main.append(
    h(
      'div',
      { class: 'page-head' },
      h('div', { class: 'title-row' }, h('h1', null, cluster ? 'Cluster workflow templates' : 'Workflow templates')),
      cluster ? h('p', null, h('a', { href: '/workflow-templates' }, 'Namespaced templates →')) : h('div', { class: 'row' }, form, h('a', { href: '/cluster-workflow-templates' }, 'Cluster templates →')),
    ),
    h(
      'table',
      { class: 'list' },
      h('thead', null, h('tr', null, h('th', null, 'Name'), cluster ? null : h('th', null, 'Namespace'), h('th', null, 'Entrypoint'), h('th', null, 'Parameters'), h('th', null, 'Created'))),
      tbody,
    ),
    empty,
  );
  focusableRows(tbody, (tr) => navigate(tr.dataset.href!));
  const path = cluster ? '/api/v1/cluster-workflow-templates' : `/api/v1/workflow-templates/${enc(ns)}`;
  api<ListResult<Template>>('GET', path)
    .then((res) => {
      if (stopped) return;
      const items = (res.items ?? []).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
      empty.hidden = items.length > 0;
      tbody.replaceChildren(
        ...items.map((t) =>
          h(
            'tr',
            { tabindex: 0, 'data-testid': 'tmpl-row', 'data-name': t.metadata.name, 'data-href': detailPath(t, cluster) },
            h('td', null, h('a', { href: detailPath(t, cluster), tabindex: -1 }, t.metadata.name)),
            cluster ? null : h('td', null, t.metadata.namespace ?? ''),
            h('td', null, t.spec?.entrypoint ?? ''),
            h('td', null, (t.spec?.arguments?.parameters ?? []).map((p: Parameter) => p.name).join(', ')),
            h('td', { title: localTime(t.metadata.creationTimestamp) }, ago(t.metadata.creationTimestamp)),
          ),
        ),
      );
    })
    .catch((e) => showError(e, 'list templates'));
  return () => {
    stopped = true;
  };
}

// A drawing of one template: a DAG's tasks with their dependencies, or steps in their
// groups, as synthetic nodes for the graph view.
export function templateNodes(spec: any, entry: string): Record<string, WfNode> {
  const nodes: Record<string, WfNode> = {};
  const tmpl = (spec?.templates ?? []).find((t: any) => t.name === entry);
  const root: WfNode = { id: 'root', name: entry, displayName: entry, type: tmpl?.dag ? 'DAG' : tmpl?.steps ? 'Steps' : 'Pod', templateName: entry, phase: 'Template', children: [] };
  nodes.root = root;
  if (tmpl?.dag) {
    const tasks: any[] = tmpl.dag.tasks ?? [];
    const names = new Set(tasks.map((t) => t.name));
    for (const t of tasks) nodes[`t:${t.name}`] = { id: `t:${t.name}`, name: t.name, displayName: t.name, type: 'Pod', templateName: t.template ?? t.templateRef?.template ?? '', phase: 'Template', children: [] };
    for (const t of tasks) {
      let deps: string[] = t.dependencies ?? [];
      if (typeof t.depends === 'string') deps = [...new Set<string>((t.depends.match(/[A-Za-z0-9_-]+/g) ?? []).filter((d: string) => names.has(d)))];
      if (deps.length === 0) root.children!.push(`t:${t.name}`);
      for (const d of deps) nodes[`t:${d}`]?.children!.push(`t:${t.name}`);
    }
  } else if (tmpl?.steps) {
    let prev: string[] = ['root'];
    (tmpl.steps as any[][]).forEach((group, i) => {
      const gid = `g:${i}`;
      nodes[gid] = { id: gid, name: `[${i}]`, displayName: `[${i}]`, type: 'StepGroup', phase: 'Template', children: [] };
      for (const p of prev) nodes[p].children!.push(gid);
      prev = [];
      for (const s of group ?? []) {
        const id = `s:${i}:${s.name}`;
        nodes[id] = { id, name: s.name, displayName: s.name, type: 'Pod', templateName: s.template ?? s.templateRef?.template ?? '', phase: 'Template', children: [] };
        nodes[gid].children!.push(id);
        prev.push(id);
      }
    });
  }
  return nodes;
}

export function templateView(main: HTMLElement, ns: string, name: string, cluster: boolean, defaultNs: string): Cleanup {
  let stopped = false;
  const path = cluster ? `/api/v1/cluster-workflow-templates/${enc(name)}` : `/api/v1/workflow-templates/${enc(ns)}/${enc(name)}`;
  const head = h(
    'header',
    { class: 'page-head' },
    h('nav', { class: 'crumbs', 'aria-label': 'breadcrumb' }, cluster ? h('a', { href: '/cluster-workflow-templates' }, 'Cluster workflow templates') : [h('a', { href: `/workflow-templates/${enc(ns)}` }, 'Workflow templates'), ' / ', ns]),
    h('div', { class: 'title-row' }, h('h1', null, name)),
  );
  const body = h('div', { class: 'template-page' }, h('p', { class: 'muted' }, 'Loading…'));
  main.append(head, body);
  let view: GraphView | null = null;

  api<Template>('GET', path)
    .then(async (t) => {
      if (stopped) return;
      const spec = t.spec ?? {};
      const entry: string = spec.entrypoint ?? spec.templates?.[0]?.name ?? '';
      const form = submitForm(t, cluster, cluster ? defaultNs : ns);
      const deleteBtn = h('button', { class: 'danger-outline', 'data-testid': 'action-delete', onclick: () => remove() }, 'Delete template');
      const yaml = h('pre', { class: 'yaml', 'data-testid': 'yaml', tabindex: 0 }, toYaml(t));
      view = new GraphView({ select: () => undefined });
      const graphBox = h('section', { class: 'card' }, h('h2', null, `Entrypoint: ${entry}`), h('div', { class: 'graph-wrap small' }, view.el));
      body.replaceChildren(h('div', { class: 'cols' }, form, graphBox), h('section', { class: 'card' }, h('h2', null, 'YAML'), yaml), h('div', { class: 'row' }, deleteBtn));
      const tnodes = templateNodes(spec, entry);
      const g = buildGraph(tnodes, new Set(), 'root');
      for (const n of g.list) n.sub = n.type === 'StepGroup' ? '' : n.id === 'root' ? tnodes.root.type : (tnodes[n.id].templateName ?? '');
      await layout(g);
      if (!stopped) view.setGraph(g, false);
    })
    .catch((e) => {
      showError(e, `template ${name}`);
      body.replaceChildren(h('p', { class: 'muted' }, 'Could not load this template.'));
    });

  async function remove(): Promise<void> {
    if (!(await confirmAction('Delete this template?', `${cluster ? '' : ns + '/'}${name} is removed; workflows made from it stay.`, 'Delete', true))) return;
    try {
      await api('DELETE', path);
      navigate(cluster ? '/cluster-workflow-templates' : `/workflow-templates/${enc(ns)}`);
    } catch (e) {
      showError(e, 'delete');
    }
  }

  return () => {
    stopped = true;
  };
}

function submitForm(t: Template, cluster: boolean, ns: string): HTMLElement {
  const params: Parameter[] = t.spec?.arguments?.parameters ?? [];
  const fields = params.map((p) => {
    const value = p.value ?? p.default ?? '';
    const control = p.enum?.length
      ? h('select', { name: p.name, 'data-param': p.name }, p.enum.map((v) => h('option', { value: v, selected: v === value }, v)))
      : h('input', { name: p.name, 'data-param': p.name, value, placeholder: value === '' ? '(empty)' : '' });
    return h('label', { class: 'field' }, h('span', null, p.name, p.description ? h('small', { class: 'muted' }, ` — ${p.description}`) : null), control);
  });
  const nsInput = h('input', { name: '__namespace', 'data-testid': 'submit-namespace', value: t.metadata.namespace ?? ns, readonly: !cluster, 'aria-label': 'namespace' });
  const templates: string[] = (t.spec?.templates ?? []).map((x: any) => x.name);
  const entry = h('select', { name: '__entrypoint', 'data-testid': 'submit-entrypoint', 'aria-label': 'entrypoint' }, templates.map((n) => h('option', { value: n, selected: n === t.spec?.entrypoint }, n)));
  const labels = h('input', { name: '__labels', 'data-testid': 'submit-labels', placeholder: 'key=value,…', 'aria-label': 'labels' });
  const button = h('button', { type: 'submit', class: 'primary', 'data-testid': 'submit-button' }, 'Submit');
  const form = h(
    'form',
    { class: 'card stack', 'data-testid': 'submit-form', 'aria-label': 'submit a workflow from this template' },
    h('h2', null, 'Submit'),
    h('label', { class: 'field' }, h('span', null, 'Namespace'), nsInput),
    fields.length ? fields : h('p', { class: 'muted' }, 'This template takes no parameters.'),
    h('details', null, h('summary', null, 'More options'), h('label', { class: 'field' }, h('span', null, 'Entrypoint'), entry), h('label', { class: 'field' }, h('span', null, 'Labels'), labels)),
    h('div', { class: 'row end' }, button),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    button.disabled = true;
    clearError();
    const submitOptions: Record<string, unknown> = {
      parameters: params.map((p) => `${p.name}=${(form.querySelector(`[data-param="${CSS.escape(p.name)}"]`) as HTMLInputElement).value}`),
    };
    if (entry.value && entry.value !== t.spec?.entrypoint) submitOptions.entryPoint = entry.value;
    if (labels.value.trim()) submitOptions.labels = labels.value.trim();
    const target = nsInput.value.trim() || ns;
    try {
      const wf = await api<Workflow>('POST', `/api/v1/workflows/${enc(target)}/submit`, {
        namespace: target,
        resourceKind: cluster ? 'ClusterWorkflowTemplate' : 'WorkflowTemplate',
        resourceName: t.metadata.name,
        submitOptions,
      });
      navigate(`/workflows/${enc(wf.metadata.namespace ?? target)}/${enc(wf.metadata.name)}`);
    } catch (err) {
      showError(err, 'submit');
      button.disabled = false;
    }
  });
  return form;
}
