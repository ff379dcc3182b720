/** StateStore: saved state survives a restart, stays root-only (0600) and leaves no temporary file. */
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
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

  const mount = (metaUrl: string) => ({
    id: 'm1',
    metaUrl,
    args: [],
    mountPoint: '/mnt/m1',
    pid: 7,
    targets: {},
  });

  it('never writes a meta URL password in clear; with a state key it comes back sealed', async () => {
    const s = new StateStore(dir, { stateKey: 'k8s-secret-key' });
    await s.load();
    s.current.mounts['m1'] = mount('redis://admin:S3cr%40t-pw@h:6379/1');
    await s.save();
    const text = await readFile(s.file, 'utf8');
    expect(text).not.toContain('S3cr');
    expect(text).toContain('redis://admin@h:6379/1');
    const again = new StateStore(dir, { stateKey: 'k8s-secret-key' });
    expect((await again.load()).mounts['m1']?.metaUrl).toBe('redis://admin:S3cr%40t-pw@h:6379/1');
    const wrong = new StateStore(dir, { stateKey: 'another' });
    expect((await wrong.load()).mounts['m1']?.metaUrl).toBe('redis://admin@h:6379/1');
  });

  it('without a state key drops the password from the file and keeps it in memory', async () => {
    const s = new StateStore(dir);
    await s.load();
    s.current.mounts['m1'] = mount('postgres://u:pw-123@db/jfs');
    await s.save();
    expect(await readFile(s.file, 'utf8')).not.toContain('pw-123');
    expect(s.current.mounts['m1']?.metaUrl).toBe('postgres://u:pw-123@db/jfs');
    expect((await new StateStore(dir).load()).mounts['m1']?.metaUrl).toBe('postgres://u@db/jfs');
  });
});
