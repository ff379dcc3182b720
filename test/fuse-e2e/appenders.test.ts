/**
 * Appenders lose nothing, and offsets are exact or refused. One Redis + file-store volume
 * mounted twice (A with default caches, B with caches off); every access runs in a child.
 * - shell loops `echo "$L" >> f` in two shells on one mount;
 * - eight python writers with O_APPEND and records of random sizes on one mount;
 * - writers on two mounts that take flock(LOCK_EX) around open-append-close;
 * - pwrite/truncate/fallocate beyond 2^53 - 1 give EFBIG, a read there gives EOF, and
 *   nothing lands at a rounded offset.
 * Every record is checked whole: a lost or torn record names its writer and number.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import { type Mount, type Volume, useE2eEnv } from '../helpers/mount.js';
import { ok, py, run } from '../helpers/proc.js';

/** argv: file, writer id, records, flock (0/1). Records: "W<id> <seq> <len> <payload>\n". */
const APPENDER_PY = `import os, sys, random, fcntl
path, wid, n, lock = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == '1'
rng = random.Random(wid)
fd = None if lock else os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
for seq in range(n):
    size = rng.choice([1, 7, 100, 1000, 4095, 4096, 4097, 9000, 33000])
    rec = f'W{wid} {seq} {size} '.encode() + bytes([97 + (seq + wid) % 26]) * size + b'\\n'
    if lock:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
    assert os.write(fd, rec) == len(rec)
    if lock:
        fcntl.flock(fd, fcntl.LOCK_UN); os.close(fd)
if not lock: os.close(fd)
`;

/** argv: file, writers, records each. Prints a JSON summary; raises on a torn record. */
const CHECK_PY = `import sys, json
path, writers, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = open(path, 'rb').read()
seen = {}
for i, line in enumerate(data.split(b'\\n')[:-1]):
    head = line.split(b' ', 3)
    assert len(head) == 4 and head[0].startswith(b'W'), f'torn record #{i}: {line[:60]!r}'
    wid, seq, size = int(head[0][1:]), int(head[1]), int(head[2])
    assert len(head[3]) == size and head[3] == bytes([97 + (seq + wid) % 26]) * size, f'record W{wid} {seq} damaged'
    seen.setdefault(wid, []).append(seq)
missing = {w: sorted(set(range(n)) - set(seen.get(w, []))) [:5] for w in range(writers) if len(set(seen.get(w, []))) != n}
print(json.dumps({'bytes': len(data), 'records': sum(len(v) for v in seen.values()), 'missing': missing}))
`;

const BIG_PY = `import os, sys, errno
p = os.path.join(sys.argv[1], 'big-offsets')
fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
def efbig(fn, *a):
    try: fn(*a)
    except OSError as e:
        assert e.errno == errno.EFBIG, f'{fn.__name__}{a[1:]}: errno {e.errno}, want EFBIG'; return
    raise AssertionError(f'{fn.__name__}{a[1:]}: succeeded, want EFBIG')
efbig(os.pwrite, fd, b'A', 2**53 + 1)
efbig(os.pwrite, fd, b'B' * 20, 2**53 - 10)
efbig(os.ftruncate, fd, 2**53 + 1)
efbig(os.posix_fallocate, fd, 2**53 + 2, 10)
assert os.pread(fd, 10, 2**62) == b'', 'read far past the end'
assert os.fstat(fd).st_size == 0, f'size {os.fstat(fd).st_size}'
# Largest exact offset still works.
os.pwrite(fd, b'Z', 2**53 - 2)
assert os.fstat(fd).st_size == 2**53 - 1
assert os.pread(fd, 1, 2**53 - 2) == b'Z'
assert os.pread(fd, 1, 2**53 - 3) == b'\\0'
os.close(fd); os.unlink(p)
print('OK')
`;

describe.skipIf(!fuseAvailable())('appenders and exact offsets on a mount', () => {
  const e = useE2eEnv('append');
  let vol: Volume;
  let A: Mount;
  let B: Mount;
  beforeAll(async () => {
    vol = await e().createVolume('redis-file', { formatArgs: ['--trash-days', '0'] });
    A = await e().mount(vol);
    B = await e().mount(vol, ['--attr-cache', '0', '--entry-cache', '0']);
  }, 60_000);

  const check = async (
    m: Mount,
    file: string,
    writers: number,
    n: number,
  ): Promise<{ bytes: number; records: number; missing: Record<string, number[]> }> => {
    const r = await py(CHECK_PY, [`${m.mp}/${file}`, writers, n], { timeoutMs: 60_000 });
    return JSON.parse(ok(r, 'check')) as {
      bytes: number;
      records: number;
      missing: Record<string, number[]>;
    };
  };

  it('two shells appending 1000 lines each with echo >> lose nothing', async () => {
    const line = 'x'.repeat(99);
    const script = `for i in $(seq 1000); do echo "${line}" >> "$1"; done`;
    const f = `${A.mp}/shell.log`;
    const rs = await Promise.all(
      [0, 1].map(() => run('bash', ['-c', script, 'sh', f], { timeoutMs: 120_000 })),
    );
    for (const r of rs) ok(r, 'bash appender');
    const r = await py(`import sys; d = open(sys.argv[1]).read(); print(len(d), d.count('${line}\\n'))`, [f]);
    expect(ok(r).trim()).toBe(`${2 * 1000 * 100} 2000`);
  }, 150_000);

  it('eight python writers with O_APPEND: every record whole, none lost', async () => {
    const n = 300;
    const f = `${A.mp}/py.log`;
    const rs = await Promise.all(
      [...Array(8).keys()].map((w) => py(APPENDER_PY, [f, w, n, 0], { timeoutMs: 120_000 })),
    );
    for (const r of rs) ok(r, 'appender');
    const res = await check(A, 'py.log', 8, n);
    expect(res.missing).toEqual({});
    expect(res.records).toBe(8 * n);
  }, 150_000);

  it('writers on two mounts taking flock around each append lose nothing', async () => {
    const n = 150;
    const rs = await Promise.all(
      [0, 1, 2, 3].map((w) =>
        py(APPENDER_PY, [`${(w % 2 === 0 ? A : B).mp}/locked.log`, w, n, 1], { timeoutMs: 120_000 }),
      ),
    );
    for (const r of rs) ok(r, 'locked appender');
    for (const m of [A, B]) {
      const res = await check(m, 'locked.log', 4, n);
      expect(res.missing).toEqual({});
      expect(res.records).toBe(4 * n);
    }
  }, 150_000);

  it('offsets beyond 2^53 - 1 give EFBIG (never a rounded offset); reads there give EOF', async () => {
    expect(ok(await py(BIG_PY, [A.mp], { timeoutMs: 60_000 })).trim()).toBe('OK');
  }, 90_000);
});
