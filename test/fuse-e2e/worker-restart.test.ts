/**
 * The supervisor of `tjfs mount -d` keeps the mount point when its worker dies: a program
 * that holds a file open and writes, fsyncs and reads it in a loop while the worker is
 * kill -9'd (twice) sees no error — in-flight requests are resent, handles and acknowledged
 * unflushed writes carried over — and every record is intact afterwards, also after a
 * remount. A worker that keeps failing at start makes the supervisor give up after a bounded
 * number of restarts, with a log line, and unmount. SIGTERM to the supervisor still flushes
 * and unmounts. `tjfs mount -d` on the same mount point takes it over (live upgrade) with no
 * error for the program; a killed supervisor still leaves nothing mounted (watchdog).
 * Without the write journal, writes lost with a killed worker fail fsync and close (EIO).
 * The new worker continues the metadata session (one session; a deleted open file readable;
 * a flock held across the restart is released by the holder's close).
 * Programs are Python children; the daemon runs detached.
 */
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { upgradeSocketPath } from '../../src/supervisor/upgrade.js';
import { pidAlive } from '../../src/util/pid-alive.js';
import { fuseAvailable } from '../fuse/harness.js';
import { isMounted, processesMentioning, tjfs, type Volume, useE2eEnv, waitFor } from '../helpers/mount.js';
import { ok, py, run, type ChildResult } from '../helpers/proc.js';

/** Writes record i at i*REC (fsync every other one), reads back a random earlier record. */
const LOOP = `
import os, sys, time, random, json
path, stop = sys.argv[1], sys.argv[2]
REC = 4096
def rec(i): return (b'%08d' % i) * (REC // 8)
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
errors, i, worst = [], 0, 0.0
while not os.path.exists(stop) and i < 100000:
    t = time.monotonic()
    try:
        os.pwrite(fd, rec(i), i * REC)
        if i % 2 == 0: os.fsync(fd)
        j = random.randrange(i + 1)
        if os.pread(fd, REC, j * REC) != rec(j): errors.append('bad record %d' % j)
    except OSError as e:
        errors.append('%s at %d' % (e, i))
    worst = max(worst, time.monotonic() - t)
    i += 1
try:
    os.close(fd)
except OSError as e:
    errors.append('close: %s' % e)
print(json.dumps({'records': i, 'errors': errors[:20], 'worst_ms': round(worst * 1000)}))
`;

const CHECK = `
import sys
REC = 4096
n = int(sys.argv[2])
data = open(sys.argv[1], 'rb').read()
bad = [i for i in range(n) if data[i*REC:(i+1)*REC] != (b'%08d' % i) * (REC // 8)]
print(len(data) // REC, len(bad), bad[:5])
`;

interface Daemon {
  mp: string;
  log: string;
  supervisor: number;
}

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

/** The supervisor's node worker (not the watchdog shell). */
function workerOf(d: Daemon): number | undefined {
  return processesMentioning(d.mp).find(
    (p) => parentOf(p) === d.supervisor && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('bin.js'),
  );
}

function logText(d: Daemon): string {
  try {
    return readFileSync(d.log, 'utf8');
  } catch {
    return '';
  }
}

describe.skipIf(!fuseAvailable())('supervised mount: worker restarts', () => {
  const e = useE2eEnv('restart');

  async function mountD(vol: Volume, name: string, extra: readonly string[] = []): Promise<Daemon> {
    const mp = join(e().base, name);
    const log = join(e().base, `${name}.log`);
    const r = await tjfs([
      'mount',
      '-d',
      vol.metaUrl,
      mp,
      '--cache-dir',
      join(e().base, `${name}-cache`),
      '--log',
      log,
      ...extra,
    ]);
    expect(r.code, r.stderr).toBe(0);
    return { mp, log, supervisor: Number(/pid (\d+)/.exec(r.stdout)?.[1]) };
  }

  /** Leaves nothing behind whatever happened: lazy unmount, then the processes by pid. */
  async function cleanup(d: Daemon | undefined): Promise<void> {
    if (d === undefined) return;
    const worker = workerOf(d);
    if (pidAlive(d.supervisor)) {
      process.kill(d.supervisor, 'SIGTERM'); // flush, unmount, remove its journal and socket
      await waitFor(() => !pidAlive(d.supervisor), 10_000);
    }
    if (isMounted(d.mp)) await run('umount', ['-l', d.mp], { timeoutMs: 10_000 });
    for (const pid of [d.supervisor, worker])
      if (pid !== undefined && pidAlive(pid)) process.kill(pid, 'SIGKILL');
    await waitFor(() => processesMentioning(d.mp).length === 0, 5000);
    rmSync(upgradeSocketPath(d.mp), { force: true });
    for (const n of readdirSync(tmpdir()))
      if (n.startsWith(`tjfs-journal-${d.supervisor}-`))
        rmSync(join(tmpdir(), n), { recursive: true, force: true });
  }

  it('kill -9 of the worker during a write/fsync/read loop: no error, nothing lost', async () => {
    const vol = await e().createVolume('sqlite-file');
    let d: Daemon | undefined;
    try {
      d = await mountD(vol, 'mnt-loop');
      const dd = d;
      const stop = join(e().base, 'stop-loop');
      const prog: Promise<ChildResult> = py(LOOP, [join(dd.mp, 'f'), stop], { timeoutMs: 120_000 });
      const takeovers: number[] = [];
      for (let k = 1; k <= 2; k++) {
        await new Promise((r) => setTimeout(r, 1500));
        const w = workerOf(dd);
        expect(w).toBeDefined();
        process.kill(w!, 'SIGKILL');
        expect(
          await waitFor(() => (logText(dd).match(/took over the mount (\d+) ms/g) ?? []).length >= k, 30_000),
        ).toBe(true);
        const m = [...logText(dd).matchAll(/took over the mount (\d+) ms/g)].map((x) => Number(x[1]));
        takeovers.push(m[k - 1]!);
      }
      await new Promise((r) => setTimeout(r, 1000));
      writeFileSync(stop, '');
      const res = JSON.parse(ok(await prog, 'loop')) as {
        records: number;
        errors: string[];
        worst_ms: number;
      };
      console.log(
        `worker restart: takeover ${takeovers.join(', ')} ms after kill -9; ${res.records} records; longest pause seen by the program ${res.worst_ms} ms`,
      );
      expect(res.errors).toEqual([]);
      expect(logText(dd)).toMatch(/unflushed write\(s\) replayed/);
      expect(ok(await py(CHECK, [join(dd.mp, 'f'), res.records])).trim()).toBe(`${res.records} 0 []`);
      // Persisted, not just held by the worker: unmount (SIGTERM: flush, unmount, exit 0) and read it elsewhere.
      process.kill(dd.supervisor, 'SIGTERM');
      expect(await waitFor(() => !pidAlive(dd.supervisor), 20_000)).toBe(true);
      expect(isMounted(dd.mp)).toBe(false);
      const m2 = await e().mount(vol, [], 'mnt-loop2');
      expect(ok(await py(CHECK, [join(m2.mp, 'f'), res.records])).trim()).toBe(`${res.records} 0 []`);
      await e().unmount(m2);
    } finally {
      await cleanup(d);
    }
  }, 180_000);

  it('a worker that keeps failing at start: bounded restarts, a log line, unmounted', async () => {
    const vol = await e().createVolume('sqlite-file');
    let d: Daemon | undefined;
    try {
      d = await mountD(vol, 'mnt-crash');
      const dd = d;
      const db = vol.metaUrl.replace('sqlite3://', '');
      renameSync(db, `${db}.away`); // every new worker fails to open the volume
      process.kill(workerOf(dd)!, 'SIGKILL');
      expect(await waitFor(() => !pidAlive(dd.supervisor), 60_000, 200)).toBe(true);
      expect(logText(dd)).toMatch(
        /failed to start 5 times in a row \(last: exit code \d+\); giving up and unmounting/,
      );
      expect(isMounted(dd.mp)).toBe(false);
      expect(processesMentioning(dd.mp)).toEqual([]);
      renameSync(`${db}.away`, db);
    } finally {
      await cleanup(d);
    }
  }, 120_000);

  it('live upgrade: mount -d again on the mount point takes over; the program sees no error', async () => {
    const vol = await e().createVolume('sqlite-file');
    let d: Daemon | undefined;
    let d2: Daemon | undefined;
    try {
      d = await mountD(vol, 'mnt-up');
      const dd = d;
      const stop = join(e().base, 'stop-up');
      const prog = py(LOOP, [join(dd.mp, 'f'), stop], { timeoutMs: 120_000 });
      await new Promise((r) => setTimeout(r, 1500));
      d2 = await mountD(vol, 'mnt-up'); // same mount point, same log
      const nd = d2;
      expect(nd.supervisor).not.toBe(dd.supervisor);
      expect(await waitFor(() => !pidAlive(dd.supervisor), 10_000)).toBe(true);
      expect(await waitFor(() => /worker \d+ took over the mount (\d+) ms/.test(logText(nd)), 30_000)).toBe(
        true,
      );
      await new Promise((r) => setTimeout(r, 1000));
      writeFileSync(stop, '');
      const res = JSON.parse(ok(await prog, 'loop')) as {
        records: number;
        errors: string[];
        worst_ms: number;
      };
      const took = /worker \d+ took over the mount (\d+) ms/.exec(logText(nd))?.[1];
      console.log(
        `live upgrade: new worker serving ${took} ms after the old one stopped; ${res.records} records; longest pause ${res.worst_ms} ms`,
      );
      expect(res.errors).toEqual([]);
      expect(isMounted(nd.mp)).toBe(true);
      expect(ok(await py(CHECK, [join(nd.mp, 'f'), res.records])).trim()).toBe(`${res.records} 0 []`);
      expect((await tjfs(['umount', nd.mp])).code).toBe(0);
      expect(await waitFor(() => !pidAlive(nd.supervisor), 20_000)).toBe(true);
      expect(processesMentioning(nd.mp)).toEqual([]);
    } finally {
      await cleanup(d2);
      await cleanup(d);
    }
  }, 180_000);

  it('kill -9 of the supervisor: the watchdog detaches the mount and the worker exits', async () => {
    const vol = await e().createVolume('sqlite-file');
    let d: Daemon | undefined;
    try {
      d = await mountD(vol, 'mnt-sup');
      const dd = d;
      const worker = workerOf(dd);
      expect(worker).toBeDefined();
      process.kill(dd.supervisor, 'SIGKILL');
      expect(await waitFor(() => !isMounted(dd.mp), 10_000)).toBe(true);
      expect(await waitFor(() => !pidAlive(worker!), 20_000)).toBe(true);
    } finally {
      await cleanup(d);
    }
  }, 60_000);

  it('--no-write-journal: writes lost with a killed worker are reported (fsync and close: EIO), never silent', async () => {
    const vol = await e().createVolume('sqlite-file');
    let d: Daemon | undefined;
    try {
      d = await mountD(vol, 'mnt-nojournal', ['--no-write-journal']);
      const dd = d;
      const go = join(e().base, 'go-nojournal');
      const probe = py(
        `
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, b'x' * 4096, 0)
print('written', flush=True)
while not os.path.exists(sys.argv[2]): time.sleep(0.05)
for step in ('fsync', 'close'):
    try:
        (os.fsync if step == 'fsync' else os.close)(fd)
        print(step, 'ok')
    except OSError as e:
        print(step, e.errno)
`,
        [join(dd.mp, 'lost'), go],
        { timeoutMs: 60_000 },
      );
      await new Promise((r) => setTimeout(r, 1500));
      process.kill(workerOf(dd)!, 'SIGKILL');
      expect(await waitFor(() => /took over the mount/.test(logText(dd)), 30_000)).toBe(true);
      writeFileSync(go, '');
      expect(
        ok(await probe)
          .trim()
          .split('\n'),
      ).toEqual(['written', 'fsync 5', 'close 5']);
    } finally {
      await cleanup(d);
    }
  }, 90_000);

  it('the new worker continues the metadata session: a deleted open file stays readable, one session', async () => {
    const vol = await e().createVolume('sqlite-file', { formatArgs: ['--trash-days', '0'] });
    let d: Daemon | undefined;
    try {
      d = await mountD(vol, 'mnt-session');
      const dd = d;
      const go = join(e().base, 'go-session');
      const probe = py(
        `
import os, sys, time
p = sys.argv[1]
open(p, 'wb').write(b'kept' * 1024)
fd = os.open(p, os.O_RDONLY)
os.unlink(p)
print('ready', flush=True)
while not os.path.exists(sys.argv[2]): time.sleep(0.05)
print(os.pread(fd, 8, 4088))
os.close(fd)
`,
        [join(dd.mp, 'gone'), go],
        { timeoutMs: 60_000 },
      );
      await new Promise((r) => setTimeout(r, 1500));
      process.kill(workerOf(dd)!, 'SIGKILL');
      expect(await waitFor(() => /took over the mount/.test(logText(dd)), 30_000)).toBe(true);
      const status = JSON.parse(ok(await tjfs(['status', vol.metaUrl]))) as { Sessions: unknown[] };
      expect(status.Sessions).toHaveLength(1);
      writeFileSync(go, '');
      expect(
        ok(await probe)
          .trim()
          .split('\n'),
      ).toEqual(['ready', "b'keptkept'"]);
    } finally {
      await cleanup(d);
    }
  }, 90_000);

  it('a flock held across a worker restart is released by the close that follows', async () => {
    const vol = await e().createVolume('sqlite-file');
    let d: Daemon | undefined;
    try {
      d = await mountD(vol, 'mnt-flock');
      const dd = d;
      const go = join(e().base, 'go-flock');
      const TRY = `
import fcntl, sys
f = open(sys.argv[1], 'a')
try:
    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB); print('got')
except OSError as e:
    print('busy', e.errno)
`;
      const holder = py(
        `
import fcntl, os, sys, time
f = open(sys.argv[1], 'a')
fcntl.flock(f, fcntl.LOCK_EX)
print('locked', flush=True)
while not os.path.exists(sys.argv[2]): time.sleep(0.05)
f.close()
print('closed')
`,
        [join(dd.mp, 'lk'), go],
        { timeoutMs: 60_000 },
      );
      await new Promise((r) => setTimeout(r, 1500));
      expect(ok(await py(TRY, [join(dd.mp, 'lk')])).trim()).toBe('busy 11');
      process.kill(workerOf(dd)!, 'SIGKILL');
      expect(await waitFor(() => /took over the mount/.test(logText(dd)), 30_000)).toBe(true);
      expect(ok(await py(TRY, [join(dd.mp, 'lk')])).trim()).toBe('busy 11'); // still held
      writeFileSync(go, '');
      expect(
        ok(await holder)
          .trim()
          .split('\n'),
      ).toEqual(['locked', 'closed']);
      expect(ok(await py(TRY, [join(dd.mp, 'lk')])).trim()).toBe('got');
    } finally {
      await cleanup(d);
    }
  }, 90_000);
});
