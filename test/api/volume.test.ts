/**
 * The fs/promises-like API (openVolume): the shared scenarios on mem, sqlite3+file and
 * redis+s3rver volumes, plus Node-shaped errors, path resolution, permissions, streams and
 * several volumes in one process.
 */
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openVolume, type Volume } from '../../src/api/volume.js';
import { apiScenarios } from '../scenarios/api-scenarios.js';
import { loadSharedScenarios } from '../scenarios/shared.js';
import type { ScenarioFs } from '../scenarios/scenario-fs.js';
import {
  describeRedisS3,
  formatTestVolume,
  type TestVolume,
  type TestVolumeSpec,
} from '../helpers/api-volume.js';

const scenarios = [...apiScenarios, ...(await loadSharedScenarios())];

function scenarioSuite(label: string, spec: () => TestVolumeSpec): void {
  describe(`openVolume scenarios on ${label}`, () => {
    let tv: TestVolume;
    let vol: Volume;
    let n = 0;
    beforeAll(async () => {
      tv = await formatTestVolume(spec());
      vol = await openVolume(tv.metaUrl, { uid: 0, gid: 0 });
    });
    afterAll(async () => {
      await vol?.close();
      await tv?.cleanup();
    });
    for (const s of scenarios) {
      it(s.name, async () => {
        const dir = `/s${n++}`;
        await vol.mkdir(dir);
        await s.run(vol as unknown as ScenarioFs, dir);
      });
    }
  });
}

scenarioSuite('mem meta + mem store', () => ({ meta: 'mem', storage: 'mem' }));
scenarioSuite('sqlite3 meta + file store', () => ({ meta: 'sqlite', storage: 'file' }));

describeRedisS3('redis + s3rver', (spec) => scenarioSuite('redis meta + s3 store', spec));

describe('openVolume behaviour', () => {
  let tv: TestVolume;
  let vol: Volume;
  beforeAll(async () => {
    tv = await formatTestVolume({ meta: 'sqlite', storage: 'file' });
    vol = await openVolume(tv.metaUrl, { uid: 0, gid: 0 });
  });
  afterAll(async () => {
    await vol?.close();
    await tv?.cleanup();
  });

  it('throws Node-shaped errors', async () => {
    const e = await vol.stat('/no/such').catch((x: unknown) => x as NodeJS.ErrnoException);
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'stat', path: '/no/such' });
    expect((e as Error).message).toBe("ENOENT: no such file or directory, stat '/no/such'");
    const r = await vol.rename('/a-missing', '/b').catch((x: unknown) => x as NodeJS.ErrnoException);
    expect(r).toMatchObject({ code: 'ENOENT', syscall: 'rename', path: '/a-missing', dest: '/b' });
  });

  it('resolves "..", absolute and relative symlinks, ELOOP after 40 links', async () => {
    await vol.mkdir('/r/a/b', { recursive: true });
    await vol.writeFile('/r/a/b/f', 'deep');
    expect((await vol.readFile('/r/a/b/../b/./f')).toString()).toBe('deep');
    await vol.symlink('/r/a', '/r/abs');
    await vol.symlink('a/b', '/r/rel');
    expect((await vol.readFile('/r/abs/b/f')).toString()).toBe('deep');
    expect((await vol.readFile('/r/rel/f')).toString()).toBe('deep');
    expect((await vol.readFile('/r/rel/../b/f')).toString()).toBe('deep');
    let prev = 'f';
    for (let i = 0; i < 41; i++) {
      await vol.symlink(prev, `/r/a/b/c${i}`);
      prev = `c${i}`;
    }
    expect((await vol.readFile('/r/a/b/c39')).toString()).toBe('deep');
    await expect(vol.readFile('/r/a/b/c40')).rejects.toMatchObject({ code: 'ELOOP' });
    await vol.writeFile('/r/viadangling-target-link-x', '1');
    await vol.symlink('new-target', '/r/dl');
    await vol.writeFile('/r/dl', 'created through a dangling link');
    expect((await vol.readFile('/r/new-target')).toString()).toBe('created through a dangling link');
    await expect(vol.stat('/r/a/b/f/')).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  it('checks permissions with the identity given', async () => {
    await vol.mkdir('/private', { mode: 0o700 });
    await vol.writeFile('/private/secret', 's');
    await vol.writeFile('/shared.txt', 'r', { mode: 0o644 });
    const alice = vol.as({ uid: 1000, gid: 1000, gids: [1000] });
    await expect(alice.readFile('/private/secret')).rejects.toMatchObject({
      code: 'EACCES',
      syscall: 'open',
    });
    await expect(alice.readdir('/private')).rejects.toMatchObject({ code: 'EACCES' });
    expect((await alice.readFile('/shared.txt')).toString()).toBe('r');
    await expect(alice.writeFile('/shared.txt', 'w')).rejects.toMatchObject({ code: 'EACCES' });
    await expect(alice.access('/shared.txt', 2)).rejects.toMatchObject({ code: 'EACCES' });
    await vol.mkdir('/home-alice');
    await vol.chown('/home-alice', 1000, 1000);
    await alice.writeFile('/home-alice/mine', 'ok');
    const st = await vol.stat('/home-alice/mine');
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([1000, 1000, 0o644]);
  });

  it('streams with backpressure and bounded chunks', async () => {
    const total = 12 * 1024 * 1024 + 17;
    let produced = 0;
    const src = new Readable({
      read() {
        if (produced >= total) return void this.push(null);
        const n = Math.min(256 * 1024, total - produced);
        const b = Buffer.alloc(n, produced % 251);
        produced += n;
        this.push(b);
      },
    });
    const ws = vol.createWriteStream('/stream.bin', { highWaterMark: 512 * 1024 });
    await pipeline(src, ws);
    expect((await vol.stat('/stream.bin')).size).toBe(total);
    const rs = vol.createReadStream('/stream.bin', { highWaterMark: 1024 * 1024 });
    let got = 0;
    let maxChunk = 0;
    for await (const chunk of rs) {
      got += (chunk as Buffer).length;
      maxChunk = Math.max(maxChunk, (chunk as Buffer).length);
    }
    expect(got).toBe(total);
    expect(maxChunk).toBeLessThanOrEqual(1024 * 1024);
    const part = vol.createReadStream('/stream.bin', { start: 10, end: 19 });
    const bufs: Buffer[] = [];
    for await (const c of part) bufs.push(c as Buffer);
    expect(Buffer.concat(bufs).length).toBe(10);
    const w = vol.createWriteStream('/bp.bin', { highWaterMark: 64 * 1024 });
    const ok = w.write(Buffer.alloc(128 * 1024));
    expect(ok).toBe(false);
    await once(w, 'drain');
    w.end();
    await once(w, 'finish');
    expect((await vol.stat('/bp.bin')).size).toBe(128 * 1024);
  });

  it('opens many volumes in one process, each with its own runtime', async () => {
    const vols = await Promise.all(
      [0, 1, 2].map(async () => formatTestVolume({ meta: 'mem', storage: 'mem' })),
    );
    const opened = [];
    for (const t of vols) opened.push(await openVolume(t.metaUrl, { uid: 0, gid: 0 }));
    for (const [i, v] of opened.entries()) await v.writeFile('/id', `vol${i}`);
    for (const [i, v] of opened.entries()) expect((await v.readFile('/id')).toString()).toBe(`vol${i}`);
    expect(new Set(opened.map((v) => v.runtime)).size).toBe(3);
    for (const v of opened) await v.close();
    for (const t of vols) await t.cleanup();
  });

  it('a second client sees closed files (close-to-open)', async () => {
    const other = await openVolume(tv.metaUrl, { uid: 0, gid: 0 });
    try {
      const h = await vol.open('/c2o', 'w');
      await h.write('visible after close');
      await h.close();
      expect((await other.readFile('/c2o')).toString()).toBe('visible after close');
    } finally {
      await other.close();
    }
  });
});
