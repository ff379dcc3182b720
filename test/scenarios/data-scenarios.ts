/**
 * Data scenarios: positional reads and writes, O_TRUNC, sparse files, a file larger than
 * one 64 MiB chunk (sha256 checked), truncate grow/shrink, concurrent O_APPEND writers and
 * copyFile. Sizes are small except where size is the point.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import type { Scenario, ScenarioFileHandle } from './scenario-fs.js';
import { MiB, pseudoRandomBytes, sha256 } from './scenario-util.js';

async function readAt(h: ScenarioFileHandle, pos: number, len: number): Promise<Buffer> {
  const buf = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await h.read(buf, got, len - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

async function writeAll(h: ScenarioFileHandle, data: Buffer, pos: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await h.write(data, done, data.length - done, pos + done);
    done += bytesWritten;
  }
}

function isZero(b: Buffer): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

export const dataScenarios: Scenario[] = [
  {
    name: 'files: write, read, positional overwrite, O_TRUNC, stat size',
    async run(fs, dir) {
      const f = join(dir, 'f');
      await fs.writeFile(f, 'hello world');
      assert.equal((await fs.readFile(f)).toString(), 'hello world');
      const h = await fs.open(f, 'r+');
      try {
        await writeAll(h, Buffer.from('WORLD'), 6);
        await writeAll(h, Buffer.from('!!'), 11);
        assert.equal((await h.stat()).size, 13);
        assert.equal((await readAt(h, 0, 100)).toString(), 'hello WORLD!!');
        assert.equal((await readAt(h, 13, 10)).length, 0, 'read at EOF returns 0 bytes');
        await h.sync();
      } finally {
        await h.close();
      }
      const big = pseudoRandomBytes(7, 300_000);
      await fs.writeFile(f, big);
      assert.equal(sha256(await fs.readFile(f)), sha256(big));
      await fs.writeFile(f, 'short');
      assert.equal((await fs.readFile(f)).toString(), 'short', 'O_TRUNC drops the old tail');
      assert.equal((await fs.stat(f)).size, 5);
      await fs.writeFile(join(dir, 'empty'), '');
      assert.equal((await fs.stat(join(dir, 'empty'))).size, 0);
      assert.equal((await fs.readFile(join(dir, 'empty'))).length, 0);
    },
  },
  {
    name: 'sparse file: write at a 100 MiB offset, holes read as zeros',
    async run(fs, dir) {
      const f = join(dir, 'sparse');
      const tail = pseudoRandomBytes(3, 4096);
      const h = await fs.open(f, 'w+');
      try {
        await writeAll(h, Buffer.from('head'), 0);
        await writeAll(h, tail, 100 * MiB);
        assert.equal((await h.stat()).size, 100 * MiB + 4096);
      } finally {
        await h.close();
      }
      assert.equal((await fs.stat(f)).size, 100 * MiB + 4096);
      const r = await fs.open(f, 'r');
      try {
        assert.equal((await readAt(r, 0, 4)).toString(), 'head');
        assert.ok(isZero(await readAt(r, 4, 64 * 1024)), 'hole after the head');
        assert.ok(isZero(await readAt(r, 50 * MiB, MiB)), 'hole in the middle');
        assert.ok(isZero(await readAt(r, 64 * MiB - 512, 1024)), 'hole across the chunk boundary');
        const edge = await readAt(r, 100 * MiB - 100, 200);
        assert.ok(isZero(edge.subarray(0, 100)));
        assert.deepEqual(edge.subarray(100), tail.subarray(0, 100));
        assert.deepEqual(await readAt(r, 100 * MiB, 8192), tail, 'read past EOF is short');
      } finally {
        await r.close();
      }
    },
  },
  {
    name: 'file larger than one 64 MiB chunk: 70 MiB in 1 MiB writes, sha256 matches',
    async run(fs, dir) {
      const f = join(dir, 'big');
      const piece = (i: number): Buffer => pseudoRandomBytes(1000 + i, MiB);
      const pieces = 70;
      const h = await fs.open(f, 'w');
      const want: Buffer[] = [];
      try {
        for (let i = 0; i < pieces; i++) {
          const p = piece(i);
          want.push(p);
          await writeAll(h, p, i * MiB);
        }
        await h.sync();
      } finally {
        await h.close();
      }
      assert.equal((await fs.stat(f)).size, pieces * MiB);
      const r = await fs.open(f, 'r');
      try {
        const got: Buffer[] = [];
        for (let i = 0; i < pieces; i++) got.push(await readAt(r, i * MiB, MiB));
        assert.equal(sha256(...got), sha256(...want), 'whole-file sha256');
        const across = await readAt(r, 64 * MiB - 3000, 6000);
        assert.deepEqual(
          across,
          Buffer.concat([want[63]!.subarray(MiB - 3000), want[64]!.subarray(0, 3000)]),
          'read across chunks',
        );
      } finally {
        await r.close();
      }
    },
  },
  {
    name: 'truncate grows with zeros and shrinks, by path and by handle',
    async run(fs, dir) {
      const f = join(dir, 'f');
      await fs.writeFile(f, 'hello world');
      await fs.truncate(f, 5);
      assert.equal((await fs.readFile(f)).toString(), 'hello');
      await fs.truncate(f, 10);
      assert.deepEqual(await fs.readFile(f), Buffer.concat([Buffer.from('hello'), Buffer.alloc(5)]));
      await fs.truncate(f, 3 * MiB + 17);
      const st = await fs.stat(f);
      assert.equal(st.size, 3 * MiB + 17);
      assert.ok(isZero((await fs.readFile(f)).subarray(5)), 'grown region is zeros');
      const h = await fs.open(f, 'r+');
      try {
        await h.truncate(2);
        assert.equal((await h.stat()).size, 2);
        await writeAll(h, Buffer.from('Z'), 6);
        assert.deepEqual(await readAt(h, 0, 10), Buffer.from([0x68, 0x65, 0, 0, 0, 0, 0x5a]));
        await h.truncate(0);
      } finally {
        await h.close();
      }
      assert.equal((await fs.stat(f)).size, 0);
      await fs.truncate(f, 0);
      assert.equal((await fs.readFile(f)).length, 0);
    },
  },
  {
    name: 'O_APPEND: concurrent appenders never overwrite each other',
    async run(fs, dir) {
      const f = join(dir, 'log');
      await fs.writeFile(f, '');
      const rec = (w: number, i: number): Buffer =>
        Buffer.from(`w${w}:${String(i).padStart(5, '0')}:${'x'.repeat(50)}\n`);
      const size = rec(0, 0).length;
      const writers = 3;
      const rounds = 60;
      const handles = await Promise.all(Array.from({ length: writers }, () => fs.open(f, 'a')));
      try {
        await Promise.all(
          handles.map(async (h, w) => {
            for (let i = 0; i < rounds; i++) {
              const b = rec(w, i);
              // position is ignored with O_APPEND: every write lands at the current end
              await h.write(b, 0, b.length, 0);
            }
          }),
        );
      } finally {
        for (const h of handles) await h.close();
      }
      await fs.appendFile(f, rec(9, 0));
      const data = await fs.readFile(f);
      assert.equal(data.length, (writers * rounds + 1) * size);
      const seen = new Set<string>();
      for (let off = 0; off < data.length; off += size) seen.add(data.subarray(off, off + size).toString());
      for (let w = 0; w < writers; w++)
        for (let i = 0; i < rounds; i++) assert.ok(seen.has(rec(w, i).toString()), `record w${w}:${i}`);
      assert.ok(data.subarray(data.length - size).equals(rec(9, 0)), 'appendFile lands at the end');
    },
  },
  {
    name: 'copyFile copies content and mode, replaces an existing target',
    async run(fs, dir) {
      const src = join(dir, 'src');
      const data = pseudoRandomBytes(11, 5 * MiB + 123);
      await fs.writeFile(src, data);
      await fs.chmod(src, 0o640);
      await fs.copyFile(src, join(dir, 'dst'));
      assert.equal(sha256(await fs.readFile(join(dir, 'dst'))), sha256(data));
      assert.equal((await fs.stat(join(dir, 'dst'))).mode & 0o777, 0o640);
      await fs.writeFile(join(dir, 'small'), 'tiny');
      await fs.copyFile(join(dir, 'small'), join(dir, 'dst'));
      assert.equal((await fs.readFile(join(dir, 'dst'))).toString(), 'tiny');
      assert.equal(sha256(await fs.readFile(src)), sha256(data), 'source untouched');
    },
  },
];
