/**
 * Migration by dump/load between any two engines (SQLite, Redis, PostgreSQL, MySQL): a volume
 * written by tjfs on one engine, dumped, loaded into another and dumped again gives the same
 * dump (the id counters aside, which load recomputes as Go does); and JuiceFS's metadata.sample
 * carried from one engine to another still dumps byte for byte. PostgreSQL and MySQL pairs are
 * skipped, saying why, when their servers cannot run here.
 */
import { readFileSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { dumpMeta } from '../../src/meta/dump/dump.js';
import { loadMeta } from '../../src/meta/dump/load.js';
import type { MetaEngine } from '../../src/meta/engine.js';
import { openEngine } from '../../src/meta/registry.js';
import { mysqlTarget, pgTarget, redisTarget, sqliteTarget } from '../helpers/engine-targets.js';
import { HAVE_JUICEFS_FIXTURES, juicefsFixture, NEEDS_FIXTURES } from '../helpers/juicefs-fixtures.js';
import { mariadbSkipReason } from '../helpers/mariadb-server.js';
import { makeVolume, n, root, type EngineTarget } from '../helpers/meta-fixture.js';
import { pgSkipReason } from '../helpers/pg-server.js';

async function dumpToString(engine: MetaEngine): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await dumpMeta(engine, out, {});
  out.end();
  return Buffer.concat(chunks).toString('utf8');
}

/** Load recomputes the id counters from the tree (max id + 1) and the session counter. */
function norm(s: string): string {
  return s
    .replace(/"nextSession": \d+/, '"nextSession": 0')
    .replace(/"nextInodes": \d+/, '')
    .replace(/"nextChunk": \d+/, '');
}

/** A small volume with every kind of entry the dump carries, written through the meta layer. */
async function writtenDump(target: EngineTarget): Promise<string> {
  const v = await makeVolume(target, { TrashDays: 1 });
  try {
    const m = await v.client();
    const d = await m.mkdir(root, 1n, n('dir'), 0o755);
    const f = await m.create(root, d.ino, n('f%"\\ x'), 0o640);
    const slice = { pos: 0, id: await m.newSliceId(), size: 5, off: 0, len: 5 };
    await m.writeSlice(f.ino, 0, slice, { sec: 1, nsec: 2 });
    await m.close(f.ino);
    await m.link(root, f.ino, 1n, n('hard'));
    await m.symlink(root, 1n, n('sym'), Buffer.from([0x61, 0xff, 0x62]));
    await m.setxattr(root, f.ino, 'user.a', Buffer.from([0, 1, 2, 0x25]));
    await m.create(root, 1n, n('gone'), 0o644).then((r) => m.close(r.ino));
    await m.unlink(root, 1n, n('gone'));
    await m.stop({ keepEngine: true });
    return await dumpToString(v.engines[0]!);
  } finally {
    await v.close();
    await target.cleanup?.();
  }
}

/** Loads `text` into a fresh database of `target` and dumps it back. */
async function carry(target: EngineTarget, text: string): Promise<string> {
  const engine = await openEngine(await target.freshUrl());
  try {
    await loadMeta(engine, Readable.from([text]));
    return await dumpToString(engine);
  } finally {
    await engine.close();
    await target.cleanup?.();
  }
}

const targets: EngineTarget[] = [sqliteTarget(), redisTarget()];
const skipped: string[] = [];
const pgWhy = pgSkipReason();
if (pgWhy === undefined) targets.push(pgTarget());
else skipped.push(`postgres: ${pgWhy}`);
const myWhy = mariadbSkipReason();
if (myWhy === undefined) targets.push(mysqlTarget());
else skipped.push(`mysql: ${myWhy}`);

describe('dump/load migration between engines', () => {
  if (skipped.length > 0) it.skip(`pairs with ${skipped.join('; ')}`, () => undefined);
  for (const from of targets)
    for (const to of targets) {
      if (from === to) continue;
      it(`${from.name} -> ${to.name}: a tjfs volume dumps the same after the move`, async () => {
        const first = await writtenDump(from);
        expect(first).toContain('"f%25%22%5C%20x": {');
        expect(norm(await carry(to, first))).toBe(norm(first));
      }, 60_000);
      it.skipIf(!HAVE_JUICEFS_FIXTURES)(
        `${from.name} -> ${to.name}: metadata.sample stays byte for byte${NEEDS_FIXTURES}`,
        async () => {
          const sample = readFileSync(juicefsFixture('metadata.sample'), 'utf8');
          const onFrom = await carry(from, sample);
          expect(onFrom).toBe(sample);
          expect(await carry(to, onFrom)).toBe(sample);
        },
        60_000,
      );
    }
});
