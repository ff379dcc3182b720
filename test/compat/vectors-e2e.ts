/**
 * docs/FORMAT.md §13 V-15, the end-to-end scenario: format (TrashDays 1), one session, mkdir /d
 * (0777, umask 022, uid/gid 1000), create /d/f 0644, commit a 5-byte slice; then the exact
 * raw Redis keys and values, or SQLite / PostgreSQL / MySQL rows, read around the engine (times ignored).
 * The object-storage half of V-15 is covered by the data-path tests.
 * Used by vectors.test.ts (it registers the engine targets and their servers).
 */
import { expect, it } from 'vitest';
import { metaCore } from '../../src/meta/base-meta.js';
import { decodeAttr, encodeSlice } from '../../src/meta/encoding.js';
import { FileType, ROOT_INODE, TRASH_INODE, type Attr } from '../../src/base/types.js';
import { makeVolume, n, type EngineTarget, type Volume } from '../helpers/meta-fixture.js';
import { flatPairs, hashHex, hashText, rawRedis, rawSqlite } from '../helpers/raw-db.js';
import { rawPg } from '../helpers/pg-server.js';
import { rawMysql } from '../helpers/raw-mysql.js';

const T = 1700000000;
const RECORD = encodeSlice({ pos: 0, id: 1, size: 5, off: 0, len: 5 });
const ctx1000 = { uid: 1000, gid: 1000, gids: [1000], pid: 10 };

async function scenario(target: EngineTarget): Promise<Volume> {
  const v = await makeVolume(target, { TrashDays: 1 });
  const m = await v.client();
  const d = await m.mkdir(ctx1000, ROOT_INODE, n('d'), 0o777, 0o022);
  const f = await m.create(ctx1000, d.ino, n('f'), 0o644, 0o022);
  const id = await m.newSliceId();
  await m.writeSlice(f.ino, 0, { pos: 0, id, size: 5, off: 0, len: 5 }, { sec: T, nsec: 0 });
  await m.close(f.ino);
  await metaCore(m).stats.flush(); // usage and directory stats are written in batches, as Go's once a second
  return v;
}

/** The attr fields V-15 fixes (times left out). */
function shape(a: Attr): Record<string, unknown> {
  return {
    type: a.type,
    mode: a.mode,
    uid: a.uid,
    gid: a.gid,
    nlink: a.nlink,
    length: a.length,
    parent: a.parent,
  };
}

const expectedAttrs = {
  root: { type: FileType.Directory, mode: 0o777, uid: 0, gid: 0, nlink: 3, length: 4096, parent: 1n },
  d: { type: FileType.Directory, mode: 0o755, uid: 1000, gid: 1000, nlink: 2, length: 4096, parent: 1n },
  f: { type: FileType.File, mode: 0o644, uid: 1000, gid: 1000, nlink: 1, length: 5, parent: 2n },
  trash: { type: FileType.Directory, mode: 0o555, uid: 0, gid: 0, nlink: 2, length: 4096, parent: 1n },
};

async function checkRedis(v: Volume): Promise<void> {
  const r = await rawRedis(v.url);
  try {
    // tjfs's commit markers (docs/FORMAT.md §5.3) live while the client does; nothing else.
    const all = await r.keys('*');
    const keys = all.filter((k) => !/^tjfs-commit-[0-9a-f]{16}$/.test(k)).sort();
    expect(all.length - keys.length).toBeLessThanOrEqual(8);
    expect(keys).toEqual(
      [
        'setting',
        'i1',
        'i2',
        'i3',
        `i${TRASH_INODE}`,
        'd1',
        'd2',
        'c3_0',
        'nextinode',
        'nextchunk',
        'nextsession',
        'usedSpace',
        'totalInodes',
        'dirUsedInodes',
        'dirUsedSpace',
        'dirDataLength',
        'allSessions',
        'sessionInfos',
      ].sort(),
    );
    const attr = async (k: string): Promise<Record<string, unknown>> => {
      const b = await r.getBuffer(k);
      expect(b?.length).toBe(72);
      return shape(decodeAttr(b ?? Buffer.alloc(0)));
    };
    expect(await attr('i1')).toEqual(expectedAttrs.root);
    expect(await attr('i2')).toEqual(expectedAttrs.d);
    expect(await attr('i3')).toEqual(expectedAttrs.f);
    expect(await attr(`i${TRASH_INODE}`)).toEqual(expectedAttrs.trash);
    expect(await hashHex(r, 'd1')).toEqual({ d: '020000000000000002' });
    expect(await hashHex(r, 'd2')).toEqual({ f: '010000000000000003' });
    const list = await r.lrangeBuffer('c3_0', 0, -1);
    expect(list.map((b) => b.toString('hex'))).toEqual([
      '00000000' + '0000000000000001' + '00000005' + '00000000' + '00000005',
    ]);
    expect(list[0]?.equals(RECORD)).toBe(true);
    expect(await r.mget('nextinode', 'nextchunk', 'nextsession', 'usedSpace', 'totalInodes')).toEqual([
      '1024',
      '4096',
      '1',
      '8192',
      '2',
    ]);
    expect(await hashText(r, 'dirUsedInodes')).toEqual({ 1: '1', 2: '1' });
    expect(await hashText(r, 'dirUsedSpace')).toEqual({ 1: '4096', 2: '4096' });
    expect(await hashText(r, 'dirDataLength')).toEqual({ 1: '0', 2: '5' });
    expect(flatPairs(await r.call('ZRANGE', 'allSessions', 0, -1, 'WITHSCORES'))).toEqual([
      ['1', String(T + 60)],
    ]);
    const infos = await hashText(r, 'sessionInfos');
    expect(Object.keys(infos)).toEqual(['1']);
    expect(JSON.parse(infos['1'] ?? '{}')).toMatchObject({ MountPoint: '/test' });
    expect(await r.exists('sliceRef')).toBe(0);
    expect(JSON.parse((await r.get('setting')) ?? '{}')).toMatchObject({ Name: 'testvol', TrashDays: 1 });
  } finally {
    r.disconnect();
  }
}

type Row = Record<string, unknown>;

/** How the two SQL engines differ in the queries below. */
interface SqlFlavor {
  /** A query of the storage type of jfs_edge.name, answering `{ t }` per row, and that type. */
  nameType: [string, string];
  /** jfs_chunk with the slices as raw bytes. */
  chunks: string;
}

/**
 * The stored rows of the scenario on a SQL engine (`all` runs a query; integers come back as
 * bigint): the same on SQLite and on PostgreSQL, where the columns have Go's xorm types.
 */
async function checkSqlRows(all: (sql: string) => Promise<Row[]>, f: SqlFlavor): Promise<void> {
  expect(await all('SELECT parent, name, inode, type FROM jfs_edge ORDER BY parent')).toEqual([
    { parent: 1n, name: Buffer.from('d'), inode: 2n, type: 2n },
    { parent: 2n, name: Buffer.from('f'), inode: 3n, type: 1n },
  ]);
  expect(await all(f.nameType[0])).toEqual([{ t: f.nameType[1] }, { t: f.nameType[1] }]);
  expect(await all(f.chunks)).toEqual([{ inode: 3n, indx: 0n, slices: RECORD }]);
  expect(await all('SELECT chunkid, size, refs FROM jfs_chunk_ref')).toEqual([
    { chunkid: 1n, size: 5n, refs: 1n },
  ]);
  const counters = Object.fromEntries(
    (await all('SELECT name, value FROM jfs_counter')).map((r) => [r['name'], r['value']]),
  );
  expect(counters).toMatchObject({
    nextInode: 1026n,
    nextChunk: 4097n,
    nextSession: 1n,
    usedSpace: 8192n,
    totalInodes: 2n,
  });
  expect(
    await all('SELECT inode, data_length, used_space, used_inodes FROM jfs_dir_stats ORDER BY inode'),
  ).toEqual([
    { inode: 1n, data_length: 0n, used_space: 4096n, used_inodes: 1n },
    { inode: 2n, data_length: 5n, used_space: 4096n, used_inodes: 1n },
  ]);
  const sessions = await all('SELECT sid, expire, info FROM jfs_session2');
  expect(sessions).toHaveLength(1);
  expect(sessions[0]).toMatchObject({ sid: 1n, expire: BigInt(T + 60) });
  expect(JSON.parse(String(sessions[0]?.['info']))).toMatchObject({ MountPoint: '/test' });
  const nodes = await all(
    'SELECT inode, type, mode, uid, gid, nlink, length, parent FROM jfs_node ORDER BY inode',
  );
  const asShape = (r: Row | undefined): Record<string, unknown> => ({
    type: Number(r?.['type']),
    mode: Number(r?.['mode']),
    uid: Number(r?.['uid']),
    gid: Number(r?.['gid']),
    nlink: Number(r?.['nlink']),
    length: Number(r?.['length']),
    parent: r?.['parent'],
  });
  expect(nodes.map((r) => r['inode'])).toEqual([1n, 2n, 3n, TRASH_INODE]);
  expect(nodes.map(asShape)).toEqual([
    expectedAttrs.root,
    expectedAttrs.d,
    expectedAttrs.f,
    expectedAttrs.trash,
  ]);
}

async function checkSqlite(v: Volume): Promise<void> {
  const db = rawSqlite(v.url);
  try {
    await checkSqlRows(async (sql) => db.prepare(sql).all() as Row[], {
      nameType: ['SELECT typeof(name) AS t FROM jfs_edge', 'blob'],
      chunks: 'SELECT inode, indx, CAST(slices AS BLOB) AS slices FROM jfs_chunk',
    });
  } finally {
    db.close();
  }
}

/** Integers as bigint whatever their column width (INTEGER comes back as number on PostgreSQL). */
function big(r: Row): Row {
  return Object.fromEntries(Object.entries(r).map(([k, x]) => [k, typeof x === 'number' ? BigInt(x) : x]));
}

async function checkPg(v: Volume): Promise<void> {
  const c = await rawPg(v.url);
  try {
    await checkSqlRows(async (sql) => ((await c.query(sql)).rows as Row[]).map(big), {
      nameType: ['SELECT pg_typeof(name)::text AS t FROM jfs_edge', 'bytea'],
      chunks: 'SELECT inode, indx, slices FROM jfs_chunk',
    });
  } finally {
    await c.end();
  }
}

async function checkMysql(v: Volume): Promise<void> {
  const c = await rawMysql(v.url);
  try {
    await checkSqlRows(async (sql) => ((await c.query(sql))[0] as Row[]).map(big), {
      nameType: [
        "SELECT c.data_type AS t FROM jfs_edge e JOIN information_schema.columns c ON c.table_schema = DATABASE() AND c.table_name = 'jfs_edge' AND c.column_name = 'name'",
        'varbinary',
      ],
      chunks: 'SELECT inode, indx, slices FROM jfs_chunk',
    });
  } finally {
    await c.end();
  }
}

export function runV15(target: EngineTarget): void {
  it(`V-15 end to end on ${target.name}: exact stored state`, async () => {
    const v = await scenario(target);
    try {
      if (target.name === 'redis') {
        await checkRedis(v);
        await v.close();
        const r = await rawRedis(v.url);
        try {
          expect(await r.keys('tjfs-commit-*')).toEqual([]); // a closing client deletes its markers
        } finally {
          r.disconnect();
        }
      } else if (target.name === 'postgres') await checkPg(v);
      else if (target.name === 'mysql') await checkMysql(v);
      else await checkSqlite(v);
    } finally {
      await v.close();
      await target.cleanup?.();
    }
  });
}
