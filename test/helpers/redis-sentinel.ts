/**
 * Test helper: a Redis master, one replica (`--replicaof`) and three sentinels on free
 * ports in a private temp dir, with short down-after/failover timeouts so a failover takes
 * a few seconds. `killMaster()` SIGKILLs the current master and waits until the sentinels
 * report the replica as the new master.
 * Invariants: `stop()` ends every process and removes the dir; a process 'exit' hook kills
 * any server a crashed test forgot. No persistence: the replica holds what was replicated.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, waitExit } from './proc.js';
import { freePort, pingRedis } from './redis-server.js';

export const REDIS_SERVER = '/usr/bin/redis-server';
export const REDIS_SENTINEL = '/usr/bin/redis-sentinel';
export const REDIS_CLI = '/usr/bin/redis-cli';
export const MASTER_NAME = 'tjfsmaster';

/** Why sentinel tests cannot run here, or undefined when they can. */
export function sentinelMissing(): string | undefined {
  for (const b of [REDIS_SERVER, REDIS_SENTINEL, REDIS_CLI]) if (!existsSync(b)) return `${b} not installed`;
  return undefined;
}

const live = new Set<ChildProcess>();
let hooked = false;
function hook(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

export interface RedisSentinelSet {
  /** `redis://MASTER,127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3/1` */
  url: string;
  /** Port of the current master (as the sentinels see it). */
  masterPort(): Promise<number>;
  /** SIGKILLs the current master; resolves with the new master's port once promoted. */
  killMaster(timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

/** Runs redis-cli against a port; returns trimmed stdout. */
export async function cli(port: number, args: readonly string[]): Promise<string> {
  const r = await run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...args], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`redis-cli -p ${port} ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout.trim();
}

async function startProc(bin: string, args: string[], port: number): Promise<ChildProcess> {
  const c = spawn(bin, args, { stdio: 'ignore' });
  live.add(c);
  c.once('exit', () => live.delete(c));
  for (let i = 0; i < 200; i++) {
    if (await pingRedis(port)) return c;
    if (c.exitCode !== null) break;
    await sleep(25);
  }
  throw new Error(`${bin} did not start on port ${port}`);
}

async function killProc(c: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  c.kill(signal);
  if (!(await waitExit(c, 3000))) {
    c.kill('SIGKILL');
    await waitExit(c, 3000);
  }
}

function serverArgs(port: number, base: string): string[] {
  const dir = join(base, `s${port}`);
  mkdirSync(dir);
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
}

export async function startRedisSentinel(): Promise<RedisSentinelSet> {
  hook();
  const dir = mkdtempSync(join(tmpdir(), 'tjfs-sentinel-'));
  const servers = new Map<number, ChildProcess>();
  const sentinels: ChildProcess[] = [];
  const sentinelPorts: number[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all([...servers.values(), ...sentinels].map((c) => killProc(c, 'SIGTERM')));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const mPort = await freePort();
    const rPort = await freePort();
    servers.set(mPort, await startProc(REDIS_SERVER, serverArgs(mPort, dir), mPort));
    const rArgs = [...serverArgs(rPort, dir), '--replicaof', '127.0.0.1', String(mPort)];
    servers.set(rPort, await startProc(REDIS_SERVER, rArgs, rPort));
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const conf = join(dir, `sentinel${i}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${mPort} 2`,
          `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
          `sentinel failover-timeout ${MASTER_NAME} 5000`,
          `sentinel parallel-syncs ${MASTER_NAME} 1`,
          '',
        ].join('\n'),
      );
      sentinels.push(await startProc(REDIS_SENTINEL, [conf], port));
      sentinelPorts.push(port);
    }
    // The replica is in sync before anyone writes.
    for (let i = 0; ; i++) {
      if ((await cli(rPort, ['INFO', 'replication'])).includes('master_link_status:up')) break;
      if (i > 200) throw new Error('replica did not sync');
      await sleep(50);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const masterPort = async (): Promise<number> => {
    const out = await cli(sentinelPorts[0] ?? 0, ['SENTINEL', 'get-master-addr-by-name', MASTER_NAME]);
    return Number(out.split('\n')[1]);
  };
  const killMaster = async (timeoutMs = 30_000): Promise<number> => {
    const old = await masterPort();
    const c = servers.get(old);
    if (!c) throw new Error(`no server on master port ${old}`);
    await killProc(c, 'SIGKILL');
    servers.delete(old);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const now = await masterPort().catch(() => old);
      if (now !== old && (await cli(now, ['ROLE']).catch(() => '')).startsWith('master')) return now;
      await sleep(100);
    }
    throw new Error(`no failover within ${timeoutMs} ms`);
  };
  const hosts = sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',');
  return { url: `redis://${MASTER_NAME},${hosts}/1`, masterPort, killMaster, stop };
}
