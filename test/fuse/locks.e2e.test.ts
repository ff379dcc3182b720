/**
 * Real-mount tests of POSIX (fcntl) and BSD (flock) locks between child processes, blocking
 * waits that get released, and an interrupted blocking lock (waiter killed → INTERRUPT →
 * EINTR, no waiter left behind). Always unmounted in afterEach.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Opcode } from '../../src/fuse/abi.js';
import { cleanup, fuseAvailable, mountMem, py, startPy } from './harness.js';
import type { Mounted } from './harness.js';

const enabled = fuseAvailable();
let m: Mounted | undefined;

/** Holds a lock, prints LOCKED, releases after `hold` seconds. */
const HOLDER = `
import os, sys, fcntl, time
kind, path, hold = sys.argv[1], sys.argv[2], float(sys.argv[3])
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
if kind == 'posix':
    fcntl.lockf(fd, fcntl.LOCK_EX)
else:
    fcntl.flock(fd, fcntl.LOCK_EX)
print('LOCKED', os.getpid(), flush=True)
time.sleep(hold)
os.close(fd)
print('RELEASED', flush=True)
`;

/** Tries non-blocking (expect busy), optionally F_GETLK, then blocks until granted. */
const WAITER = `
import os, sys, fcntl, time, struct, errno
kind, path = sys.argv[1], sys.argv[2]
fd = os.open(path, os.O_RDWR)
try:
    (fcntl.lockf if kind == 'posix' else fcntl.flock)(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print('NOT BUSY', flush=True)
except OSError as e:
    print('BUSY', errno.errorcode[e.errno], flush=True)
if kind == 'posix':
    res = fcntl.fcntl(fd, fcntl.F_GETLK, struct.pack('hhqqi4x', fcntl.F_WRLCK, 0, 0, 0, 0))
    t, _, start, length, pid = struct.unpack('hhqqi4x', res)
    print('GETLK', t == fcntl.F_WRLCK, pid, flush=True)
print('WAITING', flush=True)
t0 = time.time()
(fcntl.lockf if kind == 'posix' else fcntl.flock)(fd, fcntl.LOCK_EX)
print('GOT %.2f' % (time.time() - t0), flush=True)
`;

describe.skipIf(!enabled)('FUSE locks on a real mount', () => {
  beforeEach(async () => {
    m = await mountMem();
  });
  afterEach(async () => {
    await cleanup(m);
    m = undefined;
  });

  for (const kind of ['posix', 'flock'] as const) {
    it(`${kind}: a blocked waiter is granted when the holder releases`, async () => {
      const mnt = (m as Mounted).mnt;
      const path = `${mnt}/lockfile`;
      const holder = startPy(HOLDER, [kind, path, '1.0']);
      await holder.waitFor('LOCKED');
      const waiter = startPy(WAITER, [kind, path]);
      const [h, w] = await Promise.all([holder.done, waiter.done]);
      expect(h.code, h.stderr).toBe(0);
      expect(w.code, w.stderr).toBe(0);
      expect(w.stdout).toMatch(/BUSY (EAGAIN|EACCES)/);
      if (kind === 'posix') expect(w.stdout).toContain(`GETLK True ${holder.pid}`);
      const waited = Number(/GOT ([\d.]+)/.exec(w.stdout)?.[1]);
      expect(waited).toBeGreaterThan(0.3);
      const fs = (m as Mounted).fs;
      expect(fs.calls.get(kind === 'posix' ? 'setlkw' : 'flockw') ?? 0).toBeGreaterThanOrEqual(1);
      expect(fs.lockWaiters).toBe(0);
    });
  }

  it('a killed waiter interrupts its blocking lock without blocking other requests', async () => {
    const { mnt, fs, session } = m as Mounted;
    const path = `${mnt}/lockfile`;
    const holder = startPy(HOLDER, ['posix', path, '30']);
    await holder.waitFor('LOCKED');
    const waiter = startPy(WAITER, ['posix', path]);
    await waiter.waitFor('WAITING');
    while (fs.lockWaiters === 0) await new Promise((r) => setTimeout(r, 10));
    // Other requests keep flowing while the lock waits.
    expect((await py(`import os,sys; print(len(os.listdir(sys.argv[1])))`, [mnt])).trim()).toBe('1');
    waiter.kill('SIGKILL');
    const w = await waiter.done;
    expect(w.signal).toBe('SIGKILL');
    expect(session.stats.interrupts).toBeGreaterThanOrEqual(1);
    expect(fs.lockWaiters).toBe(0);
    expect(session.stats.enosys.get(Opcode.SETLKW)).toBeUndefined();
    holder.kill('SIGKILL');
    await holder.done;
    // The lock is free again once the holder is gone (its close sent FLUSH/unlock).
    const out = await py(
      `import os,sys,fcntl; fd=os.open(sys.argv[1], os.O_RDWR); fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); print('free')`,
      [path],
    );
    expect(out.trim()).toBe('free');
    expect(session.inflightCount).toBe(0);
  });
});
