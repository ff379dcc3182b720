/**
 * `mount -o writeback_cache` (JuiceFS passes it to libfuse; here it is the INIT flag): the
 * kernel buffers small writes in its page cache and sends them in large WRITEs, so 2,000
 * unbuffered 64-byte writes reach the daemon as a handful of requests (a plain mount of the
 * same volume gets one WRITE each, the contrast in the same run). A write-only handle that
 * patches the middle of a file makes the kernel read the partial pages through that handle,
 * which the daemon must serve. What was written is on the volume at close: a second mount
 * without the option reads it back.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import { useE2eEnv } from '../helpers/mount.js';
import { ok, py } from '../helpers/proc.js';

const SMALL_WRITES = `import sys, os
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
for i in range(2000): os.write(fd, bytes([65 + i % 26]) * 64)
os.close(fd)`;

// Patches 3 bytes at 5000 and 100 bytes at 12000 through an O_WRONLY handle (no O_TRUNC).
const PATCH = `import sys, os
fd = os.open(sys.argv[1], os.O_WRONLY)
os.pwrite(fd, b'XYZ', 5000)
os.pwrite(fd, b'Q' * 100, 12000)
os.close(fd)`;

async function writeCount(mp: string): Promise<number> {
  const stats = await readFile(join(mp, '.stats'), 'utf8');
  const m = /^juicefs_fuse_ops_durations_histogram_seconds_count\{[^}]*method="write"[^}]*\} (\d+)/m.exec(
    stats,
  );
  return m ? Number(m[1]) : 0;
}

function expected(): Buffer {
  const b = Buffer.alloc(2000 * 64);
  for (let i = 0; i < 2000; i++) b.fill(65 + (i % 26), i * 64, (i + 1) * 64);
  return b;
}

describe.skipIf(!fuseAvailable())('-o writeback_cache', () => {
  const env = useE2eEnv('wbcache');

  it('merges small writes in the kernel, serves reads of write-only handles, and commits at close', async () => {
    const vol = await env().createVolume('sqlite-file');
    const wb = await env().mount(vol, ['-o', 'writeback_cache']);
    const plain = await env().mount(vol, []);

    // Small writes: one WRITE each on the plain mount, merged on the writeback mount.
    const w0 = await writeCount(plain.mp);
    ok(await py(SMALL_WRITES, [join(plain.mp, 'plain.bin')]), 'small writes, plain');
    const plainWrites = (await writeCount(plain.mp)) - w0;
    const b0 = await writeCount(wb.mp);
    ok(await py(SMALL_WRITES, [join(wb.mp, 'wb.bin')]), 'small writes, writeback_cache');
    const wbWrites = (await writeCount(wb.mp)) - b0;
    expect(plainWrites).toBeGreaterThanOrEqual(2000);
    expect(wbWrites).toBeGreaterThan(0);
    expect(wbWrites).toBeLessThan(100);

    // Committed at close: the other mount reads both files whole.
    const want = expected();
    expect((await readFile(join(plain.mp, 'wb.bin'))).equals(want)).toBe(true);
    expect((await readFile(join(wb.mp, 'plain.bin'))).equals(want)).toBe(true);

    // A write-only handle patching inside pages of a file this mount never cached (written
    // by the other mount): the kernel reads the rest of each page through that handle.
    ok(await py(SMALL_WRITES, [join(plain.mp, 'third.bin')]), 'small writes, third');
    ok(await py(PATCH, [join(wb.mp, 'third.bin')]), 'patch through O_WRONLY');
    want.write('XYZ', 5000);
    want.fill('Q', 12000, 12100);
    const back = await readFile(join(plain.mp, 'third.bin'));
    expect(back.length).toBe(want.length);
    expect(back.equals(want)).toBe(true);
    expect((await readFile(join(wb.mp, 'third.bin'))).equals(want)).toBe(true);
  }, 120_000);

  it("the trade-off: another client's size change of a file this mount has cached stays unseen", async () => {
    const vol = await env().createVolume('sqlite-file');
    const wb = await env().mount(vol, ['-o', 'writeback_cache']);
    const plain = await env().mount(vol, []);
    const size = async (mp: string): Promise<number> =>
      Number(ok(await py('import os, sys; print(os.stat(sys.argv[1]).st_size, end="")', [join(mp, 'f')])));
    ok(await py(`open(__import__('sys').argv[1], 'w').write('0123456789')`, [join(plain.mp, 'f')]));
    expect(await size(wb.mp)).toBe(10);
    expect((await readFile(join(wb.mp, 'f'), 'utf8')).length).toBe(10);
    ok(await py(`open(__import__('sys').argv[1], 'a').write('abcdefghij')`, [join(plain.mp, 'f')]));
    await new Promise((r) => setTimeout(r, 1500)); // past the 1 s attribute cache
    expect(await size(plain.mp)).toBe(20);
    // The kernel keeps its own size of a regular file under writeback_cache (docs/SEMANTICS.md).
    // If a kernel ever takes the daemon's size here, this fails: update SEMANTICS then.
    expect(await size(wb.mp)).toBe(10);
  }, 60_000);
});
