/**
 * Shared body of the scenario test files: one volume of the given kind, one foreground
 * mount daemon, every POSIX scenario run by ONE node child (dist/test/scenarios/run-child.js)
 * on the mount, one `it` per scenario reading that child's JSON result. Registers its own
 * beforeAll/afterAll; afterAll asserts nothing is left mounted or running.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  E2eEnv,
  RUN_CHILD,
  type Mount,
  type Volume,
  type VolumeKind,
  type VolumeOptions,
} from '../helpers/mount.js';
import { run } from '../helpers/proc.js';
import { posixScenarios } from '../scenarios/posix-scenarios.js';
import type { ScenarioResult } from '../scenarios/run-child.js';

export interface ScenarioMount {
  env(): E2eEnv;
  volume(): Volume;
  mount(): Mount;
}

export function useScenarioMount(
  kind: VolumeKind,
  volOpts: VolumeOptions,
  mountArgs: readonly string[] = [],
): ScenarioMount {
  let env: E2eEnv | undefined;
  let vol: Volume | undefined;
  let mnt: Mount | undefined;
  beforeAll(async () => {
    env = new E2eEnv(kind);
    vol = await env.createVolume(kind, volOpts);
    mnt = await env.mount(vol, mountArgs);
  }, 120_000);
  afterAll(async () => {
    const left = (await env?.cleanup()) ?? [];
    expect(left, 'nothing left mounted or running').toEqual([]);
  }, 60_000);
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`${what} not ready (beforeAll failed)`);
    return v;
  };
  return { env: () => need(env, 'env'), volume: () => need(vol, 'volume'), mount: () => need(mnt, 'mount') };
}

/** Runs all scenarios in one child (in the first test) and checks each in its own test. */
export function defineScenarioTests(sm: ScenarioMount): void {
  let results: Map<string, ScenarioResult> | undefined;
  let childError = '';
  const runAll = async (): Promise<Map<string, ScenarioResult>> => {
    if (results) return results;
    const r = await run(process.execPath, [RUN_CHILD, '--root', sm.mount().mp, '--timeout', '90000'], {
      timeoutMs: 180_000,
    });
    results = new Map();
    for (const line of r.stdout.split('\n').filter((l) => l.startsWith('{'))) {
      const res = JSON.parse(line) as ScenarioResult;
      results.set(res.name, res);
    }
    childError = `child exit ${r.code}${r.timedOut ? ' (timed out)' : ''}\n${r.stderr}`;
    return results;
  };
  for (const s of posixScenarios) {
    it(
      s.name,
      async () => {
        const res = (await runAll()).get(s.name);
        if (!res)
          throw new Error(
            `no result for this scenario; ${childError}\ndaemon log:\n${sm.mount().log().slice(-4000)}`,
          );
        if (!res.ok)
          throw new Error(
            `${res.error ?? 'failed'}\n${res.stack ?? ''}\ndaemon log:\n${sm.mount().log().slice(-4000)}`,
          );
        expect(res.ok).toBe(true);
      },
      200_000,
    );
  }
}
