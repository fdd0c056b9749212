// Draws a laid-out Graph as SVG and handles pan (drag), zoom (wheel), clicks and keys.
// Built for big graphs:
// - only nodes near the visible area are in the DOM (a grid index finds them; the drawn
//   area is the view plus half a view on each side, so small pans redraw nothing);
// - zoomed far out, nodes are one <path> per phase with no text (level of detail);
// - node markup is written as one string (one <g> per node), edges are one <path>;
// - one click handler on the <svg> finds the node under the pointer (event delegation);
// - a phase change touches only that node's element, if it is drawn.
import { esc } from '../dom';
import { phaseIcon } from '../phase';
import type { Graph, GNode } from './model';

const SVG = 'http://www.w3.org/2000/svg';
const FAR = 0.45; // below this zoom, text is unreadable: draw the level-of-detail paths
const FAR_MIN = 300; // ... but only when that many nodes would be drawn

// A node far out, shaped by its phase so colour is never the only sign: Succeeded a box,
// Failed/Error a box with a corner cut out (an "X" notch), Running a diamond, Pending a
// hollow frame (drawn with the even-odd rule), Skipped/Omitted a thin bar.
function farShape(n: { x: number; y: number; w: number; h: number; phase: string }): string {
  const x = n.x - n.w / 2, y = n.y - n.h / 2, w = n.w, h = n.h;
  switch (n.phase) {
    case 'Failed':
    case 'Error':
      return `M${x} ${y}h${w}v${h / 2}l${-h / 2} ${h / 2}h${-(w - h / 2)}z`;
    case 'Running':
      return `M${n.x} ${y}l${w / 2} ${h / 2}l${-w / 2} ${h / 2}l${-w / 2} ${-h / 2}z`;
    case 'Pending':
      return `M${x} ${y}h${w}v${h}h${-w}zM${x + 6} ${y + 6}v${h - 12}h${w - 12}v${-(h - 12)}z`;
    case 'Skipped':
    case 'Omitted':
      return `M${x} ${n.y - 3}h${w}v6h${-w}z`;
    default:
      return `M${x} ${y}h${w}v${h}h${-w}z`;
  }
}
const CALM = 300; // with more running nodes than this, spinners stop (they cost repaints)
const CELL = 400; // grid cell size in graph units

export interface GraphViewEvents {
  select(id: string | null): void;
  toggle?(id: string): void; // double click on a group or a collapsed node
}

interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

function truncate(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

function spinMarkup(n: GNode): string {
  if (n.phase !== 'Running') return '';
  const cx = n.shape === 'connector' ? 0 : -n.w / 2 + 16;
  return `<circle class="spin" cx="${cx}" cy="0" r="${n.shape === 'connector' ? 13 : 10}"/>`;
}

// A Suspend node that is running waits for a resume: it shows ‖ instead of ●.
function iconOf(n: GNode): string {
  return n.type === 'Suspend' && n.phase === 'Running' ? '‖' : phaseIcon(n.phase);
}

function badgeMarkup(n: GNode): string {
  if (!n.badge) return '';
  const w = n.badge.length * 6.5 + 12;
  return `<g class="badge b-${esc(n.badge)}" transform="translate(${n.w / 2 - w + 6},${-n.h / 2 - 8})"><rect width="${w}" height="16" rx="8"/><text x="${w / 2}" y="12">${esc(n.badge)}</text></g>`;
}

function nodeMarkup(n: GNode, extra: string): string {
  const badge = n.badge ? ` data-badge="${esc(n.badge)}"` : '';
  const head = `<g class="n s-${n.shape} p-${n.phase}${extra}" data-testid="node" data-node-id="${esc(n.id)}" data-phase="${n.phase}" data-type="${esc(n.type)}"${badge} aria-label="${esc(n.label)}: ${n.phase}${n.badge ? ', ' + esc(n.badge) : ''}" transform="translate(${n.x},${n.y})">`;
  if (n.shape === 'connector') {
    return `${head}<circle class="bg" r="10"/><text class="ic" y="4">${iconOf(n)}</text>${spinMarkup(n)}</g>`;
  }
  const x0 = -n.w / 2;
  return (
    `${head}<rect class="bg" x="${x0}" y="${-n.h / 2}" width="${n.w}" height="${n.h}" rx="6"/>` +
    `<text class="ic" x="${x0 + 16}" y="5">${iconOf(n)}</text>` +
    `<text class="lb" x="${x0 + 32}" y="-3">${esc(truncate(n.label, 20))}</text>` +
    `<text class="sb" x="${x0 + 32}" y="13">${esc(truncate(n.sub, 24))}</text>${spinMarkup(n)}${badgeMarkup(n)}</g>`
  );
}

function edgePath(a: GNode, b: GNode): string {
  const y1 = a.y + a.h / 2;
  const y2 = b.y - b.h / 2;
  const ym = (y1 + y2) / 2;
  return `M${a.x} ${y1}C${a.x} ${ym} ${b.x} ${ym} ${b.x} ${y2}`;
}

function contains(outer: Rect, inner: Rect): boolean {
  return inner.x0 >= outer.x0 && inner.y0 >= outer.y0 && inner.x1 <= outer.x1 && inner.y1 <= outer.y1;
}

export class GraphView {
  readonly el: HTMLDivElement;
  private readonly svg: SVGSVGElement;
  private readonly vp: SVGGElement;
  private readonly edgesEl: SVGPathElement;
  private readonly hiEl: SVGPathElement;
  private readonly lodEl: SVGGElement;
  private readonly nodesEl: SVGGElement;
  private graph: Graph | null = null;
  private grid = new Map<number, GNode[]>();
  private drawn = new Map<string, SVGGElement>(); // nodes in the DOM now
  private drawnRect: Rect | null = null;
  private far = false;
  private k = 1;
  private tx = 0;
  private ty = 0;
  private frame = 0;
  private dragged = false;
  selected: string | null = null;
  cursor: string | null = null;

  constructor(
    private readonly events: GraphViewEvents,
    what = 'workflow graph',
  ) {
    this.el = document.createElement('div');
    this.el.className = 'graph';
    this.el.tabIndex = 0;
    this.el.setAttribute('role', 'application');
    this.el.setAttribute('aria-label', `${what}: arrow keys move between nodes, Enter selects, Escape closes the panel, + and - zoom, 0 fits`);
    this.el.dataset.testid = 'graph';
    const make = <T extends SVGElement>(tag: string, cls?: string) => {
      const e = document.createElementNS(SVG, tag) as T;
      if (cls) e.setAttribute('class', cls);
      return e;
    };
    this.svg = make<SVGSVGElement>('svg');
    this.vp = make<SVGGElement>('g');
    this.edgesEl = make<SVGPathElement>('path', 'edges');
    this.hiEl = make<SVGPathElement>('path', 'edges hi');
    this.lodEl = make<SVGGElement>('g', 'lod');
    this.nodesEl = make<SVGGElement>('g');
    this.vp.append(this.edgesEl, this.hiEl, this.lodEl, this.nodesEl);
    this.svg.append(this.vp);
    this.el.append(this.svg);
    this.bind();
    new ResizeObserver(() => this.apply()).observe(this.el);
  }

  // Shows a new node set. keepView keeps the current pan and zoom (a re-layout while
  // watching); otherwise the view starts at the top, as large as fits (within limits).
  setGraph(g: Graph, keepView: boolean): void {
    this.graph = g;
    this.grid.clear();
    for (const n of g.list) {
      const cx0 = Math.floor((n.x - n.w / 2) / CELL);
      const cx1 = Math.floor((n.x + n.w / 2) / CELL);
      const cy = Math.floor(n.y / CELL);
      for (let cx = cx0; cx <= cx1; cx++) {
        const key = cy * 100003 + cx;
        const cell = this.grid.get(key);
        if (cell) cell.push(n);
        else this.grid.set(key, [n]);
      }
    }
    this.nodesEl.replaceChildren();
    this.drawn.clear();
    this.drawnRect = null;
    this.calm();
    if (this.selected && !g.nodes.has(this.selected)) this.selected = null;
    if (this.cursor && !g.nodes.has(this.cursor)) this.cursor = null;
    if (!keepView) this.home();
    this.render(true);
    this.paintHighlight();
  }

  // How many nodes are in the DOM (for tests and the benchmark).
  get drawnCount(): number {
    return this.drawn.size;
  }

  // Changes one node's phase and second line in place (no layout).
  updateNode(id: string, phase: string, sub: string): void {
    const n = this.graph?.nodes.get(id);
    if (!n || (n.phase === phase && n.sub === sub)) return;
    n.phase = phase;
    n.sub = sub;
    if (this.far) {
      this.drawnRect = null; // the level-of-detail paths are redrawn on the next frame
      this.apply();
      return;
    }
    const el = this.drawn.get(id);
    if (!el) return;
    el.setAttribute('class', el.getAttribute('class')!.replace(/ p-\S+/, ` p-${phase}`));
    el.dataset.phase = phase;
    el.setAttribute('aria-label', `${n.label}: ${phase}`);
    el.querySelector('.ic')!.textContent = iconOf(n);
    const sb = el.querySelector('.sb');
    if (sb) sb.textContent = truncate(sub, 24);
    el.querySelector('.spin')?.remove();
    if (phase === 'Running') el.insertAdjacentHTML('beforeend', spinMarkup(n));
  }

  calm(): void {
    let running = 0;
    for (const n of this.graph?.list ?? []) if (n.phase === 'Running') running++;
    this.svg.classList.toggle('calm', running > CALM);
  }

  select(id: string | null, focusCursor = true): void {
    const before = [this.selected, this.cursor];
    this.selected = id;
    if (id && focusCursor) this.cursor = id;
    this.restyle(before);
    this.paintHighlight();
    if (id) this.reveal(id);
    this.events.select(id);
  }

  private classesOf(id: string): string {
    return (id === this.selected ? ' sel' : '') + (id === this.cursor ? ' cur' : '');
  }

  // Puts the sel/cur classes right on the nodes that had or have them.
  private restyle(before: Array<string | null>): void {
    for (const id of new Set([...before, this.selected, this.cursor])) {
      if (!id) continue;
      const el = this.drawn.get(id);
      if (!el) continue;
      el.classList.toggle('sel', id === this.selected);
      el.classList.toggle('cur', id === this.cursor);
    }
    if (this.far) {
      this.drawnRect = null;
      this.apply();
    }
  }

  // The selected node's edges, drawn over the others.
  private paintHighlight(): void {
    const g = this.graph;
    let d = '';
    const n = g && this.selected ? g.nodes.get(this.selected) : undefined;
    if (g && n) {
      for (const p of n.parents) d += edgePath(g.nodes.get(p)!, n);
      for (const c of n.children) d += edgePath(n, g.nodes.get(c)!);
    }
    this.hiEl.setAttribute('d', d);
  }

  private setCursor(id: string): void {
    const before = [this.selected, this.cursor];
    this.cursor = id;
    this.restyle(before);
    this.reveal(id);
  }

  // Pans so that the node is inside the view (when it is not).
  reveal(id: string): void {
    const n = this.graph?.nodes.get(id);
    if (!n) return;
    const W = this.el.clientWidth;
    const H = this.el.clientHeight;
    const sx = n.x * this.k + this.tx;
    const sy = n.y * this.k + this.ty;
    const mx = (n.w / 2) * this.k + 10;
    const my = (n.h / 2) * this.k + 10;
    if (sx - mx < 0 || sx + mx > W || sy - my < 0 || sy + my > H) {
      if (this.k < 0.6) this.k = 1; // a node to look at should be readable
      this.tx = W / 2 - n.x * this.k;
      this.ty = H / 2 - n.y * this.k;
      this.apply();
    }
  }

  home(): void {
    const g = this.graph;
    if (!g) return;
    const W = this.el.clientWidth || 800;
    const H = this.el.clientHeight || 600;
    const fit = Math.min(W / g.width, H / g.height, 1);
    this.k = Math.max(fit, 0.6);
    if (g.width * this.k <= W) this.tx = (W - g.width * this.k) / 2;
    else {
      const root = g.ranks[0]?.[0];
      this.tx = W / 2 - (root ? root.x : g.width / 2) * this.k;
    }
    this.ty = g.height * this.k <= H ? (H - g.height * this.k) / 2 : 0;
    this.apply();
  }

  fit(): void {
    const g = this.graph;
    if (!g) return;
    const W = this.el.clientWidth;
    const H = this.el.clientHeight;
    this.k = Math.min(W / g.width, H / g.height, 2);
    this.tx = (W - g.width * this.k) / 2;
    this.ty = (H - g.height * this.k) / 2;
    this.apply();
  }

  zoom(factor: number, cx = this.el.clientWidth / 2, cy = this.el.clientHeight / 2): void {
    const k = Math.min(3, Math.max(0.01, this.k * factor));
    this.tx = cx - ((cx - this.tx) * k) / this.k;
    this.ty = cy - ((cy - this.ty) * k) / this.k;
    this.k = k;
    this.apply();
  }

  private apply(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.vp.setAttribute('transform', `translate(${this.tx},${this.ty}) scale(${this.k})`);
      this.render(false);
    });
  }

  // The part of the graph the view shows, in graph units.
  private viewRect(): Rect {
    const W = this.el.clientWidth || 800;
    const H = this.el.clientHeight || 600;
    return { x0: -this.tx / this.k, y0: -this.ty / this.k, x1: (W - this.tx) / this.k, y1: (H - this.ty) / this.k };
  }

  private nodesIn(r: Rect): GNode[] {
    const out: GNode[] = [];
    const seen = new Set<GNode>();
    const cx0 = Math.floor(r.x0 / CELL);
    const cx1 = Math.floor(r.x1 / CELL);
    const cy0 = Math.floor((r.y0 - CELL) / CELL);
    const cy1 = Math.floor((r.y1 + CELL) / CELL);
    for (let cy = cy0; cy <= cy1; cy++) {
      for (let cx = cx0; cx <= cx1; cx++) {
        const cell = this.grid.get(cy * 100003 + cx);
        if (!cell) continue;
        for (const n of cell) {
          if (seen.has(n)) continue;
          seen.add(n);
          if (n.x + n.w / 2 >= r.x0 && n.x - n.w / 2 <= r.x1 && n.y + n.h / 2 >= r.y0 && n.y - n.h / 2 <= r.y1) out.push(n);
        }
      }
    }
    return out;
  }

  // Brings the DOM in line with what the view shows.
  private render(force: boolean): void {
    const g = this.graph;
    if (!g) return;
    const view = this.viewRect();
    const wantFar = this.k < FAR && g.list.length > FAR_MIN;
    if (!force && this.drawnRect && wantFar === this.far && contains(this.drawnRect, view)) return;
    const w = view.x1 - view.x0;
    const h = view.y1 - view.y0;
    const rect = { x0: view.x0 - w / 2, y0: view.y0 - h / 2, x1: view.x1 + w / 2, y1: view.y1 + h / 2 };
    let nodes = this.nodesIn(rect);
    const far = wantFar && nodes.length > FAR_MIN;
    if (far) nodes = this.nodesIn(view);
    this.drawnRect = far ? view : rect;
    this.far = far;
    this.svg.classList.toggle('far', far);
    if (far) this.drawFar(nodes);
    else this.drawNear(nodes);
    // Edges with an end among the drawn nodes.
    const inSet = new Set(nodes);
    let d = '';
    for (const n of nodes) {
      for (const c of n.children) d += edgePath(n, g.nodes.get(c)!);
      for (const p of n.parents) {
        const pn = g.nodes.get(p)!;
        if (!inSet.has(pn)) d += edgePath(pn, n);
      }
    }
    this.edgesEl.setAttribute('d', d);
  }

  private drawNear(nodes: GNode[]): void {
    this.lodEl.replaceChildren();
    const keep = new Set(nodes.map((n) => n.id));
    for (const [id, el] of this.drawn) {
      if (!keep.has(id)) {
        el.remove();
        this.drawn.delete(id);
      }
    }
    const add = nodes.filter((n) => !this.drawn.has(n.id));
    if (!add.length) return;
    let html = '';
    for (const n of add) html += nodeMarkup(n, this.classesOf(n.id));
    this.nodesEl.insertAdjacentHTML('beforeend', html);
    const kids = this.nodesEl.children;
    const first = kids.length - add.length;
    for (let i = 0; i < add.length; i++) this.drawn.set(add[i].id, kids[first + i] as SVGGElement);
  }

  // Far out: one path per phase, a shape per phase as well as a colour (selection as an
  // outline).
  private drawFar(nodes: GNode[]): void {
    this.nodesEl.replaceChildren();
    this.drawn.clear();
    const byPhase = new Map<string, string>();
    for (const n of nodes) byPhase.set(n.phase, (byPhase.get(n.phase) ?? '') + farShape(n));
    let html = '';
    for (const [phase, d] of byPhase) html += `<path class="p-${phase}" data-phase="${phase}" d="${d}"/>`;
    const sel = this.selected ? this.graph?.nodes.get(this.selected) : undefined;
    if (sel) html += `<rect class="lod-sel" x="${sel.x - sel.w / 2 - 6}" y="${sel.y - sel.h / 2 - 6}" width="${sel.w + 12}" height="${sel.h + 12}"/>`;
    this.lodEl.innerHTML = html;
  }

  // The node under a pointer event: its element if drawn, else by position (far view).
  private nodeAt(e: MouseEvent): string | null {
    const el = (e.target as Element | null)?.closest?.('[data-node-id]');
    if (el) return el.getAttribute('data-node-id');
    const r = this.svg.getBoundingClientRect();
    const x = (e.clientX - r.left - this.tx) / this.k;
    const y = (e.clientY - r.top - this.ty) / this.k;
    const hit = this.nodesIn({ x0: x, y0: y, x1: x, y1: y });
    return hit[0]?.id ?? null;
  }

  private bind(): void {
    let start: { x: number; y: number; tx: number; ty: number } | null = null;
    this.svg.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      start = { x: e.clientX, y: e.clientY, tx: this.tx, ty: this.ty };
      this.dragged = false;
    });
    this.svg.addEventListener('pointermove', (e) => {
      if (!start) return;
      const dx = e.clientX - start.x;
      const dy = e.clientY - start.y;
      if (!this.dragged && Math.abs(dx) + Math.abs(dy) < 4) return;
      if (!this.dragged) {
        this.dragged = true;
        this.svg.setPointerCapture(e.pointerId);
        this.svg.classList.add('panning');
      }
      this.tx = start.tx + dx;
      this.ty = start.ty + dy;
      this.apply();
    });
    const end = () => {
      start = null;
      this.svg.classList.remove('panning');
    };
    this.svg.addEventListener('pointerup', end);
    this.svg.addEventListener('pointercancel', end);
    this.svg.addEventListener('click', (e) => {
      if (this.dragged) {
        this.dragged = false;
        return;
      }
      const id = this.nodeAt(e);
      if (id) this.select(id);
    });
    this.svg.addEventListener('dblclick', (e) => {
      const id = this.nodeAt(e);
      if (id && this.events.toggle) this.events.toggle(id);
    });
    this.svg.addEventListener(
      'wheel',
      (e) => {
        e.preventDefault();
        if (e.shiftKey) {
          this.tx -= e.deltaY;
          this.apply();
          return;
        }
        const r = this.svg.getBoundingClientRect();
        this.zoom(Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015)), e.clientX - r.left, e.clientY - r.top);
      },
      { passive: false },
    );
    this.el.addEventListener('keydown', (e) => this.key(e));
  }

  private key(e: KeyboardEvent): void {
    const g = this.graph;
    if (!g || g.list.length === 0 || e.altKey || e.ctrlKey || e.metaKey) return;
    const cur = g.nodes.get(this.cursor ?? this.selected ?? '') ?? null;
    const top = g.ranks[0][0];
    const closest = (ids: string[], x: number) => {
      let best: GNode | null = null;
      for (const id of ids) {
        const n = g.nodes.get(id)!;
        if (!best || Math.abs(n.x - x) < Math.abs(best.x - x)) best = n;
      }
      return best;
    };
    let next: GNode | null = null;
    switch (e.key) {
      case 'ArrowDown':
        next = cur ? closest(cur.children, cur.x) : top;
        break;
      case 'ArrowUp':
        next = cur ? closest(cur.parents, cur.x) : top;
        break;
      case 'ArrowLeft':
        next = cur ? (g.ranks[cur.rank][cur.order - 1] ?? null) : top;
        break;
      case 'ArrowRight':
        next = cur ? (g.ranks[cur.rank][cur.order + 1] ?? null) : top;
        break;
      case 'Home':
        next = top;
        break;
      case 'Enter':
      case ' ':
        e.preventDefault();
        if (cur) this.select(cur.id);
        return;
      case 'Escape':
        if (this.selected) this.select(null, false);
        return;
      case '+':
      case '=':
        this.zoom(1.25);
        return;
      case '-':
        this.zoom(0.8);
        return;
      case '0':
        this.fit();
        return;
      default:
        return;
    }
    e.preventDefault();
    if (next) this.setCursor(next.id);
  }
}
