/**
 * A user without privileges mounts through fusermount3 (the setuid helper) as the issue asks:
 * `tjfs format` and `tjfs mount -d` run as uid 65534 (setpriv), the user writes and reads the
 * mount, root is kept out (no allow_other, as FUSE does for user mounts), and `tjfs umount`
 * as that user unmounts through `fusermount3 -u`, after which the daemon exits.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import { BIN, isMounted, processesMentioning, useE2eEnv, waitFor } from '../helpers/mount.js';
import { ok, PYTHON, run, type ChildResult } from '../helpers/proc.js';

const NOBODY = 65534;
const FUSERMOUNT = '/usr/bin/fusermount3';
const SETPRIV = '/usr/bin/setpriv';

function canRun(): boolean {
  if (!fuseAvailable() || process.getuid?.() !== 0 || !existsSync(SETPRIV) || !existsSync(FUSERMOUNT))
    return false;
  const st = statSync(FUSERMOUNT);
  return st.uid === 0 && (st.mode & 0o4000) !== 0;
}

describe.skipIf(!canRun())('non-root mount through fusermount3', () => {
  const e = useE2eEnv('nonroot');
  let devMode: number | undefined;
  beforeAll(() => {
    // Distributions ship /dev/fuse as 0666 (fusermount3 opens it as the user); some VMs do not.
    const mode = statSync('/dev/fuse').mode & 0o777;
    if ((mode & 0o006) !== 0o006) {
      devMode = mode;
      chmodSync('/dev/fuse', 0o666);
    }
  });
  afterAll(() => {
    if (devMode !== undefined) chmodSync('/dev/fuse', devMode);
  });

  it('format, mount -d, write, read and umount as an unprivileged user', async () => {
    const dir = join(e().base, 'home');
    const mp = join(dir, 'mnt');
    mkdirSync(mp, { recursive: true });
    chownSync(dir, NOBODY, NOBODY);
    chownSync(mp, NOBODY, NOBODY);
    const as = (cmd: string, args: readonly string[]): Promise<ChildResult> =>
      run(SETPRIV, [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', cmd, ...args], {
        env: { HOME: dir },
        timeoutMs: 30_000,
      });
    const metaUrl = `sqlite3://${join(dir, 'meta.db')}`;
    try {
      ok(
        await as(process.execPath, [
          BIN,
          'format',
          metaUrl,
          'user-vol',
          '--storage',
          'file',
          '--bucket',
          join(dir, 'bucket') + '/',
        ]),
        'format as nobody',
      );
      ok(
        await as(process.execPath, [
          BIN,
          'mount',
          metaUrl,
          mp,
          '--cache-dir',
          join(dir, 'cache'),
          '-d',
          '--log',
          join(dir, 'mount.log'),
        ]),
        'mount -d as nobody',
      );
      expect(isMounted(mp)).toBe(true);
      const line =
        readFileSync('/proc/self/mountinfo', 'utf8')
          .split('\n')
          .find((l) => l.split(' ')[4] === mp) ?? '';
      expect(line).toContain('fuse.tjfs');
      expect(line).toContain(`user_id=${NOBODY}`);
      expect(line).not.toContain('allow_other');

      const code = `import os, sys
p = os.path.join(sys.argv[1], 'note')
open(p, 'w').write('from nobody')
st = os.stat(p)
print(open(p).read(), st.st_uid, st.st_gid)`;
      expect(ok(await as(PYTHON, ['-c', code, mp]), 'write as nobody').trim()).toBe(
        `from nobody ${NOBODY} ${NOBODY}`,
      );
      // A user mount without allow_other is the user's alone: even root gets EACCES.
      expect(() => statSync(join(mp, 'note'))).toThrow(/EACCES/);

      ok(await as(process.execPath, [BIN, 'umount', mp]), 'umount as nobody');
      expect(await waitFor(() => !isMounted(mp), 10_000)).toBe(true);
      expect(await waitFor(() => processesMentioning(mp).length === 0, 10_000)).toBe(true);
    } finally {
      if (isMounted(mp)) await run('umount', ['-l', mp], { timeoutMs: 10_000 });
      for (const pid of processesMentioning(dir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }, 90_000);
});
