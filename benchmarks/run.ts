/**
 * `npm run bench [-- SUITE...]`: runs the benchmark suites in sequence (fuse, data, meta,
 * api by default; soak, multi and million when named; `--name value` pairs go to the suites as `args`), each only when its module exists and exports its run function, then
 * writes bench-results/summary.json (commit, machine, per-suite status, seconds, ratios and
 * the full result) and prints a short summary with the ratios each suite reports.
 * Design: suites are loaded with a dynamic import so a missing or broken suite is reported
 * ('skipped' / 'failed') without stopping the others; each suite writes its own JSON too.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stamp } from './stamp.js';

const SUITES = {
  fuse: 'runFuseBench',
  data: 'runDataBench',
  meta: 'runMetaBench',
  api: 'runApiBench',
  soak: 'runSoakBench',
  multi: 'runMultiBench',
  million: 'runMillionBench',
} as const;

/** Run when no suite is named; the soak (10 minutes) only when asked for. */
const DEFAULT_SUITES = ['fuse', 'data', 'meta', 'api'] as const;

export type SuiteName = keyof typeof SUITES;

export interface SuiteOutcome {
  status: 'ok' | 'skipped' | 'failed';
  seconds: number;
  reason?: string;
  ratios?: unknown;
  targets?: unknown;
  result?: unknown;
}

function isSuite(s: string): s is SuiteName {
  return Object.hasOwn(SUITES, s);
}

type RunFn = (opts?: { args?: Record<string, string> }) => Promise<unknown>;

/** Loads `./<name>.js`; undefined (with a reason) when absent or without the run function. */
async function load(name: SuiteName): Promise<{ fn?: RunFn; reason?: string }> {
  let mod: unknown;
  try {
    mod = await import(`./${name}.js`);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const missing = code === 'ERR_MODULE_NOT_FOUND' && (e as Error).message.includes(`benchmarks/${name}.js`);
    return {
      reason: missing ? `benchmarks/${name}.ts not present` : `import failed: ${(e as Error).message}`,
    };
  }
  const fn = (mod as Record<string, unknown>)[SUITES[name]];
  if (typeof fn !== 'function') return { reason: `no export ${SUITES[name]}` };
  return { fn: fn as RunFn };
}

function field(r: unknown, key: string): unknown {
  return typeof r === 'object' && r !== null ? (r as Record<string, unknown>)[key] : undefined;
}

/** Flattens nested numeric ratios to `a.b.c = x` lines. */
function flatten(v: unknown, prefix: string, out: string[]): void {
  if (typeof v === 'number') out.push(`${prefix} = ${v}`);
  else if (typeof v === 'object' && v !== null)
    for (const [k, x] of Object.entries(v)) flatten(x, prefix === '' ? k : `${prefix}.${k}`, out);
}

export async function runSuites(
  names: SuiteName[],
  log: (l: string) => void,
  args: Record<string, string> = {},
): Promise<Record<string, SuiteOutcome>> {
  const outcomes: Record<string, SuiteOutcome> = {};
  for (const name of names) {
    const t0 = Date.now();
    const { fn, reason } = await load(name);
    if (fn === undefined) {
      outcomes[name] = { status: 'skipped', seconds: 0, reason: reason ?? 'unknown' };
      log(`== ${name}: skipped (${reason ?? 'unknown'})`);
      continue;
    }
    log(`== ${name}`);
    try {
      const result = await fn(Object.keys(args).length > 0 ? { args } : undefined);
      const o: SuiteOutcome = { status: 'ok', seconds: (Date.now() - t0) / 1000, result };
      if (field(result, 'ratios') !== undefined) o.ratios = field(result, 'ratios');
      if (field(result, 'targets') !== undefined) o.targets = field(result, 'targets');
      outcomes[name] = o;
    } catch (e) {
      outcomes[name] = {
        status: 'failed',
        seconds: (Date.now() - t0) / 1000,
        reason: e instanceof Error ? (e.stack ?? e.message) : String(e),
      };
      log(`== ${name}: FAILED: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return outcomes;
}

export function formatSummary(outcomes: Record<string, SuiteOutcome>): string {
  const lines = ['', '== summary'];
  for (const [name, o] of Object.entries(outcomes)) {
    lines.push(
      `${name}: ${o.status}${o.status === 'ok' ? ` in ${o.seconds.toFixed(1)} s` : ` (${(o.reason ?? '').split('\n')[0] ?? ''})`}`,
    );
    const r: string[] = [];
    flatten(o.ratios, '', r);
    for (const l of r) lines.push(`  ratio ${l}`);
    if (Array.isArray(field(o, 'targets')) || typeof o.targets === 'object') {
      for (const [engine, checks] of Object.entries((o.targets ?? {}) as Record<string, unknown>)) {
        if (!Array.isArray(checks)) continue;
        for (const c of checks as Array<{ name: string; ok: boolean; value: number; target: string }>) {
          lines.push(`  target ${c.ok ? 'MET ' : 'MISS'} [${engine}] ${c.name}: ${c.value} (${c.target})`);
        }
      }
    }
  }
  return lines.join('\n');
}

export async function runBenchmarks(
  argv: string[],
  log: (l: string) => void = (l) => process.stderr.write(l + '\n'),
): Promise<number> {
  const args: Record<string, string> = {};
  const suites: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (!a.startsWith('--')) suites.push(a);
    else if (a.includes('=')) args[a.slice(2, a.indexOf('='))] = a.slice(a.indexOf('=') + 1);
    else args[a.slice(2)] = argv[++i] ?? '';
  }
  const unknown = suites.filter((a) => !isSuite(a));
  if (unknown.length > 0) {
    log(`unknown suite(s): ${unknown.join(', ')}; choose from ${Object.keys(SUITES).join(', ')}`);
    return 2;
  }
  const names = suites.length > 0 ? (suites as SuiteName[]) : [...DEFAULT_SUITES];
  const st = stamp();
  log(
    `tjfs benchmarks at ${st.commit.slice(0, 12)}${st.dirty ? ' (dirty)' : ''} on ${st.machine.cpu} x${st.machine.cores}, ${st.machine.kernel}, node ${st.machine.node}`,
  );
  const outcomes = await runSuites(names, log, args);
  const file = join(process.cwd(), 'bench-results', 'summary.json');
  await mkdir(join(process.cwd(), 'bench-results'), { recursive: true });
  await writeFile(file, JSON.stringify({ ...st, suites: outcomes }, null, 2) + '\n');
  process.stdout.write(formatSummary(outcomes) + `\n(written to ${file})\n`);
  return Object.values(outcomes).some((o) => o.status === 'failed') ? 1 : 0;
}

if (process.argv[1]?.endsWith('benchmarks/run.js') === true) {
  process.once('SIGINT', () => process.exit(130));
  process.exitCode = await runBenchmarks(process.argv.slice(2));
}
