// A small JSON -> YAML printer for the YAML tabs (block style, strings quoted only when
// YAML would read them as something else; multi-line strings as literal blocks).

const PLAIN = /^[A-Za-z_./][A-Za-z0-9_ ./:@{}()\[\],=+-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|~|y|n)$/i;

function scalar(v: unknown, indent: string): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = String(v);
  if (s.includes('\n')) {
    const chomp = s.endsWith('\n') ? '' : '-';
    const body = s.replace(/\n$/, '').split('\n').map((l) => (l ? indent + '  ' + l : '')).join('\n');
    return `|${chomp}\n${body}`;
  }
  if (s === '' || !PLAIN.test(s) || RESERVED.test(s) || /^[\d.+-]/.test(s) || /[:#] |[ :]$|^ /.test(s) || s.includes(': ') || s.includes(' #')) {
    return JSON.stringify(s);
  }
  return s;
}

function key(k: string): string {
  return PLAIN.test(k) && !RESERVED.test(k) && !k.includes(': ') ? k : JSON.stringify(k);
}

function isEmpty(v: unknown): boolean {
  return (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
}

function emit(v: unknown, indent: string, out: string[]): void {
  if (Array.isArray(v)) {
    for (const item of v) {
      if (item !== null && typeof item === 'object' && !isEmpty(item)) {
        const sub: string[] = [];
        emit(item, indent + '  ', sub);
        const first = sub[0].slice(indent.length + 2);
        out.push(`${indent}- ${first}`, ...sub.slice(1));
      } else {
        out.push(`${indent}- ${isEmpty(item) ? (Array.isArray(item) ? '[]' : '{}') : scalar(item, indent)}`);
      }
    }
    return;
  }
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (val !== null && typeof val === 'object' && !isEmpty(val)) {
      out.push(`${indent}${key(k)}:`);
      emit(val, Array.isArray(val) ? indent : indent + '  ', out);
    } else if (isEmpty(val)) {
      out.push(`${indent}${key(k)}: ${Array.isArray(val) ? '[]' : '{}'}`);
    } else {
      out.push(`${indent}${key(k)}: ${scalar(val, indent)}`);
    }
  }
}

export function toYaml(v: unknown): string {
  if (v === null || typeof v !== 'object') return scalar(v, '') + '\n';
  if (isEmpty(v)) return Array.isArray(v) ? '[]\n' : '{}\n';
  const out: string[] = [];
  emit(v, '', out);
  return out.join('\n') + '\n';
}
