/**
 * Killed processes lose nothing that was committed and leave no garbage that gc cannot
 * find. One SQLite + file-store volume (trash off); the bucket's objects are aged by two
 * hours before each gc, since gc leaves younger objects alone (an upload in flight).
 * - kill -9 of a writing program: the kernel's release makes the daemon commit what it
 *   wrote; every block in the bucket is referenced (gc finds nothing), fsck is clean.
 * - kill -9 of the daemon mid-write: files closed before are intact after a remount; the
 *   blocks of the slice that never got committed are the only leaked objects, and
 *   `gc --delete` removes exactly those.
 */
import { readdirSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import { isMounted, tjfs, type Volume, useE2eEnv, waitFor } from '../helpers/mount.js';
import { Interactive, ok, py } from '../helpers/proc.js';

/** argv: file. Writes MiB i filled with byte i % 251, printing i after each; never closes. */
const STREAM_PY = `import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
i = 0
while True:
    os.write(fd, bytes([i % 251]) * 1048576); print(i, flush=True); i += 1
`;

/** argv: file. Prints how many leading MiB follow the STREAM_PY pattern, and the size. */
const CHECK_STREAM_PY = `import sys, json
d = open(sys.argv[1], 'rb').read(); good = 0
while (good + 1) * 1048576 <= len(d) and d[good * 1048576:(good + 1) * 1048576] == bytes([good % 251]) * 1048576: good += 1
print(json.dumps({'size': len(d), 'good': good}))
`;

const SHA_PY = `import sys, hashlib, json
print(json.dumps({n: hashlib.sha256(open(sys.argv[1] + '/' + n, 'rb').read()).hexdigest() for n in sys.argv[2:]}))`;

/** Sets every object's mtime two hours back, so gc judges them. */
function ageBucket(dir: string): void {
  const old = new Date(Date.now() - 2 * 3600_000);
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else utimesSync(p, old, old);
    }
  };
  walk(dir);
}

async function gc(vol: Volume, del = false): Promise<number> {
  ageBucket(join(vol.dir, 'bucket'));
  const out = ok(await tjfs(['gc', vol.metaUrl, ...(del ? ['--delete'] : [])]), 'tjfs gc');
  const m = /gc: (\d+) leaked objects/.exec(out);
  if (!m) throw new Error(`unexpected gc output: ${out}`);
  return Number(m[1]);
}

describe.skipIf(!fuseAvailable())('killed writers and daemons', () => {
  const e = useE2eEnv('kill');
  let vol: Volume;
  beforeAll(async () => {
    vol = await e().createVolume('sqlite-file', { formatArgs: ['--trash-days', '0'] });
  }, 60_000);

  it('kill -9 of a writing program: its writes are committed at release, nothing leaks', async () => {
    const m = await e().mount(vol);
    const w = Interactive.python(STREAM_PY, [`${m.mp}/stream`]);
    let last = -1;
    while (last < 12) last = Number(await w.nextLine(30_000));
    w.child.kill('SIGKILL');
    await w.exited;
    // The dead process's descriptors were closed on exit: the kernel's FLUSH committed what it wrote.
    const r = JSON.parse(ok(await py(CHECK_STREAM_PY, [`${m.mp}/stream`]))) as { size: number; good: number };
    expect(r.good).toBeGreaterThanOrEqual(last + 1);
    expect(r.size).toBe(r.good * 1048576);
    await e().unmount(m);
    expect(await gc(vol)).toBe(0);
    expect(ok(await tjfs(['fsck', vol.metaUrl]), 'fsck')).toContain(' 0 missing');
  }, 120_000);

  it('kill -9 of the daemon mid-write: closed files survive; gc --delete removes only the orphaned blocks', async () => {
    const m = await e().mount(vol);
    ok(
      await py(
        `import os, sys
for n in ('a', 'b', 'c'):
    with open(os.path.join(sys.argv[1], n), 'wb') as f: f.write(os.urandom(3 * 1048576 + 17)); f.flush(); os.fsync(f.fileno())`,
        [m.mp],
      ),
    );
    const before = ok(await py(SHA_PY, [m.mp, 'a', 'b', 'c']));
    const w = Interactive.python(STREAM_PY, [`${m.mp}/partial`]);
    let last = -1;
    while (last < 10) last = Number(await w.nextLine(30_000));
    process.kill(m.pid, 'SIGKILL');
    await m.exited;
    w.child.kill('SIGKILL');
    await w.exited;
    expect(await waitFor(() => !isMounted(m.mp), 10_000)).toBe(true);
    // Full 4 MiB blocks of the never-committed slice were uploaded: garbage, found and removed.
    const leaked = await gc(vol);
    expect(leaked).toBeGreaterThan(0);
    expect(await gc(vol, true)).toBe(leaked);
    expect(await gc(vol)).toBe(0);
    expect(ok(await tjfs(['fsck', vol.metaUrl]), 'fsck')).toContain(' 0 missing');
    const m2 = await e().mount(vol);
    expect(ok(await py(SHA_PY, [m2.mp, 'a', 'b', 'c']))).toBe(before);
    await e().unmount(m2);
  }, 120_000);
});
