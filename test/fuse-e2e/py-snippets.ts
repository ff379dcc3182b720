/**
 * Python programs for the mount-only POSIX checks (things node:fs cannot do: flock, fcntl
 * locks, mmap, xattrs, nanosecond utimensat, setuid children, mknod). Each program gets
 * the mount point as argv[1], works in a fresh sub-directory, raises on any deviation and
 * prints "OK" (or a JSON line) at the end. `as_user` forks a child that drops to a uid.
 */

export const PRELUDE = `
import os, sys, json, time, fcntl, struct, mmap, errno, stat, subprocess
mp = sys.argv[1]
def fresh(name):
    p = os.path.join(mp, name); os.mkdir(p); return p
def expect_errno(code, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except OSError as e:
        assert e.errno == code, f'{fn.__name__}{args}: errno {e.errno} ({os.strerror(e.errno)}), want {errno.errorcode[code]}'
        return
    raise AssertionError(f'{fn.__name__}{args}: succeeded, want {errno.errorcode[code]}')
def as_user(uid, fn, gid=None, groups=()):
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups(list(groups)); os.setgid(uid if gid is None else gid); os.setuid(uid); fn(); os._exit(0)
        except BaseException as e:
            sys.stderr.write(f'as uid {uid}: {e!r}\\n'); os._exit(1)
    _, st = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(st) == 0, f'child as uid {uid} failed'
`;

export const FLOCK_PY = `
d = fresh('flock'); p = d + '/f'; open(p, 'w').close()
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    fd = os.open(p, os.O_RDWR); fcntl.flock(fd, fcntl.LOCK_EX); os.write(w, b'L')
    time.sleep(0.5); fcntl.flock(fd, fcntl.LOCK_UN); time.sleep(0.2); os._exit(0)
assert os.read(r, 1) == b'L'
fd = os.open(p, os.O_RDWR)
expect_errno(errno.EWOULDBLOCK, fcntl.flock, fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
expect_errno(errno.EWOULDBLOCK, fcntl.flock, fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
t0 = time.time(); fcntl.flock(fd, fcntl.LOCK_EX); waited = time.time() - t0
assert waited > 0.2, f'blocking flock returned after {waited:.3f}s, before the holder released'
os.waitpid(pid, 0)
fcntl.flock(fd, fcntl.LOCK_UN)
# shared locks coexist; a lock dies with its file description
pid = os.fork()
if pid == 0:
    fd2 = os.open(p, os.O_RDONLY); fcntl.flock(fd2, fcntl.LOCK_SH); os.write(w, b'S'); time.sleep(0.3); os._exit(0)
assert os.read(r, 1) == b'S'
fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB); fcntl.flock(fd, fcntl.LOCK_UN)
os.waitpid(pid, 0)
# The holder exited: its lock goes with the kernel's RELEASE, which FUSE sends
# asynchronously after the last close, so allow it a moment to arrive.
t0 = time.time()
while True:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); break
    except BlockingIOError:
        assert time.time() - t0 < 2, 'flock of an exited holder was never released'
        time.sleep(0.01)
os.close(fd)
print(json.dumps({'waited': round(waited, 3), 'release_lag': round(time.time() - t0, 3)}))
`;

export const FCNTL_PY = `
d = fresh('fcntl'); p = d + '/f'; open(p, 'w').write('x' * 1000)
r, w = os.pipe(); r2, w2 = os.pipe()
pid = os.fork()
if pid == 0:
    fd = os.open(p, os.O_RDWR); fcntl.lockf(fd, fcntl.LOCK_EX, 100, 0); os.write(w, b'L')
    os.read(r2, 1); time.sleep(0.4); fcntl.lockf(fd, fcntl.LOCK_UN, 100, 0); time.sleep(0.2); os._exit(0)
assert os.read(r, 1) == b'L'
fd = os.open(p, os.O_RDWR)
# F_GETLK: struct flock {short l_type, l_whence; off_t l_start, l_len; pid_t l_pid}
q = struct.pack('hhqqixxxx', fcntl.F_WRLCK, 0, 10, 5, 0)
t, _, start, ln, lpid = struct.unpack('hhqqixxxx', fcntl.fcntl(fd, fcntl.F_GETLK, q))
assert t == fcntl.F_WRLCK and start == 0 and ln == 100, (t, start, ln)
assert lpid == pid, f'F_GETLK pid {lpid}, holder {pid}'
q = struct.pack('hhqqixxxx', fcntl.F_WRLCK, 0, 200, 10, 0)
t = struct.unpack('hhqqixxxx', fcntl.fcntl(fd, fcntl.F_GETLK, q))[0]
assert t == fcntl.F_UNLCK, 'range 200..209 is free'
expect_errno(errno.EAGAIN, fcntl.lockf, fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 50)
expect_errno(errno.EAGAIN, fcntl.lockf, fd, fcntl.LOCK_SH | fcntl.LOCK_NB, 1, 99)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 200)  # non-overlapping range
os.write(w2, b'go')
t0 = time.time(); fcntl.lockf(fd, fcntl.LOCK_EX, 100, 0); waited = time.time() - t0
assert waited > 0.25, f'F_SETLKW returned after {waited:.3f}s, before the holder released'
os.waitpid(pid, 0)
# closing any fd of the file drops this process's POSIX locks
fd3 = os.open(p, os.O_RDONLY); os.close(fd3)
pid = os.fork()
if pid == 0:
    fd4 = os.open(p, os.O_RDWR); fcntl.lockf(fd4, fcntl.LOCK_EX | fcntl.LOCK_NB, 0, 0); os._exit(0)
_, st = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(st) == 0, 'locks were released by close()'
os.close(fd)
print(json.dumps({'waited': round(waited, 3)}))
`;

export const MMAP_PY = `
d = fresh('mmap'); p = d + '/m'
data = bytes(range(256)) * 64 * 4  # 64 KiB
with open(p, 'wb') as f: f.write(data)
fd = os.open(p, os.O_RDWR)
m = mmap.mmap(fd, len(data), mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
assert m[:4096] == data[:4096] and m[60000:61000] == data[60000:61000], 'mmap read sees written data'
m[100:105] = b'HELLO'; m[40000:40003] = b'xyz'; m.flush(); m.close(); os.close(fd)
want = bytearray(data); want[100:105] = b'HELLO'; want[40000:40003] = b'xyz'
assert open(p, 'rb').read() == want, 'read() sees msync-ed mmap writes'
# O_DIRECT bypasses the page cache: the daemon itself must hold the mmap-written bytes
fd = os.open(p, os.O_RDONLY | os.O_DIRECT); buf = mmap.mmap(-1, len(data))
n = os.readv(fd, [buf]); os.close(fd)
assert n == len(data) and buf[:] == want, 'O_DIRECT read after msync'
# mmap of a file grown by ftruncate, written, then read back through a new open
q = d + '/grown'; fd = os.open(q, os.O_RDWR | os.O_CREAT, 0o644); os.ftruncate(fd, 3 * 4096 + 7)
m = mmap.mmap(fd, 3 * 4096 + 7); m[-7:] = b'tail!!!'; m.flush(); m.close(); os.close(fd)
got = open(q, 'rb').read()
assert got == bytes(3 * 4096) + b'tail!!!', 'grown + mmap-written file'
print('OK')
`;

export const XATTR_PY = `
d = fresh('xattr'); p = d + '/x'; open(p, 'w').close()
os.setxattr(p, 'user.k', b'v1'); assert os.getxattr(p, 'user.k') == b'v1'
os.setxattr(p, 'user.big', b'z' * 4000); assert os.getxattr(p, 'user.big') == b'z' * 4000
os.setxattr(p, 'user.empty', b''); assert os.getxattr(p, 'user.empty') == b''
assert sorted(os.listxattr(p)) == ['user.big', 'user.empty', 'user.k'], os.listxattr(p)
expect_errno(errno.EEXIST, os.setxattr, p, 'user.k', b'v2', os.XATTR_CREATE)
expect_errno(errno.ENODATA, os.setxattr, p, 'user.new', b'v', os.XATTR_REPLACE)
os.setxattr(p, 'user.k', b'v2', os.XATTR_REPLACE); assert os.getxattr(p, 'user.k') == b'v2'
os.removexattr(p, 'user.k')
expect_errno(errno.ENODATA, os.getxattr, p, 'user.k')
expect_errno(errno.ENODATA, os.removexattr, p, 'user.k')
expect_errno(errno.ENODATA, os.getxattr, p, 'user.never')
os.setxattr(d, 'user.dir', b'1'); assert os.listxattr(d) == ['user.dir']
os.symlink('x', d + '/l')
expect_errno(errno.EPERM, os.setxattr, d + '/l', 'user.k', b'v', follow_symlinks=False)
assert os.getxattr(d + '/l', 'user.big') == b'z' * 4000, 'follows the link'
os.setxattr(p, 'trusted.t', b'root only')  # root may use trusted.*
assert os.getxattr(p, 'trusted.t') == b'root only'
print('OK')
`;

export const TIMES_PY = `
d = fresh('times'); p = d + '/t'; open(p, 'w').close()
os.utime(p, ns=(1_600_000_000_123_456_789, 1_700_000_000_987_654_321))
st = os.stat(p)
assert (st.st_atime_ns, st.st_mtime_ns) == (1_600_000_000_123_456_789, 1_700_000_000_987_654_321), (st.st_atime_ns, st.st_mtime_ns)
fd = os.open(p, os.O_RDWR); os.utime(fd, ns=(5, 1_000_000_001)); os.close(fd)  # futimens
st = os.stat(p); assert (st.st_atime_ns, st.st_mtime_ns) == (5, 1_000_000_001)
c0 = st.st_ctime_ns; time.sleep(0.01); os.chmod(p, 0o600)
assert os.stat(p).st_ctime_ns > c0, 'chmod moves ctime'
t0 = time.time_ns(); os.utime(p)  # UTIME_NOW
assert abs(os.stat(p).st_mtime_ns - t0) < 5_000_000_000
os.utime(d, ns=(1, 2)); assert os.stat(d).st_mtime_ns == 2
os.symlink('t', d + '/l'); os.utime(d + '/l', ns=(3, 4), follow_symlinks=False)
assert os.lstat(d + '/l').st_mtime_ns == 4 and os.stat(p).st_mtime_ns != 4, 'lutimes changes the link only'
print('OK')
`;

export const OWNERSHIP_PY = `
d = fresh('owner'); os.chmod(d, 0o755); p = d + '/f'; open(p, 'w').write('secret')
os.chown(p, 1000, 1000); st = os.stat(p); assert (st.st_uid, st.st_gid) == (1000, 1000)
os.chown(p, -1, 1001); st = os.stat(p); assert (st.st_uid, st.st_gid) == (1000, 1001)
os.chown(p, 0, 0); os.chmod(p, 0o600)
def user_1000():
    expect_errno(errno.EACCES, open, p)
    expect_errno(errno.EPERM, os.chmod, p, 0o644)
    expect_errno(errno.EPERM, os.chown, p, 1000, 1000)
    expect_errno(errno.EACCES, open, d + '/new', 'w')  # no write permission on d
as_user(1000, user_1000)
os.chmod(p, 0o644)
def user_1000_read():
    assert open(p).read() == 'secret'
    expect_errno(errno.EACCES, open, p, 'a')
as_user(1000, user_1000_read)
# group permission via a supplementary group
os.chown(p, 0, 1234); os.chmod(p, 0o640)
as_user(1000, lambda: open(p).read(), gid=1000, groups=(1234,))
as_user(1000, lambda: expect_errno(errno.EACCES, open, p), gid=1000, groups=())
print('OK')
`;

export const STICKY_SETGID_PY = `
d = fresh('sticky'); os.chmod(d, 0o1777)
open(d + '/root-file', 'w').close()
as_user(1000, lambda: open(d + '/u1000', 'w').write('mine'))
def other():
    expect_errno(errno.EPERM, os.unlink, d + '/u1000')
    expect_errno(errno.EPERM, os.rename, d + '/u1000', d + '/stolen')
    expect_errno(errno.EPERM, os.unlink, d + '/root-file')
    open(d + '/u1001', 'w').close(); os.unlink(d + '/u1001')  # own file: fine
as_user(1001, other)
as_user(1000, lambda: os.unlink(d + '/u1000'))  # owner may delete
open_dir = fresh('not-sticky'); os.chmod(open_dir, 0o777)
as_user(1000, lambda: open(open_dir + '/u1000', 'w').close())
as_user(1001, lambda: os.unlink(open_dir + '/u1000'))  # no sticky bit: anyone with w+x
g = fresh('setgid'); os.chown(g, 0, 1234); os.chmod(g, 0o2777)
def member_of_nothing():
    open(g + '/f', 'w').close(); os.mkdir(g + '/sub')
    os.chmod(g + '/f', 0o2755)  # not in group 1234: the kernel drops S_ISGID
as_user(1000, member_of_nothing)
f, sub = os.stat(g + '/f'), os.stat(g + '/sub')
assert (f.st_uid, f.st_gid) == (1000, 1234), (f.st_uid, f.st_gid)
assert sub.st_gid == 1234 and sub.st_mode & stat.S_ISGID, oct(sub.st_mode)
assert stat.S_IMODE(f.st_mode) == 0o755, oct(f.st_mode)
print('OK')
`;

export const SPECIAL_PY = `
d = fresh('special'); p = d + '/fifo'
os.mkfifo(p, 0o644); assert stat.S_ISFIFO(os.stat(p).st_mode)
pid = os.fork()
if pid == 0:
    fd = os.open(p, os.O_WRONLY); os.write(fd, b'through the pipe'); os._exit(0)
fd = os.open(p, os.O_RDONLY); data = os.read(fd, 100); os.close(fd); os.waitpid(pid, 0)
assert data == b'through the pipe', data
c = d + '/null'; os.mknod(c, stat.S_IFCHR | 0o600, os.makedev(1, 3))
st = os.stat(c); assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
s = d + '/sock'; os.mknod(s, stat.S_IFSOCK | 0o600); assert stat.S_ISSOCK(os.stat(s).st_mode)
kinds = {e.name: (e.is_file(), e.is_dir(), e.is_symlink()) for e in os.scandir(d)}
assert kinds == {'fifo': (False, False, False), 'null': (False, False, False), 'sock': (False, False, False)}, kinds
print('OK')
`;

export const STATFS_PY = `
d = fresh('statfs')
s1 = os.statvfs(mp)
with open(d + '/f', 'wb') as f:
    f.write(os.urandom(8 << 20)); f.flush(); os.fsync(f.fileno())
s2 = os.statvfs(mp)
df = subprocess.run(['df', '-P', '-k', mp], capture_output=True, text=True, check=True).stdout.splitlines()[1].split()
print(json.dumps({'bsize': s2.f_bsize, 'frsize': s2.f_frsize, 'blocks': s2.f_blocks, 'bfree': s2.f_bfree,
  'bavail': s2.f_bavail, 'files': s2.f_files, 'ffree': s2.f_ffree, 'namemax': s2.f_namemax,
  'used_delta': (s2.f_blocks - s2.f_bfree - (s1.f_blocks - s1.f_bfree)) * s2.f_frsize,
  'files_delta': (s2.f_files - s2.f_ffree) - (s1.f_files - s1.f_ffree),
  'df': df}))
`;

export const STATS_PY = `
t = open(mp + '/.stats').read()
print(json.dumps({'hist': 'juicefs_fuse_ops_durations_histogram_seconds' in t, 'getattr': 'method="getattr"' in t,
  'lines': len(t.splitlines())}))
`;

export const ACCESSLOG_PY = `
import threading
threading.Timer(10, lambda: os._exit(3)).start()  # never hang on a silent log
fd = os.open(mp + '/.accesslog', os.O_RDONLY)
marker = f'no-such-file-{os.getpid()}'
try:
    os.stat(os.path.join(mp, marker))
except FileNotFoundError:
    pass
buf = b''
while marker.encode() not in buf:
    buf += os.read(fd, 65536)
line = [l for l in buf.decode(errors='replace').splitlines() if marker in l][0]
os.close(fd)
print(json.dumps({'line': line}))
os._exit(0)
`;

/** A long-lived holder: opens argv[2], reads on "read", closes on "close". */
export const HOLDER_PY = `import sys, os, hashlib
fd = os.open(os.path.join(sys.argv[1], sys.argv[2]), os.O_RDONLY); print('open')
for cmd in sys.stdin:
    cmd = cmd.strip()
    if cmd == 'read':
        data = b''
        while True:
            b = os.pread(fd, 1 << 20, len(data))
            if not b: break
            data += b
        print('sha', hashlib.sha256(data).hexdigest(), len(data))
    elif cmd == 'close':
        os.close(fd); print('closed'); break`;

/** Writes and truncation by unprivileged callers drop setuid/setgid, as Linux does. */
export const KILLPRIV_PY = `
d = fresh('killpriv'); os.chmod(d, 0o777)
caps = struct.pack('<IIIII', 0x02000001, 1 << 10, 0, 0, 0)  # v2, effective, CAP_NET_BIND_SERVICE
def mk(name, mode):
    p = d + '/' + name; open(p, 'w').write('x'); os.chown(p, 1000, 1000); os.chmod(p, mode); return p
def mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)
p = mk('write', 0o6775)
as_user(1000, lambda: open(p, 'a').write('more'))
assert mode(p) == 0o775, 'write by the owner: ' + oct(mode(p))
p = mk('write-sgid-no-gx', 0o2664)
as_user(1000, lambda: open(p, 'a').write('more'))
assert mode(p) == 0o2664, 'setgid without group exec stays: ' + oct(mode(p))
p = mk('write-root', 0o6775)
open(p, 'a').write('more')
assert mode(p) == 0o6775, 'root (CAP_FSETID) keeps them: ' + oct(mode(p))
p = mk('otrunc', 0o6775)
as_user(1000, lambda: open(p, 'w').close())
assert mode(p) == 0o775, 'O_TRUNC open: ' + oct(mode(p))
p = mk('truncate', 0o4755)
as_user(1000, lambda: os.truncate(p, 1))
assert mode(p) == 0o755, 'truncate: ' + oct(mode(p))
p = mk('second-handle', 0o755)
def write_after_chmod():
    fd = os.open(p, os.O_WRONLY | os.O_APPEND); os.write(fd, b'a')
    os.chmod(p, 0o4755); os.write(fd, b'b'); os.close(fd)
as_user(1000, write_after_chmod)
assert mode(p) == 0o755, 'setuid set while open, then a write: ' + oct(mode(p))
# tjfs stores no security.capability (as JuiceFS): nothing to drop on write, chown or truncate.
expect_errno(errno.EOPNOTSUPP, os.setxattr, mk('cap', 0o755), 'security.capability', caps)
def getxattr_count():
    for line in open(mp + '/.stats'):
        if line.startswith('juicefs_fuse_ops_durations_histogram_seconds_count') and 'method="getxattr"' in line:
            return int(float(line.split()[-1]))
    return 0
before = getxattr_count()
fd = os.open(d + '/small-writes', os.O_WRONLY | os.O_CREAT, 0o644)
for i in range(200):
    os.write(fd, b'x' * 100)
os.close(fd)
print(json.dumps({'getxattr': getxattr_count() - before}))
`;
