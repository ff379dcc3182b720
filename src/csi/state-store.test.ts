/** StateStore: saved state survives a restart, stays root-only (0600) and leaves no temporary file. */
import { chmod, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateStore } from './state-store.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tjfs-csi-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('StateStore', () => {
  it('saves the state 0600 (over a stale temporary file) and loads it back after a restart', async () => {
    const s = new StateStore(dir);
    await s.load();
    s.current.mounts['m1'] = {
      id: 'm1',
      metaUrl: 'redis://:pw@h/1',
      args: ['--x'],
      mountPoint: '/mnt/m1',
      pid: 42,
      targets: {},
    };
    await writeFile(`${s.file}.tmp`, 'left by a crash');
    await chmod(`${s.file}.tmp`, 0o644);
    await Promise.all([s.save(), s.save()]);
    expect((await stat(s.file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['state.json']);
    const again = new StateStore(dir);
    expect((await again.load()).mounts['m1']?.pid).toBe(42);
  });
});
