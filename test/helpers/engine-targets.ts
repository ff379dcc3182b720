/**
 * Engine targets shared by the conformance and compatibility tests: mem (always), sqlite3
 * (a temp file per case), redis (a private redis-server per test file, flushed per case),
 * postgres (a private server per test file, a fresh schema per case), mysql (a private
 * MariaDB server per test file, a fresh database per case).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { EngineTarget } from './meta-fixture.js';
import { startRedis, type RedisServer } from './redis-server.js';
import { pgSkipReason, startPg, type PgServer } from './pg-server.js';
import { mariadbSkipReason, startMariadb, type MariadbServer } from './mariadb-server.js';

let memCounter = 0;

export function memTarget(): EngineTarget {
  return { name: 'mem', freshUrl: async () => `mem://t-${process.pid}-${memCounter++}` };
}

/** SQLite directories not yet removed: a test that never calls cleanup() leaves none behind. */
const sqliteDirs = new Set<string>();
process.once('exit', () => {
  for (const d of sqliteDirs) rmSync(d, { recursive: true, force: true });
});

export function sqliteTarget(): EngineTarget {
  const mine = new Set<string>();
  return {
    name: 'sqlite3',
    async freshUrl() {
      const dir = mkdtempSync(join(tmpdir(), 'tjfs-sql-'));
      mine.add(dir);
      sqliteDirs.add(dir);
      return `sqlite3://${join(dir, 'meta.db')}`;
    },
    async cleanup() {
      for (const d of mine) {
        rmSync(d, { recursive: true, force: true });
        sqliteDirs.delete(d);
      }
      mine.clear();
    },
  };
}

/** Registers beforeAll/afterAll hooks that start and stop a private redis-server. */
export function redisTarget(): EngineTarget {
  let server: RedisServer | undefined;
  let raw: Redis | undefined;
  beforeAll(async () => {
    server = await startRedis();
    raw = new Redis(server.url, { lazyConnect: true });
    await raw.connect();
  });
  afterAll(async () => {
    raw?.disconnect();
    await server?.stop();
  });
  return {
    name: 'redis',
    async freshUrl() {
      if (!server || !raw) throw new Error('redis-server not started');
      await raw.flushdb();
      return server.url;
    },
  };
}

/**
 * Registers beforeAll/afterAll hooks that start and stop a private PostgreSQL server
 * (pg-server.ts); each case gets a fresh schema, selected with `?search_path=`. Callers
 * check `pgSkipReason()` first.
 */
export function pgTarget(): EngineTarget {
  let server: PgServer | undefined;
  let n = 0;
  beforeAll(async () => {
    server = await startPg();
    await server.sql('CREATE DATABASE tjfs');
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });
  return {
    name: 'postgres',
    async freshUrl() {
      if (!server) throw new Error('postgres not started');
      const schema = `t${n++}`;
      await server.sql(`CREATE SCHEMA ${schema}`, 'tjfs');
      return `${server.baseUrl}tjfs?search_path=${schema}`;
    },
  };
}

/**
 * Runs `suite` on a private PostgreSQL server (pgTarget), or registers one skipped test
 * saying why when PostgreSQL cannot run here (pg-server.ts, pgSkipReason).
 */
export function withPg(title: string, suite: (target: EngineTarget) => void): void {
  const why = pgSkipReason();
  if (why !== undefined)
    describe(`${title} [skipped: ${why}]`, () => it.skip('needs PostgreSQL', () => undefined));
  else suite(pgTarget());
}

/**
 * Registers beforeAll/afterAll hooks that start and stop a private MariaDB server
 * (mariadb-server.ts); each case gets a fresh database. Callers check
 * `mariadbSkipReason()` first.
 */
export function mysqlTarget(): EngineTarget {
  let server: MariadbServer | undefined;
  let n = 0;
  beforeAll(async () => {
    server = await startMariadb();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });
  return {
    name: 'mysql',
    async freshUrl() {
      if (!server) throw new Error('mariadb not started');
      const db = `t${n++}`;
      await server.sql(`CREATE DATABASE ${db}`);
      return `${server.baseUrl}${db}`;
    },
  };
}

/**
 * Runs `suite` on a private MariaDB server (mysqlTarget), or registers one skipped test
 * saying why when MariaDB cannot run here (mariadb-server.ts, mariadbSkipReason).
 */
export function withMysql(title: string, suite: (target: EngineTarget) => void): void {
  const why = mariadbSkipReason();
  if (why !== undefined)
    describe(`${title} [skipped: ${why}]`, () => it.skip('needs MariaDB', () => undefined));
  else suite(mysqlTarget());
}
