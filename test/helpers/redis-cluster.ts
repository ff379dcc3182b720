/**
 * Test helper: a Redis Cluster of three masters and three replicas on loopback, in a private
 * temp dir, built with `redis-cli --cluster create --cluster-replicas 1`. A short
 * cluster-node-timeout (1 s) makes a replica take over a killed master in a few seconds.
 * `migrateSlot` moves one slot between masters by hand (SETSLOT IMPORTING/MIGRATING, MIGRATE
 * key by key with pauses, SETSLOT NODE) so clients meet ASK and MOVED replies meanwhile.
 * Invariants: `stop()` ends every server and removes the dir; a process 'exit' hook kills
 * servers a crashed test forgot. Each port P is chosen with P+10000 (the bus port) free too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, waitExit } from './proc.js';
import { pingRedis } from './redis-server.js';
import { cli, REDIS_CLI, REDIS_SERVER } from './redis-sentinel.js';

const live = new Set<ChildProcess>();
let hooked = false;

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A port P in 20000..29999 with P and P+10000 free a moment ago, not in `taken`. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 20000 + Math.floor(Math.random() * 10000);
    if (taken.has(p)) continue;
    if ((await portFree(p)) && (await portFree(p + 10000))) {
      taken.add(p);
      return p;
    }
  }
  throw new Error('no free port pair for a cluster node');
}

export interface ClusterNode {
  port: number;
  id: string;
  role: 'master' | 'slave';
  masterId: string;
  slots: string[];
}

export interface RedisClusterSet {
  /** `redis://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3/1` (the first three masters). */
  url: string;
  ports: number[];
  nodes(): Promise<ClusterNode[]>;
  /** The master port serving `slot`. */
  ownerOf(slot: number): Promise<number>;
  /** SIGKILLs the master on `port`; resolves with its replica's port once that took over. */
  killMaster(port: number, timeoutMs?: number): Promise<number>;
  /** Moves `slot` from master `from` to master `to`, pausing `pauseMs` between keys. */
  migrateSlot(slot: number, from: number, to: number, pauseMs: number): Promise<number>;
  stop(): Promise<void>;
}

async function clusterOk(ports: readonly number[]): Promise<boolean> {
  for (const p of ports) {
    const info = await cli(p, ['CLUSTER', 'INFO']).catch(() => '');
    if (!info.includes('cluster_state:ok')) return false;
  }
  return true;
}

async function waitUntil(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function startRedisCluster(): Promise<RedisClusterSet> {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  const dir = mkdtempSync(join(tmpdir(), 'tjfs-cluster-'));
  const procs = new Map<number, ChildProcess>();
  const stop = async (): Promise<void> => {
    await Promise.all(
      [...procs.values()].map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        c.kill('SIGTERM');
        if (!(await waitExit(c, 3000))) c.kill('SIGKILL');
        await waitExit(c, 3000);
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  const taken = new Set<number>();
  const ports: number[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      const port = await freeClusterPort(taken);
      const d = join(dir, String(port));
      mkdirSync(d);
      const args = [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        d,
        '--save',
        '',
        '--appendonly',
        'no',
      ];
      args.push(
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-node-timeout',
        '1000',
        // Replicas sync at once (Redis 7 waits 5 s to batch diskless syncs): a replica that
        // never synced has no data age and is never promoted.
        '--repl-diskless-sync-delay',
        '0',
      );
      const c = spawn(REDIS_SERVER, args, { stdio: 'ignore' });
      live.add(c);
      c.once('exit', () => live.delete(c));
      procs.set(port, c);
      await waitUntil(async () => pingRedis(port), 10_000, `redis-server on ${port}`);
      ports.push(port);
    }
    const hosts = ports.map((p) => `127.0.0.1:${p}`);
    const r = await run(
      REDIS_CLI,
      ['--cluster', 'create', ...hosts, '--cluster-replicas', '1', '--cluster-yes'],
      {
        timeoutMs: 60_000,
      },
    );
    if (r.code !== 0) throw new Error(`redis-cli --cluster create: ${r.stdout}${r.stderr}`);
    await waitUntil(() => clusterOk(ports), 30_000, 'cluster_state:ok');
    // Every replica has synced with its master, so a killed master can fail over.
    await waitUntil(
      async () => {
        for (const p of ports) {
          const info = await cli(p, ['INFO', 'replication']).catch(() => '');
          if (info.includes('role:slave') && !info.includes('master_link_status:up')) return false;
        }
        return true;
      },
      30_000,
      'replicas in sync',
    );
  } catch (e) {
    await stop();
    throw e;
  }
  const alive = (): number[] =>
    ports.filter((p) => procs.get(p)?.exitCode === null && !procs.get(p)?.signalCode);
  const nodes = async (): Promise<ClusterNode[]> => {
    const out = await cli(alive()[0] ?? 0, ['CLUSTER', 'NODES']);
    return out
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const f = l.split(' ');
        return {
          port: Number(/:(\d+)@/.exec(f[1] ?? '')?.[1]),
          id: f[0] ?? '',
          role: (f[2] ?? '').includes('master') ? 'master' : 'slave',
          masterId: f[3] ?? '-',
          slots: f.slice(8),
        } as ClusterNode;
      })
      .filter(
        (n) =>
          !/fail|noaddr/.test(
            out
              .split('\n')
              .find((l) => l.startsWith(n.id))
              ?.split(' ')[2] ?? '',
          ),
      );
  };
  const ownerOf = async (slot: number): Promise<number> => {
    for (const n of await nodes()) {
      if (n.role !== 'master') continue;
      for (const range of n.slots) {
        const [a, b] = range.split('-').map(Number);
        if (a !== undefined && slot >= a && slot <= (b ?? a)) return n.port;
      }
    }
    throw new Error(`no master serves slot ${slot}`);
  };
  const killMaster = async (port: number, timeoutMs = 30_000): Promise<number> => {
    const all = await nodes();
    const me = all.find((n) => n.port === port);
    const replica = all.find((n) => n.masterId === me?.id);
    if (!me || me.role !== 'master' || !replica) throw new Error(`${port} is not a master with a replica`);
    const c = procs.get(port);
    c?.kill('SIGKILL');
    if (c) await waitExit(c, 3000);
    await waitUntil(
      async () =>
        (await cli(replica.port, ['ROLE']).catch(() => '')).startsWith('master') && clusterOk(alive()),
      timeoutMs,
      `replica ${replica.port} to take over`,
    );
    return replica.port;
  };
  const migrateSlot = async (slot: number, from: number, to: number, pauseMs: number): Promise<number> => {
    const all = await nodes();
    const src = all.find((n) => n.port === from);
    const dst = all.find((n) => n.port === to);
    if (!src || !dst) throw new Error('unknown nodes');
    await cli(to, ['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', src.id]);
    await cli(from, ['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', dst.id]);
    let moved = 0;
    for (;;) {
      const keys = (await cli(from, ['CLUSTER', 'GETKEYSINSLOT', String(slot), '5']))
        .split('\n')
        .filter(Boolean);
      if (keys.length === 0) break;
      await cli(from, ['MIGRATE', '127.0.0.1', String(to), '', '0', '5000', 'KEYS', ...keys]);
      moved += keys.length;
      await sleep(pauseMs);
    }
    for (const p of alive())
      await cli(p, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', dst.id]).catch(() => '');
    await waitUntil(async () => (await ownerOf(slot)) === to, 10_000, `slot ${slot} on ${to}`);
    return moved;
  };
  const url = `redis://${ports
    .slice(0, 3)
    .map((p) => `127.0.0.1:${p}`)
    .join(',')}/1`;
  return { url, ports, nodes, ownerOf, killMaster, migrateSlot, stop };
}
