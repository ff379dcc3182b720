/**
 * The MySQL engine on a private MariaDB server (test/helpers/mariadb-server.ts): the tables
 * format creates compared column by column with what Go's xorm makes of pkg/meta/sql.go's
 * structs on MySQL (written out below from those structs, not from mysql-schema.ts), URL
 * parsing as the Go DSN, statement translation, bounded conflict retries naming the op, a
 * server that goes away, the CLI's password lookup, and a SQLite -> MySQL migration by
 * dump and load.
 */
import { PassThrough, Readable } from 'node:stream';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEngineOptions } from '../../cli/meta-open.js';
import { openEngine } from '../registry.js';
import { TxConflictError, type MetaEngine } from '../engine.js';
import { Errno, FsError } from '../../base/errno.js';
import { mariadbSkipReason, startMariadb, type MariadbServer } from '../../../test/helpers/mariadb-server.js';
import { sqliteTarget } from '../../../test/helpers/engine-targets.js';
import { makeVolume, n, root } from '../../../test/helpers/meta-fixture.js';
import { ROOT_INODE } from '../../base/types.js';
import { dumpMeta } from '../dump/dump.js';
import { loadMeta } from '../dump/load.js';
import { createMysqlPool, inlineParams, MysqlBackend, mysqlStatement, poolOptions } from './mysql-engine.js';
import { parseMysqlUrl } from './mysql-url.js';

const why = mariadbSkipReason();

/** What Go's xorm 1.0 creates on MySQL for sql.go's structs: column type [not null] [default] [auto]. */
const GO_TABLES: Record<string, string> = {
  setting: 'name varchar(255) nn, value text nn',
  counter: 'name varchar(255) nn, value bigint(20) nn',
  edge: 'id bigint(20) nn auto, parent bigint(20) nn, name varbinary(255) nn, inode bigint(20) nn, type int(11) nn',
  node:
    'inode bigint(20) nn, type int(11) nn, flags int(11) nn, mode int(11) nn, uid int(11) nn, gid int(11) nn, ' +
    'atime bigint(20) nn, mtime bigint(20) nn, ctime bigint(20) nn, atimensec int(11) nn =0, mtimensec int(11) nn =0, ' +
    'ctimensec int(11) nn =0, nlink int(11) nn, length bigint(20) nn, rdev int(11), parent bigint(20), ' +
    'access_acl_id int(11), default_acl_id int(11), tier_id int(11)',
  symlink: 'inode bigint(20) nn, target varbinary(4096) nn',
  xattr: 'id bigint(20) nn auto, inode bigint(20) nn, name varchar(255) nn, value blob nn',
  chunk: 'id bigint(20) nn auto, inode bigint(20) nn, indx int(11) nn, slices blob nn',
  chunk_ref: 'chunkid bigint(20) nn, size int(11) nn, refs int(11) nn',
  delslices: 'chunkid bigint(20) nn, deleted bigint(20) nn, slices blob nn',
  session2: 'sid bigint(20) nn, expire bigint(20) nn, info blob',
  sustained: 'id bigint(20) nn auto, sid bigint(20) nn, inode bigint(20) nn',
  delfile: 'inode bigint(20) nn, length bigint(20) nn, expire bigint(20) nn',
  flock:
    'id bigint(20) nn auto, inode bigint(20) nn, sid bigint(20) nn, owner bigint(20) nn, ltype int(11) nn',
  plock:
    'id bigint(20) nn auto, inode bigint(20) nn, sid bigint(20) nn, owner bigint(20) nn, records blob nn',
  dir_quota:
    'inode bigint(20) nn, max_space bigint(20) nn, max_inodes bigint(20) nn, used_space bigint(20) nn, used_inodes bigint(20) nn',
  user_group_quota:
    'qtype int(11) nn, qkey bigint(20) nn, max_space bigint(20) nn, max_inodes bigint(20) nn, used_space bigint(20) nn, used_inodes bigint(20) nn',
  dir_stats:
    'inode bigint(20) nn, data_length bigint(20) nn, used_space bigint(20) nn, used_inodes bigint(20) nn',
  detached_node: 'inode bigint(20) nn, added bigint(20) nn',
  acl: 'id int(11) nn auto, owner int(11), group int(11), mask int(11), other int(11), named_users blob, named_groups blob',
  delegation_token: 'id int(11) nn auto, token blob',
  change_log: 'id bigint(20) nn auto, entry text nn',
};

/** Go's indexes: primary keys (PRIMARY) and xorm's UQE_/IDX_ ones. */
const GO_INDEXES = [
  'jfs_chunk UQE_jfs_chunk_chunk unique (inode, indx)',
  'jfs_chunk_ref IDX_jfs_chunk_ref_refs (refs)',
  'jfs_edge UQE_jfs_edge_edge unique (parent, name)',
  'jfs_edge IDX_jfs_edge_inode (inode)',
  'jfs_flock UQE_jfs_flock_flock unique (inode, sid, owner)',
  'jfs_plock UQE_jfs_plock_plock unique (inode, sid, owner)',
  'jfs_sustained UQE_jfs_sustained_sustained unique (sid, inode)',
  'jfs_xattr UQE_jfs_xattr_name unique (inode, name)',
  ...Object.keys(GO_TABLES).map((t) => {
    const pk = t === 'user_group_quota' ? 'qtype, qkey' : (GO_TABLES[t] ?? '').split(' ')[0];
    return `jfs_${t} PRIMARY unique (${pk})`;
  }),
].sort();

type Raw = mysql.Connection;

async function columns(c: Raw): Promise<Record<string, string>> {
  const [rows] = (await c.query(
    `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, COLUMN_TYPE AS ty, IS_NULLABLE AS nul, COLUMN_DEFAULT AS d, EXTRA AS x
       FROM information_schema.columns WHERE table_schema = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION`,
  )) as [Array<Record<string, string | null>>, unknown];
  const out: Record<string, string[]> = {};
  for (const r of rows) {
    let col = `${r['c']} ${r['ty']}${r['nul'] === 'NO' ? ' nn' : ''}`;
    const d = r['d'];
    if (d !== null && d !== undefined && d !== 'NULL') col += ` =${d}`;
    if (/auto_increment/i.test(r['x'] ?? '')) col += ' auto';
    (out[(r['t'] ?? '').replace(/^jfs_/, '')] ??= []).push(col);
  }
  return Object.fromEntries(Object.entries(out).map(([t, cols]) => [t, cols.join(', ')]));
}

async function indexes(c: Raw): Promise<string[]> {
  const [rows] = (await c.query(
    `SELECT TABLE_NAME AS t, INDEX_NAME AS i, NON_UNIQUE AS nu, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX SEPARATOR ', ') AS cols
       FROM information_schema.statistics WHERE table_schema = DATABASE() GROUP BY TABLE_NAME, INDEX_NAME, NON_UNIQUE`,
  )) as [Array<Record<string, string | number>>, unknown];
  return rows
    .map((r) => `${r['t']} ${r['i']}${Number(r['nu']) === 0 ? ' unique' : ''} (${r['cols']})`)
    .sort();
}

async function dumpToString(engine: MetaEngine): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await dumpMeta(engine, out, {});
  out.end();
  return Buffer.concat(chunks).toString('utf8');
}

describe('mysql:// URLs as JuiceFS reads them (a Go MySQL DSN after the scheme)', () => {
  it('user, password (URL-decoded, may hold @ and :), (host:port), tcp(...), unix(...), table_prefix', () => {
    const u = parseMysqlUrl('mysql://bob:p%40ss:x@y@(db.example:3307)/vol?table_prefix=x&max_open_conns=3');
    expect(u).toMatchObject({
      host: 'db.example',
      port: 3307,
      user: 'bob',
      password: 'p@ss:x@y',
      database: 'vol',
    });
    expect(u).toMatchObject({ prefix: 'jfs_x_', maxOpenConns: 3, idleMs: 300_000, vars: {} });
    expect(u.displayUrl).toBe('mysql://bob:****@(db.example:3307)/vol?table_prefix=x&max_open_conns=3');
    expect(parseMysqlUrl('mysql://root@tcp(h)/jfs')).toMatchObject({ host: 'h', port: 3306, user: 'root' });
    expect(parseMysqlUrl('mysql://root:pw@/jfs')).toMatchObject({ host: '127.0.0.1', port: 3306 });
    expect(parseMysqlUrl('mysql://u:p@unix(/run/mysqld/mysqld.sock)/jfs')).toMatchObject({
      socketPath: '/run/mysqld/mysqld.sock',
      database: 'jfs',
    });
    expect(parseMysqlUrl('mysql://u@([::1]:3310)/jfs')).toMatchObject({ host: '::1', port: 3310 });
    const v = parseMysqlUrl(
      'mysql://u@(h)/d?charset=utf8mb4&timeout=5s&tls=skip-verify&parseTime=true&sql_mode=ANSI',
    );
    expect(v).toMatchObject({
      charset: 'utf8mb4',
      connectTimeoutMs: 5000,
      ssl: { rejectUnauthorized: false },
    });
    expect(v.vars).toEqual({ sql_mode: 'ANSI' });
    expect(parseMysqlUrl('mysql://u@(h)/d?timeout=1m30s').connectTimeoutMs).toBe(90_000);
  });

  it('the password from the environment is used only when the URL has none', () => {
    expect(parseMysqlUrl('mysql://bob@(h)/db', 'env').password).toBe('env');
    expect(parseMysqlUrl('mysql://bob:url@(h)/db', 'env').password).toBe('url');
    const env = { META_PASSWORD: 'm', REDIS_PASSWORD: 'r' };
    expect(cliEngineOptions('mysql://bob@(h)/db', env)).toEqual({ password: 'm' });
    expect(cliEngineOptions('mysql://bob@(h)/db', { REDIS_PASSWORD: 'r' })).toEqual({});
  });

  it('refuses what the Go driver refuses, without echoing a password', () => {
    for (const bad of [
      'mysql://u:secret@h:3306/db',
      'mysql://u:secret@(h:99999)/db',
      'mysql://u:secret@(h)/',
      'mysql://u:secret@(h)',
      'mysql://u:secret@(h)/db?max_open_conns=many',
      'mysql://u:secret@(h)/db?tls=sometimes',
      'mysql://u:secret@(h)/db?timeout=soon',
    ]) {
      let e: unknown;
      try {
        parseMysqlUrl(bad);
      } catch (err) {
        e = err;
      }
      expect(e, bad).toBeInstanceOf(FsError);
      expect((e as FsError).errno).toBe(Errno.EINVAL);
      expect((e as Error).message).not.toContain('secret');
    }
  });
});

describe('shared statements in MySQL syntax', () => {
  it('upserts, quoted identifiers and RETURNING', () => {
    expect(
      mysqlStatement(
        'INSERT INTO t (a, b) VALUES (?, ?) ON CONFLICT (a) DO UPDATE SET b = t.b + excluded.b, "group" = excluded."group"',
      ),
    ).toEqual({
      text: 'INSERT INTO t (a, b) VALUES (?, ?) ON DUPLICATE KEY UPDATE b = t.b + VALUES(b), `group` = VALUES(`group`)',
      returningId: false,
    });
    expect(mysqlStatement('INSERT INTO t (a, b) VALUES (?, ?) ON CONFLICT (a, b) DO NOTHING').text).toBe(
      'INSERT INTO t (a, b) VALUES (?, ?) ON DUPLICATE KEY UPDATE a = a',
    );
    expect(mysqlStatement(`INSERT INTO t ("group") VALUES ('say "x"') RETURNING id`)).toEqual({
      text: `INSERT INTO t (\`group\`) VALUES ('say "x"')`,
      returningId: true,
    });
  });

  it('parameters become exact literals (bigints as digits, bytes as hex, strings escaped)', () => {
    expect(
      inlineParams("SELECT ? , ?, ?, ?, '?', ?", [
        0x7fffffff10000001n,
        Buffer.from([0, 0xff]),
        "a'b\\",
        null,
        7,
      ]),
    ).toBe(`SELECT ${0x7fffffff10000001n} , X'00ff', 'a\\'b\\\\', NULL, '?', 7`);
  });
});

describe.skipIf(why !== undefined)(
  `MySQL engine on a real MariaDB server${why ? ` [skipped: ${why}]` : ''}`,
  () => {
    let server: MariadbServer;
    let n0 = 0;
    const fresh = async (): Promise<string> => {
      const db = `e${n0++}`;
      await server.sql(`CREATE DATABASE ${db}`);
      return `${server.baseUrl}${db}`;
    };
    const raw = async (url: string): Promise<Raw> => {
      const {
        connectionLimit: _l,
        maxIdle: _m,
        idleTimeout: _i,
        waitForConnections: _w,
        queueLimit: _q,
        ...o
      } = poolOptions(parseMysqlUrl(url), {});
      return mysql.createConnection(o);
    };
    beforeAll(async () => {
      server = await startMariadb();
    }, 120_000);
    afterAll(async () => server?.stop());

    it("format creates exactly Go's tables, columns and indexes", async () => {
      const v = await makeVolume({ name: 'mysql', freshUrl: fresh });
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
      const url = `${await fresh()}?table_prefix=vol2`;
      const v = await makeVolume({ name: 'mysql', freshUrl: async () => url });
      const c = await raw(url);
      try {
        const [rows] = await c.query(
          "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name NOT LIKE 'jfs\\_vol2\\_%'",
        );
        expect(rows).toEqual([]);
        const m = await v.client();
        await m.mkdir(root, ROOT_INODE, n('d'), 0o755);
        const [k] = (await c.query('SELECT count(*) AS k FROM jfs_vol2_edge')) as [
          Array<{ k: bigint }>,
          unknown,
        ];
        expect(k[0]?.k).toBe(1n);
      } finally {
        await c.end();
        await v.close();
      }
    });

    it('a transaction that keeps meeting lock wait timeouts (1205) is retried, then fails naming the op', async () => {
      const url = await fresh();
      const setup = await raw(url);
      await setup.query('CREATE TABLE jfs_counter (name varchar(255) PRIMARY KEY, value bigint NOT NULL)');
      await setup.query("INSERT INTO jfs_counter VALUES ('x', 0)");
      // The session variable of the URL is set on every connection, as the Go driver does.
      const u = parseMysqlUrl(`${url}?innodb_lock_wait_timeout=1`);
      const pool = createMysqlPool(u, {});
      const backend = new MysqlBackend(pool, 'test', { maxRetries: 3 });
      let tries = 0;
      try {
        await setup.query('START TRANSACTION');
        await setup.query("UPDATE jfs_counter SET value = value + 1 WHERE name = 'x'"); // holds the row lock
        const e = await backend
          .runTx(
            async (conn) => {
              tries++;
              return conn.exec('UPDATE jfs_counter SET value = value + 1 WHERE name = ?', ['x']);
            },
            { op: 'mkdir', readonly: false },
          )
          .catch((err: unknown) => err);
        expect(e).toBeInstanceOf(TxConflictError);
        expect((e as Error).message).toMatch(
          /MySQL transaction mkdir conflicted 3 times, giving up \(last: 1205 /,
        );
        expect(tries).toBe(3);
        await setup.query('COMMIT');
        // Blocked once, then not: the retry succeeds and the update is applied once.
        tries = 0;
        await setup.query('START TRANSACTION');
        await setup.query("UPDATE jfs_counter SET value = value + 1 WHERE name = 'x'");
        const done = backend.runTx(
          async (conn) => {
            if (++tries === 2) await setup.query('COMMIT');
            return conn.exec('UPDATE jfs_counter SET value = value + 100 WHERE name = ?', ['x']);
          },
          { op: 'write', readonly: false },
        );
        expect(await done).toBe(1);
        const [rows] = await setup.query("SELECT value FROM jfs_counter WHERE name = 'x'");
        expect(rows).toEqual([{ value: 102n }]);
        expect(backend.stats.conflicts).toBe(4);
      } finally {
        await backend.close();
        await setup.end();
      }
    }, 60_000);

    it('concurrent creates from two clients in one directory all land (deadlocks retried)', async () => {
      const v = await makeVolume({ name: 'mysql', freshUrl: fresh });
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

    it('a volume moves from SQLite to MySQL by dump and load, unchanged', async () => {
      const src = sqliteTarget();
      const v = await makeVolume(src, { TrashDays: 1 });
      let dst: MetaEngine | undefined;
      try {
        const m = await v.client();
        const d = await m.mkdir(root, ROOT_INODE, n('dir'), 0o755);
        const f = await m.create(root, d.ino, n('f\u00e9 x'), 0o640);
        await m.writeSlice(
          f.ino,
          0,
          { pos: 0, id: await m.newSliceId(), size: 5, off: 0, len: 5 },
          { sec: 1, nsec: 2 },
        );
        await m.close(f.ino);
        await m.symlink(root, ROOT_INODE, n('sym'), Buffer.from([0x61, 0xff, 0x62]));
        await m.setxattr(root, f.ino, 'user.a', Buffer.from([0, 1, 2]));
        await m.stop({ keepEngine: true });
        const first = await dumpToString(v.engines[0]!);
        dst = await openEngine(await fresh());
        await loadMeta(dst, Readable.from([first]));
        // Load recomputes the id counters from the tree (max id + 1), as Go does.
        const norm = (s: string): string =>
          s
            .replace(/"nextSession": \d+/, '')
            .replace(/"nextInodes": \d+/, '')
            .replace(/"nextChunk": \d+/, '');
        expect(norm(await dumpToString(dst))).toBe(norm(first));
      } finally {
        await dst?.close();
        await v.close();
        await src.cleanup?.();
      }
    });

    it('an unreachable server fails at open, and a server that goes away fails the op with EIO after the retries', async () => {
      const e = await openEngine('mysql://u:p@(127.0.0.1:1)/tjfs').catch((err: unknown) => err);
      expect((e as FsError).errno).toBe(Errno.EIO);
      expect((e as Error).message).toMatch(/cannot use MySQL at 127\.0\.0\.1:1\/tjfs/);
      const own = await startMariadb();
      let engine: MetaEngine | undefined;
      try {
        await own.sql('CREATE DATABASE tjfs');
        engine = await openEngine(`${own.baseUrl}tjfs`, { retry: { retries: 2, minBackoffMs: 10 } });
        expect(await engine.getFormatText()).toBeUndefined();
        await own.stop();
        const e2 = await engine.getFormatText().catch((err: unknown) => err);
        expect((e2 as FsError).errno).toBe(Errno.EIO);
        expect((e2 as Error).message).toMatch(
          /^EIO: getFormat: MySQL at 127\.0\.0\.1:\d+\/tjfs unavailable: gave up after 2 retries/,
        );
      } finally {
        await engine?.close();
        await own.stop();
      }
    }, 120_000);
  },
);
