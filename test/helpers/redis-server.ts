/**
 * Test helper: a throw-away redis-server on a free port.
 * Design: spawn /usr/bin/redis-server (no persistence, loopback only, temp dir), wait until
 * it answers PING over a raw socket, stop with SIGTERM then SIGKILL.
 * Invariants: never leaves a server behind — `stop()` waits for the exit, and a process
 * 'exit' hook kills any server a crashed test forgot.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitExit } from './proc.js';

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const REDIS_BIN = '/usr/bin/redis-server';
const live = new Set<ChildProcess>();
let hooked = false;

/** A port that was free a moment ago (listen(0), then close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** True when a redis-server answers PING on 127.0.0.1:`port` (within 500 ms). */
export async function pingRedis(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    let data = '';
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      data += d.toString();
      if (data.includes('\r\n')) done(data.startsWith('+PONG'));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    if (!(await waitExit(child, 3000))) {
      child.kill('SIGKILL');
      await waitExit(child, 3000);
    }
  }
  live.delete(child);
}

async function tryStart(): Promise<RedisServer | undefined> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tjfs-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
  ];
  const child = spawn(REDIS_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const stop = async (): Promise<void> => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if (await pingRedis(port)) return { url: `redis://127.0.0.1:${port}/1`, port, stop };
    await sleep(50);
  }
  await stop();
  if (stderr) process.stderr.write(`redis-server on ${port} failed: ${stderr}\n`);
  return undefined;
}

/** Starts a redis-server; the URL selects DB 1. Retries on a port race. */
export async function startRedis(): Promise<RedisServer> {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const server = await tryStart();
    if (server) return server;
  }
  throw new Error(`could not start ${REDIS_BIN}`);
}
