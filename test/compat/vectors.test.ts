/**
 * The compatibility vectors of docs/FORMAT.md §13, byte for byte: encodings (V-1..V-5), id
 * allocation on fresh Redis and SQLite volumes (V-6), secret encryption (V-10), the SQL
 * time split through real rows (V-12), trash naming (V-13), the setting JSON (V-14).
 * The V-15 end-to-end scenario (raw Redis keys / SQLite rows) is in vectors-e2e.ts.
 * Redis runs on a private redis-server started and stopped by this file.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { metaCore } from '../../src/meta/base-meta.js';
import { dumpMeta } from '../../src/meta/dump/dump.js';
import {
  decodeAttr,
  encodeAclEntries,
  encodeAclRule,
  encodeAttr,
  encodeDelayedSlices,
  encodeEntry,
  encodePlocks,
  encodeQuotaLimit,
  encodeSlice,
  encodeSlices,
  lockOwnerField,
} from '../../src/meta/encoding.js';
import type { MetaEngine } from '../../src/meta/engine.js';
import { defaultFormat, formatToJson, parseFormat } from '../../src/meta/format.js';
import { delFileMember, RedisKeys, sliceRefField } from '../../src/meta/redis/redis-keys.js';
import { decryptFormatSecrets, decryptSecret, encryptSecret } from '../../src/meta/secret.js';
import { joinTime, splitTime } from '../../src/meta/sql/sql-rows.js';
import { trashEntryName, trashHourName } from '../../src/meta/trash.js';
import { CHUNK_SIZE, emptyAttr, FileType, ROOT_INODE, TRASH_INODE, type Attr } from '../../src/base/types.js';
import { memTarget, redisTarget, sqliteTarget, withMysql, withPg } from '../helpers/engine-targets.js';
import { rawMysql } from '../helpers/raw-mysql.js';
import { rawPg } from '../helpers/pg-server.js';
import { makeVolume, n, root, type EngineTarget, type Volume } from '../helpers/meta-fixture.js';
import { rawRedis, rawSqlite } from '../helpers/raw-db.js';
import { runV15 } from './vectors-e2e.js';

const T = 1700000000;
const hex = (s: string): string => s.replace(/[\s|]/g, '');
const UUID = 'c3a8a7f0-6d7e-4b8f-9a0e-1f2d3c4b5a69';

function attr(p: Partial<Attr>): Attr {
  return { ...emptyAttr(), atime: T, mtime: T, ctime: T, ...p };
}

const rootDir = attr({ type: FileType.Directory, mode: 0o777, nlink: 2, length: 4096, parent: 1n });
const file = attr({
  type: FileType.File,
  mode: 0o644,
  uid: 1000,
  gid: 1000,
  atime: T,
  atimensec: 123456789,
  mtime: T + 1,
  mtimensec: 500,
  ctime: T + 2,
  ctimensec: 999999999,
  nlink: 1,
  length: 5,
  parent: 1n,
});

describe('V-1 attr encodings', () => {
  it('(a) root directory, 72 bytes', () => {
    const b = encodeAttr(rootDir);
    expect(b.length).toBe(72);
    expect(b.toString('hex')).toBe(
      hex(
        '00 21ff 00000000 00000000 000000006553f100 00000000 000000006553f100 00000000 000000006553f100 00000000 00000002 0000000000001000 00000000 0000000000000001 | 00',
      ),
    );
  });
  it('(b) regular file, (c) with ACL, (d) with tier', () => {
    const b =
      '0011a4000003e8000003e8000000006553f100075bcd15000000006553f101000001f4000000006553f1023b9ac9ff00000001000000000000000500000000000000000000000100';
    expect(encodeAttr(file).toString('hex')).toBe(b);
    const c = encodeAttr({ ...file, accessAcl: 1 });
    expect(c.length).toBe(80);
    expect(c.toString('hex')).toBe(
      '0011a4000003e8000003e8000000006553f100075bcd15000000006553f101000001f4000000006553f1023b9ac9ff000000010000000000000005000000000000000000000001000000010000000000',
    );
    const d = encodeAttr({ ...file, tier: 2 });
    expect(d.length).toBe(73);
    expect(d.toString('hex')).toBe(
      '0011a4000003e8000003e8000000006553f100075bcd15000000006553f101000001f4000000006553f1023b9ac9ff0000000100000000000000050000000000000000000000010200',
    );
  });
  it('(e) symlink and (f) trash root', () => {
    const e = attr({ type: FileType.Symlink, mode: 0o777, nlink: 1, length: 11, parent: 1n });
    expect(encodeAttr(e).toString('hex')).toBe(
      '0031ff0000000000000000000000006553f10000000000000000006553f10000000000000000006553f1000000000000000001000000000000000b00000000000000000000000100',
    );
    expect(encodeAttr({ ...rootDir, mode: 0o555 }).toString('hex')).toBe(
      '00216d0000000000000000000000006553f10000000000000000006553f10000000000000000006553f1000000000000000002000000000000100000000000000000000000000100',
    );
  });
  it('decoder checks: ACL vs padding, tier, 71-byte prefix', () => {
    const c = decodeAttr(encodeAttr({ ...file, accessAcl: 1 }));
    expect([c.accessAcl, c.defaultAcl, c.tier]).toEqual([1, 0, 0]);
    const d = decodeAttr(encodeAttr({ ...file, tier: 2 }));
    expect([d.tier, d.accessAcl, d.defaultAcl]).toEqual([2, 0, 0]);
    const a = encodeAttr(rootDir);
    expect(decodeAttr(a.subarray(0, 71))).toEqual(decodeAttr(a));
    expect(decodeAttr(a)).toEqual(rootDir);
    expect(decodeAttr(encodeAttr(file))).toEqual(file);
  });
});

describe('V-2 .. V-5 small encodings and key names', () => {
  it('V-2 dentry values', () => {
    expect(encodeEntry(FileType.File, 2n).toString('hex')).toBe('010000000000000002');
    expect(encodeEntry(FileType.Directory, 9223372032828243969n).toString('hex')).toBe('027fffffff10000001');
  });
  it('V-3 slice records and a two-record blob', () => {
    const s1 = { pos: 0, id: 1234, size: 10485760, off: 0, len: 10485760 };
    const s2 = { pos: 1048576, id: 4097, size: 4096, off: 512, len: 1024 };
    expect(encodeSlice(s1).toString('hex')).toBe(hex('00000000 00000000000004d2 00a00000 00000000 00a00000'));
    expect(encodeSlice(s2).toString('hex')).toBe(hex('00100000 0000000000001001 00001000 00000200 00000400'));
    const hole = { pos: 5, id: 0, size: 0, off: 0, len: 67108859 };
    expect(encodeSlice(hole).toString('hex')).toBe(
      hex('00000005 0000000000000000 00000000 00000000 03fffffb'),
    );
    expect(encodeSlices([s1, s2]).equals(Buffer.concat([encodeSlice(s1), encodeSlice(s2)]))).toBe(true);
    expect(encodeSlices([s1, s2]).length).toBe(48);
  });
  it('V-4 delayed slice, plock, quota limit, ACL rule (Redis and SQL), lock owner', () => {
    expect(encodeDelayedSlices([{ id: 1234, size: 4194304 }]).toString('hex')).toBe(
      hex('00000000000004d2 00400000'),
    );
    expect(encodePlocks([{ type: 1, pid: 4321, start: 0n, end: 99n }]).toString('hex')).toBe(
      hex('00000001 000010e1 0000000000000000 0000000000000063'),
    );
    expect(encodeQuotaLimit(2 ** 30, -1).toString('hex')).toBe(hex('0000000040000000 ffffffffffffffff'));
    const rule = {
      owner: 6,
      group: 4,
      mask: 5,
      other: 0,
      users: [{ id: 1000, perm: 7 }],
      groups: [
        { id: 100, perm: 4 },
        { id: 200, perm: 5 },
      ],
    };
    const b = encodeAclRule(rule);
    expect(b.length).toBe(34);
    expect(b.toString('hex')).toBe(
      hex('0006 0004 0005 0000 00000001 000003e8 0007 00000002 00000064 0004 000000c8 0005'),
    );
    expect(encodeAclEntries(rule.users).toString('hex')).toBe('000003e80007');
    expect(lockOwnerField(3, 0xdeadbeefn)).toBe('3_00000000DEADBEEF');
  });
  it('V-5 Redis key and field names from the engine key builder', () => {
    const k = new RedisKeys('');
    expect([k.inode(1n), k.entries(1n), k.chunk(3n, 0)]).toEqual(['i1', 'd1', 'c3_0']);
    expect([k.symlink(4n), k.xattrs(3n), k.parents(5n), k.flock(3n), k.plock(3n)]).toEqual([
      's4',
      'x3',
      'p5',
      'lockf3',
      'lockp3',
    ]);
    expect([k.sustained(7), k.locked(7)]).toEqual(['session7', 'locked7']);
    expect(k.entries(TRASH_INODE)).toBe('d9223372032828243968');
    const c = new RedisKeys('{0}');
    expect([c.inode(1n), c.global('setting')]).toEqual(['{0}i1', '{0}setting']);
    expect(sliceRefField(1234, 4194304)).toBe('k1234_4194304');
    expect(delFileMember(3n, 5)).toBe('3:5');
    expect([
      k.counter('nextInode'),
      k.counter('nextChunk'),
      k.counter('nextSession'),
      k.counter('nextTrash'),
    ]).toEqual(['nextinode', 'nextchunk', 'nextsession', 'nextTrash']);
  });
});

describe('V-3 truncate hole records computed by the base (mem)', () => {
  it('truncate 5 -> 128 MiB appends one hole to chunk 0 only', async () => {
    const v = await makeVolume(memTarget());
    try {
      const m = await v.client();
      const f = await m.create(root, ROOT_INODE, n('f'), 0o644);
      const data = { pos: 0, id: await m.newSliceId(), size: 5, off: 0, len: 5 };
      await m.writeSlice(f.ino, 0, data, { sec: T, nsec: 0 });
      await m.truncate(root, f.ino, 128 * 1024 * 1024);
      expect(await m.readChunk(f.ino, 0)).toEqual([data, { pos: 5, id: 0, size: 0, off: 0, len: 67108859 }]);
      expect(await m.readChunk(f.ino, 1)).toEqual([]); // middle chunk: its list does not exist
      expect(await m.readChunk(f.ino, 2)).toEqual([]); // right % 64 MiB == 0: nothing
      expect((await m.getattr(root, f.ino)).length).toBe(2 * CHUNK_SIZE);
    } finally {
      await v.close();
    }
  });
});

async function dumpCounters(engine: MetaEngine): Promise<Record<string, number>> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await dumpMeta(engine, out, {});
  out.end();
  const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Counters: Record<string, number> };
  return parsed.Counters;
}

function idAllocation(
  target: EngineTarget,
  expected: { raw: (v: Volume) => Promise<Record<string, number>>; nextInodes: number },
): void {
  it(`V-6 id allocation on a fresh ${target.name} volume`, async () => {
    const v = await makeVolume(target);
    try {
      const m = await v.client();
      expect(await metaCore(m).nextInode()).toBe(2n);
      expect(await m.newSliceId()).toBe(1);
      expect(m.sid).toBe(1);
      const c = await dumpCounters(v.engines[0]!);
      expect([c['nextInodes'], c['nextChunk'], c['nextSession']]).toEqual([expected.nextInodes, 4097, 1]);
      expect(await expected.raw(v)).toEqual({
        nextInode: expected.nextInodes === 1025 ? 1024 : 1026,
        nextChunk: expected.nextInodes === 1025 ? 4096 : 4097,
        nextSession: 1,
      });
    } finally {
      await v.close();
      await target.cleanup?.();
    }
  });
}

describe('V-6 on Redis', () => {
  const target = redisTarget();
  idAllocation(target, {
    nextInodes: 1025,
    raw: async (v) => {
      const r = await rawRedis(v.url);
      try {
        const [i, c, s] = await r.mget('nextinode', 'nextchunk', 'nextsession');
        return { nextInode: Number(i), nextChunk: Number(c), nextSession: Number(s) };
      } finally {
        r.disconnect();
      }
    },
  });
  runV15(target);
});

describe('V-6 on SQLite', () => {
  const target = sqliteTarget();
  // SQL stores the next unused inode (format writes 2), so after the first batch of 1024
  // the row (and Go's dump of it) reads 1026, not 1025 as V-6's last line says for "either".
  idAllocation(target, {
    nextInodes: 1026,
    raw: async (v) => {
      const db = rawSqlite(v.url);
      try {
        const rows = db.prepare('SELECT name, value FROM jfs_counter').all() as {
          name: string;
          value: bigint;
        }[];
        const get = (k: string): number => Number(rows.find((r) => r.name === k)?.value);
        return { nextInode: get('nextInode'), nextChunk: get('nextChunk'), nextSession: get('nextSession') };
      } finally {
        db.close();
      }
    },
  });
  runV15(target);

  it('V-12 SQL time split through jfs_node rows', async () => {
    expect(splitTime(T, 123456789)).toEqual([1700000000123456n, 789n]);
    expect(splitTime(T, 0)).toEqual([1700000000000000n, 0n]);
    expect(joinTime(1700000000123456n, 789n)).toEqual({ sec: T, nsec: 123456789 });
    const v = await makeVolume(target);
    try {
      const m = await v.client();
      const f = await m.create(root, ROOT_INODE, n('t'), 0o644);
      await m.setattr(root, f.ino, { atime: { sec: T, nsec: 123456789 } });
      const db = rawSqlite(v.url);
      const row = db
        .prepare('SELECT atime, atimensec, ctime, ctimensec FROM jfs_node WHERE inode = ?')
        .get(f.ino) as Record<string, bigint>;
      db.close();
      expect(row).toEqual({
        atime: 1700000000123456n,
        atimensec: 789n,
        ctime: 1700000000000000n,
        ctimensec: 0n,
      });
      expect((await m.getattr(root, f.ino)).atimensec).toBe(123456789);
    } finally {
      await v.close();
      await target.cleanup?.();
    }
  });
});

describe('V-6 on PostgreSQL', () => {
  withPg('V-6 on PostgreSQL', (target) => {
    // jfs_counter holds the next unused id, as on SQLite (Go's SQL engine on both).
    idAllocation(target, {
      nextInodes: 1026,
      raw: async (v) => {
        const c = await rawPg(v.url);
        try {
          const { rows } = await c.query<{ name: string; value: bigint }>(
            'SELECT name, value FROM jfs_counter',
          );
          const get = (k: string): number => Number(rows.find((r) => r.name === k)?.value);
          return {
            nextInode: get('nextInode'),
            nextChunk: get('nextChunk'),
            nextSession: get('nextSession'),
          };
        } finally {
          await c.end();
        }
      },
    });
    runV15(target);

    it('V-12 SQL time split through jfs_node rows', async () => {
      const v = await makeVolume(target);
      try {
        const m = await v.client();
        const f = await m.create(root, ROOT_INODE, n('t'), 0o644);
        await m.setattr(root, f.ino, { atime: { sec: T, nsec: 123456789 } });
        const c = await rawPg(v.url);
        const { rows } = await c.query(
          'SELECT atime, atimensec, ctime, ctimensec FROM jfs_node WHERE inode = $1',
          [f.ino.toString()],
        );
        await c.end();
        expect(rows[0]).toEqual({
          atime: 1700000000123456n,
          atimensec: 789,
          ctime: 1700000000000000n,
          ctimensec: 0,
        });
        expect((await m.getattr(root, f.ino)).atimensec).toBe(123456789);
      } finally {
        await v.close();
      }
    });
  });
});

describe('V-6 on MySQL', () => {
  withMysql('V-6 on MySQL', (target) => {
    // jfs_counter holds the next unused id, as on SQLite and PostgreSQL (Go's SQL engine).
    idAllocation(target, {
      nextInodes: 1026,
      raw: async (v) => {
        const c = await rawMysql(v.url);
        try {
          const [rows] = (await c.query('SELECT name, value FROM jfs_counter')) as unknown as [
            { name: string; value: bigint }[],
          ];
          const get = (k: string): number => Number(rows.find((r) => r.name === k)?.value);
          return {
            nextInode: get('nextInode'),
            nextChunk: get('nextChunk'),
            nextSession: get('nextSession'),
          };
        } finally {
          await c.end();
        }
      },
    });
    runV15(target);

    it('V-12 SQL time split through jfs_node rows', async () => {
      const v = await makeVolume(target);
      try {
        const m = await v.client();
        const f = await m.create(root, ROOT_INODE, n('t'), 0o644);
        await m.setattr(root, f.ino, { atime: { sec: T, nsec: 123456789 } });
        const c = await rawMysql(v.url);
        const [rows] = (await c.query(
          'SELECT atime, atimensec, ctime, ctimensec FROM jfs_node WHERE inode = ?',
          [f.ino.toString()],
        )) as unknown as [Record<string, unknown>[]];
        await c.end();
        expect(rows[0]).toEqual({
          atime: 1700000000123456n,
          atimensec: 789,
          ctime: 1700000000000000n,
          ctimensec: 0,
        });
        expect((await m.getattr(root, f.ino)).atimensec).toBe(123456789);
      } finally {
        await v.close();
      }
    });
  });
});

describe('V-10 secret encryption, V-13 trash naming, V-14 setting JSON', () => {
  it('V-10 AES-128-GCM with MD5(UUID)', async () => {
    const { createHash } = await import('node:crypto');
    expect(createHash('md5').update(UUID).digest('hex')).toBe('4e5057b78b964e293d57f1dab29118a5');
    const nonce = Buffer.from('000102030405060708090a0b', 'hex');
    const stored = 'AAECAwQFBgcICQoL07RpbxGG6RaSMZvUh0ZkIyKMzCZZrKBj';
    expect(encryptSecret(UUID, 'mysecret', nonce)).toBe(stored);
    expect(Buffer.from(stored, 'base64').length).toBe(36);
    expect(decryptSecret(UUID, stored)).toBe('mysecret');
    expect(decryptSecret(UUID, encryptSecret(UUID, 'x'))).toBe('x');
    expect(() => decryptSecret(UUID, 'removed')).toThrow(/removed/);
    expect(() => decryptSecret('other-uuid', stored)).toThrow(/cannot decrypt/);
  });

  it('V-10 format stores SecretKey/SessionToken/EncryptKey encrypted', async () => {
    const v = await makeVolume(memTarget(), {
      SecretKey: 'mysecret',
      SessionToken: 'tok',
      EncryptKey: 'PEM',
    });
    try {
      await v.client();
      const text = await v.engines[0]!.getFormatText();
      const f = parseFormat(text ?? '');
      expect(f.KeyEncrypted).toBe(true);
      expect(f.SecretKey).not.toBe('mysecret');
      expect(decryptSecret(f.UUID, f.SecretKey ?? '')).toBe('mysecret');
      expect(decryptFormatSecrets(f)).toEqual({
        secretKey: 'mysecret',
        sessionToken: 'tok',
        encryptKey: 'PEM',
      });
    } finally {
      await v.close();
    }
  });

  it('V-13 trash naming, end to end on mem', async () => {
    expect(trashHourName(T)).toBe('2023-11-14-22');
    expect(trashEntryName(1n, 3n, n('f')).toString()).toBe('1-3-f');
    expect(trashEntryName(1n, 3n, Buffer.alloc(255, 0x61)).length).toBe(255);
    const v = await makeVolume(memTarget(), { TrashDays: 1 });
    try {
      const m = await v.client();
      await m.mkdir(root, ROOT_INODE, n('d'), 0o755); // inode 2
      const f = await m.create(root, ROOT_INODE, n('f'), 0o644); // inode 3
      await m.close(f.ino);
      expect(f.ino).toBe(3n);
      await m.unlink(root, ROOT_INODE, n('f'));
      const hour = await m.lookup(root, TRASH_INODE, n('2023-11-14-22'));
      expect(hour.ino).toBe(TRASH_INODE + 1n);
      const e = await m.lookup(root, hour.ino, n('1-3-f'));
      expect(e.ino).toBe(3n);
      expect(e.attr.parent).toBe(hour.ino);
    } finally {
      await v.close();
    }
  });

  it('V-14 setting JSON of a default root-run format', () => {
    const text = [
      '{',
      '"Name": "myjfs",',
      `"UUID": "${UUID}",`,
      '"Storage": "file",',
      '"Tiers": {',
      '"0": {',
      '"ID": 0,',
      '"StorageClass": "",',
      '"Tag": ""',
      '}',
      '},',
      '"Bucket": "/var/jfs/",',
      '"BlockSize": 4096,',
      '"Compression": "none",',
      '"EncryptAlgo": "aes256gcm-rsa",',
      '"TrashDays": 1,',
      '"MetaVersion": 1,',
      '"MinClientVersion": "1.1.0-A",',
      '"DirStats": true,',
      '"EnableACL": false',
      '}',
    ].join('\n');
    expect(formatToJson(defaultFormat('myjfs', UUID, '/var/jfs/'))).toBe(text);
    expect(parseFormat(text)).toEqual(defaultFormat('myjfs', UUID, '/var/jfs/'));
  });
});
