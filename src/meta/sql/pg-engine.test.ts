/**
 * The PostgreSQL engine on a private server (test/helpers/pg-server.ts): the tables format
 * creates compared column by column with what Go's xorm makes of pkg/meta/sql.go's structs
 * (written out below from those structs, not from pg-schema.ts), URL parsing, bounded
 * conflict retries naming the op, a server that goes away, and the CLI's password lookup.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEngineOptions } from '../../cli/meta-open.js';
import { openEngine } from '../registry.js';
import { TxConflictError, type MetaEngine } from '../engine.js';
import { Errno, FsError } from '../../base/errno.js';
import { pgSkipReason, startPg, type PgServer } from '../../../test/helpers/pg-server.js';
import { makeVolume, n, root } from '../../../test/helpers/meta-fixture.js';
import { ROOT_INODE } from '../../base/types.js';
import { PgBackend, poolConfig } from './pg-engine.js';
import { parsePgUrl } from './pg-url.js';

const why = pgSkipReason();

/** What Go's xorm creates on PostgreSQL for sql.go's structs: column type [not null] [default]. */
const GO_TABLES: Record<string, string> = {
  setting: 'name varchar(255) nn, value text nn',
  counter: 'name varchar(255) nn, value bigint nn',
  edge: 'id bigint nn serial, parent bigint nn, name bytea nn, inode bigint nn, type integer nn',
  node:
    'inode bigint nn, type integer nn, flags integer nn, mode integer nn, uid integer nn, gid integer nn, ' +
    'atime bigint nn, mtime bigint nn, ctime bigint nn, atimensec integer nn =0, mtimensec integer nn =0, ' +
    'ctimensec integer nn =0, nlink integer nn, length bigint nn, rdev integer, parent bigint, ' +
    'access_acl_id integer, default_acl_id integer, tier_id integer',
  symlink: 'inode bigint nn, target bytea nn',
  xattr: 'id bigint nn serial, inode bigint nn, name varchar(255) nn, value bytea nn',
  chunk: 'id bigint nn serial, inode bigint nn, indx integer nn, slices bytea nn',
  chunk_ref: 'chunkid bigint nn, size integer nn, refs integer nn',
  delslices: 'chunkid bigint nn, deleted bigint nn, slices bytea nn',
  session2: 'sid bigint nn, expire bigint nn, info bytea',
  sustained: 'id bigint nn serial, sid bigint nn, inode bigint nn',
  delfile: 'inode bigint nn, length bigint nn, expire bigint nn',
  flock: 'id bigint nn serial, inode bigint nn, sid bigint nn, owner bigint nn, ltype integer nn',
  plock: 'id bigint nn serial, inode bigint nn, sid bigint nn, owner bigint nn, records bytea nn',
  dir_quota:
    'inode bigint nn, max_space bigint nn, max_inodes bigint nn, used_space bigint nn, used_inodes bigint nn',
  user_group_quota:
    'qtype integer nn, qkey bigint nn, max_space bigint nn, max_inodes bigint nn, used_space bigint nn, used_inodes bigint nn',
  dir_stats: 'inode bigint nn, data_length bigint nn, used_space bigint nn, used_inodes bigint nn',
  detached_node: 'inode bigint nn, added bigint nn',
  acl: 'id integer nn serial, owner integer, group integer, mask integer, other integer, named_users bytea, named_groups bytea',
  delegation_token: 'id integer nn serial, token bytea',
  change_log: 'id bigint nn serial, entry text nn',
};

/** Go's indexes: primary keys (`<table>_pkey`) and xorm's UQE_/IDX_ ones. */
const GO_INDEXES = [
  'UQE_jfs_chunk_chunk unique (inode, indx)',
  'IDX_jfs_chunk_ref_refs (refs)',
  'UQE_jfs_edge_edge unique (parent, name)',
  'IDX_jfs_edge_inode (inode)',
  'UQE_jfs_flock_flock unique (inode, sid, owner)',
  'UQE_jfs_plock_plock unique (inode, sid, owner)',
  'UQE_jfs_sustained_sustained unique (sid, inode)',
  'UQE_jfs_xattr_name unique (inode, name)',
  ...Object.keys(GO_TABLES).map((t) => {
    const pk = t === 'user_group_quota' ? 'qtype, qkey' : (GO_TABLES[t] ?? '').split(' ')[0];
    return `jfs_${t}_pkey unique (${pk})`;
  }),
].sort();

async function columns(c: pg.Client): Promise<Record<string, string>> {
  const { rows } = await c.query<Record<string, string | null>>(
    `SELECT table_name, column_name, data_type, character_maximum_length AS len, is_nullable, column_default
       FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
  );
  const out: Record<string, string[]> = {};
  for (const r of rows) {
    const type = r['data_type'] === 'character varying' ? `varchar(${r['len']})` : r['data_type'];
    let col = `${r['column_name']} ${type}${r['is_nullable'] === 'NO' ? ' nn' : ''}`;
    const d = r['column_default'];
    if (d) col += d.startsWith('nextval(') ? ' serial' : ` =${d}`;
    (out[(r['table_name'] ?? '').replace(/^jfs_/, '')] ??= []).push(col);
  }
  return Object.fromEntries(Object.entries(out).map(([t, cols]) => [t, cols.join(', ')]));
}

async function indexes(c: pg.Client): Promise<string[]> {
  const { rows } = await c.query<{ indexname: string; indexdef: string }>(
    'SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()',
  );
  return rows
    .map((r) => {
      const cols = /\(([^)]*)\)\s*$/.exec(r.indexdef)?.[1] ?? '?';
      return `${r.indexname}${/UNIQUE/.test(r.indexdef) ? ' unique' : ''} (${cols})`;
    })
    .sort();
}

describe('postgres:// URLs as JuiceFS reads them', () => {
  it('user, password, host, port, database, sslmode, search_path, table_prefix', () => {
    const u = parsePgUrl(
      'postgres://bob:p%40ss@db.example:6543/vol?sslmode=require&search_path=s1&table_prefix=x',
    );
    expect(u).toMatchObject({
      host: 'db.example',
      port: 6543,
      user: 'bob',
      password: 'p@ss',
      database: 'vol',
    });
    expect(u).toMatchObject({
      prefix: 'jfs_x_',
      ssl: { rejectUnauthorized: false },
      params: { search_path: 's1' },
    });
    expect(u.displayUrl).toBe(
      'postgres://bob:****@db.example:6543/vol?sslmode=require&search_path=s1&table_prefix=x',
    );
    const d = parsePgUrl('postgres://@localhost/jfs?sslmode=disable');
    expect(d).toMatchObject({ host: 'localhost', port: 5432, database: 'jfs', prefix: 'jfs_', params: {} });
    expect(d.user).toBeUndefined();
    expect(d.ssl).toBeUndefined();
  });

  it('the password from the environment is used only when the URL has none', () => {
    expect(parsePgUrl('postgres://bob@h/db', 'env').password).toBe('env');
    expect(parsePgUrl('postgres://bob:url@h/db', 'env').password).toBe('url');
    const env = { META_PASSWORD: 'm', REDIS_PASSWORD: 'r' };
    expect(cliEngineOptions('postgres://bob@h/db', env)).toEqual({ password: 'm' });
    expect(cliEngineOptions('postgres://bob@h/db', { REDIS_PASSWORD: 'r' })).toEqual({});
    expect(cliEngineOptions('redis://h/1', env)).toEqual({ password: 'r' });
  });

  it('refuses what JuiceFS refuses, without echoing a password', () => {
    for (const bad of [
      'postgres://u:secret@h:99999/db',
      'postgres://u:secret@h/',
      'postgres://u:secret@h/db?search_path=a,b',
      'postgres://u:secret@h/db?sslmode=sometimes',
      'postgres://u:secret@h/db?max_open_conns=many',
    ]) {
      let e: unknown;
      try {
        parsePgUrl(bad);
      } catch (err) {
        e = err;
      }
      expect(e, bad).toBeInstanceOf(FsError);
      expect((e as FsError).errno).toBe(Errno.EINVAL);
      expect((e as Error).message).not.toContain('secret');
    }
  });
});

describe.skipIf(why !== undefined)(
  `PostgreSQL engine on a real server${why ? ` [skipped: ${why}]` : ''}`,
  () => {
    let server: PgServer;
    let n0 = 0;
    const fresh = async (): Promise<string> => {
      const schema = `e${n0++}`;
      await server.sql(`CREATE SCHEMA ${schema}`, 'tjfs');
      return `${server.baseUrl}tjfs?search_path=${schema}`;
    };
    const raw = async (url: string): Promise<pg.Client> => {
      const c = new pg.Client(poolConfig(parsePgUrl(url), {}));
      await c.connect();
      return c;
    };
    beforeAll(async () => {
      server = await startPg();
      await server.sql('CREATE DATABASE tjfs');
    }, 60_000);
    afterAll(async () => server?.stop());

    it("format creates exactly Go's tables, columns and indexes", async () => {
      const v = await makeVolume({ name: 'postgres', freshUrl: fresh });
      const c = await raw(v.url);
      try {
        expect(await columns(c)).toEqual(GO_TABLES);
        expect(await indexes(c)).toEqual(GO_INDEXES);
      } finally {
        await c.end();
        await v.close();
      }
    });

    it('a table_prefix names every table and index', async () => {
      const url = `${await fresh()}&table_prefix=vol2`;
      const v = await makeVolume({ name: 'postgres', freshUrl: async () => url });
      const c = await raw(url);
      try {
        const { rows } = await c.query<{ t: string }>(
          "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() AND table_name NOT LIKE 'jfs_vol2_%'",
        );
        expect(rows).toEqual([]);
        expect((await indexes(c)).filter((i) => !/^(UQE_|IDX_)?jfs_vol2_/.test(i))).toEqual([]);
        const m = await v.client();
        await m.mkdir(root, ROOT_INODE, n('d'), 0o755);
        expect((await c.query('SELECT count(*)::int AS k FROM jfs_vol2_edge')).rows[0]).toEqual({ k: 1 });
      } finally {
        await c.end();
        await v.close();
      }
    });

    it('a transaction that keeps meeting serialization failures is retried, then fails naming the op', async () => {
      const url = await fresh();
      const setup = await raw(url);
      await setup.query('CREATE TABLE jfs_counter (name varchar(255) PRIMARY KEY, value bigint NOT NULL)');
      await setup.query("INSERT INTO jfs_counter VALUES ('x', 0)");
      const backend = new PgBackend(new pg.Pool(poolConfig(parsePgUrl(url), {})), 'test', { maxRetries: 4 });
      let tries = 0;
      try {
        const e = await backend
          .runTx(
            async (conn) => {
              tries++;
              await conn.query('SELECT value FROM jfs_counter WHERE name = ?', ['x']); // the snapshot
              await setup.query("UPDATE jfs_counter SET value = value + 1 WHERE name = 'x'"); // another client commits
              return conn.exec('UPDATE jfs_counter SET value = value + 1 WHERE name = ?', ['x']);
            },
            { op: 'mkdir', readonly: false },
          )
          .catch((err: unknown) => err);
        expect(e).toBeInstanceOf(TxConflictError);
        expect((e as Error).message).toMatch(
          /PostgreSQL transaction mkdir conflicted 4 times, giving up \(last: 40001 /,
        );
        expect(tries).toBe(4);
        // Conflicting once, then not: the retry succeeds and the update is applied once.
        tries = 0;
        await backend.runTx(
          async (conn) => {
            await conn.query('SELECT value FROM jfs_counter WHERE name = ?', ['x']);
            if (++tries === 1) await setup.query("UPDATE jfs_counter SET value = value + 1 WHERE name = 'x'");
            return conn.exec('UPDATE jfs_counter SET value = value + 100 WHERE name = ?', ['x']);
          },
          { op: 'write', readonly: false },
        );
        expect((await setup.query("SELECT value FROM jfs_counter WHERE name = 'x'")).rows[0]).toEqual({
          value: 105n,
        });
        expect(backend.stats.conflicts).toBe(5);
      } finally {
        await backend.close();
        await setup.end();
      }
    });

    it('concurrent creates from two clients in one directory all land (conflicts retried)', async () => {
      const v = await makeVolume({ name: 'postgres', freshUrl: fresh });
      try {
        const [a, b] = [await v.client(), await v.client()];
        const d = await a.mkdir(root, ROOT_INODE, n('d'), 0o755);
        await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            (i % 2 ? a : b).create(root, d.ino, n(`f${i}`), 0o644).then((r) => (i % 2 ? a : b).close(r.ino)),
          ),
        );
        const names = (await b.readdir(root, d.ino))
          .map((e) => e.name.toString())
          .filter((x) => x.startsWith('f'));
        expect(names.sort()).toEqual(Array.from({ length: 40 }, (_, i) => `f${i}`).sort());
        expect((await a.getattr(root, d.ino)).nlink).toBe(2);
      } finally {
        await v.close();
      }
    });

    it('an unreachable server fails at open, and a server that goes away fails the op with EIO after the retries', async () => {
      const e = await openEngine(`postgres://postgres@127.0.0.1:1/tjfs`).catch((err: unknown) => err);
      expect((e as FsError).errno).toBe(Errno.EIO);
      expect((e as Error).message).toMatch(/cannot use PostgreSQL at 127\.0\.0\.1:1\/tjfs/);
      const own = await startPg();
      let engine: MetaEngine | undefined;
      try {
        await own.sql('CREATE DATABASE tjfs');
        engine = await openEngine(`${own.baseUrl}tjfs`, { retry: { retries: 2, minBackoffMs: 10 } });
        expect(await engine.getFormatText()).toBeUndefined();
        await own.stop();
        const e2 = await engine.getFormatText().catch((err: unknown) => err);
        expect((e2 as FsError).errno).toBe(Errno.EIO);
        expect((e2 as Error).message).toMatch(
          /^EIO: getFormat: PostgreSQL at 127\.0\.0\.1:\d+\/tjfs unavailable: gave up after 2 retries/,
        );
      } finally {
        await engine?.close();
        await own.stop();
      }
    }, 60_000);
  },
);
