/**
 * Test helper: a throw-away PostgreSQL server (Debian's postgresql 15) on a free port.
 * Design: initdb into a private data directory under a temp dir owned by the `postgres`
 * user (trust authentication, fsync off), then `postgres` itself as that user, listening
 * on 127.0.0.1 and a private unix socket directory; ready when a connection answers.
 * Tests call `pgSkipReason()` first and skip, saying why, when the binaries or the
 * `postgres` user are missing or the tests do not run as root.
 * Invariants: never leaves a server behind — `stop()` asks for a fast shutdown and waits
 * for the exit (SIGQUIT, then SIGKILL), and a process 'exit' hook sends SIGQUIT to any
 * server a crashed test forgot.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { waitExit } from './proc.js';
import { freePort } from './redis-server.js';

export interface PgServer {
  /** postgres://postgres@127.0.0.1:PORT/ — append a database name. */
  baseUrl: string;
  port: number;
  socketDir: string;
  /** Runs SQL as the superuser on database `db` (default postgres). */
  sql(text: string, db?: string): Promise<pg.QueryResult>;
  stop(): Promise<void>;
}

const BIN = process.env['TJFS_PG_BIN'] ?? '/usr/lib/postgresql/15/bin';
const live = new Set<ChildProcess>();
let hooked = false;

function pgUser(): { uid: number; gid: number } | undefined {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) return undefined;
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** Why PostgreSQL tests cannot run here, or undefined when they can. */
export function pgSkipReason(): string | undefined {
  for (const b of ['initdb', 'postgres'])
    if (!existsSync(join(BIN, b))) return `${join(BIN, b)} not found (apt-get install postgresql)`;
  if (userInfo().uid !== 0) return 'PostgreSQL tests start the server as the postgres user and need root';
  if (pgUser() === undefined) return 'no postgres user';
  return undefined;
}

async function stopChild(child: ChildProcess): Promise<void> {
  for (const sig of ['SIGINT', 'SIGQUIT', 'SIGKILL'] as const) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    child.kill(sig); // SIGINT: fast shutdown; SIGQUIT: immediate
    if (await waitExit(child, 5000)) break;
  }
  live.delete(child);
}

function initdb(dataDir: string, ids: { uid: number; gid: number }): void {
  const r = spawnSync(
    join(BIN, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
    { ...ids, encoding: 'utf8', cwd: '/' },
  );
  if (r.status !== 0) throw new Error(`initdb failed: ${r.stderr || r.stdout}`);
}

async function ready(port: number): Promise<boolean> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function tryStart(
  root: string,
  dataDir: string,
  ids: { uid: number; gid: number },
): Promise<PgServer | undefined> {
  const port = await freePort();
  const socketDir = join(root, 'sock');
  mkdirSync(socketDir, { recursive: true });
  chownSync(socketDir, ids.uid, ids.gid);
  const args = ['-D', dataDir, '-p', String(port), '-k', socketDir, '-c', 'listen_addresses=127.0.0.1'];
  for (const o of ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off', 'max_connections=200'])
    args.push('-c', o);
  const child = spawn(join(BIN, 'postgres'), args, { ...ids, cwd: '/', stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if (await ready(port)) {
      const sql = async (text: string, db = 'postgres'): Promise<pg.QueryResult> => {
        const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: db });
        await c.connect();
        try {
          return await c.query(text);
        } finally {
          await c.end();
        }
      };
      const stop = async (): Promise<void> => {
        await stopChild(child);
        rmSync(root, { recursive: true, force: true });
      };
      return { baseUrl: `postgres://postgres@127.0.0.1:${port}/`, port, socketDir, sql, stop };
    }
    await sleep(50);
  }
  await stopChild(child);
  if (stderr) process.stderr.write(`postgres on ${port} failed: ${stderr}\n`);
  return undefined;
}

/** Starts a private PostgreSQL server (initdb + postgres as the postgres user). */
export async function startPg(): Promise<PgServer> {
  const why = pgSkipReason();
  if (why !== undefined) throw new Error(`cannot start PostgreSQL: ${why}`);
  const ids = pgUser() as { uid: number; gid: number };
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGQUIT');
    });
  }
  const root = mkdtempSync(join(tmpdir(), 'tjfs-pg-'));
  chownSync(root, ids.uid, ids.gid);
  const dataDir = join(root, 'data');
  try {
    initdb(dataDir, ids);
    for (let attempt = 0; attempt < 3; attempt++) {
      const server = await tryStart(root, dataDir, ids);
      if (server) return server;
    }
  } catch (e) {
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
  rmSync(root, { recursive: true, force: true });
  throw new Error(`could not start ${join(BIN, 'postgres')}`);
}

/** A client on the database of a postgres:// test URL with its search_path (raw SQL in tests). */
export async function rawPg(url: string): Promise<pg.Client> {
  const u = new URL(url);
  const schema = u.searchParams.get('search_path');
  const c = new pg.Client({
    host: u.hostname,
    port: Number(u.port),
    user: decodeURIComponent(u.username),
    database: u.pathname.slice(1),
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
    types: {
      getTypeParser: ((oid: number, f?: 'text') =>
        oid === 20 ? BigInt : pg.types.getTypeParser(oid, f ?? 'text')) as never,
    },
  });
  await c.connect();
  return c;
}
