/**
 * The fsx-style random-operation program (python): argv = directory on the mount, local
 * directory, seed, number of ops. It applies one seeded sequence of write / sparse write /
 * O_APPEND write / read / truncate up and down / mmap read and write / O_DIRECT read /
 * fsync / reopen to `fsx.bin` in both directories, compares sizes after every op, the
 * touched range after every mutation and the whole file every 100 ops, while a second
 * thread stats the mounted file all the time. Prints one JSON line: ok, seed, ops, counts
 * (or ok false with the step, a message and the recent ops). Used by fuse-e2e/fsx.test.ts
 * and by the soak benchmark.
 */
export const FSX_PY = `
import os, sys, random, mmap, json, hashlib, threading, faulthandler
mp, local, seed, nops = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
MAX = 1 << 20
SPARSE = 12 << 20
paths = [mp + '/fsx.bin', local + '/fsx.bin']
def openboth(): return [os.open(p, os.O_RDWR | os.O_CREAT, 0o644) for p in paths]
def openappend(): return [os.open(p, os.O_WRONLY | os.O_APPEND) for p in paths]
fds = openboth(); afds = openappend(); size = 0; step = 0; recent = []
stop = False
def stat_loop():
    while not stop:
        try: os.stat(paths[0])
        except OSError: pass
threading.Thread(target=stat_loop, daemon=True).start()
faulthandler.enable()  # a SIGBUS from an mmap access prints where it happened
def fail(msg):
    print(json.dumps({'ok': False, 'seed': seed, 'step': step, 'msg': msg, 'recent': recent[-15:]})); sys.exit(1)
def pread_all(fd, off, n):
    out = b''
    while len(out) < n:
        b = os.pread(fd, n - len(out), off + len(out))
        if not b: break
        out += b
    return out
def same(a, b, what, off):
    if a == b: return
    i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
    fail(f'{what}: mount differs at offset {off + i} (mount len {len(a)}, local len {len(b)}, mount byte {a[i] if i < len(a) else None}, local byte {b[i] if i < len(b) else None})')
def check_range(off, n, what='read'):
    same(pread_all(fds[0], off, n), pread_all(fds[1], off, n), what, off)
counts = {}
for step in range(nops):
    op = rng.choices(['write', 'sparse', 'append', 'read', 'truncate', 'mapread', 'mapwrite', 'directread', 'fsync', 'reopen'], [24, 4, 8, 16, 10, 10, 10, 6, 3, 3])[0]
    counts[op] = counts.get(op, 0) + 1
    if op == 'write':
        off = rng.randrange(0, MAX - 1); n = rng.randrange(1, min(65536, MAX - off) + 1); data = rng.randbytes(n)
        recent.append((step, op, off, n))
        for fd in fds: os.pwrite(fd, data, off)
        size = max(size, off + n); check_range(off, n, 'after write')
    elif op == 'sparse':
        off = rng.randrange(MAX, SPARSE); n = rng.randrange(1, 65536); data = rng.randbytes(n)
        recent.append((step, op, off, n))
        for fd in fds: os.pwrite(fd, data, off)
        size = max(size, off + n); check_range(off, n, 'after sparse write')
    elif op == 'append':
        n = rng.randrange(1, 16384); data = rng.randbytes(n)
        recent.append((step, op, size, n))
        for fd in afds: os.write(fd, data)
        size += n; check_range(size - n, n, 'after append')
    elif op == 'read':
        off = rng.randrange(0, size + 4096); n = rng.randrange(1, 131072)
        recent.append((step, op, off, n)); check_range(off, n)
    elif op == 'truncate':
        old = size; size = rng.randrange(0, SPARSE if rng.random() < 0.3 else MAX); recent.append((step, op, old, size))
        for fd in fds: os.ftruncate(fd, size)
        check_range(max(0, size - 4096), 8192, 'after truncate')
    elif op in ('mapread', 'mapwrite'):
        if size == 0: continue
        off = rng.randrange(0, size); n = rng.randrange(1, min(65536, size - off) + 1)
        recent.append((step, op, off, n))
        maps = [mmap.mmap(fd, size) for fd in fds]
        if op == 'mapread':
            same(maps[0][off:off + n], maps[1][off:off + n], 'mmap read', off)
        else:
            data = rng.randbytes(n)
            for m in maps: m[off:off + n] = data; m.flush()
        for m in maps: m.close()
        if op == 'mapwrite': check_range(off, n, 'after mmap write')
    elif op == 'directread':
        off = rng.randrange(0, size + 4096) & ~4095; n = (rng.randrange(1, 32) * 4096)
        recent.append((step, op, off, n))
        dfd = os.open(paths[0], os.O_RDONLY | os.O_DIRECT); buf = mmap.mmap(-1, n)
        got = os.preadv(dfd, [buf], off); os.close(dfd)
        same(buf[:got], pread_all(fds[1], off, n), 'O_DIRECT read', off)
    elif op == 'fsync':
        for fd in fds: os.fsync(fd)
    elif op == 'reopen':
        recent.append((step, op))
        for fd in fds + afds: os.close(fd)
        fds = openboth(); afds = openappend()
    s0, s1 = os.fstat(fds[0]).st_size, os.fstat(fds[1]).st_size
    if s0 != s1 or s1 != size: fail(f'size: mount {s0}, local {s1}, model {size}')
    if step % 100 == 99: check_range(0, size + 4096, 'full compare')
stop = True
for fd in fds + afds: os.close(fd)
h = [hashlib.sha256(open(p, 'rb').read()).hexdigest() for p in paths]
if h[0] != h[1]: fail('final sha256 differs')
print(json.dumps({'ok': True, 'seed': seed, 'ops': nops, 'size': size, 'counts': counts}))
`;
