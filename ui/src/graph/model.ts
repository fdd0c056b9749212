// Turns a workflow's status.nodes into the graph that is drawn: boxes for steps and
// templates, small connectors for StepGroup / TaskGroup / Retry, edges parent -> child
// as Argo draws them, and collapsed groups contracted into one "+N" node.
import type { WfNode } from '../types';

export type Shape = 'box' | 'connector' | 'collapsed';

export interface GNode {
  id: string;
  label: string;
  sub: string; // second line: phase and template
  shape: Shape;
  phase: string;
  type: string;
  w: number;
  h: number;
  x: number; // centre
  y: number;
  rank: number;
  order: number;
  parents: string[];
  children: string[];
  hidden?: number; // collapsed: how many nodes it stands for
  group?: string; // collapsed: the group node it belongs to
  badge?: string; // a pill in the top right corner (an application resource's OutOfSync)
}

export interface Graph {
  nodes: Map<string, GNode>;
  list: GNode[];
  edges: Array<[string, string]>;
  ranks: GNode[][];
  width: number;
  height: number;
}

export const GROUP_TYPES = new Set(['StepGroup', 'TaskGroup', 'Retry']);
export const BOX_W = 180;
export const BOX_H = 44;
export const DOT = 20;

const BAD = ['Error', 'Failed', 'Running', 'Pending', 'Succeeded', 'Skipped', 'Omitted'];

// The phase a collapsed group shows: the most telling one among its members.
function worst(phases: string[]): string {
  for (const p of BAD) if (phases.includes(p)) return p;
  return phases[0] ?? 'Pending';
}

export function collapsedId(group: string): string {
  return `${group}/collapsed`;
}

export function shapeOf(n: WfNode): Shape {
  return GROUP_TYPES.has(n.type) ? 'connector' : 'box';
}

export function nodeLabel(n: WfNode): string {
  return n.displayName || n.name || n.id;
}

export function nodeSub(n: { phase?: string; templateName?: string; type: string }): string {
  const p = n.phase || 'Pending';
  if (n.type === 'Suspend' && p === 'Running') return 'Suspended · waiting for resume';
  const what = n.type === 'Pod' ? n.templateName : n.type;
  return what ? `${p} · ${what}` : p;
}

// A key that changes when the drawn node set does (then the graph is laid out again);
// phase changes alone keep it.
export function structureKey(nodes: Record<string, WfNode>, collapsed: Set<string>): string {
  const ids = Object.keys(nodes);
  let key = `${ids.length}|${[...collapsed].sort().join(',')}|`;
  for (const id of ids) key += id + ':' + (nodes[id].children?.length ?? 0) + ';';
  return key;
}

export function buildGraph(wfNodes: Record<string, WfNode>, collapsed: Set<string>, rootId?: string): Graph {
  const groupOf = new Map<string, string>(); // member id -> its collapsed group
  for (const g of collapsed) {
    const gn = wfNodes[g];
    if (!gn) continue;
    for (const c of gn.children ?? []) if (wfNodes[c] && !groupOf.has(c)) groupOf.set(c, g);
  }
  const rep = (id: string) => {
    const g = groupOf.get(id);
    return g === undefined ? id : collapsedId(g);
  };

  const nodes = new Map<string, GNode>();
  // What layout and linking fill in later.
  const unplaced = () => ({ x: 0, y: 0, rank: 0, order: 0, parents: [] as string[], children: [] as string[] });
  const members = new Map<string, string[]>(); // collapsed id -> member phases
  for (const n of Object.values(wfNodes)) {
    const r = rep(n.id);
    if (r !== n.id) {
      const m = members.get(r);
      if (m) m.push(n.phase || 'Pending');
      else members.set(r, [n.phase || 'Pending']);
      continue;
    }
    const shape = shapeOf(n);
    nodes.set(n.id, {
      id: n.id,
      label: nodeLabel(n),
      sub: nodeSub(n),
      shape,
      phase: n.phase || 'Pending',
      type: n.type,
      w: shape === 'box' ? BOX_W : DOT,
      h: shape === 'box' ? BOX_H : DOT,
      ...unplaced(),
    });
  }
  for (const [id, phases] of members) {
    const group = id.slice(0, -'/collapsed'.length);
    const phase = worst(phases);
    nodes.set(id, {
      id,
      label: `+${phases.length} hidden`,
      sub: `${phase} · ${wfNodes[group]?.displayName ?? ''}`,
      shape: 'collapsed',
      phase,
      type: 'Collapsed',
      w: BOX_W,
      h: BOX_H,
      ...unplaced(),
      hidden: phases.length,
      group,
    });
  }

  const edges: Array<[string, string]> = [];
  const seen = new Set<string>();
  const link = (a: string, b: string) => {
    if (a === b || !nodes.has(a) || !nodes.has(b)) return;
    const k = a + '\u0000' + b;
    if (seen.has(k)) return;
    seen.add(k);
    edges.push([a, b]);
    nodes.get(a)!.children.push(b);
    nodes.get(b)!.parents.push(a);
  };
  for (const g of collapsed) if (nodes.has(g) && members.has(collapsedId(g))) link(g, collapsedId(g));
  const hasParent = new Set<string>();
  for (const n of Object.values(wfNodes)) {
    for (const c of n.children ?? []) {
      hasParent.add(c);
      link(rep(n.id), rep(c));
    }
  }
  // The exit handler (<wf>.onExit) hangs off the workflow's last nodes, as in Argo.
  if (rootId && wfNodes[rootId]) {
    const root = wfNodes[rootId];
    for (const n of Object.values(wfNodes)) {
      if (n.id === rootId || hasParent.has(n.id) || !n.name.endsWith('.onExit')) continue;
      const from = root.outboundNodes?.length ? root.outboundNodes : [rootId];
      for (const o of from) link(rep(o), rep(n.id));
    }
  }
  const list = [...nodes.values()];
  return { nodes, list, edges, ranks: [], width: 0, height: 0 };
}
