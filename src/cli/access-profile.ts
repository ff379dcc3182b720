/**
 * Access-log analysis for `tjfs profile` (JuiceFS cmd/profile.go). A line is
 * `2021.01.15 08:26:11.003330 [uid:0,gid:0,pid:4403] write (17669,8666,4993160): OK <0.000010>`
 * (tjfs) or `... write (17669,8666,4993160,3) - OK <0.000010>` (JuiceFS): fields 1-2 the
 * local time, field 3 the ids, field 4 the operation, the last field the latency in
 * seconds. Lines are filtered by uid/gid/pid lists and summed per operation (count, total
 * latency in µs); a table sorted by total latency shows them as JuiceFS prints it.
 */

export interface LogEntry {
  /** Local time of the line, ms since the epoch. */
  ts: number;
  uid: string;
  gid: string;
  pid: string;
  op: string;
  /** Latency in µs. */
  latencyUs: number;
}

const STAMP = /^(\d{4})\.(\d{2})\.(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{6})$/;

/** One access-log line, or undefined for a blank, dummy ('#') or malformed line. */
export function parseLogLine(line: string): LogEntry | undefined {
  if (line.length < 3) return undefined;
  const f = line.trim().split(/\s+/);
  if (f.length < 5) return undefined;
  const t = STAMP.exec(`${f[0]} ${f[1]}`);
  if (t === null) return undefined;
  const n = t.slice(1).map(Number) as [number, number, number, number, number, number, number];
  const ts = new Date(n[0], n[1] - 1, n[2], n[3], n[4], n[5], Math.floor(n[6] / 1000)).getTime();
  const ids = (f[2] ?? '').match(/\d+/g);
  if (ids?.length !== 3) return undefined;
  const lat = /^<([\d.]+)>$/.exec(f[f.length - 1] ?? '');
  if (lat?.[1] === undefined) return undefined;
  return {
    ts,
    uid: ids[0] ?? '',
    gid: ids[1] ?? '',
    pid: ids[2] ?? '',
    op: f[3] ?? '',
    latencyUs: Math.floor(Number(lat[1]) * 1e6),
  };
}

export interface ProfileFilter {
  uids?: readonly string[];
  gids?: readonly string[];
  pids?: readonly string[];
}

/** A comma-separated id list (`--uid 0,1000`); empty = any. Ids must be whole numbers. */
export function parseIdList(text: string | undefined, what: string): string[] | undefined {
  if (text === undefined || text === '') return undefined;
  const ids = text.split(',').map((s) => s.trim());
  for (const id of ids)
    if (!/^\d+$/.test(id)) throw new Error(`invalid ${what} '${text}': want ids like 0,1000`);
  return ids;
}

export function matches(e: LogEntry, f: ProfileFilter): boolean {
  const ok = (list: readonly string[] | undefined, v: string): boolean =>
    list === undefined || list.includes(v);
  return ok(f.uids, e.uid) && ok(f.gids, e.gid) && ok(f.pids, e.pid);
}

export interface OpStat {
  count: number;
  /** Total latency in µs. */
  total: number;
}

export class OpStats {
  readonly ops = new Map<string, OpStat>();

  add(e: LogEntry): void {
    const s = this.ops.get(e.op) ?? { count: 0, total: 0 };
    s.count++;
    s.total += e.latencyUs;
    this.ops.set(e.op, s);
  }

  /** Operations by total latency, highest first. */
  sorted(): [string, OpStat][] {
    return [...this.ops].sort((a, b) => b[1].total - a[1].total || a[0].localeCompare(b[0]));
  }
}

function isoLocal(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export interface ProfileTable {
  /** `(replaying)`, `(replay done)` or ''. */
  head: string;
  /** Window length in seconds (the percentage's denominator). */
  seconds: number;
  at: number;
  stats: OpStats;
}

/** JuiceFS's profile table: title line, column header, one line per operation. */
export function profileLines(t: ProfileTable): string[] {
  const title = `> tjfs Profiling ${t.head.padStart(13)}  Refresh: ${t.seconds.toFixed(0)} seconds ${isoLocal(t.at).padStart(20)}`;
  const lines = [
    title,
    `${'Operation'.padEnd(14)} ${'Count'.padStart(10)} ${'Average(us)'.padStart(15)} ${'Total(us)'.padStart(18)} ${'Percent(%)'.padStart(14)}`,
  ];
  const windowUs = t.seconds * 1e6;
  for (const [op, s] of t.stats.sorted()) {
    const pct = windowUs > 0 ? ((s.total / windowUs) * 100).toFixed(1) : '0.0';
    lines.push(
      `${op.padEnd(14)} ${String(s.count).padStart(10)} ${(s.total / s.count).toFixed(0).padStart(15)} ${String(s.total).padStart(18)} ${pct.padStart(14)}`,
    );
  }
  return lines;
}

/** Lines for a terminal (cleared screen, colored title/header) or plain (blank line after). */
export function renderProfile(lines: readonly string[], color: boolean): string {
  if (!color) return `${lines.join('\n')}\n\n`;
  const c = (s: string, code: number): string => `\x1b[1;${code}m${s}\x1b[0m`;
  const [title = '', header = '', ...rest] = lines;
  return `\x1b[2J\x1b[1;1H${[c(title, 32), c(header, 34), ...rest.map((l) => c(l, 30))].join('\n')}\n`;
}
