/**
 * Daemon lifecycle on real mounts: `kill -9` of the mount daemon (its watchdog detaches the
 * mount; with the watchdog gone too, `tjfs umount --force` clears the dead mount) and a new
 * mount on the same mount point works; SIGTERM while a file is being written flushes it,
 * unmounts, and closes the session once the last open file is closed.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import {
  isMounted,
  processesMentioning,
  tjfs,
  type Mount,
  type Volume,
  useE2eEnv,
  waitFor,
} from '../helpers/mount.js';
import { Interactive, ok, py } from '../helpers/proc.js';

const READ = `import sys; print(open(sys.argv[1] + '/' + sys.argv[2]).read(), end='')`;
const SHA = `import sys, hashlib; print(hashlib.sha256(open(sys.argv[1] + '/' + sys.argv[2], 'rb').read()).hexdigest())`;

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return ''; // exited meanwhile
  }
}

/** Parent pid from /proc/PID/stat (field 4, after the parenthesised command name). */
function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

async function sessions(vol: Volume): Promise<Array<{ Sid: number; ProcessID?: number }>> {
  const out = ok(await tjfs(['status', vol.metaUrl]), 'tjfs status');
  return (JSON.parse(out) as { Sessions: Array<{ Sid: number; ProcessID?: number }> }).Sessions;
}

describe.skipIf(!fuseAvailable())('mount daemon lifecycle', () => {
  const e = useE2eEnv('life');
  let vol: Volume;
  beforeAll(async () => {
    vol = await e().createVolume('sqlite-file', { formatArgs: ['--trash-days', '0'] });
  }, 60_000);

  it('kill -9 of the daemon: the watchdog detaches the mount, a new mount sees the closed data', async () => {
    const m1 = await e().mount(vol, [], 'mnt-kill');
    ok(await py(`import sys; open(sys.argv[1] + '/kept', 'w').write('survives')`, [m1.mp]));
    process.kill(m1.pid, 'SIGKILL');
    await m1.exited;
    expect(await waitFor(() => !isMounted(m1.mp), 5000)).toBe(true);
    expect((await sessions(vol)).some((s) => s.ProcessID === m1.pid)).toBe(true); // stale until it expires
    const m2 = await e().mount(vol, [], 'mnt-kill');
    expect(ok(await py(READ, [m2.mp, 'kept']))).toBe('survives');
    await e().unmount(m2);
  });

  it('kill -9 of daemon and watchdog: the dead mount gives ENOTCONN until `tjfs umount --force`', async () => {
    const m = await e().mount(vol, [], 'mnt-dead');
    // The watchdog is the daemon's `sh` child; kill it before its `cat` (whose EOF would run umount).
    const watchdog = processesMentioning(m.mp).find(
      (p) => p !== m.pid && parentOf(p) === m.pid && cmdline(p).includes('umount -l'),
    );
    expect(watchdog).toBeDefined();
    process.kill(watchdog!, 'SIGKILL');
    process.kill(m.pid, 'SIGKILL');
    await m.exited;
    await new Promise((r) => setTimeout(r, 300));
    expect(isMounted(m.mp)).toBe(true);
    const probe = await py(
      `import os, sys
try: os.stat(sys.argv[1]); print('ok')
except OSError as e: print(e.errno)`,
      [m.mp],
      { timeoutMs: 10_000 },
    );
    expect(probe.stdout.trim()).toBe('107'); // ENOTCONN
    const r = await tjfs(['umount', '--force', m.mp]);
    expect(r.code, r.stderr).toBe(0);
    expect(isMounted(m.mp)).toBe(false);
    const again = await e().mount(vol, [], 'mnt-dead');
    expect(ok(await py(READ, [again.mp, 'kept']))).toBe('survives');
    await e().unmount(again);
  });

  it('SIGTERM with a file being written: flushes it, unmounts, closes the session after the last close', async () => {
    const v2 = await e().createVolume('sqlite-file', { formatArgs: ['--trash-days', '0'] });
    const a = await e().mount(v2, []);
    const b: Mount = await e().mount(v2, ['--attr-cache', '0', '--entry-cache', '0']);
    expect((await sessions(v2)).length).toBe(2);
    const writer = Interactive.python(
      `import sys, hashlib
data = bytes(range(256)) * 4096 * 3 + b'tail'
f = open(sys.argv[1] + '/inflight.bin', 'wb'); f.write(data); f.flush()  # in the daemon, not committed
print('written', hashlib.sha256(data).hexdigest())
sys.stdin.readline(); f.close(); print('closed')`,
      [a.mp],
    );
    try {
      const sha = (await writer.expect('written')).split(' ')[1];
      process.kill(a.pid, 'SIGTERM');
      expect(await waitFor(() => !isMounted(a.mp), 10_000)).toBe(true); // lazily detached
      expect(ok(await py(SHA, [b.mp, 'inflight.bin'])).trim()).toBe(sha); // flushed before the detach
      writer.send('close');
      await writer.expect('closed');
    } finally {
      writer.kill();
    }
    const exit = await Promise.race([
      a.exited,
      new Promise<'timeout'>((r) => setTimeout(r, 10_000, 'timeout')),
    ]);
    expect(exit).toEqual({ code: 0, signal: null });
    const left = await sessions(v2);
    expect(left.map((s) => s.ProcessID)).toEqual([b.pid]);
    await e().unmount(b);
    expect(await sessions(v2)).toEqual([]);
  });
});
