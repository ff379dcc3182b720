/**
 * Redis Sentinel with a real failover: a volume formatted and mounted through the sentinel
 * URL (`redis://MASTER,s1,s2,s3/1`), a program appending fsync'd records on the mount, and
 * an API client (src/api) open on the same URL. The master is SIGKILLed mid-run; the
 * sentinels promote the replica within a few seconds. The writer sees a pause and no error,
 * every record it fsync'd is there afterwards (whole and in order), and both clients go on
 * writing and reading on the new master.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openVolume, type Volume as ApiVolume } from '../../src/api/volume.js';
import { fuseAvailable } from '../fuse/harness.js';
import { tjfs, type Mount, type Volume, useE2eEnv } from '../helpers/mount.js';
import { Interactive, ok, py } from '../helpers/proc.js';
import { sentinelMissing, startRedisSentinel, type RedisSentinelSet } from '../helpers/redis-sentinel.js';

const N = 150;

/** Appends N fsync'd records to argv[1]/log (a new file every 10), printing each index. */
const WRITER_PY = `import os, sys, time
d = sys.argv[1]; n = int(sys.argv[2])
fd = os.open(d + '/log', os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
for i in range(n):
    os.write(fd, f'record {i:06d}\\n'.encode()); os.fsync(fd)
    if i % 10 == 0:
        with open(f'{d}/file{i}', 'w') as f:
            f.write(f'content {i}'); f.flush(); os.fsync(f.fileno())
    print(i, round(time.time(), 3), flush=True)
    time.sleep(0.02)
os.close(fd)
print('done', flush=True)
`;

const missing = sentinelMissing() ?? (fuseAvailable() ? undefined : 'FUSE not available');
if (missing) console.warn(`skipping redis-sentinel tests: ${missing}`);

describe.skipIf(missing !== undefined)('a mount and an API client through a Redis Sentinel failover', () => {
  const e = useE2eEnv('sentinel');
  let set: RedisSentinelSet;
  let vol: Volume;
  let m: Mount;
  beforeAll(async () => {
    set = await startRedisSentinel();
    const dir = join(e().base, 'vol');
    vol = { kind: 'redis-file', name: 'sentinel', metaUrl: set.url, dir };
    ok(
      await tjfs([
        'format',
        set.url,
        'sentinel',
        '--storage',
        'file',
        '--bucket',
        join(dir, 'bucket') + '/',
        '--trash-days',
        '0',
      ]),
      'format',
    );
    m = await e().mount(vol);
  }, 60_000);
  afterAll(async () => {
    await e().unmount(m);
    await set.stop();
  }, 60_000);

  it('fsync-ed appends and creates wait out the failover and lose nothing', async () => {
    const api: ApiVolume = await openVolume(set.url);
    try {
      await api.writeFile('/api-before', 'written before the failover');
      const oldMaster = await set.masterPort();
      const w = Interactive.python(WRITER_PY, [m.mp, N]);
      let line = '';
      while (!line.startsWith('40 ')) line = await w.nextLine(30_000);
      const newMaster = await set.killMaster();
      expect(newMaster).not.toBe(oldMaster);
      const killedAt = Date.now() / 1000;
      let prev = Number(line.split(' ')[1]);
      let longest = 0;
      for (;;) {
        line = await w.nextLine(90_000).catch((e: unknown) => {
          throw new Error(`writer stopped: ${String(e)}\nmount log:\n${m.log().slice(-4000)}`);
        });
        if (line === 'done') break;
        const t = Number(line.split(' ')[1]);
        if (t > killedAt - 1) longest = Math.max(longest, t - prev);
        prev = t;
      }
      // The writer waited for the promotion (sentinels need 1 s to call the master down).
      expect(longest).toBeGreaterThan(0.8);
      const run = await w.finish();
      expect(run.code, `${run.stderr}\nmount log:\n${m.log().slice(-4000)}`).toBe(0);
      const r = await py(
        `import sys, os
d = sys.argv[1]; n = int(sys.argv[2])
lines = open(d + '/log').read().split('\\n')[:-1]
files = [open(f'{d}/file{i}').read() == f'content {i}' for i in range(0, n, 10)]
open(d + '/after', 'w').write('after the failover')
print(len(lines), lines == [f'record {i:06d}' for i in range(n)], all(files), open(d + '/after').read())`,
        [m.mp, N],
      );
      expect(ok(r).trim()).toBe(`${N} True True after the failover`);
      // The API client, opened before the failover, goes on against the new master.
      await api.writeFile('/api-after', 'written after the failover');
      expect((await api.readFile('/api-before')).toString()).toBe('written before the failover');
      expect((await api.readFile('/api-after')).toString()).toBe('written after the failover');
      expect((await api.readFile('/after')).toString()).toBe('after the failover');
      const log = (await api.readFile('/log')).toString();
      expect(log.split('\n')).toHaveLength(N + 1);
    } finally {
      await api.close();
    }
  }, 120_000);
});
