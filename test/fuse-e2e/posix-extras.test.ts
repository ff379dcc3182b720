/**
 * Mount-only POSIX checks driven by python3 children (flock and fcntl locks between two
 * processes, mmap, xattrs, nanosecond times, ownership and permissions as other users,
 * sticky and setgid directories, special files, statfs, the virtual files). One SQLite +
 * file-store volume with trash disabled, one mount daemon for the whole file.
 */
import { describe, expect, it } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import { blockCount } from '../helpers/mount.js';
import { Interactive, ok, py } from '../helpers/proc.js';
import { useScenarioMount } from './scenario-suite.js';
import * as P from './py-snippets.js';

describe.skipIf(!fuseAvailable())('POSIX extras on a mount (python children)', () => {
  const sm = useScenarioMount('sqlite-file', { formatArgs: ['--trash-days', '0', '--capacity', '100'] });
  const runPy = async (name: string, body: string): Promise<string> => {
    const r = await py(P.PRELUDE + body, [sm.mount().mp], { timeoutMs: 30_000 });
    if (r.code !== 0 || r.timedOut)
      throw new Error(
        `${name} failed (${r.code}${r.timedOut ? ', timed out' : ''})\n${r.stderr}\n${r.stdout}\ndaemon log:\n${sm.mount().log().slice(-3000)}`,
      );
    return r.stdout.trim();
  };

  it('flock between two processes: LOCK_NB fails, a blocking lock waits for the release', async () => {
    const r = JSON.parse(await runPy('flock', P.FLOCK_PY)) as { waited: number };
    expect(r.waited).toBeGreaterThan(0.2);
  });

  it('fcntl byte-range locks between two processes: F_GETLK, EAGAIN, F_SETLKW waits, close releases', async () => {
    const r = JSON.parse(await runPy('fcntl', P.FCNTL_PY)) as { waited: number };
    expect(r.waited).toBeGreaterThan(0.25);
  });

  it('mmap MAP_SHARED reads and writes reach the file after msync', async () => {
    expect(await runPy('mmap', P.MMAP_PY)).toBe('OK');
  });

  it('xattr set/get/list/remove, XATTR_CREATE/REPLACE, ENODATA, EPERM on symlinks', async () => {
    expect(await runPy('xattr', P.XATTR_PY)).toBe('OK');
  });

  it('utimensat keeps nanoseconds (path, fd, symlink), chmod moves ctime', async () => {
    expect(await runPy('times', P.TIMES_PY)).toBe('OK');
  });

  it('chown/chmod as root; EACCES/EPERM for another user; supplementary groups count', async () => {
    expect(await runPy('ownership', P.OWNERSHIP_PY)).toBe('OK');
  });

  it("sticky directory protects other users' files; setgid directory passes its group on", async () => {
    expect(await runPy('sticky/setgid', P.STICKY_SETGID_PY)).toBe('OK');
  });

  it('writes, O_TRUNC and truncate by other users drop setuid/setgid; small writes cost no xattr round trip each', async () => {
    const r = JSON.parse(await runPy('killpriv', P.KILLPRIV_PY)) as { getxattr: number };
    // HANDLE_KILLPRIV_V2: the kernel checks security.capability once per inode, not per write.
    expect(r.getxattr).toBeLessThanOrEqual(2);
  });

  it('mknod: fifo works between two processes, char device keeps rdev, socket node', async () => {
    expect(await runPy('special', P.SPECIAL_PY)).toBe('OK');
  });

  it('statfs/df: 4 KiB blocks, capacity, used space and inodes follow writes', async () => {
    const s = JSON.parse(await runPy('statfs', P.STATFS_PY)) as Record<string, number> & { df: string[] };
    expect(s['bsize']).toBe(4096);
    expect(s['namemax']).toBe(255);
    expect(s['blocks']! * s['frsize']!).toBe(100 * 1024 ** 3);
    expect(s['bfree']).toBeLessThan(s['blocks']!);
    expect(s['bavail']).toBe(s['bfree']);
    expect(s['used_delta']).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    expect(s['files_delta']).toBe(1); // the new file
    expect(s.df[0]).toBe(`tjfs:${sm.volume().name}`);
    expect(Number(s.df[1])).toBe(100 * 1024 * 1024);
  });

  it('.stats is Prometheus text with juicefs_fuse_ops_durations_histogram_seconds', async () => {
    const r = JSON.parse(await runPy('.stats', P.STATS_PY)) as {
      hist: boolean;
      getattr: boolean;
      lines: number;
    };
    expect(r).toMatchObject({ hist: true, getattr: true });
    expect(r.lines).toBeGreaterThan(20);
  });

  it('.accesslog streams a line for an op done while it is being read', async () => {
    const r = JSON.parse(await runPy('.accesslog', P.ACCESSLOG_PY)) as { line: string };
    expect(r.line).toMatch(/lookup/);
    expect(r.line).toMatch(/no such file|ENOENT/i);
  });

  it('without trash, removing one of two hard links drops nlink to 1', async () => {
    const code = `import os, sys
d = sys.argv[1] + '/nlink'; os.mkdir(d); open(d + '/a', 'w').close(); os.link(d + '/a', d + '/b')
n2 = os.stat(d + '/b').st_nlink; os.unlink(d + '/a'); print(n2, os.stat(d + '/b').st_nlink)`;
    expect(ok(await py(code, [sm.mount().mp])).trim()).toBe('2 1');
  });

  it('open-but-unlinked on one mount: readable until the last close, then its blocks are deleted', async () => {
    const mp = sm.mount().mp;
    ok(
      await py(`import sys; open(sys.argv[1] + '/held.bin', 'wb').write(bytes(range(256)) * 4096 * 3)`, [mp]),
      'create',
    );
    const before = blockCount(sm.volume());
    const holder = Interactive.python(P.HOLDER_PY, [mp, 'held.bin']);
    try {
      await holder.expect('open');
      ok(
        await py(
          'import os, sys; os.unlink(sys.argv[1] + "/held.bin"); print(os.path.exists(sys.argv[1] + "/held.bin"))',
          [mp],
        ),
        'unlink',
      );
      holder.send('read');
      const want = ok(
        await py('import hashlib; print(hashlib.sha256(bytes(range(256)) * 4096 * 3).hexdigest())'),
      ).trim();
      expect(await holder.expect('sha')).toBe(`sha ${want} ${3 * 1024 * 1024}`);
      expect(blockCount(sm.volume())).toBe(before); // a sustained inode keeps its blocks
      holder.send('close');
      await holder.expect('closed');
    } finally {
      holder.kill();
    }
    const deadline = Date.now() + 10_000;
    while (blockCount(sm.volume()) >= before && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(blockCount(sm.volume())).toBeLessThan(before);
  });

  it('.config hides secrets (checked on an s3 volume in scenarios-redis-s3) and reflects mount flags', async () => {
    const text = ok(
      await py('import sys; print(open(sys.argv[1] + "/.config").read())', [sm.mount().mp]),
      '.config',
    );
    const cfg = JSON.parse(text) as { Format: { TrashDays: number; Capacity?: number } };
    expect(cfg.Format.TrashDays).toBe(0);
  });
});
