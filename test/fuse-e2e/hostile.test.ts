/**
 * Hostile arguments from an unprivileged user (uid 65534) on a mount: each call that used
 * to make the daemon do one step per 64 MiB chunk of the range it names (and die at V8's
 * heap limit) now finishes at once with the right answer, the daemon's memory stays flat,
 * and the mount keeps serving. Also long names and oversized xattrs get their errno.
 */
import { describe, expect, it } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import { ok, py, rssMiB } from '../helpers/proc.js';
import { useScenarioMount } from './scenario-suite.js';
import * as P from './py-snippets.js';

const HOSTILE_PY = `
import ctypes, ctypes.util, time
libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE = 1, 2, 16
def fallocate(fd, mode, off, n):
    if libc.fallocate(fd, mode, off, n) != 0:
        e = ctypes.get_errno(); raise OSError(e, os.strerror(e))
d = os.path.join(mp, 'hostile'); os.mkdir(d); os.chown(d, 65534, 65534)
times = {}
def timed(name, fn, *a):
    t0 = time.time(); r = fn(*a); times[name] = round(time.time() - t0, 3); return r
def body():
    f = os.path.join(d, 'huge')
    fd = os.open(f, os.O_RDWR | os.O_CREAT, 0o644)
    timed('truncate 888 TiB', os.ftruncate, fd, 999999999999999)
    assert os.fstat(fd).st_size == 999999999999999
    assert os.pread(fd, 4096, 999999999999999 - 4096) == bytes(4096)
    timed('truncate down', os.ftruncate, fd, 0)
    assert os.fstat(fd).st_size == 0
    os.pwrite(fd, b'head', 0); os.pwrite(fd, b'tail', 2**40)
    os.fsync(fd)
    timed('punch 2^55', fallocate, fd, PUNCH_HOLE | KEEP_SIZE, 0, 2**55)
    assert os.fstat(fd).st_size == 2**40 + 4, os.fstat(fd).st_size
    assert os.pread(fd, 4, 0) == bytes(4) and os.pread(fd, 4, 2**40) == bytes(4)
    os.pwrite(fd, b'data', 2**30)
    timed('zero range 2^50', fallocate, fd, ZERO_RANGE, 0, 2**50)
    assert os.fstat(fd).st_size == 2**50, os.fstat(fd).st_size
    assert os.pread(fd, 4, 2**30) == bytes(4)
    timed('keep-size allocate 2^55', fallocate, fd, KEEP_SIZE, 0, 2**55)
    assert os.fstat(fd).st_size == 2**50
    os.ftruncate(fd, 0); os.pwrite(fd, b'x' * 10, 0); os.pwrite(fd, b'y' * 10, 3 * 2**26 + 5)
    dst = os.open(os.path.join(d, 'copy'), os.O_RDWR | os.O_CREAT, 0o644)
    n = timed('copy_file_range 2^62', os.copy_file_range, fd, dst, 2**62, 0, 0)
    size = os.fstat(fd).st_size
    assert 0 < n <= size, (n, size)
    assert os.pread(dst, 10, 0) == b'x' * 10
    os.close(dst); os.close(fd)
    expect_errno(errno.ENAMETOOLONG, open, os.path.join(d, 'n' * 256), 'w')
    open(os.path.join(d, 'n' * 255), 'w').close()
    expect_errno(errno.E2BIG, os.setxattr, f, 'user.big', b'v' * 65537)
    os.unlink(f)
    sys.stdout.write(json.dumps(times) + '\\n'); sys.stdout.flush()  # the child ends with os._exit
as_user(65534, body)
`;

describe.skipIf(!fuseAvailable())('hostile arguments as an unprivileged user', () => {
  const sm = useScenarioMount('sqlite-file', { formatArgs: ['--trash-days', '0'] });

  it('888 TiB truncates, 2^55 fallocates and a 2^62 copy_file_range finish at once; the daemon stays small and serving', async () => {
    const before = rssMiB(sm.mount().pid);
    const r = await py(P.PRELUDE + HOSTILE_PY, [sm.mount().mp], { timeoutMs: 60_000 });
    if (r.code !== 0)
      throw new Error(`${r.stderr}\n${r.stdout}\ndaemon log:\n${sm.mount().log().slice(-3000)}`);
    const times = JSON.parse(ok(r).trim().split('\n').pop() ?? '{}') as Record<string, number>;
    expect(Object.keys(times)).toHaveLength(6);
    // Bounded work: each is one metadata transaction over what exists (seconds of slack for a loaded CI).
    for (const [op, secs] of Object.entries(times)) expect(secs, op).toBeLessThan(5);
    const after = rssMiB(sm.mount().pid);
    console.log(
      `[hostile] daemon RSS ${before.toFixed(0)} -> ${after.toFixed(0)} MiB; seconds per call ${JSON.stringify(times)}`,
    );
    expect(after - before).toBeLessThan(150);
    // Still serving.
    expect(
      ok(
        await py(`import os, sys; print(len(os.listdir(sys.argv[1] + '/hostile')))`, [sm.mount().mp]),
      ).trim(),
    ).toBe('2');
  }, 90_000);
});
