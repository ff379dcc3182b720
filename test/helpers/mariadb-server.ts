/**
 * Test helper: a throw-away MariaDB server (Debian's mariadb-server) on a free port.
 * Design: `mariadb-install-db` into a private data directory under a temp dir, then
 * `mariadbd --no-defaults` as root, listening on 127.0.0.1 and a private unix socket, with
 * real authentication: root logs in over the socket, and a user `tjfs` with a password
 * gets all privileges (tests use it over TCP, as users do). Ready when a connection answers.
 * Tests call `mariadbSkipReason()` first and skip, saying why, when the binaries are
 * missing or the tests do not run as root.
 * Invariants: never leaves a server behind — `stop()` sends SIGTERM (then SIGKILL) and
 * waits for the exit, and a process 'exit' hook kills any server a crashed test forgot.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { waitExit } from './proc.js';
import { freePort } from './redis-server.js';

export const MARIADB_USER = 'tjfs';
export const MARIADB_PASSWORD = 'tjfs-pw:@/x';

export interface MariadbServer {
  port: number;
  socket: string;
  /** mysql://tjfs:PASSWORD@(127.0.0.1:PORT)/ — append a database name. */
  baseUrl: string;
  /** Runs SQL as root (over the socket), optionally in database `db`. */
  sql(text: string, db?: string): Promise<unknown>;
  stop(): Promise<void>;
}

const SERVER = process.env['TJFS_MARIADBD'] ?? '/usr/sbin/mariadbd';
const INSTALL = process.env['TJFS_MARIADB_INSTALL_DB'] ?? '/usr/bin/mariadb-install-db';
const live = new Set<ChildProcess>();
let hooked = false;

/** Why MariaDB tests cannot run here, or undefined when they can. */
export function mariadbSkipReason(): string | undefined {
  for (const b of [SERVER, INSTALL])
    if (!existsSync(b)) return `${b} not found (apt-get install mariadb-server)`;
  if (userInfo().uid !== 0) return 'MariaDB tests start the server as root';
  return undefined;
}

async function stopChild(child: ChildProcess): Promise<void> {
  for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    child.kill(sig);
    if (await waitExit(child, 10_000)) break;
  }
  live.delete(child);
}

function installDb(dataDir: string): void {
  const r = spawnSync(
    INSTALL,
    [
      '--no-defaults',
      `--datadir=${dataDir}`,
      '--user=root',
      '--auth-root-authentication-method=socket',
      '--skip-test-db',
      '--skip-name-resolve',
    ],
    { encoding: 'utf8', cwd: '/' },
  );
  if (r.status !== 0) throw new Error(`mariadb-install-db failed: ${r.stderr || r.stdout}`);
}

async function rootConn(socket: string, db?: string): Promise<mysql.Connection> {
  return mysql.createConnection({ socketPath: socket, user: 'root', ...(db ? { database: db } : {}) });
}

async function ready(socket: string): Promise<boolean> {
  try {
    const c = await rootConn(socket);
    await c.end();
    return true;
  } catch {
    return false;
  }
}

async function tryStart(root: string, dataDir: string): Promise<MariadbServer | undefined> {
  const port = await freePort();
  const socket = join(root, 'sock');
  const args = [
    '--no-defaults',
    `--datadir=${dataDir}`,
    `--socket=${socket}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    '--user=root',
    `--pid-file=${join(root, 'pid')}`,
    '--skip-name-resolve',
    '--innodb-flush-log-at-trx-commit=0',
    '--innodb-buffer-pool-size=64M',
    '--innodb-log-file-size=48M',
    '--max-connections=300',
    '--skip-log-bin',
    '--character-set-server=utf8mb4',
  ];
  const child = spawn(SERVER, args, { cwd: '/', stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  for (let i = 0; i < 400; i++) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if (await ready(socket)) {
      const sql = async (text: string, db?: string): Promise<unknown> => {
        const c = await rootConn(socket, db);
        try {
          return (await c.query(text))[0];
        } finally {
          await c.end();
        }
      };
      await sql(`CREATE USER '${MARIADB_USER}'@'%' IDENTIFIED BY ${mysql.escape(MARIADB_PASSWORD)}`);
      await sql(`GRANT ALL PRIVILEGES ON *.* TO '${MARIADB_USER}'@'%'`);
      const stop = async (): Promise<void> => {
        await stopChild(child);
        rmSync(root, { recursive: true, force: true });
      };
      const baseUrl = `mysql://${MARIADB_USER}:${encodeURIComponent(MARIADB_PASSWORD)}@(127.0.0.1:${port})/`;
      return { port, socket, baseUrl, sql, stop };
    }
    await sleep(50);
  }
  await stopChild(child);
  if (stderr) process.stderr.write(`mariadbd on ${port} failed: ${stderr}\n`);
  return undefined;
}

/** Starts a private MariaDB server (mariadb-install-db + mariadbd as root). */
export async function startMariadb(): Promise<MariadbServer> {
  const why = mariadbSkipReason();
  if (why !== undefined) throw new Error(`cannot start MariaDB: ${why}`);
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  const root = mkdtempSync(join(tmpdir(), 'tjfs-maria-'));
  const dataDir = join(root, 'data');
  try {
    installDb(dataDir);
    for (let attempt = 0; attempt < 3; attempt++) {
      const server = await tryStart(root, dataDir);
      if (server) return server;
    }
  } catch (e) {
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
  rmSync(root, { recursive: true, force: true });
  throw new Error(`could not start ${SERVER}`);
}
