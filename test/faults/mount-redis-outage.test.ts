/**
 * A metadata outage under a mount: redis-server stopped for 8 s and started again (same
 * port, same data) while a program appends fsync'd records and creates files. The program
 * sees a pause and no error, and every record it fsync'd is there afterwards, whole and in
 * order; the mount serves on.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import { tjfs, type Mount, type Volume, useE2eEnv } from '../helpers/mount.js';
import { Interactive, ok, py } from '../helpers/proc.js';
import { writeThroughOutage } from './outage-writer.js';
import { startRestartableRedis, type RestartableRedis } from './restartable-redis.js';

const N = 120;

/** Appends N fsync'd records to argv[1]/log (a new file every 10), printing each index. */
const WRITER_PY = `import os, sys, time
d = sys.argv[1]; n = int(sys.argv[2])
fd = os.open(d + '/log', os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
for i in range(n):
    os.write(fd, f'record {i:06d}\\n'.encode()); os.fsync(fd)
    if i % 10 == 0: open(f'{d}/file{i}', 'w').close()
    print(i, round(time.time(), 3), flush=True)
    time.sleep(0.02)
os.close(fd)
print('done', flush=True)
`;

describe.skipIf(!fuseAvailable())('a mount through a Redis outage', () => {
  const e = useE2eEnv('meta-outage');
  let redis: RestartableRedis;
  let vol: Volume;
  let m: Mount;
  beforeAll(async () => {
    redis = await startRestartableRedis();
    const dir = join(e().base, 'vol');
    vol = { kind: 'redis-file', name: 'outage', metaUrl: redis.url, dir };
    ok(
      await tjfs([
        'format',
        redis.url,
        'outage',
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
    await redis.destroy();
  }, 60_000);

  it('fsync-ed appends and creates pause while redis is down and lose nothing', async () => {
    const w = Interactive.python(WRITER_PY, [m.mp, N]);
    // A failure says what the daemon logged (an EIO before the outage was seen once under load).
    const run = await writeThroughOutage(w, 30, redis, 8000).catch((err: unknown) => {
      throw new Error(`${String(err)}\nmount log:\n${m.log().slice(-4000)}`);
    });
    expect(run.code, run.stderr).toBe(0);
    // The writer waited out the outage (one long gap), rather than failing.
    expect(run.resumedAt - run.stoppedAt).toBeGreaterThan(7);
    const r = await py(
      `import sys, os
lines = open(sys.argv[1] + '/log').read().split('\\n')[:-1]
print(len(lines), lines == [f'record {i:06d}' for i in range(int(sys.argv[2]))], len([n for n in os.listdir(sys.argv[1]) if n.startswith('file')]))`,
      [m.mp, N],
    );
    expect(ok(r).trim()).toBe(`${N} True ${N / 10}`);
    expect(m.log()).toMatch(/retr|unreachable|outage|waiting/i);
  }, 180_000);
});
