/**
 * Redis engine tests against a real redis-server: every key name and encoding is checked
 * by reading raw keys with a second client (docs/FORMAT.md §5, §13 V-1/V-4/V-5/V-6/V-15), plus
 * transaction retry/conflict behaviour, connection failure and bookkeeping sets.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort, startRedis } from '../../../test/helpers/redis-server.js';
import type { RedisServer } from '../../../test/helpers/redis-server.js';
import { TxConflictError } from '../engine.js';
import type { MetaEngine } from '../engine.js';
import { encodePlocks, encodeSlice } from '../encoding.js';
import { FsError } from '../../base/errno.js';
import { emptyAttr, FileType, TRASH_INODE } from '../../base/types.js';
import type { Attr, FileType as FileTypeT, Ino } from '../../base/types.js';
import { scanIsCheaper } from './redis-chunks.js';
import { openRedisEngine } from './redis-engine.js';

const T = 1700000000;

function attr(type: FileTypeT, mode: number, over: Partial<Attr> = {}): Attr {
  const a = { ...emptyAttr(), type, mode, atime: T, mtime: T, ctime: T, parent: 1n };
  if (type === FileType.Directory) Object.assign(a, { nlink: 2, length: 4096 });
  else a.nlink = 1;
  return { ...a, ...over };
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s/g, ''), 'hex');

let server: RedisServer;
let engine: MetaEngine;
let raw: Redis;

beforeAll(async () => {
  server = await startRedis();
  engine = await openRedisEngine(server.url, { maxRetries: 50 });
  raw = new Redis(server.url, { lazyConnect: true });
  await raw.connect();
});

afterAll(async () => {
  await engine?.close();
  raw?.disconnect();
  await server?.stop();
});

beforeEach(async () => {
  await engine.reset();
});

describe('format and counters', () => {
  it('initVolume writes setting, i1 and the trash attr exactly (§5.6, V-1)', async () => {
    expect(await engine.isEmpty()).toBe(true);
    expect(await engine.getFormatText()).toBeUndefined();
    const json = '{\n"Name": "myjfs"\n}';
    await engine.initVolume(json, {
      isNew: true,
      rootAttr: attr(FileType.Directory, 0o777),
      trashAttr: attr(FileType.Directory, 0o555),
    });
    expect(await raw.get('setting')).toBe(json);
    expect(await engine.getFormatText()).toBe(json);
    const root = await raw.getBuffer('i1');
    expect(root?.toString('hex')).toBe(
      '0021ff0000000000000000000000006553f10000000000000000006553f10000000000000000006553f1000000000000000002000000000000100000000000000000000000000100',
    );
    expect((await raw.getBuffer(`i${TRASH_INODE}`))?.toString('hex')).toBe(
      '00216d0000000000000000000000006553f10000000000000000006553f10000000000000000006553f1000000000000000002000000000000100000000000000000000000000100',
    );
    expect((await raw.keys('*')).sort()).toEqual(['i1', `i${TRASH_INODE}`, 'setting']);
    // Re-init of an existing volume: trash attr kept (SETNX), root untouched.
    await engine.initVolume(json, {
      isNew: false,
      rootAttr: attr(FileType.Directory, 0o700),
      trashAttr: attr(FileType.Directory, 0o700),
    });
    expect((await raw.getBuffer('i1'))?.equals(root ?? Buffer.alloc(0))).toBe(true);
    expect((await raw.getBuffer(`i${TRASH_INODE}`))?.readUInt16BE(1)).toBe(0x216d);
    expect(await engine.isEmpty()).toBe(false);
  });

  it('allocates ids with last-issued storage (V-6)', async () => {
    expect(await engine.getCounter('nextInode')).toBe(1);
    expect(await engine.allocate('nextInode', 1024)).toBe(1);
    expect(await raw.get('nextinode')).toBe('1024');
    expect(await engine.getCounter('nextInode')).toBe(1025);
    expect(await engine.allocate('nextInode', 1024)).toBe(1025);
    expect(await engine.allocate('nextChunk', 4096)).toBe(1);
    expect(await raw.get('nextchunk')).toBe('4096');
    expect(await engine.getCounter('nextChunk')).toBe(4097);
    expect(await engine.newSessionId()).toBe(1);
    expect(await raw.get('nextsession')).toBe('1');
    expect(await engine.getCounter('nextSession')).toBe(1);
    await engine.setCounter('nextInode', 3000);
    expect(await raw.get('nextinode')).toBe('2999');
    await engine.setCounter('usedSpace', 8192);
    expect(await raw.get('usedSpace')).toBe('8192');
    expect(await engine.getCounter('lastCleanupFiles')).toBe(0);
  });

  it('setCounterIfSmall sets only when old <= value - diff', async () => {
    expect(await engine.setCounterIfSmall('lastCleanupFiles', 1000, 100)).toBe(true);
    expect(await raw.get('lastCleanupFiles')).toBe('1000');
    expect(await engine.setCounterIfSmall('lastCleanupFiles', 1050, 100)).toBe(false);
    expect(await engine.setCounterIfSmall('lastCleanupFiles', 1100, 100)).toBe(true);
    expect(await raw.get('lastCleanupFiles')).toBe('1100');
  });

  it('incrCounter is immediate (nextTrash)', async () => {
    const v = await engine.txn((tx) => tx.incrCounter('nextTrash', 1), { op: 'mkdir trash' });
    expect(v).toBe(1);
    expect(await raw.get('nextTrash')).toBe('1');
  });
});

describe('transactions', () => {
  it('writes the V-15 scenario keys exactly', async () => {
    const d: Ino = 2n;
    const f: Ino = 3n;
    await engine.txn(
      async (tx) => {
        expect(await tx.getEntry(1n, Buffer.from('d'))).toBeUndefined();
        expect(await tx.getAttr(1n)).toBeUndefined();
        tx.setAttr(d, attr(FileType.Directory, 0o755, { uid: 1000, gid: 1000 }));
        tx.setEntry(1n, Buffer.from('d'), { ino: d, type: FileType.Directory });
        tx.initDirStat(d);
        tx.updateDirStat(1n, { dataLength: 0, usedSpace: 4096, usedInodes: 1 });
        tx.addCounter('usedSpace', 4096);
        tx.addCounter('totalInodes', 1);
      },
      { op: 'mkdir' },
    );
    await engine.txn(
      async (tx) => {
        await tx.getAttr(d);
        tx.setAttr(f, attr(FileType.File, 0o644, { parent: d, length: 5 }));
        tx.setEntry(d, Buffer.from('f'), { ino: f, type: FileType.File });
        tx.appendSlices(f, 0, [{ pos: 0, id: 1, size: 5, off: 0, len: 5 }]);
        tx.newSliceRef(1, 5);
        tx.updateDirStat(d, { dataLength: 5, usedSpace: 4096, usedInodes: 1 });
        tx.addCounter('usedSpace', 4096);
        tx.addCounter('totalInodes', 1);
      },
      { op: 'create+write' },
    );
    expect((await raw.hgetallBuffer('d1'))['d']?.toString('hex')).toBe('020000000000000002');
    expect((await raw.hgetallBuffer('d2'))['f']?.toString('hex')).toBe('010000000000000003');
    const c = await raw.lrangeBuffer('c3_0', 0, -1);
    expect(c.map((b) => b.toString('hex'))).toEqual([
      '00000000' + '0000000000000001' + '00000005' + '00000000' + '00000005',
    ]);
    expect(await raw.get('usedSpace')).toBe('8192');
    expect(await raw.get('totalInodes')).toBe('2');
    expect(await raw.hgetall('dirUsedInodes')).toEqual({ '1': '1', '2': '1' });
    expect(await raw.hgetall('dirUsedSpace')).toEqual({ '1': '4096', '2': '4096' });
    expect(await raw.hgetall('dirDataLength')).toEqual({ '1': '0', '2': '5' });
    expect(await raw.exists('sliceRef')).toBe(0);
    const i3 = await raw.getBuffer('i3');
    expect(i3?.length).toBe(72);
    expect(i3?.readBigUInt64BE(63)).toBe(2n);
    expect(await engine.getDirStat(2n)).toEqual({ dataLength: 5, usedSpace: 4096, usedInodes: 1 });
    expect(await engine.getDirStat(1n)).toEqual({ dataLength: 0, usedSpace: 4096, usedInodes: 1 });
    expect(await engine.getDirStat(9n)).toBeUndefined();
  });

  it('reads back what it wrote, through every MetaTx accessor', async () => {
    await engine.txn(
      async (tx) => {
        tx.setAttr(5n, attr(FileType.Symlink, 0o777, { length: 3 }));
        tx.setSymlink(5n, Buffer.from('a/b'));
        tx.setXattr(5n, 'user.k', Buffer.from([0, 1, 2]));
        tx.setXattr(5n, 'user.j', Buffer.from('v'));
        tx.setEntry(1n, Buffer.from([0xff, 0x41]), { ino: 5n, type: FileType.Symlink });
        tx.incrParent(6n, 1n, 2);
        tx.incrParent(6n, 4n, 1);
        tx.incrParent(6n, 4n, -1);
        tx.appendSlices(6n, 1, [{ pos: 0, id: 0, size: 0, off: 0, len: 10 }], { ifExists: true });
        tx.appendSlices(6n, 0, [{ pos: 1, id: 7, size: 9, off: 2, len: 3 }]);
        tx.appendSlices(6n, 0, [{ pos: 0, id: 0, size: 0, off: 0, len: 1 }], { ifExists: true });
      },
      { op: 'setup' },
    );
    expect(await raw.hgetall('p6')).toEqual({ '1': '2', '4': '0' });
    expect(await raw.exists('c6_1')).toBe(0);
    await engine.txn(
      async (tx) => {
        expect((await tx.getAttr(5n))?.type).toBe(FileType.Symlink);
        expect((await tx.getSymlink(5n))?.toString()).toBe('a/b');
        expect(await tx.getXattr(5n, 'user.k')).toEqual(Buffer.from([0, 1, 2]));
        expect(await tx.getXattr(5n, 'nope')).toBeUndefined();
        expect([...(await tx.listXattrs(5n)).keys()].sort()).toEqual(['user.j', 'user.k']);
        expect(await tx.getEntry(1n, Buffer.from([0xff, 0x41]))).toEqual({ ino: 5n, type: FileType.Symlink });
        expect(await tx.hasEntries(1n)).toBe(true);
        expect(await tx.hasEntries(9n)).toBe(false);
        expect(await tx.getParents(6n)).toEqual(new Map([[1n, 2]]));
        expect(await tx.getChunk(6n, 0)).toEqual([
          { pos: 1, id: 7, size: 9, off: 2, len: 3 },
          { pos: 0, id: 0, size: 0, off: 0, len: 1 },
        ]);
        expect(await tx.getChunk(6n, 5)).toEqual([]);
      },
      { op: 'check', readonly: true },
    );
    await engine.txn(
      async (tx) => {
        tx.deleteXattr(5n, 'user.j');
        tx.deleteSymlink(5n);
        tx.deleteEntry(1n, Buffer.from([0xff, 0x41]));
        tx.deleteParents(6n);
        tx.deleteAttr(5n);
      },
      { op: 'delete' },
    );
    expect(await raw.exists('s5', 'i5', 'd1', 'p6')).toBe(0);
    expect(await raw.hkeys('x5')).toEqual(['user.k']);
    await engine.txn(async (tx) => tx.deleteAllXattrs(5n), { op: 'rmx' });
    expect(await raw.exists('x5')).toBe(0);
  });

  it('refuses writes in a read-only transaction', async () => {
    await expect(engine.txn(async (tx) => tx.deleteAttr(1n), { op: 'ro', readonly: true })).rejects.toThrow(
      /read-only/,
    );
  });

  it('propagates EIO for a corrupt attr, naming the inode', async () => {
    await raw.set('i42', 'xx');
    const err = await engine.txn((tx) => tx.getAttr(42n), { op: 'getattr' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FsError);
    expect((err as FsError).code).toBe('EIO');
    expect((err as FsError).ino).toBe(42n);
    await expect(engine.getAttrs([42n])).rejects.toThrow(/inode 42/);
    await raw.rpush('c42_0', Buffer.alloc(23));
    await expect(engine.txn((tx) => tx.getChunk(42n, 0), { op: 'read' })).rejects.toThrow(/corrupt slice/);
  });

  const bumper = (e: MetaEngine, ino: Ino, count: () => void) => (): Promise<void> =>
    e.txn(
      async (tx) => {
        count();
        const a = await tx.getAttr(ino);
        if (!a) throw new Error('missing');
        await new Promise((r) => setTimeout(r, 20));
        tx.setAttr(ino, { ...a, nlink: a.nlink + 1 });
      },
      { op: 'bump' },
    );

  it('retries conflicting transactions of two clients until both succeed', async () => {
    const other = await openRedisEngine(server.url, { maxRetries: 50 });
    try {
      await raw.set('i10', encodeAttrForTest(0));
      let attempts = 0;
      const count = (): void => void attempts++;
      await Promise.all([bumper(engine, 10n, count)(), bumper(other, 10n, count)()]);
      const [a] = await engine.getAttrs([10n]);
      expect(a?.nlink).toBe(2);
      expect(attempts).toBeGreaterThanOrEqual(3);
    } finally {
      await other.close();
    }
  });

  it('queues transactions of one client on the same first key: each runs once (src/meta/key-locks.ts)', async () => {
    await raw.set('i13', encodeAttrForTest(0));
    let attempts = 0;
    const before = engine.txRestarts?.() ?? 0;
    const bump = bumper(engine, 13n, () => void attempts++);
    await Promise.all([bump(), bump(), bump(), bump()]);
    const [a] = await engine.getAttrs([13n]);
    expect(a?.nlink).toBe(4);
    expect(attempts).toBe(4);
    expect(engine.txRestarts?.()).toBe(before);
  });

  it('gives up with TxConflictError after maxRetries under a conflict storm', async () => {
    const small = await openRedisEngine(server.url, { maxRetries: 4 });
    try {
      await raw.set('i11', encodeAttrForTest(1));
      let attempts = 0;
      const started = Date.now();
      const err = await small
        .txn(
          async (tx) => {
            attempts++;
            const a = await tx.getAttr(11n);
            await raw.set('i11', encodeAttrForTest(attempts + 1)); // a second client changes the watched key
            if (a) tx.setAttr(11n, a);
          },
          { op: 'storm' },
        )
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TxConflictError);
      expect(attempts).toBe(4);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await small.close();
    }
  });

  it('never leaves a pooled connection WATCHing after fn throws', async () => {
    await raw.set('i12', encodeAttrForTest(1));
    await expect(
      engine.txn(
        async (tx) => {
          await tx.getAttr(12n);
          throw new Error('boom');
        },
        { op: 'throw' },
      ),
    ).rejects.toThrow('boom');
    await raw.set('i12', encodeAttrForTest(2)); // would abort the next EXEC if still watched
    let attempts = 0;
    await engine.txn(
      async (tx) => {
        attempts++;
        tx.addCounter('usedSpace', 1);
      },
      { op: 'after' },
    );
    expect(attempts).toBe(1);
  });

  it('bounds the pool of dedicated connections', async () => {
    const clientsBefore = await clientCount();
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        engine.txn(
          async (tx) => {
            await tx.getAttr(BigInt(100 + i));
            await new Promise((r) => setTimeout(r, 5));
            tx.addCounter('totalInodes', 1);
          },
          { op: 'many' },
        ),
      ),
    );
    expect(await raw.get('totalInodes')).toBe('30');
    const clientsAfter = await clientCount();
    expect(clientsAfter - clientsBefore).toBeLessThanOrEqual(8);
  });
});

async function clientCount(): Promise<number> {
  return String(await raw.call('CLIENT', 'LIST'))
    .trim()
    .split('\n').length;
}

/** A 72-byte file attr (mode 0644, parent 1) with a given nlink, built by hand. */
function encodeAttrForTest(nlink: number): Buffer {
  const b = Buffer.alloc(72);
  b.writeUInt16BE((FileType.File << 12) | 0o644, 1);
  b.writeUInt32BE(nlink, 47);
  b.writeBigUInt64BE(1n, 63);
  return b;
}

describe('connection', () => {
  it('fails fast with a clear message on an unreachable server', async () => {
    const port = await freePort();
    const started = Date.now();
    const err = await openRedisEngine(`redis://:hunter2@127.0.0.1:${port}/0`, {
      connectTimeoutMs: 2000,
    }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(err).toBeInstanceOf(FsError);
    const msg = (err as Error).message;
    expect(msg).toContain(`redis://:****@127.0.0.1:${port}/0`);
    expect(msg).not.toContain('hunter2');
  });

  it('close() is idempotent and later transactions fail', async () => {
    const e2 = await openRedisEngine(server.url, {});
    await e2.txn(async (tx) => tx.addCounter('usedSpace', 1), { op: 'x' });
    await e2.close();
    await e2.close();
    await expect(e2.txn(async (tx) => tx.addCounter('usedSpace', 1), { op: 'y' })).rejects.toThrow();
  });
});

describe('slices', () => {
  const rec = (id: number, size: number, pos = 0) => ({ pos, id, size, off: 0, len: size });

  it('deleteChunk drops one reference per record and returns freed slices', async () => {
    await raw.rpush(
      'c3_0',
      encodeSlice(rec(1, 5)),
      encodeSlice(rec(2, 10)),
      encodeSlice(rec(0, 0)),
      encodeSlice(rec(1, 5)),
    );
    await raw.hset('sliceRef', 'k2_10', '1'); // refcount 2
    const freed = await engine.deleteChunk(3n, 0);
    expect(freed).toEqual([{ id: 1, size: 5 }]);
    expect(await raw.exists('c3_0')).toBe(0);
    expect(await raw.hgetall('sliceRef')).toEqual({ k2_10: '0' });
    expect(await engine.deleteChunk(3n, 0)).toEqual([]);
  });

  it('incrSliceRef, getSliceRefs and listOrphanSlices', async () => {
    await engine.txn(
      async (tx) => {
        tx.incrSliceRef(4, 100, 2);
        tx.incrSliceRef(5, 200, -1);
      },
      { op: 'refs' },
    );
    expect(await raw.hgetall('sliceRef')).toEqual({ k4_100: '2', k5_200: '-1' });
    expect(await engine.getSliceRefs()).toEqual(
      new Map([
        [4, 3],
        [5, 0],
      ]),
    );
    expect(await engine.listOrphanSlices()).toEqual([{ id: 5, size: 200 }]);
  });

  it('replaceSlices swaps the compacted prefix under WATCH (§4.6)', async () => {
    const a = rec(1, 10);
    const b = rec(2, 10, 10);
    const c = rec(3, 10, 20);
    await raw.rpush('c7_0', encodeSlice(a), encodeSlice(b), encodeSlice(c));
    await raw.hset('sliceRef', 'k2_10', '1');
    const skipped = rec(8, 1 << 20);
    const merged = rec(9, 20);
    const r = await engine.replaceSlices(7n, 0, [a, b], [skipped, merged], { id: 9, size: 20 }, [
      { id: 1, size: 10 },
      { id: 2, size: 10 },
    ]);
    expect(r).toEqual({ ok: true, freed: [{ id: 1, size: 10 }] });
    const list = await raw.lrangeBuffer('c7_0', 0, -1);
    expect(list).toEqual([encodeSlice(skipped), encodeSlice(merged), encodeSlice(c)]);
    expect(await raw.hgetall('sliceRef')).toEqual({ k2_10: '0', k9_20: '0' });
    const stale = await engine.replaceSlices(7n, 0, [a, b], [merged], { id: 10, size: 20 }, []);
    expect(stale).toEqual({ ok: false, freed: [] });
    expect(await raw.llen('c7_0')).toBe(3);
  });

  it('listChunkIndexes probes 0..ceil(length/64MiB)', async () => {
    await raw.rpush('c8_0', encodeSlice(rec(1, 1)));
    await raw.rpush('c8_2', encodeSlice(rec(2, 1)));
    await raw.rpush('c8_5', encodeSlice(rec(3, 1)));
    expect(await engine.listChunkIndexes(8n, 2 * 64 * 1024 * 1024 + 1)).toEqual([0, 2]);
    expect(await engine.listChunkIndexes(8n, 0)).toEqual([0]);
  });

  it('a wide range is listed by SCAN of c{ino}_* (no probe per index), other inodes left out', async () => {
    await raw.config('RESETSTAT');
    const far = 2 ** 31 - 1;
    for (const key of ['c8_0', 'c8_12345678', `c8_${far}`, 'c88_1', 'c8_x', 'c80_5'])
      await raw.rpush(key, encodeSlice(rec(1, 1)));
    const huge = 999999999999999;
    expect(await engine.listChunkIndexes(8n, huge)).toEqual([0, 12345678, far]);
    const inTx = await engine.txn((tx) => tx.listChunks(8n, 1, far - 1), { op: 't' });
    expect(inTx).toEqual([12345678]);
    expect(await engine.txn((tx) => tx.listChunks(8n, 0, 10), { op: 't', readonly: true })).toEqual([0]);
    expect(await engine.txn((tx) => tx.listChunks(8n, 5, 4), { op: 't', readonly: true })).toEqual([]);
    const calls = (await raw.info('commandstats'))
      .split('\n')
      .filter((l) => /cmdstat_(exists|scan):/.test(l));
    expect(calls.find((l) => l.startsWith('cmdstat_exists'))).toMatch(/calls=(\d{1,2}),/); // the narrow probes only
  });

  it('probes a wide range instead when the database is so large that SCAN would cost more', () => {
    expect(scanIsCheaper(10000, 0)).toBe(false); // narrow: always probed
    expect(scanIsCheaper(14901162, 1_000_000)).toBe(true); // 999999999999999 bytes, 1M keys
    expect(scanIsCheaper(32768, 100_000_000)).toBe(false); // a dense 2 TiB file, 100M keys
  });
});

describe('directories', () => {
  it('listEntries scans large directories and getAttrs batches', async () => {
    const n = 2500;
    const fields: Buffer[] = [];
    for (let i = 0; i < n; i++)
      fields.push(Buffer.from(`f${i}`), hex('01' + (1000 + i).toString(16).padStart(16, '0')));
    await raw.hset('d1', ...fields);
    const entries = await engine.listEntries(1n);
    expect(entries.length).toBe(n);
    expect(new Set(entries.map((e) => e.name.toString())).size).toBe(n);
    const e0 = entries.find((e) => e.name.toString() === 'f0');
    expect(e0).toEqual({ name: Buffer.from('f0'), ino: 1000n, type: FileType.File });
    await raw.set('i1001', encodeAttrForTest(3));
    const attrs = await engine.getAttrs([1000n, 1001n]);
    expect(attrs[0]).toBeUndefined();
    expect(attrs[1]?.nlink).toBe(3);
  });

  it('dir stats and directory quotas', async () => {
    await engine.setDirStat(2n, { dataLength: 10, usedSpace: 4096, usedInodes: 1 });
    await engine.txn(
      async (tx) => {
        tx.updateDirStat(2n, { dataLength: 5, usedSpace: 4096, usedInodes: 1 });
        tx.updateDirQuotaUsage(2n, 8192, 2);
      },
      { op: 'stat' },
    );
    expect(await engine.getDirStat(2n)).toEqual({ dataLength: 15, usedSpace: 8192, usedInodes: 2 });
    await engine.setDirQuota(2n, { maxSpace: 1 << 30, maxInodes: -1, usedSpace: 100, usedInodes: 1 });
    expect((await raw.hgetallBuffer('dirQuota'))['2']?.toString('hex')).toBe(
      '0000000040000000ffffffffffffffff',
    );
    await engine.txn(async (tx) => tx.updateDirQuotaUsage(2n, 4096, 1), { op: 'q' });
    expect(await engine.listDirQuotas()).toEqual(
      new Map([[2n, { maxSpace: 1 << 30, maxInodes: -1, usedSpace: 4196, usedInodes: 2 }]]),
    );
    await engine.txn(
      async (tx) => {
        tx.deleteDirStat(2n);
        tx.deleteDirQuota(2n);
      },
      { op: 'rmdir' },
    );
    expect(await engine.getDirStat(2n)).toBeUndefined();
    expect(await raw.exists('dirQuota', 'dirQuotaUsedSpace', 'dirQuotaUsedInodes', 'dirUsedSpace')).toBe(0);
  });

  it('user and group quotas', async () => {
    await engine.setUserGroupQuota('user', 1000, { maxSpace: 5, maxInodes: 6, usedSpace: 1, usedInodes: 2 });
    await engine.setUserGroupQuota('group', 100, { maxSpace: -1, maxInodes: 9, usedSpace: 0, usedInodes: 0 });
    expect(await raw.hgetall('userQuotaUsedSpace')).toEqual({ '1000': '1' });
    expect(await raw.hgetall('groupQuotaUsedInodes')).toEqual({ '100': '0' });
    expect(await engine.listUserGroupQuotas('user')).toEqual(
      new Map([[1000, { maxSpace: 5, maxInodes: 6, usedSpace: 1, usedInodes: 2 }]]),
    );
    expect((await engine.listUserGroupQuotas('group')).get(100)?.maxSpace).toBe(-1);
  });

  it('ACL rules: V-4 encoding, dedup and explicit ids', async () => {
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
    expect(await engine.putAcl(rule)).toBe(1);
    expect((await raw.hgetallBuffer('acl'))['1']?.toString('hex')).toBe(
      hex('0006 0004 0005 0000 00000001 000003e8 0007 00000002 00000064 0004 000000c8 0005').toString('hex'),
    );
    expect(await engine.putAcl({ ...rule })).toBe(1);
    expect(await engine.putAcl({ ...rule, other: 1 })).toBe(2);
    expect(await raw.get('aclMaxId')).toBe('2');
    expect(await engine.getAcl(1)).toEqual(rule);
    expect(await engine.getAcl(7)).toBeUndefined();
    await engine.setAcl(10, rule);
    expect(await raw.get('aclMaxId')).toBe('10');
    expect(await engine.getAcl(10)).toEqual(rule);
  });
});

describe('sessions, locks and delfiles', () => {
  it('session lifecycle keys (§5.8)', async () => {
    const sid = await engine.newSessionId();
    await engine.putSession(sid, T + 60, '{"Version":"1.4.1"}');
    expect(await raw.zscore('allSessions', String(sid))).toBe(String(T + 60));
    expect(await raw.hget('sessionInfos', String(sid))).toBe('{"Version":"1.4.1"}');
    await engine.putSession(sid, T + 120);
    expect(await engine.listSessions()).toEqual([{ sid, expire: T + 120, info: '{"Version":"1.4.1"}' }]);
    await engine.txn(
      async (tx) => {
        tx.addSustained(sid, 3n);
        tx.addSustained(sid, 4n);
        tx.removeSustained(sid, 4n);
      },
      { op: 'sustain' },
    );
    expect(await raw.type(`session${sid}`)).toBe('set');
    expect(await engine.listSustained(sid)).toEqual([3n]);
    await engine.txn(
      async (tx) => {
        await tx.getFlocks(3n);
        tx.setFlock(3n, sid, 1n, 'R');
      },
      { op: 'flock' },
    );
    await engine.deleteSession(sid);
    expect(await raw.exists('allSessions', 'sessionInfos', `session${sid}`, `locked${sid}`)).toBe(0);
    expect(await engine.listSessions()).toEqual([]);
  });

  it('flock/plock records and locked{sid} bookkeeping', async () => {
    const sid = 7;
    await engine.txn(
      async (tx) => {
        expect(await tx.getFlocks(3n)).toEqual([]);
        tx.setFlock(3n, sid, 0xdeadbeefn, 'W');
        tx.setFlock(3n, sid, 2n, 'R');
      },
      { op: 'flock' },
    );
    expect(await raw.hgetall('lockf3')).toEqual({ '7_00000000DEADBEEF': 'W', '7_0000000000000002': 'R' });
    expect(await raw.smembers('locked7')).toEqual(['lockf3']);
    const plock = encodePlocks([{ type: 1, pid: 4321, start: 0n, end: 99n }]);
    await engine.txn(
      async (tx) => {
        await tx.getPlocks(5n);
        tx.setPlock(5n, sid, 1n, plock);
      },
      { op: 'plock' },
    );
    expect((await raw.hgetallBuffer('lockp5'))['7_0000000000000001']).toEqual(plock);
    expect((await raw.smembers('locked7')).sort()).toEqual(['lockf3', 'lockp5']);
    expect((await engine.listLockedInodes(sid)).sort()).toEqual([3n, 5n]);
    const flocks = await engine.txn((tx) => tx.getFlocks(3n), { op: 'get', readonly: true });
    expect(flocks).toContainEqual({ sid, owner: 0xdeadbeefn, type: 'W' });
    expect(await engine.txn((tx) => tx.getPlocks(5n), { op: 'get', readonly: true })).toEqual([
      { sid, owner: 1n, records: plock },
    ]);
    // Removing one owner keeps locked7 while the session has another lock on the inode.
    await engine.txn(
      async (tx) => {
        await tx.getFlocks(3n);
        tx.setFlock(3n, sid, 0xdeadbeefn, null);
      },
      { op: 'unlock' },
    );
    expect((await raw.smembers('locked7')).sort()).toEqual(['lockf3', 'lockp5']);
    await engine.txn(
      async (tx) => {
        await tx.getFlocks(3n);
        tx.setFlock(3n, sid, 2n, null);
        await tx.getPlocks(5n);
        tx.setPlock(5n, sid, 1n, Buffer.alloc(0));
      },
      { op: 'unlock' },
    );
    expect(await raw.exists('lockf3', 'lockp5', 'locked7')).toBe(0);
  });

  it('settles locked{sid} at commit for an unlock without a prior read', async () => {
    await engine.txn(
      async (tx) => {
        tx.setFlock(3n, 7, 1n, 'W');
        tx.setFlock(3n, 8, 1n, 'R');
      },
      { op: 'lock' },
    );
    expect(await raw.smembers('locked7')).toEqual(['lockf3']);
    await engine.txn(async (tx) => tx.setFlock(3n, 7, 1n, null), { op: 'unlock' });
    expect(await raw.exists('locked7')).toBe(0);
    expect(await raw.smembers('locked8')).toEqual(['lockf3']);
    expect(await raw.hgetall('lockf3')).toEqual({ '8_0000000000000001': 'R' });
  });

  it('delfiles members and scores', async () => {
    await engine.txn(async (tx) => tx.addDelFile(3n, 5, T), { op: 'unlink' });
    expect(await raw.zscore('delfiles', '3:5')).toBe(String(T));
    await raw.zadd('delfiles', '1', 'legacy');
    expect(await engine.listDelFiles()).toEqual([{ ino: 3n, length: 5, expire: T }]);
    await engine.removeDelFile(3n, 5);
    expect(await raw.zrange('delfiles', '0', '-1')).toEqual(['legacy']);
  });

  it('reset empties the database', async () => {
    await raw.set('setting', '{}');
    expect(await engine.isEmpty()).toBe(false);
    await engine.reset();
    expect(await engine.isEmpty()).toBe(true);
  });
});
