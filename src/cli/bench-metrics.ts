/**
 * `.stats` helpers for `tjfs bench`: find the tjfs mount root above a path, parse the
 * Prometheus text it serves, and turn before/after snapshots into the per-op cost rows
 * `juicefs bench` prints (FUSE ops, meta transactions, object requests, block cache).
 * Design: a snapshot is a flat map `name{labels}` → value; rows sum `_sum`/`_count` over
 * every series of one histogram (optionally filtered by one label). Metrics the daemon does
 * not export simply produce no row.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export type Snapshot = Sample[];

export interface CostRow {
  item: string;
  count: number;
  msPerOp: number;
}

/** Rows as `juicefs bench` names them; `label` narrows to one series (e.g. method=PUT). */
const ROWS: ReadonlyArray<{ item: string; metric: string; label?: [string, string] }> = [
  { item: 'FUSE operation', metric: 'juicefs_fuse_ops_durations_histogram_seconds' },
  { item: 'Update meta', metric: 'juicefs_transaction_durations_histogram_seconds' },
  {
    item: 'Put object',
    metric: 'juicefs_object_request_durations_histogram_seconds',
    label: ['method', 'PUT'],
  },
  {
    item: 'Get object',
    metric: 'juicefs_object_request_durations_histogram_seconds',
    label: ['method', 'GET'],
  },
  {
    item: 'Delete object',
    metric: 'juicefs_object_request_durations_histogram_seconds',
    label: ['method', 'DELETE'],
  },
  { item: 'Write into cache', metric: 'juicefs_blockcache_write_hist_seconds' },
  { item: 'Read from cache', metric: 'juicefs_blockcache_read_hist_seconds' },
];

const FUSE_MARK = 'juicefs_fuse_ops';

/** Parses Prometheus text exposition (comments skipped, label values unescaped). */
export function parseMetrics(text: string): Snapshot {
  const out: Snapshot = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (m === null || m[1] === undefined || m[3] === undefined) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      if (l[1] !== undefined && l[2] !== undefined) labels[l[1]] = l[2].replace(/\\(.)/g, '$1');
    }
    const value = Number(m[3]);
    if (Number.isFinite(value)) out.push({ name: m[1], labels, value });
  }
  return out;
}

function total(s: Snapshot, name: string, label?: [string, string]): number {
  let sum = 0;
  for (const x of s)
    if (x.name === name && (label === undefined || x.labels[label[0]] === label[1])) sum += x.value;
  return sum;
}

function has(s: Snapshot, name: string): boolean {
  return s.some((x) => x.name === name);
}

/** The juicefs-bench cost rows for the change between two snapshots (only present metrics). */
export function costRows(before: Snapshot, after: Snapshot): CostRow[] {
  const rows: CostRow[] = [];
  for (const r of ROWS) {
    if (!has(after, `${r.metric}_count`)) continue;
    const count = total(after, `${r.metric}_count`, r.label) - total(before, `${r.metric}_count`, r.label);
    const secs = total(after, `${r.metric}_sum`, r.label) - total(before, `${r.metric}_sum`, r.label);
    if (r.label !== undefined && count === 0) continue;
    rows.push({ item: r.item, count, msPerOp: count > 0 ? round((secs * 1000) / count, 3) : 0 });
  }
  return rows;
}

/** FUSE op counts and ms/op per method between two snapshots (methods with no calls omitted). */
export function fuseOpsByMethod(
  before: Snapshot,
  after: Snapshot,
): Record<string, { count: number; msPerOp: number }> {
  const name = 'juicefs_fuse_ops_durations_histogram_seconds';
  const methods = new Set(
    after.filter((x) => x.name === `${name}_count`).map((x) => x.labels['method'] ?? ''),
  );
  const out: Record<string, { count: number; msPerOp: number }> = {};
  for (const m of [...methods].sort()) {
    const label: [string, string] = ['method', m];
    const count = total(after, `${name}_count`, label) - total(before, `${name}_count`, label);
    const secs = total(after, `${name}_sum`, label) - total(before, `${name}_sum`, label);
    if (count > 0) out[m] = { count, msPerOp: round((secs * 1000) / count, 3) };
  }
  return out;
}

/** Daemon uptime/CPU/memory deltas when `.stats` exports them (JuiceFS names). */
export function processUsage(before: Snapshot, after: Snapshot): { cpuPercent?: number; memoryMiB?: number } {
  const out: { cpuPercent?: number; memoryMiB?: number } = {};
  const up = total(after, 'juicefs_uptime') - total(before, 'juicefs_uptime');
  if (up > 0 && has(after, 'juicefs_cpu_usage')) {
    out.cpuPercent = round(
      ((total(after, 'juicefs_cpu_usage') - total(before, 'juicefs_cpu_usage')) * 100) / up,
      1,
    );
  }
  if (has(after, 'juicefs_memory')) out.memoryMiB = round(total(after, 'juicefs_memory') / 1024 ** 2, 1);
  return out;
}

export async function readStats(root: string): Promise<Snapshot> {
  return parseMetrics(await readFile(join(root, '.stats'), 'utf8'));
}

/** Walks up from `path` to the directory whose `.stats` serves tjfs metrics, if any. */
export async function findMountRoot(path: string): Promise<string | undefined> {
  let dir = path;
  for (;;) {
    try {
      const text = await readFile(join(dir, '.stats'), 'utf8');
      if (text.includes(FUSE_MARK)) return dir;
    } catch {
      // no .stats here (or unreadable): keep walking up
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
