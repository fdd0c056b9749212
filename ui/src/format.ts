// Times and durations as the lists and panels show them.

export function parseTime(s: string | undefined | null): number | null {
  if (!s) return null;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

export function duration(ms: number): string {
  if (ms < 0) ms = 0;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const hr = Math.floor(m / 60);
  if (hr < 48) return `${hr}h ${m % 60}m`;
  return `${Math.floor(hr / 24)}d ${hr % 24}h`;
}

// Duration between two RFC 3339 times; a missing end means "still running" (now).
export function span(start?: string, end?: string, now = Date.now()): string {
  const a = parseTime(start);
  if (a === null) return '';
  const b = parseTime(end) ?? now;
  return duration(b - a);
}

export function ago(s: string | undefined, now = Date.now()): string {
  const t = parseTime(s);
  if (t === null) return '';
  const d = now - t;
  if (d < 0) return 'in ' + duration(-d);
  if (d < 5000) return 'just now';
  return duration(d).split(' ')[0] + ' ago';
}

export function localTime(s: string | undefined): string {
  const t = parseTime(s);
  if (t === null) return '';
  return new Date(t).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}
