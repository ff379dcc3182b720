/**
 * Mount modes on real mounts: `-d` (returns once mounted, the daemon keeps serving and
 * exits on `tjfs umount`), `--writeback` (close commits locally staged blocks, which reach
 * the bucket in the background and read back from a plain mount), and the volume inode
 * limit surfacing as ENOSPC.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import {
  blockCount,
  isMounted,
  processesMentioning,
  tjfs,
  type Volume,
  useE2eEnv,
  waitFor,
} from '../helpers/mount.js';
import { ok, py } from '../helpers/proc.js';

const WRITE = `import sys, os; open(sys.argv[1] + '/' + sys.argv[2], 'wb').write(os.urandom(int(sys.argv[3])))`;
const SHA = `import sys, hashlib; print(hashlib.sha256(open(sys.argv[1] + '/' + sys.argv[2], 'rb').read()).hexdigest())`;

describe.skipIf(!fuseAvailable())('mount modes', () => {
  const e = useE2eEnv('modes');

  it('-d returns once mounted; the background daemon serves and exits on umount', async () => {
    const vol: Volume = await e().createVolume('sqlite-file');
    const mp = join(e().base, 'mnt-bg');
    const r = await tjfs([
      'mount',
      vol.metaUrl,
      mp,
      '-d',
      '--cache-dir',
      join(e().base, 'cache-bg'),
      '--log',
      join(e().base, 'bg.log'),
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/mounted in the background \(pid \d+/);
    expect(isMounted(mp)).toBe(true);
    ok(await py(WRITE, [mp, 'f', 4096]));
    // The daemon runs with a 16-thread libuv pool (uploads, cache and store I/O).
    const pid = Number(/pid (\d+)/.exec(r.stdout)?.[1]);
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    expect(environ).toContain('UV_THREADPOOL_SIZE=16');
    expect(ok(await py(SHA, [mp, 'f'])).trim()).toMatch(/^[0-9a-f]{64}$/);
    expect((await tjfs(['umount', mp])).code).toBe(0);
    expect(await waitFor(() => processesMentioning(mp).length === 0, 10_000)).toBe(true);
    expect(isMounted(mp)).toBe(false);
  });

  it('--writeback: data closed on a writeback mount reaches the bucket and reads back elsewhere', async () => {
    const vol = await e().createVolume('sqlite-file', { formatArgs: ['--trash-days', '0'] });
    const wb = await e().mount(vol, ['--writeback'], 'mnt-wb');
    ok(await py(WRITE, [wb.mp, 'staged', 3 * 1024 * 1024 + 7]));
    const sha = ok(await py(SHA, [wb.mp, 'staged'])).trim();
    expect(await waitFor(() => blockCount(vol) >= 1, 15_000)).toBe(true);
    await e().unmount(wb);
    const plain = await e().mount(vol, ['--cache-size', '0'], 'mnt-plain');
    expect(ok(await py(SHA, [plain.mp, 'staged'])).trim()).toBe(sha);
    await e().unmount(plain);
  });

  it('the volume inode limit (--inodes) surfaces as ENOSPC', async () => {
    const vol = await e().createVolume('sqlite-file', { formatArgs: ['--inodes', '3', '--trash-days', '0'] });
    const m = await e().mount(vol, [], 'mnt-full');
    const out = ok(
      await py(
        `import sys, errno
made = 0
for i in range(5):
    try:
        open(sys.argv[1] + '/f%d' % i, 'w').close(); made += 1
    except OSError as e:
        print(made, errno.errorcode[e.errno]); break`,
        [m.mp],
      ),
    );
    expect(out.trim()).toBe('3 ENOSPC');
    await e().unmount(m);
  });
});
