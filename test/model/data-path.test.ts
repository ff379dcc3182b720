/**
 * Reference-model property test of the data path: random writes, overwrites, truncates,
 * flushes and reads through FileWriter/FileReader over every object store and every
 * compression, compared with a plain sparse byte array. Small blocks (64 KiB) so reads
 * cross block boundaries; a second family of offsets sits around the 64 MiB chunk border.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChunkStore } from '../../src/chunk/chunk-store.js';
import { FileReader } from '../../src/chunk/file-reader.js';
import { FileWriter } from '../../src/chunk/file-writer.js';
import { FileObjectStore } from '../../src/object/file/file-store.js';
import { MemObjectStore } from '../../src/object/mem/mem-store.js';
import type { ObjectStore } from '../../src/object/object-store.js';
import { PrefixedStore } from '../../src/object/prefixed.js';
import { S3ObjectStore } from '../../src/object/s3/s3-store.js';
import { RefFile } from '../helpers/ref-file.js';
import type { S3TestServer } from '../helpers/s3-server.js';
import { startS3Server } from '../helpers/s3-server.js';
import { SliceModel } from '../helpers/slice-model.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const CHUNK = 64 * MiB;

type Cmd =
  | { t: 'write'; off: number; len: number; seed: number }
  | { t: 'truncate'; len: number }
  | { t: 'flush' }
  | { t: 'read'; off: number; len: number; fresh: boolean };

function pattern(len: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  let x = seed | 1;
  for (let i = 0; i < len; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function commands(offset: fc.Arbitrary<number>): fc.Arbitrary<Cmd[]> {
  const len = fc.oneof(fc.integer({ min: 1, max: 200 * KiB }), fc.integer({ min: 1, max: 4 * KiB }));
  return fc.array(
    fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({ t: fc.constant('write' as const), off: offset, len, seed: fc.nat() }),
      },
      { weight: 1, arbitrary: fc.record({ t: fc.constant('truncate' as const), len: offset }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant('flush' as const) }) },
      {
        weight: 4,
        arbitrary: fc.record({
          t: fc.constant('read' as const),
          off: offset,
          len: fc.integer({ min: 1, max: 400 * KiB }),
          fresh: fc.boolean(),
        }),
      },
    ),
    { minLength: 1, maxLength: 25 },
  );
}

const small = fc.integer({ min: 0, max: 3 * MiB });
const border = fc.oneof(
  fc.integer({ min: CHUNK - 300 * KiB, max: CHUNK + 300 * KiB }),
  fc.integer({ min: 0, max: 256 * KiB }),
);

async function runScenario(base: ObjectStore, compression: string, cmds: Cmd[]): Promise<void> {
  const store = new ChunkStore({
    store: base,
    blockSize: 64 * KiB,
    compression,
    bufferSize: 8 * MiB,
    maxUploads: 4,
  });
  const meta = new SliceModel();
  const ref = new RefFile();
  let reader = new FileReader(store, { getSlices: meta.getSlices });
  // As the VFS wires them: a commit of this file's writer, and a truncate, invalidate the
  // reader's reused slice lists (src/vfs/open-files.ts).
  const writer = new FileWriter(store, {
    allocSliceId: meta.allocSliceId,
    commit: async (indx, s, mtime) => {
      await meta.commit(indx, s, mtime);
      reader.invalidate();
    },
  });
  for (const c of cmds) {
    switch (c.t) {
      case 'write': {
        const data = pattern(c.len, c.seed);
        await writer.write(c.off, data);
        ref.write(c.off, data);
        expect(Math.max(meta.length, writer.pendingLength)).toBe(ref.length);
        break;
      }
      case 'truncate':
        await writer.flush(); // the VFS flushes before truncating
        meta.truncate(c.len);
        reader.invalidate();
        ref.truncate(c.len);
        break;
      case 'flush':
        await writer.flush();
        expect(meta.length).toBe(ref.length);
        break;
      case 'read': {
        await writer.flush(); // the VFS flushes a handle's writes before reading
        if (c.fresh) reader = new FileReader(store, { getSlices: meta.getSlices });
        const got = await reader.read(c.off, c.len, meta.length);
        const want = ref.read(c.off, c.len);
        if (!got.equals(want)) {
          expect({ off: c.off, len: got.length, first: firstDiff(got, want) }).toEqual({
            off: c.off,
            len: want.length,
            first: -1,
          });
        }
        break;
      }
    }
  }
  await writer.flush();
  const all = await new FileReader(store, { getSlices: meta.getSlices }).read(0, ref.length, meta.length);
  expect(firstDiff(all, ref.read(0, ref.length))).toBe(-1);
}

function firstDiff(a: Buffer, b: Buffer): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

let s3: S3TestServer;
let fileRoot: string;
let s3Raw: S3ObjectStore;
let seq = 0;

beforeAll(async () => {
  s3 = await startS3Server();
  s3Raw = new S3ObjectStore({ bucket: s3.bucketUrl, accessKey: s3.accessKey, secretKey: s3.secretKey });
  fileRoot = await mkdtemp(join(tmpdir(), 'tjfs-model-'));
});

afterAll(async () => {
  s3Raw.destroy();
  await s3.stop();
  await rm(fileRoot, { recursive: true, force: true });
});

const stores: Record<string, { make: () => ObjectStore; runs: number }> = {
  mem: { make: () => new MemObjectStore(), runs: 25 },
  file: { make: () => new PrefixedStore(new FileObjectStore(fileRoot + '/'), `v${seq++}/`), runs: 12 },
  s3: { make: () => new PrefixedStore(s3Raw, `v${seq++}/`), runs: 5 },
};

for (const [name, { make, runs }] of Object.entries(stores)) {
  for (const compression of ['none', 'lz4', 'zstd']) {
    describe(`data path model: ${name} / ${compression}`, () => {
      it('random writes, truncates and reads match a byte array', async () => {
        await fc.assert(
          fc.asyncProperty(commands(small), (cmds) => runScenario(make(), compression, cmds)),
          { numRuns: runs },
        );
      });
      it('around the 64 MiB chunk border', async () => {
        await fc.assert(
          fc.asyncProperty(commands(border), (cmds) => runScenario(make(), compression, cmds)),
          { numRuns: Math.max(3, Math.floor(runs / 2)) },
        );
      });
    });
  }
}
