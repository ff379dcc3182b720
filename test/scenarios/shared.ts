/**
 * Loads the mount engineer's shared POSIX scenarios (posix-scenarios.ts) when that file
 * exists, so the API and HDFS drivers run the very same definitions as the FUSE tests.
 * Design: a dynamic import by file name; any export that is an array of scenarios is used.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Scenario } from './scenario-fs.js';

export async function loadSharedScenarios(): Promise<Scenario[]> {
  const file = fileURLToPath(new URL('./posix-scenarios.ts', import.meta.url));
  if (!existsSync(file)) return [];
  const mod = (await import(/* @vite-ignore */ './posix-scenarios.js')) as Record<string, unknown>;
  const out: Scenario[] = [];
  for (const v of Object.values(mod)) {
    if (Array.isArray(v) && v.every((s) => typeof s === 'object' && s !== null && 'name' in s && 'run' in s))
      out.push(...(v as Scenario[]));
  }
  return out;
}
