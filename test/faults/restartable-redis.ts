/**
 * Test helper: a redis-server that can be stopped and started again on the same port,
 * with its data (AOF, fsync always, in a private directory) or, with `wipe`, without it.
 * Invariants: `destroy()` stops it and removes the directory; a process 'exit' hook kills
 * a server a crashed test forgot.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, pingRedis } from '../helpers/redis-server.js';

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export interface RestartableRedis {
  url: string;
  port: number;
  /** Stops the server (SIGTERM: the AOF is complete; `kill`: SIGKILL, as a crash). */
  stop(opts?: { kill?: boolean }): Promise<void>;
  /** SIGSTOP / SIGCONT: a server that hangs without closing its connections. */
  pause(): void;
  resume(): void;
  /** Starts it again on the same port; `wipe` removes its data first (a Redis that lost it). */
  start(opts?: { wipe?: boolean }): Promise<void>;
  destroy(): Promise<void>;
}

export async function startRestartableRedis(): Promise<RestartableRedis> {
  const port = await freePort();
  let dir = mkdtempSync(join(tmpdir(), 'tjfs-redis-outage-'));
  let child: ChildProcess | undefined;
  const start = async (opts: { wipe?: boolean } = {}): Promise<void> => {
    if (opts.wipe) {
      rmSync(dir, { recursive: true, force: true });
      dir = mkdtempSync(join(tmpdir(), 'tjfs-redis-outage-'));
    }
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--dir',
      dir,
    ];
    const c = spawn('/usr/bin/redis-server', args, { stdio: 'ignore' });
    child = c;
    live.add(c);
    for (let i = 0; i < 200; i++) {
      if (await pingRedis(port)) return;
      if (c.exitCode !== null) break;
      await sleep(25);
    }
    throw new Error(`redis-server did not start on port ${port}`);
  };
  const stop = async (opts: { kill?: boolean } = {}): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill(opts.kill ? 'SIGKILL' : 'SIGTERM');
    await Promise.race([exited, sleep(5000).then(() => c.kill('SIGKILL'))]);
    await exited;
    live.delete(c);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}/1`,
    port,
    start,
    stop,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    async destroy() {
      child?.kill('SIGCONT');
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
