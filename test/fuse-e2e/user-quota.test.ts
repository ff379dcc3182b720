/**
 * User quotas through a real mount (JuiceFS 1.4 `quota set --uid`): on SQLite and Redis, a
 * process running as uid 65534 (setpriv) creates files until its inode limit and then gets
 * EDQUOT, and a write past its space limit fails with EDQUOT (at write or at close, as the
 * data reaches the metadata); root, without a quota, is not limited.
 */
import { existsSync, mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import { tjfs, useE2eEnv, type VolumeKind } from '../helpers/mount.js';
import { ok, PYTHON, run } from '../helpers/proc.js';

const NOBODY = 65534;
const SETPRIV = '/usr/bin/setpriv';
const canRun = fuseAvailable() && process.getuid?.() === 0 && existsSync(SETPRIV) && existsSync(PYTHON);

// Runs as the user: creates files one by one, then writes 2 MiB; prints what happened.
const SCRIPT = `
import errno, os, sys
d = sys.argv[1]
made = 0
res = {}
for i in range(10):
    try:
        open(os.path.join(d, 'f%d' % i), 'w').close()
        made += 1
    except OSError as e:
        res['create'] = errno.errorcode[e.errno]
        break
res['made'] = made
try:
    with open(os.path.join(d, 'f0'), 'wb') as f:
        for _ in range(8):
            f.write(b'x' * (256 * 1024))
            f.flush()
    res['write'] = 'ok'
except OSError as e:
    res['write'] = errno.errorcode[e.errno]
print(res)
`;

describe.skipIf(!canRun)('user quotas through FUSE', () => {
  const e = useE2eEnv('ugquota');

  for (const kind of ['sqlite-file', 'redis-file'] as VolumeKind[]) {
    it(`gives EDQUOT past a user's inode and space limits (${kind})`, async () => {
      const vol = await e().createVolume(kind, { formatArgs: ['--trash-days', '0'] });
      ok(
        await tjfs([
          'quota',
          'set',
          vol.metaUrl,
          '--uid',
          String(NOBODY),
          '--inodes',
          '3',
          '--capacity',
          '1M',
        ]),
        'quota set',
      );
      const m = await e().mount(vol);
      try {
        const dir = join(m.mp, 'shared');
        mkdirSync(dir);
        chmodSync(dir, 0o777);
        const r = await run(
          SETPRIV,
          [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', PYTHON, '-c', SCRIPT, dir],
          { timeoutMs: 60_000 },
        );
        expect(r.stderr).toBe('');
        expect(r.stdout.trim()).toBe("{'create': 'EDQUOT', 'made': 3, 'write': 'EDQUOT'}");
        // Root has no quota: not limited.
        const rootRun = await run(PYTHON, ['-c', SCRIPT, join(m.mp)], { timeoutMs: 60_000 });
        expect(rootRun.stdout.trim()).toBe("{'made': 10, 'write': 'ok'}");
        const g = await tjfs(['quota', 'get', vol.metaUrl, '--uid', String(NOBODY)]);
        expect(JSON.parse(ok(g, 'quota get'))).toMatchObject({ usedInodes: 3, maxInodes: 3 });
        const c = await tjfs(['quota', 'check', vol.metaUrl]);
        expect(JSON.parse(ok(c, 'quota check'))).toMatchObject({ consistent: true });
      } finally {
        await e().unmount(m);
      }
    });
  }
});
