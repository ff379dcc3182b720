/**
 * `load` refuses hostile or broken dumps record by record and leaves an empty database:
 * each case edits JuiceFS's metadata.sample in one place (a name with '/', '..', an entry on
 * inode 1, a negative size, a slice past its chunk, ...) or cuts it short, and the load must
 * fail with a message naming the record, after which the database holds nothing (no
 * setting, no half-volume) on SQLite and mem. Also: deep trees dump and load without
 * recursion limits, and a failing output stream fails the dump instead of hanging.
 */
import { PassThrough, Readable, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { dumpMeta } from '../../src/meta/dump/dump.js';
import { loadMeta } from '../../src/meta/dump/load.js';
import type { MetaEngine } from '../../src/meta/engine.js';
import { openEngine } from '../../src/meta/registry.js';
import { memTarget, redisTarget, sqliteTarget, withMysql, withPg } from '../helpers/engine-targets.js';
import { HAVE_JUICEFS_FIXTURES, NEEDS_FIXTURES, readJuicefsFixture } from '../helpers/juicefs-fixtures.js';
import { makeVolume, n, root, type EngineTarget } from '../helpers/meta-fixture.js';

const SAMPLE = readJuicefsFixture('metadata.sample');

/** [what, edit of the sample, expected message]: each edit must occur in the sample. */
const BAD: [string, (s: string) => string, RegExp][] = [
  [
    "name with '/'",
    (s) => s.replace('"f11": {', '"a/b": {'),
    /FSTree\/d1\/a\/b: entry name "a\/b" contains '\/'/,
  ],
  ['empty name', (s) => s.replace('"f11": {', '"": {'), /FSTree\/d1\/: empty entry name/],
  ["name '..'", (s) => s.replace('"sd": {', '"..": {'), /FSTree\/\.\.: entry name "\.\." is reserved/],
  ["name '.'", (s) => s.replace('"sd": {', '".": {'), /reserved/],
  ['name with NUL', (s) => s.replace('"sd": {', '"x%00y": {'), /FSTree\/x%00y: .*NUL/],
  ['name of 256 bytes', (s) => s.replace('"sd": {', `"${'n'.repeat(256)}": {`), /entry name of 256 bytes/],
  ['duplicate name', (s) => s.replace('"sd": {', '"s1": {'), /FSTree\/s1: duplicate entry name/],
  [
    'duplicate name, escaped differently',
    (s) => s.replace('"sd": {', '"%731": {'),
    /FSTree\/%731: duplicate entry name/,
  ],
  [
    'file entry on inode 1',
    (s) => s.replace('"inode":33,', '"inode":1,'),
    /UTF8果汁数据科技有限公司文件: an entry uses inode 1/,
  ],
  ['inode 0', (s) => s.replace('"inode":33,', '"inode":0,'), /bad inode number 0/],
  ['negative inode', (s) => s.replace('"inode":33,', '"inode":-5,'), /bad inode number -5/],
  ['inode as a string', (s) => s.replace('"inode":33,', '"inode":"33",'), /bad inode number "33"/],
  [
    'trash-range inode in the tree',
    (s) => s.replace('"inode":33,', '"inode":9223372032828243999,'),
    /trash range outside the trash/,
  ],
  [
    'unknown type',
    (s) => s.replace('"inode":33,"type":"regular"', '"inode":33,"type":"weird"'),
    /unknown type "weird"/,
  ],
  [
    'root is a file',
    (s) => s.replace('"inode":1,"type":"directory"', '"inode":1,"type":"regular"'),
    /FSTree: the root must be a directory/,
  ],
  [
    'negative length',
    (s) => s.replace(/("inode":6,[^}]*"length":)\d+/, '$1-1'),
    /FSTree\/d1\/big: 'length' -1 is out of range/,
  ],
  [
    'absurd length',
    (s) => s.replace(/("inode":6,[^}]*"length":)\d+/, '$11e300'),
    /FSTree\/d1\/big: 'length' is not an integer|out of range/,
  ],
  [
    'length beyond 2^57',
    (s) => s.replace(/("inode":6,[^}]*"length":)\d+/, '$1999999999999999999'),
    /FSTree\/d1\/big: 'length' .* out of range/,
  ],
  [
    'negative uid',
    (s) =>
      s.replace(
        '"inode":33,"type":"regular","mode":420,"uid":501',
        '"inode":33,"type":"regular","mode":420,"uid":-1',
      ),
    /'uid' -1 is out of range/,
  ],
  [
    'slice past its size',
    (s) =>
      s.replace(
        '{"id":2,"size":12,"len":12}]}]\n          }',
        '{"id":2,"size":12,"off":8,"len":12}]}]\n          }',
      ),
    /FSTree\/d1\/f11 chunk 0 slice #0: off 8 \+ len 12 is past the slice size 12/,
  ],
  [
    'slice past its chunk',
    (s) => s.replace('{"id":7,"size":11,"len":11}', '{"id":7,"pos":67108860,"size":11,"len":11}'),
    /1-27-tf1 chunk 0 slice #0: pos 67108860 \+ len 11 is past the end of the chunk/,
  ],
  [
    'negative chunk index',
    (s) => s.replace('[{"index":0,"slices":[{"id":7', '[{"index":-1,"slices":[{"id":7'),
    /chunk #0: 'index' -1 is out of range/,
  ],
  [
    'chunks in a directory',
    (s) =>
      s
        .replace('"entries": {\n          "big"', '"chunks": [],"entries": {\n          "big"')
        .replace('"chunks": [],', '"chunks": [{"index":0,"slices":[{"id":9,"size":1,"len":1}]}],'),
    /FSTree\/d1: 'chunks' in a directory/,
  ],
  [
    'entries in a file',
    (s) => s.replace('"symlink": "d"', '"symlink": "d", "entries": {}'),
    /FSTree\/sd: 'entries' in a symlink/,
  ],
  ['directory twice', (s) => s.replace('"inode":25,', '"inode":3,'), /directory inode 3 appears twice/],
  [
    'hard link with another type',
    (s) => s.replace(/("l1": \{\n\s*"attr": \{"inode":4,"type":)"regular"/, '$1"fifo"'),
    /inode 4 appears as regular and as fifo/,
  ],
  [
    'symlink without target',
    (s) => s.replace('"symlink": "d"', '"symlink": ""'),
    /FSTree\/sd: symlink without a target/,
  ],
  [
    'bad Setting',
    (s) => s.replace('"Setting": {', '"Setting": 5, "X": {'),
    /Setting: missing, or not an object/,
  ],
  [
    'quota on a missing inode',
    (s) => s.replace('"Quotas": {\n    "1": {', '"Quotas": {\n    "777": {'),
    /Quotas\[777\]: no directory with this inode/,
  ],
  ['bad DelFiles', (s) => s.replace('"inode": 23,', '"inode": -23,'), /DelFiles #0: bad inode number -23/],
  ['trailing garbage', (s) => s + 'xx', /data after the top-level object/],
  [
    'no FSTree',
    (s) => s.replace('"FSTree": {', '"NotTree": {').replace('"Trash": {', '"NotTrash": {'),
    /FSTree: missing/,
  ],
  [
    'truncated in the middle',
    (s) => s.slice(0, Math.floor(s.length * 0.6)),
    /unexpected end of input|expected/,
  ],
  ['truncated at the end', (s) => s.slice(0, s.length - 3), /unexpected end|expected/],
];

function suite(target: EngineTarget, only?: readonly string[]): void {
  describe.skipIf(!HAVE_JUICEFS_FIXTURES)(`load validation on ${target.name}${NEEDS_FIXTURES}`, () => {
    const engines: MetaEngine[] = [];
    afterEach(async () => {
      for (const e of engines.splice(0)) await e.close();
      await target.cleanup?.();
    });

    it('the sample itself loads (the edits below are what breaks it)', async () => {
      const engine = await openEngine(await target.freshUrl());
      engines.push(engine);
      expect((await loadMeta(engine, Readable.from([SAMPLE]))).inodes).toBe(16);
    });

    it('quota usage is summed over the tree, nested quotas included', async () => {
      const engine = await openEngine(await target.freshUrl());
      engines.push(engine);
      const text = SAMPLE.replace(
        '"Quotas": {\n    "1": {',
        '"Quotas": {\n    "3": {"maxSpace": 1, "maxInodes": 1},\n    "1": {',
      );
      await loadMeta(engine, Readable.from([text]));
      const q = await engine.listDirQuotas();
      // d1 (inode 3) holds big (100 MiB) and f11 (12 bytes); the root's count is the whole tree and the trash.
      expect(q.get(3n)).toMatchObject({ usedInodes: 2, usedSpace: 104857600 + 4096 });
      expect(q.get(1n)).toMatchObject({ usedInodes: 15, usedSpace: 115396608 });
    });

    for (const [what, edit, message] of BAD.filter(([w]) => !only || only.includes(w))) {
      it(`refuses ${what} and leaves an empty database`, async () => {
        const text = edit(SAMPLE);
        expect(text).not.toBe(SAMPLE);
        const engine = await openEngine(await target.freshUrl());
        engines.push(engine);
        await expect(loadMeta(engine, Readable.from([text]))).rejects.toThrow(message);
        expect(await engine.isEmpty()).toBe(true);
        expect(await engine.getFormatText()).toBeUndefined();
        // The database is usable again: the good dump loads into it.
        expect((await loadMeta(engine, Readable.from([SAMPLE]))).inodes).toBe(16);
      });
    }
  });
}

suite(memTarget());
suite(sqliteTarget());
withPg('load validation on postgres', (t) => suite(t));
withMysql('load validation on mysql', (t) => suite(t));
// Redis resets by FLUSHDB (the load required an empty DB): a few cases, one server.
suite(redisTarget(), ["name with '/'", 'quota on a missing inode', 'truncated in the middle']);

/** A Writable that only counts bytes and keeps the last few. */
class CountingSink extends Writable {
  bytes = 0;
  last: Buffer = Buffer.alloc(0);
  /** Highest heap use seen at a write (timers may not run while the dump keeps the loop busy). */
  heapPeak = 0;
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.bytes += chunk.length;
    this.last = chunk;
    this.heapPeak = Math.max(this.heapPeak, process.memoryUsage().heapUsed);
    cb();
  }
}

describe('deep trees', () => {
  const target = memTarget();
  afterEach(async () => target.cleanup?.());

  async function chain(depth: number): Promise<Awaited<ReturnType<typeof makeVolume>>> {
    const v = await makeVolume(target, { TrashDays: 0 });
    const m = await v.client();
    let dir = 1n;
    for (let i = 0; i < depth; i++) dir = (await m.mkdir(root, dir, n('d'), 0o755)).ino;
    await m.create(root, dir, n('leaf'), 0o644).then((r) => m.close(r.ino));
    await m.stop({ keepEngine: true });
    return v;
  }

  it('dumps a 20,000-level tree (about 4 GB of Go-indented JSON) with bounded memory', async () => {
    const v = await chain(20_000);
    const sink = new CountingSink();
    const heapBefore = process.memoryUsage().heapUsed;
    await dumpMeta(v.engines[0]!, sink);
    // Each level indents 4 more spaces on 5 lines: ~20 * depth^2 / 2 bytes of indentation.
    expect(sink.bytes).toBeGreaterThan(3.9e9);
    expect(sink.last.toString().endsWith('\n  }\n}\n')).toBe(true);
    expect(sink.heapPeak - heapBefore).toBeLessThan(256 * 1024 * 1024);
    await v.close();
  }, 300_000);

  it('round-trips a 2,000-level tree through dump and load', async () => {
    const v = await chain(2_000);
    const out = new PassThrough();
    const parts: Buffer[] = [];
    out.on('data', (c: Buffer) => parts.push(c));
    await dumpMeta(v.engines[0]!, out);
    const text = Buffer.concat(parts).toString();
    await v.close();
    await target.cleanup?.();
    const engine = await openEngine(await target.freshUrl());
    const res = await loadMeta(engine, Readable.from([text]));
    expect(res.inodes).toBe(2_003); // the directories, the leaf, the root and the trash
    const back = new PassThrough();
    const again: Buffer[] = [];
    back.on('data', (c: Buffer) => again.push(c));
    await dumpMeta(engine, back);
    // Load recomputes the id counters from the tree (max + 1), as Go does.
    const norm = (s: string): string => s.replace(/"next(Session|Inodes|Chunk)": \d+/g, '');
    expect(norm(Buffer.concat(again).toString())).toBe(norm(text));
    await engine.close();
  }, 120_000);

  it('fails (does not hang) when the output stream fails', async () => {
    const v = await chain(50);
    const broken = new Writable({ write: (_c, _e, cb) => cb(new Error('ENOSPC: no space left on device')) });
    broken.on('error', () => undefined);
    await expect(dumpMeta(v.engines[0]!, broken)).rejects.toThrow(/ENOSPC/);
    await v.close();
  });
});
