/**
 * SQLite engine tests against the exact JuiceFS schema and encodings (docs/FORMAT.md §6, V-12, V-15).
 * Each case uses a fresh database file in its own temp dir and inspects rows with a raw
 * better-sqlite3 connection, the way a Go client would see them.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TxConflictError, type MetaEngine } from '../engine.js';
import { encodeSlices } from '../encoding.js';
import { FsError } from '../../base/errno.js';
import { openEngine } from '../registry.js';
import { FileType, TRASH_INODE, emptyAttr, type Attr, type Slice } from '../../base/types.js';
import { joinTime, splitTime } from './sql-rows.js';
import { openSqliteEngine, parseSqliteUrl } from './sqlite-engine.js';

const T = 1700000000;

function dirAttr(mode: number, parent: bigint): Attr {
  return {
    ...emptyAttr(),
    type: FileType.Directory,
    mode,
    nlink: 2,
    length: 4096,
    parent,
    atime: T,
    mtime: T,
    ctime: T,
  };
}

function fileAttr(parent: bigint, length = 0): Attr {
  return {
    ...emptyAttr(),
    type: FileType.File,
    mode: 0o644,
    nlink: 1,
    length,
    parent,
    atime: T,
    mtime: T,
    ctime: T,
  };
}

const FORMAT = '{\n"Name": "myjfs",\n"TrashDays": 1,\n"DirStats": true\n}';

let dir: string;
let dbPath: string;
let engines: MetaEngine[];
let raws: Database.Database[];

async function open(query = ''): Promise<MetaEngine> {
  const e = await openSqliteEngine(`sqlite3://${dbPath}${query}`, {});
  engines.push(e);
  return e;
}

async function formatted(): Promise<MetaEngine> {
  const e = await open();
  await e.initVolume(FORMAT, { isNew: true, rootAttr: dirAttr(0o777, 1n), trashAttr: dirAttr(0o555, 1n) });
  return e;
}

function raw(): Database.Database {
  const db = new Database(dbPath);
  db.defaultSafeIntegers(true);
  raws.push(db);
  return db;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tjfs-sqlite-'));
  dbPath = join(dir, 'meta.db');
  engines = [];
  raws = [];
});

afterEach(async () => {
  for (const db of raws) db.close();
  for (const e of engines) await e.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('URL and opening', () => {
  it('parses relative, absolute and table_prefix URLs', () => {
    expect(parseSqliteUrl('sqlite3://a/b.db', '/cwd')).toEqual({ path: '/cwd/a/b.db', prefix: 'jfs_' });
    expect(parseSqliteUrl('sqlite3:///abs/x.db?max_open_conns=3&table_prefix=t1', '/cwd')).toEqual({
      path: '/abs/x.db',
      prefix: 'jfs_t1_',
    });
  });

  it('leaves an unformatted database without tables', async () => {
    const e = await open();
    expect(await e.getFormatText()).toBeUndefined();
    expect(await e.isEmpty()).toBe(true);
    expect(await e.listSessions()).toEqual([]);
    const n = raw().prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as {
      n: bigint;
    };
    expect(n.n).toBe(0n);
  });

  it('is loaded by the registry for sqlite3:// URLs', async () => {
    const e = await openEngine(`sqlite3://${dbPath}`);
    engines.push(e);
    expect(e.kind).toBe('sqlite3');
    expect(e.displayUrl).toBe(`sqlite3://${dbPath}`);
  });

  it('refuses a path whose directory does not exist', async () => {
    await expect(openSqliteEngine(`sqlite3://${join(dir, 'nope', 'x.db')}`, {})).rejects.toThrow(
      /does not exist/,
    );
  });
});

describe('durability', () => {
  it('commits without fsync and sync() backfills the WAL (passive checkpoint)', async () => {
    const e = await formatted();
    await e.txn(async (tx) => tx.setSymlink(5n, Buffer.from('x')), { op: 'write' });
    const db = raw();
    const before = db.pragma('wal_checkpoint(PASSIVE)', { simple: false }) as {
      log: bigint;
      checkpointed: bigint;
    }[];
    expect(before[0]?.log).toBeGreaterThan(0n);
    await e.txn(async (tx) => tx.setSymlink(6n, Buffer.from('y')), { op: 'write' });
    await e.sync?.();
    const after = db.pragma('wal_checkpoint(PASSIVE)', { simple: false }) as {
      log: bigint;
      checkpointed: bigint;
    }[];
    expect(after[0]?.checkpointed).toBe(after[0]?.log);
  });

  it('cuts the WAL file to nothing when it restarts after a checkpoint (no rewrite of old pages)', async () => {
    const e = await formatted();
    for (let i = 0; i < 300; i++)
      await e.txn(async (tx) => tx.setSymlink(BigInt(100 + i), Buffer.alloc(2000, i)), { op: 'write' });
    const grown = statSync(`${dbPath}-wal`).size;
    expect(grown).toBeGreaterThan(300 * 4096);
    await e.sync?.(); // a complete checkpoint: the next write transaction restarts the WAL
    await e.txn(async (tx) => tx.setSymlink(5n, Buffer.from('x')), { op: 'write' });
    expect(statSync(`${dbPath}-wal`).size).toBeLessThan(16 * 4096); // restarted from an empty file
  });
});

describe('format (docs/FORMAT.md §6.2, §6.4, §6.6)', () => {
  it('creates the exact tables, indexes, root, trash and counters', async () => {
    const e = await formatted();
    const db = raw();
    const names = (type: string): string[] =>
      (
        db.prepare('SELECT name FROM sqlite_master WHERE type = ? ORDER BY name').all(type) as {
          name: string;
        }[]
      )
        .map((r) => r.name)
        .filter((n) => !n.startsWith('sqlite_'));
    expect(names('table')).toEqual(
      [
        'jfs_acl',
        'jfs_change_log',
        'jfs_chunk',
        'jfs_chunk_ref',
        'jfs_counter',
        'jfs_delegation_token',
        'jfs_delfile',
        'jfs_delslices',
        'jfs_detached_node',
        'jfs_dir_quota',
        'jfs_dir_stats',
        'jfs_edge',
        'jfs_flock',
        'jfs_node',
        'jfs_plock',
        'jfs_session2',
        'jfs_setting',
        'jfs_sustained',
        'jfs_symlink',
        'jfs_user_group_quota',
        'jfs_xattr',
      ].sort(),
    );
    expect(names('index')).toEqual(
      [
        'IDX_jfs_chunk_ref_refs',
        'IDX_jfs_edge_inode',
        'UQE_jfs_chunk_chunk',
        'UQE_jfs_edge_edge',
        'UQE_jfs_flock_flock',
        'UQE_jfs_plock_plock',
        'UQE_jfs_sustained_sustained',
        'UQE_jfs_xattr_name',
      ].sort(),
    );
    const counters = db.prepare('SELECT name, value FROM jfs_counter ORDER BY name').all();
    expect(counters).toEqual([
      { name: 'nextChunk', value: 1n },
      { name: 'nextCleanupSlices', value: 0n },
      { name: 'nextInode', value: 2n },
      { name: 'nextSession', value: 0n },
      { name: 'totalInodes', value: 0n },
      { name: 'usedSpace', value: 0n },
    ]);
    const root = db.prepare('SELECT * FROM jfs_node WHERE inode = 1').get() as Record<string, unknown>;
    expect(root).toMatchObject({
      type: 2n,
      mode: 0o777n,
      nlink: 2n,
      length: 4096n,
      parent: 1n,
      uid: 0n,
      gid: 0n,
    });
    expect(root['atime']).toBe(BigInt(T) * 1_000_000n);
    const trash = db.prepare('SELECT type, mode, parent FROM jfs_node WHERE inode = ?').get(TRASH_INODE);
    expect(trash).toEqual({ type: 2n, mode: 0o555n, parent: 1n });
    expect(db.prepare('SELECT count(*) AS n FROM jfs_dir_stats').get()).toEqual({ n: 0n });
    expect(await e.getFormatText()).toBe(FORMAT);
    expect(await e.isEmpty()).toBe(false);
  });

  it('re-format updates the setting and keeps counters; enabling DirStats drops stats', async () => {
    const e = await open();
    const noStats = '{"Name":"x","TrashDays":0}';
    await e.initVolume(noStats, { isNew: true, rootAttr: dirAttr(0o777, 1n) });
    await e.allocate('nextInode', 10);
    await e.setDirStat(1n, { dataLength: 1, usedSpace: 2, usedInodes: 3 });
    await e.initVolume(FORMAT, { isNew: false, rootAttr: dirAttr(0o777, 1n), trashAttr: dirAttr(0o555, 1n) });
    expect(await e.getFormatText()).toBe(FORMAT);
    expect(await e.getCounter('nextInode')).toBe(12);
    expect(await e.getDirStat(1n)).toBeUndefined();
    expect((await e.getAttrs([TRASH_INODE]))[0]?.mode).toBe(0o555);
  });

  it('uses the table prefix for tables and index names', async () => {
    const e = await open('?table_prefix=abc');
    await e.initVolume(FORMAT, { isNew: true, rootAttr: dirAttr(0o777, 1n) });
    const db = raw();
    expect(
      db.prepare("SELECT name FROM sqlite_master WHERE name = 'UQE_jfs_abc_edge_edge'").get(),
    ).toBeDefined();
    expect(db.prepare('SELECT value FROM jfs_abc_counter WHERE name = ?').get('nextInode')).toEqual({
      value: 2n,
    });
    expect(await (await open()).getFormatText()).toBeUndefined();
  });

  it('reset drops everything', async () => {
    const e = await formatted();
    await e.reset();
    expect(await e.getFormatText()).toBeUndefined();
    expect(await e.isEmpty()).toBe(true);
  });
});

describe('column encodings (docs/FORMAT.md §6.3)', () => {
  it('binds entry names as BLOB and finds Go-style rows', async () => {
    const e = await formatted();
    await e.txn(
      async (tx) => {
        tx.setEntry(1n, Buffer.from('d'), { ino: 2n, type: FileType.Directory });
      },
      { op: 'mkdir' },
    );
    const db = raw();
    expect(db.prepare('SELECT typeof(name) AS t, hex(name) AS h FROM jfs_edge').get()).toEqual({
      t: 'blob',
      h: '64',
    });
    db.prepare("INSERT INTO jfs_edge (parent, name, inode, type) VALUES (2, x'66ff00', 3, 1)").run();
    const found = await e.txn((tx) => tx.getEntry(2n, Buffer.from([0x66, 0xff, 0x00])), {
      op: 'lookup',
      readonly: true,
    });
    expect(found).toEqual({ ino: 3n, type: FileType.File });
    const list = await e.listEntries(2n);
    expect(list).toEqual([{ name: Buffer.from([0x66, 0xff, 0x00]), ino: 3n, type: FileType.File }]);
  });

  it('reads TEXT slice lists made by || with NUL bytes exactly, and appends to them', async () => {
    const e = await formatted();
    const a: Slice = { pos: 0, id: 1, size: 5, off: 0, len: 5 };
    const b: Slice = { pos: 0, id: 0, size: 0, off: 0, len: 3 };
    const c: Slice = { pos: 3, id: 7, size: 9, off: 1, len: 2 };
    const db = raw();
    db.prepare(
      `INSERT INTO jfs_chunk (inode, indx, slices) VALUES (3, 0, x'${encodeSlices([a]).toString('hex')}' || x'${encodeSlices([b]).toString('hex')}')`,
    ).run();
    expect(db.prepare('SELECT typeof(slices) AS t, length(slices) AS n FROM jfs_chunk').get()).toEqual({
      t: 'text',
      n: 0n,
    });
    expect(await e.txn((tx) => tx.getChunk(3n, 0), { op: 'read', readonly: true })).toEqual([a, b]);
    await e.txn(
      async (tx) => {
        tx.appendSlices(3n, 0, [c]);
        tx.appendSlices(3n, 1, [c], { ifExists: true });
        tx.appendSlices(3n, 2, [a]);
      },
      { op: 'write' },
    );
    await e.txn(
      async (tx) => {
        tx.appendSlices(3n, 2, [b], { ifExists: true });
      },
      { op: 'write' },
    );
    expect(await e.txn((tx) => tx.getChunk(3n, 0), { op: 'read', readonly: true })).toEqual([a, b, c]);
    expect(await e.txn((tx) => tx.getChunk(3n, 1), { op: 'read', readonly: true })).toEqual([]);
    expect(await e.txn((tx) => tx.getChunk(3n, 2), { op: 'read', readonly: true })).toEqual([a, b]);
    expect(await e.listChunkIndexes(3n, 0)).toEqual([0, 2]);
    const len = db.prepare('SELECT length(CAST(slices AS BLOB)) AS n FROM jfs_chunk WHERE indx = 0').get();
    expect(len).toEqual({ n: 72n });
  });

  it('splits times into microseconds + nanoseconds (V-12) and round-trips', async () => {
    expect(splitTime(T, 123456789)).toEqual([1700000000123456n, 789n]);
    expect(splitTime(T, 0)).toEqual([1700000000000000n, 0n]);
    expect(splitTime(-2, 500000001)).toEqual([-1500000n, 1n]);
    expect(joinTime(-1500000n, 1n)).toEqual({ sec: -2, nsec: 500000001 });
    expect(splitTime(-1, 999999999)).toEqual([-1n, 999n]);
    // Go truncates toward zero: -1 ns is stored as (0 µs, -1 ns).
    expect(joinTime(0n, -1n)).toEqual({ sec: -1, nsec: 999999999 });
    const e = await formatted();
    const attr: Attr = {
      ...fileAttr(1n),
      atime: T,
      atimensec: 123456789,
      mtime: -5,
      mtimensec: 7,
      ctime: T,
      ctimensec: 999,
    };
    await e.txn(
      async (tx) => {
        tx.setAttr(2n, attr);
      },
      { op: 'create' },
    );
    const row = raw()
      .prepare('SELECT atime, atimensec, mtime, mtimensec, ctimensec FROM jfs_node WHERE inode = 2')
      .get();
    expect(row).toEqual({
      atime: 1700000000123456n,
      atimensec: 789n,
      mtime: -5000000n,
      mtimensec: 7n,
      ctimensec: 999n,
    });
    expect(await e.txn((tx) => tx.getAttr(2n), { op: 'getattr', readonly: true })).toEqual(attr);
  });

  it('round-trips trash inodes above 2^53 exactly', async () => {
    const e = await formatted();
    const sub = 9223372032828243969n;
    const child = 9223372032828243970n;
    await e.txn(
      async (tx) => {
        tx.setAttr(sub, dirAttr(0o555, TRASH_INODE));
        tx.setEntry(TRASH_INODE, Buffer.from('2023-11-14-22'), { ino: sub, type: FileType.Directory });
        tx.setAttr(child, fileAttr(sub));
        tx.setEntry(sub, Buffer.from('1-3-f'), { ino: child, type: FileType.File });
      },
      { op: 'trash' },
    );
    const [a] = await e.getAttrs([sub]);
    expect(a?.parent).toBe(TRASH_INODE);
    expect((await e.listEntries(TRASH_INODE))[0]?.ino).toBe(sub);
    const parents = await e.txn((tx) => tx.getParents(child), { op: 'p', readonly: true });
    expect([...parents]).toEqual([[sub, 1]]);
    expect(raw().prepare('SELECT inode FROM jfs_node WHERE parent = ?').get(sub)).toEqual({ inode: child });
  });

  it('reports corrupt slice lists and node types as EIO naming the inode', async () => {
    const e = await formatted();
    const db = raw();
    db.prepare('INSERT INTO jfs_chunk (inode, indx, slices) VALUES (9, 0, zeroblob(25))').run();
    db.prepare(
      'INSERT INTO jfs_node (inode, type, flags, mode, uid, gid, atime, mtime, ctime, nlink, length) VALUES (8, 9, 0, 0, 0, 0, 0, 0, 0, 1, 0)',
    ).run();
    const chunk = e.txn((tx) => tx.getChunk(9n, 0), { op: 'read', readonly: true });
    await expect(chunk).rejects.toBeInstanceOf(FsError);
    await expect(chunk).rejects.toMatchObject({ code: 'EIO', ino: 9n });
    await expect(e.txn((tx) => tx.getAttr(8n), { op: 'getattr', readonly: true })).rejects.toMatchObject({
      code: 'EIO',
      ino: 8n,
    });
  });
});

describe('counters and slices', () => {
  it('allocates "next unused" batches (V-6)', async () => {
    const e = await formatted();
    expect(await e.allocate('nextInode', 1024)).toBe(2);
    expect(await e.getCounter('nextInode')).toBe(1026);
    expect(await e.allocate('nextInode', 1024)).toBe(1026);
    expect(await e.allocate('nextChunk', 4096)).toBe(1);
    expect(await e.getCounter('nextChunk')).toBe(4097);
    expect(await e.newSessionId()).toBe(1);
    expect(await e.getCounter('nextSession')).toBe(1);
    expect(await e.getCounter('nextTrash')).toBe(0);
    expect(await e.txn((tx) => tx.incrCounter('nextTrash', 1), { op: 'mkdir' })).toBe(1);
    await e.txn(
      async (tx) => {
        tx.addCounter('usedSpace', 8192);
        tx.addCounter('totalInodes', 2);
        tx.addCounter('lastCleanupFiles', 5);
      },
      { op: 'acct' },
    );
    expect(await e.getCounter('usedSpace')).toBe(8192);
    expect(await e.getCounter('lastCleanupFiles')).toBe(5);
    expect(await e.setCounterIfSmall('lastCleanupSessions', 1000, 10)).toBe(true);
    expect(await e.setCounterIfSmall('lastCleanupSessions', 1005, 10)).toBe(false);
    await e.setCounter('nextInode', 5000);
    expect(await e.getCounter('nextInode')).toBe(5000);
  });

  it('deleteChunk drops one ref per record and frees only unreferenced slices', async () => {
    const e = await formatted();
    const s = (id: number, size: number): Slice => ({ pos: 0, id, size, off: 0, len: size });
    await e.txn(
      async (tx) => {
        tx.newSliceRef(1, 100);
        tx.newSliceRef(2, 200);
        tx.newSliceRef(3, 300);
        tx.incrSliceRef(2, 200, 1); // shared with another file
        tx.incrSliceRef(3, 300, 1); // appears twice in this chunk
        tx.appendSlices(5n, 0, [s(1, 100), s(2, 200), { ...s(0, 0), len: 10 }, s(3, 300), s(3, 300)]);
      },
      { op: 'write' },
    );
    expect(raw().prepare('SELECT chunkid, size, refs FROM jfs_chunk_ref ORDER BY chunkid').all()).toEqual([
      { chunkid: 1n, size: 100n, refs: 1n },
      { chunkid: 2n, size: 200n, refs: 2n },
      { chunkid: 3n, size: 300n, refs: 2n },
    ]);
    const freed = await e.deleteChunk(5n, 0);
    expect(freed.sort((a, b) => a.id - b.id)).toEqual([
      { id: 1, size: 100 },
      { id: 3, size: 300 },
    ]);
    expect([...(await e.getSliceRefs())]).toEqual([[2, 1]]);
    expect(await e.deleteChunk(5n, 0)).toEqual([]);
    expect(await e.listChunkIndexes(5n, 0)).toEqual([]);
  });

  it('replaceSlices swaps the prefix atomically and lists orphans', async () => {
    const e = await formatted();
    const a: Slice = { pos: 0, id: 1, size: 10, off: 0, len: 10 };
    const b: Slice = { pos: 10, id: 2, size: 10, off: 0, len: 10 };
    const later: Slice = { pos: 5, id: 4, size: 1, off: 0, len: 1 };
    const merged: Slice = { pos: 0, id: 3, size: 20, off: 0, len: 20 };
    await e.txn(
      async (tx) => {
        tx.newSliceRef(1, 10);
        tx.newSliceRef(2, 10);
        tx.newSliceRef(4, 1);
        tx.appendSlices(6n, 0, [a, b, later]);
      },
      { op: 'write' },
    );
    const drop = [
      { id: 1, size: 10 },
      { id: 2, size: 10 },
    ];
    const stale = await e.replaceSlices(6n, 0, [b, a], [merged], { id: 3, size: 20 }, drop);
    expect(stale).toEqual({ ok: false, freed: [] });
    const res = await e.replaceSlices(6n, 0, [a, b], [merged], { id: 3, size: 20 }, drop);
    expect(res.ok).toBe(true);
    expect(res.freed.sort((x, y) => x.id - y.id)).toEqual(drop);
    expect(await e.txn((tx) => tx.getChunk(6n, 0), { op: 'read', readonly: true })).toEqual([merged, later]);
    expect([...(await e.getSliceRefs())].sort()).toEqual([
      [3, 1],
      [4, 1],
    ]);
    raw().prepare('INSERT INTO jfs_chunk_ref (chunkid, size, refs) VALUES (9, 4, 0)').run();
    expect(await e.listOrphanSlices()).toEqual([{ id: 9, size: 4 }]);
  });
});

describe('transactions', () => {
  it('rolls back every write when the callback throws', async () => {
    const e = await formatted();
    await expect(
      e.txn(
        async (tx) => {
          tx.setAttr(2n, fileAttr(1n));
          await tx.incrCounter('nextTrash', 1);
          throw new Error('boom');
        },
        { op: 'fail' },
      ),
    ).rejects.toThrow('boom');
    expect((await e.getAttrs([2n]))[0]).toBeUndefined();
    expect(await e.getCounter('nextTrash')).toBe(0);
    expect(await e.allocate('nextInode', 1)).toBe(2);
  });

  it('two connections on one file write concurrently (BUSY retry)', async () => {
    const a = await formatted();
    const b = await open();
    const N = 40;
    const bump = (e: MetaEngine, i: number): Promise<number> =>
      e.txn(
        async (tx) => {
          const v = await tx.incrCounter('nextTrash', 1);
          tx.setXattr(1n, `user.k${i}`, Buffer.from([i]));
          await new Promise((r) => setTimeout(r, 1)); // hold the write lock across a tick
          return v;
        },
        { op: `bump${i}` },
      );
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) => [bump(a, i), b.allocate('nextInode', 1)]).flat(),
    );
    expect(await a.getCounter('nextTrash')).toBe(N);
    expect(await b.getCounter('nextInode')).toBe(2 + N);
    const trash = results.filter((_, i) => i % 2 === 0).sort((x, y) => x - y);
    expect(trash).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    const inodes = results.filter((_, i) => i % 2 === 1).sort((x, y) => x - y);
    expect(inodes).toEqual(Array.from({ length: N }, (_, i) => i + 2));
    expect((await b.txn((tx) => tx.listXattrs(1n), { op: 'ls', readonly: true })).size).toBe(N);
  });
  it('gives up with TxConflictError while another connection holds the lock, then recovers', async () => {
    const a = await formatted();
    const b = await openSqliteEngine(`sqlite3://${dbPath}`, { maxRetries: 3 });
    engines.push(b);
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    let locked: () => void = () => undefined;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = a.txn(
      async (tx) => {
        tx.addCounter('usedSpace', 1);
        await tx.incrCounter('nextTrash', 1); // takes effect now: the write lock is held
        locked();
        await held;
      },
      { op: 'hold' },
    );
    await isLocked;
    await expect(b.allocate('nextInode', 1)).rejects.toBeInstanceOf(TxConflictError);
    expect(await b.getCounter('nextTrash')).toBe(0); // readers are not blocked (WAL)
    release();
    await holder;
    expect(await b.allocate('nextInode', 1)).toBe(2);
    expect(await b.getCounter('nextTrash')).toBe(1);
  });

  it('refuses writes in a read-only transaction', async () => {
    const e = await formatted();
    await expect(
      e.txn(
        async (tx) => {
          tx.deleteAttr(1n);
        },
        { op: 'ro', readonly: true },
      ),
    ).rejects.toThrow(/read-only/);
    expect((await e.getAttrs([1n]))[0]?.type).toBe(FileType.Directory);
  });
});

describe('sessions, locks and bookkeeping', () => {
  it('stores flocks and plocks with Go encodings', async () => {
    const e = await formatted();
    const owner = 0xfedcba9876543210n;
    const rec = Buffer.alloc(24, 1);
    await e.txn(
      async (tx) => {
        tx.setFlock(3n, 1, owner, 'W');
        tx.setFlock(3n, 2, 5n, 'R');
        tx.setPlock(4n, 1, owner, rec);
      },
      { op: 'lock' },
    );
    const db = raw();
    expect(db.prepare('SELECT sid, owner, ltype FROM jfs_flock WHERE sid = 1').get()).toEqual({
      sid: 1n,
      owner: BigInt.asIntN(64, owner),
      ltype: 87n,
    });
    expect(db.prepare('SELECT ltype FROM jfs_flock WHERE sid = 2').get()).toEqual({ ltype: 82n });
    const flocks = await e.txn((tx) => tx.getFlocks(3n), { op: 'l', readonly: true });
    expect(flocks.sort((x, y) => x.sid - y.sid)).toEqual([
      { sid: 1, owner, type: 'W' },
      { sid: 2, owner: 5n, type: 'R' },
    ]);
    expect(await e.txn((tx) => tx.getPlocks(4n), { op: 'l', readonly: true })).toEqual([
      { sid: 1, owner, records: rec },
    ]);
    expect((await e.listLockedInodes(1)).sort()).toEqual([3n, 4n]);
    await e.txn(
      async (tx) => {
        tx.setFlock(3n, 2, 5n, null);
        tx.setPlock(4n, 1, owner, Buffer.alloc(0));
      },
      { op: 'unlock' },
    );
    expect(await e.listLockedInodes(2)).toEqual([]);
    expect(await e.listLockedInodes(1)).toEqual([3n]);
  });

  it('keeps sessions, sustained inodes and delfiles', async () => {
    const e = await formatted();
    const sid = await e.newSessionId();
    const info = '{"Version":"1.4.1","HostName":"h","MountPoint":"/mnt","ProcessID":1}';
    await e.putSession(sid, T + 60, info);
    await e.putSession(sid, T + 120);
    await e.putSession(7, T);
    expect(await e.listSessions()).toEqual([
      { sid, expire: T + 120, info },
      { sid: 7, expire: T },
    ]);
    expect(raw().prepare('SELECT typeof(info) AS t FROM jfs_session2 WHERE sid = ?').get(sid)).toEqual({
      t: 'blob',
    });
    await e.txn(
      async (tx) => {
        tx.addSustained(sid, 10n);
        tx.addSustained(sid, 10n);
        tx.addSustained(sid, 11n);
        tx.setFlock(12n, sid, 1n, 'R');
        tx.addDelFile(13n, 5000, T);
      },
      { op: 'x' },
    );
    expect((await e.listSustained(sid)).sort()).toEqual([10n, 11n]);
    await e.txn(
      async (tx) => {
        tx.removeSustained(sid, 11n);
      },
      { op: 'x' },
    );
    expect(await e.listSustained(sid)).toEqual([10n]);
    expect(await e.listDelFiles()).toEqual([{ ino: 13n, length: 5000, expire: T }]);
    await e.removeDelFile(13n, 5000);
    expect(await e.listDelFiles()).toEqual([]);
    await e.deleteSession(sid);
    expect(await e.listSessions()).toEqual([{ sid: 7, expire: T }]);
    expect(await e.listSustained(sid)).toEqual([]);
    expect(await e.listLockedInodes(sid)).toEqual([]);
  });

  it('maintains dir stats and quotas', async () => {
    const e = await formatted();
    await e.txn(
      async (tx) => {
        tx.initDirStat(2n);
        tx.updateDirStat(2n, { dataLength: 5, usedSpace: 4096, usedInodes: 1 });
        tx.updateDirStat(1n, { dataLength: 1, usedSpace: 1, usedInodes: 1 }); // no row: ignored as in Go
      },
      { op: 'mkdir' },
    );
    expect(await e.getDirStat(2n)).toEqual({ dataLength: 5, usedSpace: 4096, usedInodes: 1 });
    expect(await e.getDirStat(1n)).toBeUndefined();
    await e.setDirStat(1n, { dataLength: 0, usedSpace: 4096, usedInodes: 1 });
    expect(raw().prepare('SELECT * FROM jfs_dir_stats ORDER BY inode').all()).toEqual([
      { inode: 1n, data_length: 0n, used_space: 4096n, used_inodes: 1n },
      { inode: 2n, data_length: 5n, used_space: 4096n, used_inodes: 1n },
    ]);
    await e.setDirQuota(2n, { maxSpace: 1 << 30, maxInodes: -1, usedSpace: 0, usedInodes: 0 });
    await e.txn(
      async (tx) => {
        tx.updateDirQuotaUsage(2n, 4096, 1);
        tx.deleteDirStat(2n);
      },
      { op: 'q' },
    );
    expect([...(await e.listDirQuotas())]).toEqual([
      [2n, { maxSpace: 1 << 30, maxInodes: -1, usedSpace: 4096, usedInodes: 1 }],
    ]);
    expect(await e.getDirStat(2n)).toBeUndefined();
    await e.txn(
      async (tx) => {
        tx.deleteDirQuota(2n);
      },
      { op: 'q' },
    );
    expect((await e.listDirQuotas()).size).toBe(0);
    await e.setUserGroupQuota('user', 1000, { maxSpace: 10, maxInodes: 20, usedSpace: 1, usedInodes: 2 });
    await e.setUserGroupQuota('group', 1000, { maxSpace: 30, maxInodes: 40, usedSpace: 3, usedInodes: 4 });
    expect([...(await e.listUserGroupQuotas('user'))]).toEqual([
      [1000, { maxSpace: 10, maxInodes: 20, usedSpace: 1, usedInodes: 2 }],
    ]);
    expect(raw().prepare('SELECT qtype, qkey FROM jfs_user_group_quota ORDER BY qtype').all()).toEqual([
      { qtype: 1n, qkey: 1000n },
      { qtype: 2n, qkey: 1000n },
    ]);
  });

  it('deduplicates ACL rules and stores named entries without a count prefix', async () => {
    const e = await formatted();
    const rule = { owner: 7, group: 5, mask: 5, other: 4, users: [{ id: 1000, perm: 6 }], groups: [] };
    const id = await e.putAcl(rule);
    expect(await e.putAcl({ ...rule, users: [{ id: 1000, perm: 6 }] })).toBe(id);
    const other = await e.putAcl({ ...rule, users: [{ id: 1001, perm: 6 }] });
    expect(other).not.toBe(id);
    expect(await e.getAcl(id)).toEqual(rule);
    expect(await e.getAcl(999)).toBeUndefined();
    const row = raw().prepare('SELECT hex(named_users) AS u, "group" AS g FROM jfs_acl WHERE id = ?').get(id);
    expect(row).toEqual({ u: '000003E80006', g: 5n });
    await e.setAcl(50, rule);
    expect(await e.getAcl(50)).toEqual(rule);
  });

  it('stores symlinks and xattrs as blobs with text xattr names', async () => {
    const e = await formatted();
    await e.txn(
      async (tx) => {
        tx.setSymlink(4n, Buffer.from('target\xff', 'latin1'));
        tx.setXattr(4n, 'user.a', Buffer.from([0, 1, 2]));
        tx.setXattr(4n, 'user.a', Buffer.from([3]));
        tx.setXattr(4n, 'user.b', Buffer.alloc(0));
      },
      { op: 'x' },
    );
    const db = raw();
    expect(db.prepare('SELECT typeof(target) AS t FROM jfs_symlink').get()).toEqual({ t: 'blob' });
    expect(
      db.prepare("SELECT typeof(name) AS n, typeof(value) AS v FROM jfs_xattr WHERE name = 'user.a'").get(),
    ).toEqual({
      n: 'text',
      v: 'blob',
    });
    const got = await e.txn(
      async (tx) =>
        [await tx.getSymlink(4n), await tx.getXattr(4n, 'user.a'), await tx.listXattrs(4n)] as const,
      { op: 'r', readonly: true },
    );
    expect(got[0]).toEqual(Buffer.from('target\xff', 'latin1'));
    expect(got[1]).toEqual(Buffer.from([3]));
    expect([...got[2].keys()].sort()).toEqual(['user.a', 'user.b']);
    await e.txn(
      async (tx) => {
        tx.deleteXattr(4n, 'user.a');
        tx.deleteSymlink(4n);
      },
      { op: 'x' },
    );
    const after = await e.txn(
      async (tx) => [await tx.getSymlink(4n), await tx.getXattr(4n, 'user.a')] as const,
      {
        op: 'r',
        readonly: true,
      },
    );
    expect(after).toEqual([undefined, undefined]);
  });

  it('reproduces the SQLite state of the V-15 scenario', async () => {
    const e = await formatted();
    const first = await e.allocate('nextInode', 1024);
    const sliceId = await e.allocate('nextChunk', 4096);
    const sid = await e.newSessionId();
    await e.putSession(sid, T + 60, '{}');
    const d = BigInt(first);
    const f = d + 1n;
    await e.txn(
      async (tx) => {
        tx.setAttr(d, dirAttr(0o755, 1n));
        tx.setEntry(1n, Buffer.from('d'), { ino: d, type: FileType.Directory });
        tx.initDirStat(d);
        tx.addCounter('usedSpace', 4096);
        tx.addCounter('totalInodes', 1);
      },
      { op: 'mkdir' },
    );
    await e.txn(
      async (tx) => {
        tx.setAttr(f, fileAttr(d, 5));
        tx.setEntry(d, Buffer.from('f'), { ino: f, type: FileType.File });
        tx.appendSlices(f, 0, [{ pos: 0, id: sliceId, size: 5, off: 0, len: 5 }]);
        tx.newSliceRef(sliceId, 5);
        tx.addCounter('usedSpace', 4096);
        tx.addCounter('totalInodes', 1);
      },
      { op: 'create+write' },
    );
    const db = raw();
    expect(
      db.prepare('SELECT parent, hex(name) AS name, inode, type FROM jfs_edge ORDER BY id').all(),
    ).toEqual([
      { parent: 1n, name: '64', inode: 2n, type: 2n },
      { parent: 2n, name: '66', inode: 3n, type: 1n },
    ]);
    expect(db.prepare('SELECT inode, indx, hex(CAST(slices AS BLOB)) AS s FROM jfs_chunk').get()).toEqual({
      inode: 3n,
      indx: 0n,
      s: '00000000' + '0000000000000001' + '00000005' + '00000000' + '00000005',
    });
    expect(db.prepare('SELECT * FROM jfs_chunk_ref').all()).toEqual([{ chunkid: 1n, size: 5n, refs: 1n }]);
    const counters = Object.fromEntries(
      (db.prepare('SELECT name, value FROM jfs_counter').all() as { name: string; value: bigint }[]).map(
        (r) => [r.name, r.value],
      ),
    );
    expect(counters).toMatchObject({
      nextInode: 1026n,
      nextChunk: 4097n,
      nextSession: 1n,
      usedSpace: 8192n,
      totalInodes: 2n,
    });
    expect(db.prepare('SELECT sid, expire FROM jfs_session2').all()).toEqual([
      { sid: 1n, expire: BigInt(T + 60) },
    ]);
  });
});
