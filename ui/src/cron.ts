// When a cron schedule next fires: five fields (minute hour day-of-month month
// day-of-week) with lists, ranges, steps and names, or @hourly/@daily/@weekly/@monthly/
// @yearly, in an IANA time zone. Enough to show "next run" in the CronWorkflow list;
// returns null for what it does not understand.

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

function field(text: string, min: number, max: number, names?: string[]): Set<number> | null {
  const out = new Set<number>();
  const value = (s: string) => {
    const i = names ? names.indexOf(s.toLowerCase()) : -1;
    if (i >= 0) return i + (names === MONTHS ? 1 : 0);
    return /^\d+$/.test(s) ? Number(s) : NaN;
  };
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    let lo: number, hi: number;
    if (range === '*' || range === '?') [lo, hi] = [min, max];
    else if (range.includes('-')) [lo, hi] = range.split('-').map(value) as [number, number];
    else {
      lo = value(range);
      hi = stepText === undefined ? lo : max;
    }
    if (!(step > 0) || Number.isNaN(lo) || Number.isNaN(hi) || lo < min || hi > max + (names === DAYS ? 1 : 0)) return null;
    for (let v = lo; v <= hi; v += step) out.add(names === DAYS && v === 7 ? 0 : v);
  }
  return out;
}

interface Parts {
  minute: number;
  hour: number;
  day: number;
  month: number;
  weekday: number;
}

function partsIn(tz: string | undefined): (t: number) => Parts {
  const f = new Intl.DateTimeFormat('en-US', { timeZone: tz || undefined, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'short' });
  return (t) => {
    const p: Record<string, string> = {};
    for (const x of f.formatToParts(t)) p[x.type] = x.value;
    return { minute: +p.minute, hour: +p.hour % 24, day: +p.day, month: +p.month, weekday: DAYS.indexOf(p.weekday.toLowerCase().slice(0, 3)) };
  };
}

export function nextRun(schedule: string, tz: string | undefined, from = Date.now()): Date | null {
  let s = schedule.trim();
  const m = /^CRON_TZ=(\S+)\s+(.*)$/.exec(s);
  if (m) {
    tz = m[1];
    s = m[2];
  }
  s = MACROS[s.toLowerCase()] ?? s;
  const f = s.split(/\s+/);
  if (f.length !== 5) return null;
  const minute = field(f[0], 0, 59);
  const hour = field(f[1], 0, 23);
  const dom = field(f[2], 1, 31);
  const month = field(f[3], 1, 12, MONTHS);
  const dow = field(f[4], 0, 6, DAYS);
  if (!minute || !hour || !dom || !month || !dow) return null;
  const domAny = f[2] === '*' || f[2] === '?';
  const dowAny = f[4] === '*' || f[4] === '?';
  let get: (t: number) => Parts;
  try {
    get = partsIn(tz);
  } catch {
    return null;
  }
  // Walk forward a minute at a time, but skip whole hours and days that cannot match.
  let t = Math.floor(from / 60000) * 60000 + 60000;
  const end = from + 366 * 24 * 3600 * 1000 * 2;
  while (t < end) {
    const p = get(t);
    const dayOk = domAny && dowAny ? true : domAny ? dow.has(p.weekday) : dowAny ? dom.has(p.day) : dom.has(p.day) || dow.has(p.weekday);
    if (!month.has(p.month) || !dayOk) {
      t += (24 * 60 - p.hour * 60 - p.minute) * 60000; // next local midnight (about)
      continue;
    }
    if (!hour.has(p.hour)) {
      t += (60 - p.minute) * 60000;
      continue;
    }
    if (!minute.has(p.minute)) {
      t += 60000;
      continue;
    }
    return new Date(t);
  }
  return null;
}
