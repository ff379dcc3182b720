/**
 * The table of `tjfs stats` (JuiceFS cmd/stats.go): sections picked by schema letters
 * (t time, u usage, f fuse, m meta, c blockcache, o object, g/n runtime), each item a
 * 5-character cell; gauges show their value, counters and histograms a rate per second
 * between two samples, histograms also their mean latency in ms. Colors as JuiceFS's
 * (by magnitude), only when `colorful`.
 *
 * `.stats` is read in either format: tjfs serves Prometheus text (labels, `_count` for a
 * histogram's count); JuiceFS serves flattened `name value` lines. `flattenStats` maps both
 * to JuiceFS's flattened names: a `method`/`errno` label is appended to the name, a
 * histogram's count is `<name>_total`, and every name is also summed over its labels.
 * An item lists several metric names when tjfs's differs from JuiceFS's; the first one the
 * sample has is used.
 */

export type StatsSample = Map<string, number>;

const TYPE_LINE = /^#\s*TYPE\s+(\S+)\s+(\S+)/;
const SAMPLE_LINE = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/;

function add(m: StatsSample, k: string, v: number): void {
  m.set(k, (m.get(k) ?? 0) + v);
}

/** `.stats` text (Prometheus or JuiceFS flat) as JuiceFS's flattened names -> values. */
export function flattenStats(text: string): StatsSample {
  const types = new Map<string, string>();
  const out: StatsSample = new Map();
  for (const line of text.split('\n')) {
    const t = TYPE_LINE.exec(line);
    if (t?.[1] !== undefined && t[2] !== undefined) types.set(t[1], t[2]);
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE_LINE.exec(line);
    if (m?.[1] === undefined || m[3] === undefined) continue;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    let base = m[1];
    let suffix = '';
    for (const [end, as] of [
      ['_bucket', ''],
      ['_count', '_total'],
      ['_sum', '_sum'],
    ] as const) {
      const fam = base.slice(0, -end.length);
      if (base.endsWith(end) && types.get(fam) === 'histogram') {
        if (end === '_bucket') base = '';
        else [base, suffix] = [fam, as];
        break;
      }
    }
    if (base === '') continue;
    let labelled = base;
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      if (l[1] === 'method' || l[1] === 'errno') labelled += `_${l[2] ?? ''}`;
    add(out, labelled + suffix, value);
    if (labelled !== base) add(out, base + suffix, value);
  }
  return out;
}

const BYTE = 1,
  COUNT = 2,
  TIME = 4,
  CPU = 8,
  GAUGE = 16,
  COUNTER = 32,
  HIST = 64,
  UNIXTIME = 128;

interface Item {
  nick: string;
  names: readonly string[];
  typ: number;
}

interface Section {
  name: string;
  items: Item[];
}

const it = (nick: string, names: string | readonly string[], typ: number): Item => ({
  nick,
  names: typeof names === 'string' ? [names] : names,
  typ,
});

const FUSE_OPS = 'juicefs_fuse_ops_durations_histogram_seconds';
const TXN = 'juicefs_transaction_durations_histogram_seconds';
const OBJ_HIST = 'juicefs_object_request_durations_histogram_seconds';

/** Items of each section by schema letter; `v` = verbosity > 0 (its items, else `false`). */
const SECTIONS: Record<string, { name: string; items: (v: boolean) => (Item | false)[] }> = {
  t: { name: 'system', items: () => [it('time', 'juicefs_timestamp', UNIXTIME)] },
  u: {
    name: 'usage',
    items: (v) => [
      it('cpu', 'juicefs_cpu_usage', CPU | COUNTER),
      it('mem', 'juicefs_memory', GAUGE),
      it('buf', 'juicefs_used_buffer_size_bytes', GAUGE),
      v && it('cache', 'juicefs_store_cache_size_bytes', GAUGE),
    ],
  },
  f: {
    name: 'fuse',
    items: () => [
      it('ops', FUSE_OPS, TIME | HIST),
      it('read', ['juicefs_fuse_read_size_bytes_sum', 'juicefs_fuse_read_size_bytes_total'], BYTE | COUNTER),
      it(
        'write',
        ['juicefs_fuse_written_size_bytes_sum', 'juicefs_fuse_written_size_bytes_total'],
        BYTE | COUNTER,
      ),
    ],
  },
  // tjfs times metadata transactions, not every meta call: its `ops` are transactions.
  m: {
    name: 'meta',
    items: (v) => [
      it('ops', ['juicefs_meta_ops_durations_histogram_seconds', TXN], TIME | HIST),
      v && it('txn', TXN, TIME | HIST),
      v && it('retry', ['juicefs_transaction_restart', 'tjfs_meta_retries'], COUNT | COUNTER),
    ],
  },
  c: {
    name: 'blockcache',
    items: () => [
      it('read', 'juicefs_blockcache_hit_bytes', BYTE | COUNTER),
      it('write', 'juicefs_blockcache_write_bytes', BYTE | COUNTER),
    ],
  },
  o: {
    name: 'object',
    items: (v) => [
      it(
        'get',
        ['juicefs_object_request_data_bytes_GET', 'juicefs_object_request_data_bytes_get'],
        BYTE | COUNTER,
      ),
      v && it('get_c', `${OBJ_HIST}_GET`, TIME | HIST),
      it(
        'put',
        ['juicefs_object_request_data_bytes_PUT', 'juicefs_object_request_data_bytes_put'],
        BYTE | COUNTER,
      ),
      v && it('put_c', `${OBJ_HIST}_PUT`, TIME | HIST),
      v && it('del_c', `${OBJ_HIST}_DELETE`, TIME | HIST),
    ],
  },
  // JuiceFS's "go" section: the Node.js heap here ('n' is an alias).
  g: {
    name: 'node',
    items: () => [
      it('alloc', ['tjfs_node_heap_used_bytes', 'juicefs_go_memstats_alloc_bytes'], GAUGE),
      it('sys', ['tjfs_node_heap_total_bytes', 'juicefs_go_memstats_sys_bytes'], GAUGE),
    ],
  },
};

function section(letter: string, verbosity: number): Section | undefined {
  const def = SECTIONS[letter === 'n' ? 'g' : letter];
  if (def === undefined) return undefined;
  return { name: def.name, items: def.items(verbosity > 0).filter((x): x is Item => x !== false) };
}

const BLACK = 30,
  RED = 31,
  GREEN = 32,
  YELLOW = 33,
  BLUE = 34,
  MAGENTA = 35,
  CYAN = 36,
  WHITE = 37;
const TIME_WIDTH = 14; // "01-02 15:04:05"

function pad(name: string, width: number, ch: string): string {
  const s = name.slice(0, width);
  const left = Math.ceil((width - s.length) / 2);
  return ch.repeat(left) + s + ch.repeat(width - s.length - left);
}

function stamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export interface StatsViewOptions {
  schema: string;
  verbosity: number;
  colorful: boolean;
}

export class StatsView {
  readonly sections: Section[] = [];
  readonly header: string;
  /** Letters of the schema that name no section (JuiceFS warns about each). */
  readonly unknown: string[] = [];
  private readonly colorful: boolean;

  constructor(o: StatsViewOptions) {
    this.colorful = o.colorful;
    for (const ch of o.schema) {
      const s = section(ch, o.verbosity);
      if (s === undefined) this.unknown.push(ch);
      else this.sections.push(s);
    }
    this.header = this.formatHeader();
  }

  private color(msg: string, color: number, dark = false, underline = false): string {
    if (!this.colorful || msg === '' || msg === ' ') return msg;
    return `${underline ? '\x1b[4m' : ''}\x1b[${dark ? 0 : 1};${color}m${msg}\x1b[0m`;
  }

  private formatHeader(): string {
    const heads: string[] = [];
    const subs: string[] = [];
    for (const s of this.sections) {
      const cells: string[] = [];
      for (const i of s.items) {
        cells.push(this.color(pad(i.nick, i.typ & UNIXTIME ? TIME_WIDTH : 5, ' '), BLUE, false, true));
        if (i.typ & HIST) cells.push(this.color(i.typ & TIME ? ' lat ' : ' avg ', BLUE, false, true));
      }
      const width = s.name === 'system' ? TIME_WIDTH : 6 * cells.length - 1;
      heads.push(this.color(pad(s.name, width, '-'), BLUE, true));
      subs.push(cells.join(' '));
    }
    return `${heads.join(' ')}\n${subs.join(this.color('|', BLUE, true))}`;
  }

  private u64(v: number, dark: boolean, isByte: boolean): string {
    if (!(v > 0)) return this.color('   0 ', BLACK);
    let n = Math.floor(v);
    let unit = isByte ? 'B' : ' ';
    let color = RED;
    const steps: [string, number][] = [
      ['K', YELLOW],
      ['M', GREEN],
      ['G', BLUE],
      ['T', MAGENTA],
      ['P', CYAN],
    ];
    for (const [u, c] of steps) {
      if (n < 10000) break;
      n = Math.floor(n / 1024);
      [unit, color] = [u, c];
    }
    return this.color(String(n).padStart(4), color, dark) + this.color(unit, BLACK);
  }

  private time(ms: number, dark: boolean): string {
    if (!(ms > 0)) return this.color('   0 ', BLACK);
    if (ms < 10) return this.color(`${ms.toFixed(2).padStart(4)} `, GREEN, dark);
    if (ms < 100) return this.color(`${ms.toFixed(1).padStart(4)} `, YELLOW, dark);
    if (ms < 10000) return this.color(`${ms.toFixed(0).padStart(4)} `, RED, dark);
    return this.color(ms.toExponential(0).replace('e+', 'e+0'), MAGENTA, dark);
  }

  private cpu(frac: number, dark: boolean): string {
    const v = frac * 100;
    let s: string;
    let color: number;
    if (!(v > 0)) [s, color] = [' 0.0', WHITE];
    else if (v < 30) [s, color] = [v.toFixed(1).padStart(4), GREEN];
    else if (v < 100) [s, color] = [v.toFixed(1).padStart(4), YELLOW];
    else [s, color] = [v.toFixed(0).padStart(4), RED];
    return this.color(s, color, dark) + this.color('%', BLACK);
  }

  /**
   * One line of values between samples `left` and `right` taken `secs` apart. `dark` lines
   * are JuiceFS's in-between updates: totals since the last full line, not rates.
   */
  line(left: StatsSample, right: StatsSample, secs: number, dark = false, now = new Date()): string {
    const per = dark || !(secs > 0) ? 1 : secs;
    const values = this.sections.map((s) => {
      const vals: string[] = [];
      for (const i of s.items) {
        const name = i.names.find((n) => right.has(n) || right.has(`${n}_total`)) ?? i.names[0] ?? '';
        const r = (k: string): number => right.get(k) ?? 0;
        const d = (k: string): number => r(k) - (left.get(k) ?? 0);
        if (i.typ & UNIXTIME) vals.push(this.color(stamp(now), dark ? BLACK : WHITE, !dark));
        else if (i.typ & GAUGE) vals.push(this.u64(r(name), dark, true));
        else if (i.typ & COUNTER) {
          const v = d(name) / per;
          if (i.typ & BYTE) vals.push(this.u64(v, dark, true));
          else if (i.typ & CPU) vals.push(this.cpu(v, dark));
          else vals.push(this.u64(v, dark, false));
        } else if (i.typ & HIST) {
          const count = d(`${name}_total`);
          const avg = count > 0 ? (d(`${name}_sum`) * (i.typ & TIME ? 1000 : 1)) / count : 0;
          vals.push(this.u64(count / per, dark, false), this.time(avg, dark));
        }
      }
      return vals.join(' ');
    });
    return values.join(this.color('|', BLUE, true));
  }
}
