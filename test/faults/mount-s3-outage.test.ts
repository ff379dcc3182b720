/**
 * An object-store outage under a mount (SQLite + s3rver): the store stopped for 8 s and
 * started again (same port, same objects) while a program appends fsync'd 256 KiB records.
 * The fsyncs wait (uploads retry with backoff) and then succeed; the program sees a pause
 * and no error; after a restart of the daemon on an empty cache (every block read from the
 * store) each record is there, whole and in order.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import { tjfs, type Mount, type Volume, useE2eEnv } from '../helpers/mount.js';
import { Interactive, ok, py } from '../helpers/proc.js';
import { writeThroughOutage } from './outage-writer.js';
import { startRestartableS3, type RestartableS3 } from './restartable-s3.js';

const N = 80;
const REC = 256 * 1024;

/** Appends N fsync'd records of REC bytes (record i: byte i % 251) to argv[1]/data, printing each index. */
const WRITER_PY = `import os, sys, time
d, n, rec = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fd = os.open(d + '/data', os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
for i in range(n):
    os.write(fd, bytes([i % 251]) * rec); os.fsync(fd)
    print(i, round(time.time(), 3), flush=True)
    time.sleep(0.02)
os.close(fd)
print('done', flush=True)
`;

describe.skipIf(!fuseAvailable())('a mount through an object store outage', () => {
  const e = useE2eEnv('s3-outage');
  let s3: RestartableS3;
  let vol: Volume;
  let m: Mount;
  beforeAll(async () => {
    s3 = await startRestartableS3();
    const dir = join(e().base, 'vol');
    // kind only labels the volume here: SQLite metadata, s3rver data.
    vol = { kind: 'redis-s3', name: 'outage', metaUrl: `sqlite3://${join(e().base, 'meta.db')}`, dir };
    const storage = [
      '--storage',
      's3',
      '--bucket',
      s3.bucketUrl,
      '--access-key',
      s3.accessKey,
      '--secret-key',
      s3.secretKey,
    ];
    ok(
      await tjfs(['format', vol.metaUrl, 'outage', ...storage, '--trash-days', '0', '--block-size', '1024']),
      'format',
    );
    m = await e().mount(vol);
  }, 60_000);
  afterAll(async () => {
    await e().unmount(m);
    await s3.destroy();
  }, 60_000);

  it('fsync-ed writes pause while the store is down and lose nothing', async () => {
    const w = Interactive.python(WRITER_PY, [m.mp, N, REC]);
    // On failure, the daemon's log says why (an EIO once came before the outage, unexplained).
    const run = await writeThroughOutage(w, 10, s3, 8000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n--- mount log ---\n${m.log().slice(-4000)}`);
    });
    expect(run.code, run.stderr).toBe(0);
    // The writer waited out the outage (one long gap), rather than failing.
    expect(run.resumedAt - run.stoppedAt).toBeGreaterThan(7);
    expect(m.log()).toMatch(/retr/i);
    // Read back through a fresh daemon with an empty cache: every block comes from the store.
    await e().unmount(m);
    m = await e().mount(vol);
    const r = await py(
      `import sys
d = open(sys.argv[1] + '/data', 'rb').read(); n, rec = int(sys.argv[2]), int(sys.argv[3])
print(len(d) == n * rec and all(d[i * rec:(i + 1) * rec] == bytes([i % 251]) * rec for i in range(n)))`,
      [m.mp, N, REC],
    );
    expect(ok(r).trim()).toBe('True');
  }, 180_000);
});
