/**
 * Real-mount end-to-end tests of src/fuse over the in-memory MemOps file system.
 * The mount lives in this process; every file-system access comes from a child python3
 * process (the daemon must never touch its own mount synchronously). Each test mounts a
 * fresh file system and unmounts it in afterEach, even on failure.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Opcode } from '../../src/fuse/abi.js';
import { cleanup, fuseAvailable, isMounted, mountMem, py } from './harness.js';
import type { Mounted } from './harness.js';

const enabled = fuseAvailable();
let m: Mounted | undefined;
const used: string[] = [];

describe.skipIf(!enabled)('FUSE real mount (MemOps)', () => {
  beforeEach(async () => {
    m = await mountMem();
    used.push(m.mnt);
  });

  afterEach(async () => {
    const mnt = m?.mnt;
    await cleanup(m);
    m = undefined;
    if (mnt !== undefined) expect(isMounted(mnt)).toBe(false);
  });

  afterAll(() => {
    // Other test files may mount concurrently: check only the mount points used here.
    for (const mnt of used) expect(isMounted(mnt)).toBe(false);
  });

  const mnt = (): string => (m as Mounted).mnt;
  const mm = (): Mounted => m as Mounted;

  it('writes and reads back 3 MiB in big WRITEs', async () => {
    const out = await py(
      `
import os, sys, hashlib
p = sys.argv[1] + '/big'
data = os.urandom(3 * 1024 * 1024)
with open(p, 'wb') as f:
    f.write(data)
with open(p, 'rb') as f:
    back = f.read()
assert back == data, 'mismatch'
print(os.stat(p).st_size, hashlib.sha256(back).hexdigest() == hashlib.sha256(data).hexdigest())
`,
      [mnt()],
    );
    expect(out.trim()).toBe(`${3 * 1024 * 1024} True`);
    // 1 MiB max_write: 3 MiB arrive in a handful of WRITEs, not 768 pages.
    expect(mm().fs.calls.get('write') ?? 0).toBeLessThanOrEqual(8);
    expect(mm().session.caps?.maxWrite).toBe(1 << 20);
  });

  it('does namespace, attribute and xattr operations', async () => {
    const out = await py(
      `
import os, sys, stat, errno, ctypes
m = sys.argv[1]
os.mkdir(m + '/d', 0o750)
assert stat.S_IMODE(os.stat(m + '/d').st_mode) == 0o750
for i in range(300):
    open(m + '/d/f%03d' % i, 'w').close()
names = sorted(os.listdir(m + '/d'))
assert names == ['f%03d' % i for i in range(300)], len(names)
os.rename(m + '/d/f000', m + '/d/g000')
assert os.path.exists(m + '/d/g000') and not os.path.exists(m + '/d/f000')
os.unlink(m + '/d/g000')
assert not os.path.exists(m + '/d/g000')
os.symlink('d/f001', m + '/ln')
assert os.readlink(m + '/ln') == 'd/f001' and os.path.islink(m + '/ln')
with open(m + '/x', 'wb') as f: f.write(b'0123456789')
os.setxattr(m + '/x', 'user.k', b'value')
assert os.getxattr(m + '/x', 'user.k') == b'value'
assert 'user.k' in os.listxattr(m + '/x')
os.removexattr(m + '/x', 'user.k')
try:
    os.getxattr(m + '/x', 'user.k'); raise SystemExit('xattr still there')
except OSError as e:
    assert e.errno == errno.ENODATA
os.truncate(m + '/x', 4)
assert open(m + '/x', 'rb').read() == b'0123'
os.chmod(m + '/x', 0o604)
assert stat.S_IMODE(os.stat(m + '/x').st_mode) == 0o604
os.utime(m + '/x', ns=(1_600_000_000_123_456_789, 1_700_000_000_987_654_321))
st = os.stat(m + '/x')
assert st.st_atime_ns == 1_600_000_000_123_456_789, st.st_atime_ns
assert st.st_mtime_ns == 1_700_000_000_987_654_321, st.st_mtime_ns
os.link(m + '/x', m + '/x2')
assert os.stat(m + '/x').st_ino == os.stat(m + '/x2').st_ino and os.stat(m + '/x').st_nlink == 2
os.mkfifo(m + '/fifo')
assert stat.S_ISFIFO(os.stat(m + '/fifo').st_mode)
libc = ctypes.CDLL(None, use_errno=True)
rc = libc.renameat2(-100, (m + '/x').encode(), -100, (m + '/x2').encode(), 1)
assert rc == -1 and ctypes.get_errno() == errno.EEXIST
try:
    os.rmdir(m + '/d'); raise SystemExit('rmdir non-empty worked')
except OSError as e:
    assert e.errno == errno.ENOTEMPTY
fd = os.open(m + '/x', os.O_RDWR)
os.posix_fallocate(fd, 0, 8192)
assert os.fstat(fd).st_size == 8192
assert os.lseek(fd, 0, os.SEEK_DATA) == 0
out = os.open(m + '/copy', os.O_RDWR | os.O_CREAT, 0o644)
n = os.copy_file_range(fd, out, 4, 0, 0)
assert n == 4 and os.pread(out, 4, 0) == b'0123', n
os.fsync(fd)
os.close(fd); os.close(out)
with open(m + '/x', 'r+b') as f:
    pass
fd = os.open(m + '/x', os.O_WRONLY | os.O_TRUNC)
assert os.fstat(fd).st_size == 0
os.close(fd)
print('ok')
`,
      [mnt()],
    );
    expect(out.trim()).toBe('ok');
  });

  it('reports statfs values', async () => {
    const out = await py(
      `import os,sys; s=os.statvfs(sys.argv[1]); print(s.f_bsize, s.f_blocks, s.f_namemax)`,
      [mnt()],
    );
    expect(out.trim()).toBe(`4096 ${1 << 20} 255`);
  });

  it('answers unsupported operations with ENOSYS and counts them', async () => {
    const out = await py(
      `
import os, sys, fcntl, termios, errno
fd = os.open(sys.argv[1] + '/f', os.O_RDWR | os.O_CREAT, 0o644)
try:
    fcntl.ioctl(fd, termios.TIOCGWINSZ, b'\\0' * 8); print('no error')
except OSError as e:
    print(errno.errorcode[e.errno])
`,
      [mnt()],
    );
    expect(out.trim()).toBe('ENOTTY');
    expect(mm().session.stats.enosys.get(Opcode.IOCTL)).toBeGreaterThanOrEqual(1);
    expect(mm().session.stats.unknownOpcodes).toBeGreaterThanOrEqual(1);
  });
});
