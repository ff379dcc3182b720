/**
 * The VFS without FUSE: handles, pending-size merging, O_APPEND, truncation, virtual files,
 * --subdir root mapping, background compaction, and upload failures surfacing at flush.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { MemEngine } from '../../src/meta/mem/mem-engine.js';
import { openEngine } from '../../src/meta/registry.js';
import { FaultyStore } from '../../src/object/faulty.js';
import { ROOT_INODE, STATS_INODE, type Context } from '../../src/base/types.js';
import type { Runtime } from '../../src/vfs/runtime.js';
import { Vfs } from '../../src/vfs/vfs.js';
import { O_APPEND, O_DIRECT, O_RDWR, O_TRUNC, O_WRONLY } from '../../src/base/open-flags.js';
import { makeTestVolume } from '../helpers/runtime-fixture.js';

const ctx: Context = { uid: 0, gid: 0, gids: [0], pid: 1 };
const n = (s: string): Buffer => Buffer.from(s);

describe('vfs', () => {
  const runtimes: Runtime[] = [];
  afterEach(async () => {
    for (const r of runtimes.splice(0)) await r.close();
  });

  async function setup(opts: Parameters<Awaited<ReturnType<typeof makeTestVolume>>['open']>[0] = {}) {
    const vol = await makeTestVolume();
    const rt = await vol.open(opts);
    runtimes.push(rt);
    return { vol, rt, vfs: new Vfs(rt) };
  }

  /** A volume whose engine the test holds: its op counters, a replaced sync. */
  async function setupWithEngine() {
    const vol = await makeTestVolume();
    const engine = await openEngine(vol.url);
    const rt = await vol.open({ engine });
    runtimes.push(rt);
    // cast: the test volume runs on the mem engine, whose op counters prove cache hits.
    return { vol, rt, engine, ops: (engine as MemEngine).ops, vfs: new Vfs(rt) };
  }

  it('writes, reports the pending size, flushes on close and reads back', async () => {
    const { vfs } = await setup();
    const { entry, handle } = await vfs.create(ctx, ROOT_INODE, n('f'), 0o644, 0, O_RDWR);
    const data = Buffer.alloc(5 * 1024 * 1024 + 123, 7);
    await vfs.write(ctx, handle.fh, 0, data);
    expect((await vfs.getattr(ctx, entry.ino)).length).toBe(data.length);
    expect(
      (await vfs.read(ctx, handle.fh, 5 * 1024 * 1024, 1000)).equals(
        data.subarray(5 * 1024 * 1024, 5 * 1024 * 1024 + 1000),
      ),
    ).toBe(true);
    await vfs.release(ctx, handle.fh);
    const h2 = await vfs.open(ctx, entry.ino, 0);
    const back = await vfs.read(ctx, h2.fh, 0, data.length + 10);
    expect(back.equals(data)).toBe(true);
    await vfs.release(ctx, h2.fh);
  });

  it('appends with O_APPEND and truncates through setattr', async () => {
    const { vfs } = await setup();
    const { entry, handle } = await vfs.create(ctx, ROOT_INODE, n('log'), 0o644, 0, O_WRONLY);
    await vfs.write(ctx, handle.fh, 0, n('hello '));
    await vfs.release(ctx, handle.fh);
    const a = await vfs.open(ctx, entry.ino, O_WRONLY | O_APPEND);
    await vfs.write(ctx, a.fh, 0, n('world'));
    await vfs.release(ctx, a.fh);
    const r = await vfs.open(ctx, entry.ino, 0);
    expect((await vfs.read(ctx, r.fh, 0, 100)).toString()).toBe('hello world');
    await vfs.setattr(ctx, entry.ino, { size: 5 });
    expect((await vfs.read(ctx, r.fh, 0, 100)).toString()).toBe('hello');
    await expect(vfs.write(ctx, r.fh, 0, n('x'))).rejects.toMatchObject({ code: 'EBADF' });
    await vfs.release(ctx, r.fh);
  });

  it('an open for reading fetches a small file before its first READ; write-only, O_TRUNC and O_DIRECT opens do not', async () => {
    const vol = await makeTestVolume();
    const writerRt = await vol.open();
    runtimes.push(writerRt);
    const w = new Vfs(writerRt);
    const { entry, handle } = await w.create(ctx, ROOT_INODE, n('small'), 0o644, 0, O_WRONLY);
    await w.write(ctx, handle.fh, 0, Buffer.alloc(100 * 1024, 9));
    await w.release(ctx, handle.fh);
    for (const [flags, gets] of [
      [O_WRONLY, 0],
      [O_RDWR | O_TRUNC, 0],
      [O_DIRECT, 0],
      [0, 1],
    ] as const) {
      // A client of its own each time: nothing of the file in its memory yet.
      const rt = await vol.open();
      runtimes.push(rt);
      const vfs = new Vfs(rt);
      const h = await vfs.open(ctx, entry.ino, flags);
      for (let i = 0; i < 50 && rt.chunks.stats.blockGets < gets; i++)
        await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 20));
      expect(rt.chunks.stats.blockGets, `flags ${flags.toString(8)}`).toBe(gets);
      await vfs.release(ctx, h.fh);
      if (flags & O_TRUNC) {
        // put the content back for the next opens
        const again = await vfs.open(ctx, entry.ino, O_WRONLY);
        await vfs.write(ctx, again.fh, 0, Buffer.alloc(100 * 1024, 9));
        await vfs.release(ctx, again.fh);
      }
    }
  });

  it('serves .stats and .config, hides secrets and refuses writes to them', async () => {
    const { vfs } = await setup();
    const root = await vfs.readdir(ctx, (await vfs.opendir(ctx, ROOT_INODE)).fh, 0, true);
    expect(root.map((e) => e.name.toString())).toEqual(
      expect.arrayContaining(['.', '..', '.stats', '.config', '.accesslog']),
    );
    const st = await vfs.lookup(ctx, ROOT_INODE, n('.stats'));
    expect(st.ino).toBe(STATS_INODE);
    const h = await vfs.open(ctx, st.ino, 0);
    const stats = (await vfs.read(ctx, h.fh, 0, 1 << 20)).toString();
    expect(stats).toContain('juicefs_fuse_ops_durations_histogram_seconds');
    expect(stats).toMatch(
      /juicefs_transaction_durations_histogram_seconds_count\{vol_name="testvol"\} [1-9]/,
    );
    expect(stats).toMatch(/juicefs_uptime\{vol_name="testvol"\} /);
    await expect(vfs.open(ctx, st.ino, O_WRONLY)).rejects.toMatchObject({ code: 'EACCES' });
    await expect(vfs.unlink(ctx, ROOT_INODE, n('.stats'))).rejects.toMatchObject({ code: 'EPERM' });
    await expect(vfs.mkdir(ctx, ROOT_INODE, n('.config'), 0o755)).rejects.toMatchObject({ code: 'EEXIST' });
  });

  it('.accesslog streams lines of operations done while it is open', async () => {
    const { vfs } = await setup();
    const log = await vfs.open(ctx, (await vfs.lookup(ctx, ROOT_INODE, n('.accesslog'))).ino, 0);
    await vfs.mkdir(ctx, ROOT_INODE, n('seen'), 0o755);
    const text = (await vfs.read(ctx, log.fh, 0, 4096)).toString();
    expect(text).toMatch(/\[uid:0,gid:0,pid:1\] mkdir \(1,seen,755\): OK/);
    await vfs.release(ctx, log.fh);
  });

  it('answers security.capability without storing it: get ENODATA, set ENOTSUP', async () => {
    const { vfs } = await setup();
    const { entry, handle } = await vfs.create(ctx, ROOT_INODE, n('cap'), 0o755, 0, O_WRONLY);
    await vfs.release(ctx, handle.fh);
    await expect(vfs.getxattr(ctx, entry.ino, 'security.capability')).rejects.toMatchObject({
      code: 'ENODATA',
    });
    await expect(
      vfs.setxattr(ctx, entry.ino, 'security.capability', Buffer.alloc(20), 0),
    ).rejects.toMatchObject({ code: 'ENOTSUP' });
    await vfs.setxattr(ctx, entry.ino, 'user.ok', n('v'), 0);
    expect((await vfs.getxattr(ctx, entry.ino, 'user.ok')).toString()).toBe('v');
  });

  it('reuses path lookups of directories for API walks until a local change', async () => {
    const { rt, ops } = await setupWithEngine();
    const vfs = new Vfs(rt, { dirEntryTimeout: 60 });
    const d = await vfs.mkdir(ctx, ROOT_INODE, n('cached'), 0o755);
    expect((await vfs.lookupPath(ctx, ROOT_INODE, n('cached'))).ino).toBe(d.ino);
    const lookups = (): number | undefined => ops.get('txn:lookup');
    const before = lookups();
    await vfs.lookupPath(ctx, ROOT_INODE, n('cached'));
    expect(lookups()).toBe(before);
    await vfs.rename(ctx, ROOT_INODE, n('cached'), ROOT_INODE, n('moved'));
    await expect(vfs.lookupPath(ctx, ROOT_INODE, n('cached'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('maps a sub-directory as the root', async () => {
    const { rt, vfs } = await setup();
    const d = await vfs.mkdir(ctx, ROOT_INODE, n('sub'), 0o755);
    await vfs.mkdir(ctx, d.ino, n('inner'), 0o755);
    const sub = new Vfs(rt, { rootIno: d.ino });
    expect((await sub.lookup(ctx, ROOT_INODE, n('inner'))).attr.parent).toBe(d.ino);
    await expect(sub.lookup(ctx, ROOT_INODE, n('.stats'))).rejects.toMatchObject({ code: 'ENOENT' });
    const list = await sub.readdir(ctx, (await sub.opendir(ctx, ROOT_INODE)).fh, 0, false);
    expect(list.map((e) => e.name.toString())).toEqual(['.', '..', 'inner']);
  });

  it('compacts a fragmented chunk in the background and keeps the content', async () => {
    const { vol, vfs } = await setup();
    const { entry, handle } = await vfs.create(ctx, ROOT_INODE, n('frag'), 0o644, 0, O_WRONLY);
    await vfs.release(ctx, handle.fh);
    const expected: Buffer[] = [];
    for (let i = 0; i < 25; i++) {
      const h = await vfs.open(ctx, entry.ino, O_WRONLY | O_APPEND);
      const piece = Buffer.alloc(1000, i);
      expected.push(piece);
      await vfs.write(ctx, h.fh, 0, piece);
      await vfs.release(ctx, h.fh);
    }
    const objectsBefore = vol.raw.size;
    const r = await vfs.open(ctx, entry.ino, 0);
    expect((await vfs.read(ctx, r.fh, 0, 1 << 20)).equals(Buffer.concat(expected))).toBe(true);
    await vfs.compactor.idle();
    expect(vfs.compactor.compactions).toBe(1);
    expect(await vfs.rt.meta.readChunk(entry.ino, 0)).toHaveLength(1);
    expect(vol.raw.size).toBeLessThan(objectsBefore);
    const r2 = await vfs.open(ctx, entry.ino, 0);
    expect((await vfs.read(ctx, r2.fh, 0, 1 << 20)).equals(Buffer.concat(expected))).toBe(true);
    await vfs.release(ctx, r.fh);
    await vfs.release(ctx, r2.fh);
  });

  it("fsync makes the commit durable through the engine's sync", async () => {
    const { rt, vfs, engine } = await setupWithEngine();
    let synced = 0;
    engine.sync = async () => {
      synced++;
    };
    const { entry, handle } = await vfs.create(ctx, ROOT_INODE, n('d'), 0o644, 0, O_WRONLY);
    await vfs.write(ctx, handle.fh, 0, n('durable'));
    await vfs.fsync(ctx, handle.fh);
    expect(synced).toBe(1);
    expect(await rt.meta.readChunk(entry.ino, 0)).toHaveLength(1);
    await vfs.release(ctx, handle.fh);
  });

  it('an upload failure fails flush with EIO and commits nothing', async () => {
    let faulty: FaultyStore | undefined;
    const { vfs } = await setup({ wrap: (s) => (faulty = new FaultyStore(s)) });
    faulty!.addRule({ ops: ['put'], permanent: true });
    const { entry, handle } = await vfs.create(ctx, ROOT_INODE, n('f'), 0o644, 0, O_WRONLY);
    await vfs.write(ctx, handle.fh, 0, Buffer.alloc(1000, 1));
    await expect(vfs.flush(ctx, handle.fh)).rejects.toMatchObject({ code: 'EIO' });
    expect(await vfs.rt.meta.readChunk(entry.ino, 0)).toEqual([]);
    faulty!.clearRules();
    await vfs.release(ctx, handle.fh).catch(() => undefined);
  });

  it('a failed flush is reported by every later flush and close, also when a read triggered it', async () => {
    let faulty: FaultyStore | undefined;
    const { vfs } = await setup({ wrap: (s) => (faulty = new FaultyStore(s)) });
    faulty!.addRule({ ops: ['put'], permanent: true });
    const { handle: w } = await vfs.create(ctx, ROOT_INODE, n('f'), 0o644, 0, O_RDWR);
    await vfs.write(ctx, w.fh, 0, Buffer.alloc(1000, 1));
    // The reader's flush fails; the reader gets what was committed (nothing)...
    expect((await vfs.read(ctx, w.fh, 0, 10)).length).toBe(0);
    faulty!.clearRules();
    // ...and the writer still hears about the lost data, at every flush and at close.
    await expect(vfs.fsync(ctx, w.fh)).rejects.toMatchObject({ code: 'EIO' });
    await expect(vfs.flush(ctx, w.fh)).rejects.toMatchObject({ code: 'EIO' });
    await expect(vfs.release(ctx, w.fh)).rejects.toMatchObject({ code: 'EIO' });
    // Once the last handle is closed, the file starts clean.
    const h2 = await vfs.open(ctx, w.ino, O_RDWR);
    await vfs.write(ctx, h2.fh, 0, n('ok'));
    await vfs.release(ctx, h2.fh);
  });

  it('flushAll reports files whose data could not be persisted (unmount, SIGTERM)', async () => {
    let faulty: FaultyStore | undefined;
    const { vfs } = await setup({ wrap: (s) => (faulty = new FaultyStore(s)) });
    const { handle: good } = await vfs.create(ctx, ROOT_INODE, n('good'), 0o644, 0, O_WRONLY);
    await vfs.write(ctx, good.fh, 0, n('fine'));
    await vfs.flush(ctx, good.fh);
    const { entry, handle: bad } = await vfs.create(ctx, ROOT_INODE, n('bad'), 0o644, 0, O_WRONLY);
    await vfs.write(ctx, bad.fh, 0, Buffer.alloc(5000, 2));
    faulty!.addRule({ ops: ['put'], permanent: true });
    const err = await vfs.flushAll().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EIO' });
    expect(String((err as Error).message)).toContain(`inodes ${entry.ino}`);
    faulty!.clearRules();
    await vfs.release(ctx, good.fh);
    await vfs.release(ctx, bad.fh).catch(() => undefined);
  });

  it('a write past the volume capacity fails at write() with ENOSPC, before anything is uploaded', async () => {
    const vol = await makeTestVolume({ Capacity: 1024 * 1024 });
    const rt = await vol.open({});
    runtimes.push(rt);
    const vfs = new Vfs(rt);
    const { handle } = await vfs.create(ctx, ROOT_INODE, n('big'), 0o644, 0, O_WRONLY);
    const chunk = Buffer.alloc(256 * 1024, 3);
    for (let i = 0; i < 3; i++) await vfs.write(ctx, handle.fh, i * chunk.length, chunk);
    // 768 KiB accepted and not committed: another 512 KiB would pass 1 MiB.
    await expect(vfs.write(ctx, handle.fh, 3 * chunk.length, Buffer.alloc(512 * 1024))).rejects.toMatchObject(
      { code: 'ENOSPC' },
    );
    // Overwriting what is already there needs no space.
    await vfs.write(ctx, handle.fh, 0, chunk);
    await vfs.release(ctx, handle.fh);
    const { handle: h2 } = await vfs.create(ctx, ROOT_INODE, n('second'), 0o644, 0, O_WRONLY | O_APPEND);
    await expect(vfs.write(ctx, h2.fh, 0, Buffer.alloc(300 * 1024))).rejects.toMatchObject({
      code: 'ENOSPC',
    });
    await vfs.write(ctx, h2.fh, 0, Buffer.alloc(200 * 1024));
    await vfs.release(ctx, h2.fh);
    expect(vol.raw.keys().length).toBeGreaterThan(0);
  });

  it('a write past a directory quota fails at write() with EDQUOT', async () => {
    const { vfs, rt } = await setup();
    const d = await vfs.mkdir(ctx, ROOT_INODE, n('q'), 0o755);
    await rt.meta.setQuota(d.ino, { maxSpace: 64 * 1024, maxInodes: 0 });
    await rt.meta.heartbeat(); // loads the quotas into this client's cache
    const { handle } = await vfs.create(ctx, d.ino, n('f'), 0o644, 0, O_WRONLY);
    await vfs.write(ctx, handle.fh, 0, Buffer.alloc(40 * 1024));
    await expect(vfs.write(ctx, handle.fh, 40 * 1024, Buffer.alloc(40 * 1024))).rejects.toMatchObject({
      code: 'EDQUOT',
    });
    await vfs.release(ctx, handle.fh);
  });

  it('a file only ever appended to is compacted from the write path (every 100th commit)', async () => {
    const { vfs, rt } = await setup();
    const { entry, handle } = await vfs.create(ctx, ROOT_INODE, n('log'), 0o644, 0, O_WRONLY | O_APPEND);
    await vfs.release(ctx, handle.fh);
    for (let i = 0; i < 250; i++) {
      const h = await vfs.open(ctx, entry.ino, O_WRONLY | O_APPEND);
      await vfs.write(ctx, h.fh, 0, Buffer.alloc(100, 65 + (i % 26)));
      await vfs.release(ctx, h.fh);
    }
    await vfs.compactor.idle();
    expect(vfs.compactor.compactions).toBeGreaterThan(0);
    expect((await rt.meta.readChunk(entry.ino, 0)).length).toBeLessThan(100);
    const r = await vfs.open(ctx, entry.ino, O_RDWR);
    const data = await vfs.read(ctx, r.fh, 0, 25_000);
    expect(data.length).toBe(25_000);
    for (let i = 0; i < 250; i++) expect(data[i * 100]).toBe(65 + (i % 26));
    await vfs.release(ctx, r.fh);
  });

  it('unlocking a flock or fcntl lock commits what the holder wrote first', async () => {
    const { vfs, rt } = await setup();
    const { LockType } = await import('../../src/meta/meta.js');
    const { entry, handle } = await vfs.create(ctx, ROOT_INODE, n('locked'), 0o644, 0, O_WRONLY | O_APPEND);
    await vfs.flock(ctx, handle.fh, 7n, LockType.Write, false);
    await vfs.write(ctx, handle.fh, 0, n('one'));
    expect((await rt.meta.getattr(ctx, entry.ino)).length).toBe(0);
    await vfs.flock(ctx, handle.fh, 7n, LockType.Unlock, false);
    expect((await rt.meta.getattr(ctx, entry.ino)).length).toBe(3);
    const lock = { type: LockType.Write, start: 0n, end: 100n, pid: 1 };
    await vfs.setlk(ctx, handle.fh, 8n, false, lock);
    await vfs.write(ctx, handle.fh, 0, n('two'));
    await vfs.setlk(ctx, handle.fh, 8n, false, { ...lock, type: LockType.Unlock });
    expect((await rt.meta.getattr(ctx, entry.ino)).length).toBe(6);
    await vfs.release(ctx, handle.fh);
  });
});

describe('fuse adapter entry timeouts', () => {
  it('caches directory names for --dir-entry-cache and other names for --entry-cache', async () => {
    const { VfsFuseOps } = await import('../../src/vfs/fuse-adapter.js');
    const vol = await makeTestVolume();
    const rt = await vol.open({});
    try {
      const vfs = new Vfs(rt);
      await vfs.mkdir(ctx, ROOT_INODE, n('d'), 0o755);
      const { handle } = await vfs.create(ctx, ROOT_INODE, n('f'), 0o644, 0, O_WRONLY);
      await vfs.release(ctx, handle.fh);
      const ops = new VfsFuseOps(vfs, {
        attrTimeout: 1,
        entryTimeout: 2,
        dirEntryTimeout: 7,
        noSupplementaryGroups: true,
      });
      const rctx = { unique: 1n, opcode: 1, uid: 0, gid: 0, pid: 0, signal: new AbortController().signal };
      expect((await ops.lookup(rctx, ROOT_INODE, n('d'))).entryTimeout).toBe(7);
      expect((await ops.lookup(rctx, ROOT_INODE, n('f'))).entryTimeout).toBe(2);
      const dh = await vfs.opendir(ctx, ROOT_INODE);
      const plus = await ops.readdirplus(rctx, { fh: dh.fh, offset: 0 });
      const byName = new Map(plus.map((e) => [e.name.toString(), e.entry?.entryTimeout]));
      expect(byName.get('d')).toBe(7);
      expect(byName.get('f')).toBe(2);
      await vfs.releasedir(ctx, dh.fh);
    } finally {
      await rt.close();
    }
  });
});
