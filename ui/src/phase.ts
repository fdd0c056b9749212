// How a phase looks everywhere: colour (a CSS class), an icon and the phase's name —
// never colour alone.
import { h } from './dom';

const ICONS: Record<string, string> = {
  Succeeded: '✓',
  Failed: '✗',
  Error: '!',
  Running: '●',
  Pending: '○',
  Skipped: '⊘',
  Omitted: '⊘',
  Template: '◇',
  // Argo CD's health and sync statuses (applications and their resources).
  Healthy: '♥',
  Progressing: '◔',
  Degraded: '✗',
  Suspended: '‖',
  Missing: '∅',
  Unknown: '?',
  None: '◇', // a resource kind with no health check
  Synced: '✓',
  OutOfSync: '⟳',
};

export const FINISHED = new Set(['Succeeded', 'Failed', 'Error']);
export const NODE_FINISHED = new Set(['Succeeded', 'Failed', 'Error', 'Skipped', 'Omitted']);

export function phaseIcon(phase: string | undefined): string {
  return ICONS[phase || 'Pending'] ?? '?';
}

export function phaseName(phase: string | undefined): string {
  return phase || 'Pending';
}

// <span class="phase p-Running"><span class="ic">●</span> Running</span>
export function phaseBadge(phase: string | undefined, extra?: string): HTMLSpanElement {
  const p = phaseName(phase);
  return h('span', { class: `phase p-${p}`, 'data-phase': p }, h('span', { class: 'ic', 'aria-hidden': 'true' }, phaseIcon(p)), ' ', extra ?? p);
}

// Changes a badge made by phaseBadge in place.
export function updatePhaseBadge(el: HTMLElement, phase: string | undefined): void {
  const p = phaseName(phase);
  if (el.dataset.phase === p) return;
  el.className = `phase p-${p}`;
  el.dataset.phase = p;
  (el.firstChild as HTMLElement).textContent = phaseIcon(p);
  (el.lastChild as Text).textContent = p;
}
