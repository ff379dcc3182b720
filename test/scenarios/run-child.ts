/**
 * Child-process entry point: runs POSIX scenarios with node:fs/promises against a directory
 * (normally on a FUSE mount) and prints one JSON line per scenario:
 *   {"name", "ok", "ms", "error"?, "code"?, "stack"?}
 * Usage: node dist/test/scenarios/run-child.js --root DIR [--timeout MS] [NAME...]
 * (no names: all). Each scenario gets a fresh sub-directory of DIR. A scenario that does
 * not finish in time is reported and the process exits (a hung FUSE call cannot be undone).
 */
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { posixScenarios } from './posix-scenarios.js';
import type { Scenario, ScenarioFs } from './scenario-fs.js';

export interface ScenarioResult {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
  code?: string;
  stack?: string;
}

const nodeFs: ScenarioFs = fsp;

function slug(name: string, i: number): string {
  return `${String(i).padStart(2, '0')}-${name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 50)}`;
}

function parseArgs(argv: readonly string[]): { root: string; timeoutMs: number; names: string[] } {
  let root = '';
  let timeoutMs = 120_000;
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--root') root = argv[++i] ?? '';
    else if (a === '--timeout') timeoutMs = Number(argv[++i]);
    else names.push(a);
  }
  if (!root) throw new Error('usage: run-child.js --root DIR [--timeout MS] [NAME...]');
  return { root, timeoutMs, names };
}

async function runOne(s: Scenario, dir: string, timeoutMs: number): Promise<ScenarioResult> {
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await fsp.mkdir(dir);
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(
        () => rej(Object.assign(new Error(`timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
        timeoutMs,
      );
    });
    await Promise.race([s.run(nodeFs, dir), timeout]);
    return { name: s.name, ok: true, ms: Date.now() - t0 };
  } catch (e) {
    const err = e as Error & { code?: unknown };
    return {
      name: s.name,
      ok: false,
      ms: Date.now() - t0,
      error: err.message,
      ...(typeof err.code === 'string' ? { code: err.code } : {}),
      ...(err.stack ? { stack: err.stack } : {}),
    };
  } finally {
    clearTimeout(timer);
  }
}

async function main(): Promise<number> {
  const { root, timeoutMs, names } = parseArgs(process.argv.slice(2));
  const chosen = names.length === 0 ? posixScenarios : posixScenarios.filter((s) => names.includes(s.name));
  const unknown = names.filter((n) => !posixScenarios.some((s) => s.name === n));
  for (const n of unknown)
    process.stdout.write(JSON.stringify({ name: n, ok: false, ms: 0, error: 'unknown scenario' }) + '\n');
  let failed = unknown.length;
  for (const s of chosen) {
    const r = await runOne(s, join(root, slug(s.name, posixScenarios.indexOf(s))), timeoutMs);
    process.stdout.write(JSON.stringify(r) + '\n');
    if (!r.ok) failed++;
    if (r.code === 'ETIMEDOUT') return 2;
  }
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${String(e)}\n`);
    process.exit(3);
  },
);
