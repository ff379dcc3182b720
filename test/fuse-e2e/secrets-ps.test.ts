/**
 * Secrets stay out of `ps`: `tjfs mount -d` with a password in its Redis URL runs its daemon,
 * supervisor and worker with argv free of the password (it travels in the environment),
 * and a foreground command's own title masks URL passwords and --token values.
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import { BIN, isMounted, processesMentioning, tjfs, useE2eEnv, waitFor } from '../helpers/mount.js';
import { ok } from '../helpers/proc.js';
import { startRedis } from '../helpers/redis-server.js';
import { existsSync } from 'node:fs';

const PASSWORD = 'Pa55-in-the-url-7731';
const canRun = fuseAvailable() && process.getuid?.() === 0 && existsSync('/usr/bin/redis-server');

describe.skipIf(!canRun)('secrets in ps', () => {
  const e = useE2eEnv('secrets-ps');

  it('mount -d keeps the meta password out of every process command line', async () => {
    const redis = await startRedis();
    const dir = join(e().base, 'v');
    const mp = join(e().base, 'mnt');
    mkdirSync(mp, { recursive: true });
    try {
      const admin = new Redis(redis.port, '127.0.0.1', { lazyConnect: true });
      await admin.connect();
      await admin.config('SET', 'requirepass', PASSWORD);
      await admin.quit();
      const url = `redis://:${PASSWORD}@127.0.0.1:${redis.port}/1`;
      ok(await tjfs(['format', url, 'psvol', '--bucket', join(dir, 'bucket') + '/']), 'format');
      ok(
        await tjfs(
          ['mount', url, mp, '-d', '--cache-dir', join(dir, 'cache'), '--log', join(dir, 'log')],
          60_000,
        ),
        'mount -d',
      );
      try {
        expect(isMounted(mp)).toBe(true);
        const pids = processesMentioning(mp);
        const cmds = pids.map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
        const daemons = cmds.filter((c) => c.includes(`redis://127.0.0.1:${redis.port}/1`));
        expect(daemons.length).toBeGreaterThanOrEqual(2); // supervisor + worker
        for (const cmd of cmds) expect(cmd).not.toContain(PASSWORD);
        // Nor in .config, status, or a dump (JuiceFS's secret fields are masked there too).
        const config = readFileSync(join(mp, '.config'), 'utf8');
        expect(config).toContain(`127.0.0.1:${redis.port}/1`);
        expect(config).not.toContain(PASSWORD);
        expect(ok(await tjfs(['status', url]), 'status')).not.toContain(PASSWORD);
      } finally {
        ok(await tjfs(['umount', mp]), 'umount');
        await waitFor(() => processesMentioning(mp).length === 0, 10_000);
      }
      // The log names the volume but never the password, and only its owner reads it.
      const log = readFileSync(join(dir, 'log'), 'utf8');
      expect(log).toContain('mounted psvol');
      expect(log).not.toContain(PASSWORD);
      expect(statSync(join(dir, 'log')).mode & 0o777).toBe(0o600);
    } finally {
      await redis.stop();
    }
  });

  it("masks a foreground command's URL password and --token in its title", async () => {
    // A gateway that cannot start (no such database) still lives long enough to be read.
    const child = spawn(
      process.execPath,
      [BIN, 'gateway', 'webhdfs', `redis://:${PASSWORD}@127.0.0.1:1/1`, '--token', 'tok-SECRET-99'],
      { stdio: 'ignore' },
    );
    try {
      let cmd = '';
      await waitFor(() => {
        try {
          cmd = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8');
          return cmd.includes('removed');
        } catch {
          return false;
        }
      }, 10_000);
      expect(cmd).toContain('gateway webhdfs redis://:****@127.0.0.1:1/1 --token removed');
      expect(cmd).not.toContain(PASSWORD);
      expect(cmd).not.toContain('tok-SECRET-99');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
