/**
 * JuiceFS's own load/dump fixture: loading metadata.sample and dumping must give the same
 * bytes, and a dump of sub-directory d1 must equal metadata-sub.sample — on every engine.
 * Then a volume written by tjfs round-trips through dump -> load -> dump unchanged.
 */
import { readFileSync, createReadStream } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { dumpMeta } from '../../src/meta/dump/dump.js';
import { loadMeta } from '../../src/meta/dump/load.js';
import type { MetaEngine } from '../../src/meta/engine.js';
import { openEngine } from '../../src/meta/registry.js';
import { memTarget, redisTarget, sqliteTarget, withMysql, withPg } from '../helpers/engine-targets.js';
import { HAVE_JUICEFS_FIXTURES, juicefsFixture, NEEDS_FIXTURES } from '../helpers/juicefs-fixtures.js';
import { makeVolume, n, root, type EngineTarget } from '../helpers/meta-fixture.js';

async function dumpToString(engine: MetaEngine, opts: Parameters<typeof dumpMeta>[2] = {}): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await dumpMeta(engine, out, opts);
  out.end();
  return Buffer.concat(chunks).toString('utf8');
}

function suite(target: EngineTarget): void {
  describe(`dump/load on ${target.name}`, () => {
    const engines: MetaEngine[] = [];
    afterEach(async () => {
      for (const e of engines.splice(0)) await e.close();
      await target.cleanup?.();
    });

    const withSamples = it.skipIf(!HAVE_JUICEFS_FIXTURES);

    withSamples(
      `loads metadata.sample and dumps it byte for byte (and d1 as metadata-sub.sample)${NEEDS_FIXTURES}`,
      async () => {
        const engine = await openEngine(await target.freshUrl());
        engines.push(engine);
        const res = await loadMeta(
          engine,
          createReadStream(juicefsFixture('metadata.sample'), { highWaterMark: 777 }),
        );
        expect(res.inodes).toBe(16);
        const dumped = await dumpToString(engine);
        expect(dumped).toBe(readFileSync(juicefsFixture('metadata.sample'), 'utf8'));
        const sub = await dumpToString(engine, { root: 3n });
        expect(sub).toBe(readFileSync(juicefsFixture('metadata-sub.sample'), 'utf8'));
      },
    );

    withSamples(`refuses to load into a non-empty database${NEEDS_FIXTURES}`, async () => {
      const engine = await openEngine(await target.freshUrl());
      engines.push(engine);
      await loadMeta(engine, createReadStream(juicefsFixture('metadata.sample')));
      await expect(loadMeta(engine, createReadStream(juicefsFixture('metadata.sample')))).rejects.toThrow(
        /not empty/,
      );
    });

    it('round-trips a volume written by tjfs', async () => {
      const v = await makeVolume(target, { TrashDays: 1 });
      const m = await v.client();
      const d = await m.mkdir(root, 1n, n('dir'), 0o755);
      const f = await m.create(root, d.ino, n('f%"\\ x'), 0o640);
      await m.writeSlice(
        f.ino,
        0,
        { pos: 0, id: await m.newSliceId(), size: 5, off: 0, len: 5 },
        { sec: 1, nsec: 2 },
      );
      await m.close(f.ino);
      await m.link(root, f.ino, 1n, n('hard'));
      await m.link(root, f.ino, d.ino, n('hard2')); // three parents' worth of links, two in dir
      await m.clone(root, f.ino, 1n, n('clone')); // the slice is referenced twice
      await m.symlink(root, 1n, n('sym'), Buffer.from([0x61, 0xff, 0x62]));
      await m.setxattr(root, f.ino, 'user.a', Buffer.from([0, 1, 2, 0x25]));
      await m.create(root, 1n, n('gone'), 0o644).then((r) => m.close(r.ino));
      await m.unlink(root, 1n, n('gone'));
      await m.stop({ keepEngine: true });
      const first = await dumpToString(v.engines[0]!);
      const refsBefore = await v.engines[0]!.getSliceRefs();
      expect([...refsBefore.values()]).toContain(2);
      await v.close();
      await target.cleanup?.();
      const engine = await openEngine(await target.freshUrl());
      engines.push(engine);
      await loadMeta(engine, Readable.from([first]));
      // Load recomputes the id counters from the tree (max id + 1), as Go does.
      const norm = (s: string): string =>
        s
          .replace(/"nextSession": \d+/, '"nextSession": 0')
          .replace(/"nextInodes": \d+/, '')
          .replace(/"nextChunk": \d+/, '');
      expect(norm(await dumpToString(engine))).toBe(norm(first));
      expect(await engine.getSliceRefs()).toEqual(refsBefore);
      expect(first).toMatch(/"nlink":3,/);
      expect(first).toContain('"symlink": "a%FFb"');
      expect(first).toContain('"value":"%00%01%02%25"');
      expect(first).toContain('"f%25%22%5C%20x": {');
    });
  });
}

suite(memTarget());
suite(sqliteTarget());
suite(redisTarget());
withPg('dump/load on postgres', suite);
withMysql('dump/load on mysql', suite);
