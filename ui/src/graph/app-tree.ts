// An application's resource tree as a drawable graph: the application on top, the
// resources it manages below it, and what those own (Deployment -> ReplicaSet -> Pod,
// from the resource tree's parentRefs) below them. A node's "phase" is its health
// (Healthy, Progressing, Degraded, Suspended, Missing, Unknown; "None" for kinds with no
// health check); an OutOfSync resource carries a badge.
import { resourceId } from '../app-model';
import type { Application, TreeNode } from '../types';
import { BOX_H, BOX_W, type GNode, type Graph } from './model';

export const APP_NODE = 'application';

// Argo CD's health statuses; the graph writes them into class names, so nothing else passes.
const HEALTH = new Set(['Healthy', 'Progressing', 'Degraded', 'Suspended', 'Missing', 'Unknown']);
const healthOf = (status: string | undefined, none: string) => (!status ? none : HEALTH.has(status) ? status : 'Unknown');

interface Item {
  node: TreeNode;
  sync?: string;
}

export function buildAppTree(app: Application, tree: TreeNode[]): Graph {
  // status.resources has the managed resources (also those not live: Missing) with their
  // sync status; the tree has what is live, with uids and owners.
  const items = new Map<string, Item>();
  for (const r of app.status?.resources ?? []) items.set(resourceId(r), { node: { ...r }, sync: r.status });
  for (const t of tree) {
    const id = resourceId(t);
    const known = items.get(id);
    if (known) known.node = { ...known.node, ...t, health: t.health ?? known.node.health };
    else items.set(id, { node: t });
  }
  const byUid = new Map<string, string>();
  for (const [id, it] of items) if (it.node.uid) byUid.set(it.node.uid, id);

  const nodes = new Map<string, GNode>();
  const place = { x: 0, y: 0, rank: 0, order: 0, w: BOX_W, h: BOX_H };
  const appSync = app.status?.sync?.status;
  const appHealth = healthOf(app.status?.health?.status, 'Unknown');
  nodes.set(APP_NODE, {
    id: APP_NODE,
    label: app.metadata.name,
    sub: `Application · ${appHealth}`,
    shape: 'box',
    phase: appHealth,
    type: 'Application',
    badge: appSync === 'OutOfSync' ? 'OutOfSync' : undefined,
    parents: [],
    children: [],
    ...place,
  });
  for (const [id, it] of items) {
    const health = healthOf(it.node.health?.status, 'None');
    nodes.set(id, {
      id,
      label: it.node.name,
      sub: health === 'None' ? it.node.kind : `${it.node.kind} · ${health}`,
      shape: 'box',
      phase: health,
      type: it.node.kind,
      badge: it.sync === 'OutOfSync' ? 'OutOfSync' : undefined,
      parents: [],
      children: [],
      ...place,
    });
  }

  const edges: Array<[string, string]> = [];
  const link = (a: string, b: string) => {
    edges.push([a, b]);
    nodes.get(a)!.children.push(b);
    nodes.get(b)!.parents.push(a);
  };
  for (const [id, it] of items) {
    const parents = new Set<string>();
    for (const p of it.node.parentRefs ?? []) {
      const pid = (p.uid && byUid.get(p.uid)) || resourceId(p);
      if (pid !== id && nodes.has(pid)) parents.add(pid);
    }
    if (!parents.size) parents.add(APP_NODE);
    for (const p of parents) link(p, id);
  }
  return { nodes, list: [...nodes.values()], edges, ranks: [], width: 0, height: 0 };
}

// The tree node a graph node stands for (undefined for the application itself).
export function treeItem(app: Application, tree: TreeNode[], id: string): TreeNode | undefined {
  return tree.find((t) => resourceId(t) === id) ?? app.status?.resources?.find((r) => resourceId(r) === id);
}
