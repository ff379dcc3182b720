/**
 * Real-mount tests of kernel cache invalidation (INVAL_INODE, INVAL_ENTRY, DELETE) after
 * "remote" changes made behind the kernel's back, the no-deadlock rule (a notification
 * started inside a handler for the same directory), and a printed (not asserted)
 * measurement of LOOKUP latency and 1 MiB sequential throughput.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanup, fuseAvailable, mountMem, py } from './harness.js';
import type { Mounted } from './harness.js';
import type { RequestContext } from '../../src/fuse/fuse-ops.js';
import type { Ino } from '../../src/base/types.js';

const enabled = fuseAvailable();
let m: Mounted | undefined;

const STAT = `
import os, sys
try:
    st = os.stat(sys.argv[1]); print(st.st_size)
except FileNotFoundError:
    print('ENOENT')
`;

describe.skipIf(!enabled)('FUSE notifications on a real mount', () => {
  beforeEach(async () => {
    m = await mountMem();
    m.fs.ttl = 60; // long kernel caches, so only notifications can refresh them
  });
  afterEach(async () => {
    await cleanup(m);
    m = undefined;
  });

  it('invalidates attributes, data and entries changed behind the kernel', async () => {
    const { mnt, fs, session } = m as Mounted;
    await py(
      `import sys; open(sys.argv[1] + '/n', 'wb').write(b'aaaa'); open(sys.argv[1] + '/n2', 'wb').write(b'x')`,
      [mnt],
    );
    expect((await py(STAT, [`${mnt}/n`])).trim()).toBe('4');
    const root = fs.nodes.get(1n)?.children;
    const ino = root?.get('n') as Ino;
    const node = fs.nodes.get(ino);
    if (node === undefined || root === undefined) throw new Error('test setup');
    node.data = Buffer.from('bbbbbbbb');
    node.attr.length = 8;
    expect((await py(STAT, [`${mnt}/n`])).trim()).toBe('4'); // still cached
    expect(await session.notifyInvalInode(ino, 0, 0)).toBe(true);
    expect(
      (await py(`import sys; print(open(sys.argv[1], 'rb').read().decode())`, [`${mnt}/n`])).trim(),
    ).toBe('bbbbbbbb');

    root.delete('n');
    expect((await py(STAT, [`${mnt}/n`])).trim()).toBe('8'); // dentry cached
    expect(await session.notifyDelete(1n, ino, 'n')).toBe(true);
    expect((await py(STAT, [`${mnt}/n`])).trim()).toBe('ENOENT');

    const ino2 = root.get('n2') as Ino;
    root.delete('n2');
    root.set('n3', ino2);
    expect((await py(STAT, [`${mnt}/n2`])).trim()).toBe('1');
    expect(await session.notifyInvalEntry(1n, 'n2')).toBe(true);
    expect((await py(STAT, [`${mnt}/n2`])).trim()).toBe('ENOENT');
    expect((await py(STAT, [`${mnt}/n3`])).trim()).toBe('1');

    expect(await session.notifyInvalInode(424242n)).toBe(false); // unknown to the kernel
    expect(session.stats.notifyErrors).toBe(0);
  });

  it('a notification started inside a handler of the same directory does not deadlock', async () => {
    const { mnt, fs, session } = m as Mounted;
    const mkdir = fs.mkdir.bind(fs);
    let pending: Promise<boolean> | undefined;
    fs.mkdir = (ctx: RequestContext, parent: Ino, name: Buffer, mode: number) => {
      pending = session.notifyInvalEntry(parent, 'other-name');
      return mkdir(ctx, parent, name, mode);
    };
    await py(`import os, sys; os.mkdir(sys.argv[1] + '/sub'); print('made')`, [mnt], 10_000);
    expect(pending).toBeDefined();
    expect(typeof (await pending)).toBe('boolean');
  });

  it('measures LOOKUP latency and 1 MiB sequential throughput (printed, not asserted)', async () => {
    const { mnt } = m as Mounted;
    (m as Mounted).fs.ttl = 1;
    const script = `
import os, sys, time
m, local = sys.argv[1], sys.argv[2]
def neg(d, n=3000):
    t = time.perf_counter()
    for i in range(n):
        try: os.stat('%s/missing%d' % (d, i))
        except FileNotFoundError: pass
    return (time.perf_counter() - t) / n * 1e6
buf = os.urandom(1 << 20); S = 128
fd = os.open(m + '/seq', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
t = time.perf_counter()
for i in range(S): os.write(fd, buf)
os.fsync(fd); os.close(fd)
w = S / (time.perf_counter() - t)
fd = os.open(m + '/seq', os.O_RDONLY)
t = time.perf_counter()
while os.read(fd, 1 << 20): pass
r = S / (time.perf_counter() - t)
os.close(fd)
print('neg-lookup %.1f us (local dir %.1f us) | seq write %.0f MiB/s | seq read %.0f MiB/s' % (neg(m), neg(local), w, r))
`;
    const out = await py(script, [mnt, '/tmp'], 120_000);
    console.log(`[tjfs fuse bench] ${out.trim()}`);
    expect(out).toContain('neg-lookup');
  });
});
