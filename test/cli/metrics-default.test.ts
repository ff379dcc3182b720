/**
 * Metrics on by default (JuiceFS cmd/mount.go exposeMetrics): two mounts at once both serve
 * /metrics, the first at 127.0.0.1:9567 when that port is free, the second elsewhere; each
 * mount's `.config` names its address; the Grafana dashboard in docs/ only uses metric names a
 * mount exports. A taken address given with --metrics leaves the mount up without metrics, and
 * `tjfs debug` on it still completes, saying in one line why its archive has no profiles.
 */
import { createServer } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import { unzipSync } from 'fflate';
import { ROOT, tjfs, useE2eEnv } from '../helpers/mount.js';
import { ok, run } from '../helpers/proc.js';

const canMount = fuseAvailable();
if (!canMount) console.warn('metrics-default: FUSE unavailable, skipped');

async function portFree(port: number): Promise<boolean> {
  const s = createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function configOf(mp: string): Promise<{ Mount: { MetricsAddress: string } }> {
  const text = ok(await run('cat', [join(mp, '.config')]), 'cat .config');
  return JSON.parse(text) as { Mount: { MetricsAddress: string } };
}

describe.skipIf(!canMount)('metrics on by default', () => {
  const env = useE2eEnv('metrics');

  it('two mounts serve /metrics at 9567 (when free) and another port, shown in .config', async () => {
    const vol = await env().createVolume('sqlite-file');
    const a = await env().mount(vol);
    const b = await env().mount(vol);
    const addrA = (await configOf(a.mp)).Mount.MetricsAddress;
    const addrB = (await configOf(b.mp)).Mount.MetricsAddress;
    expect(addrA).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(addrB).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(addrA).not.toBe(addrB);
    // The fallback is taken only when 9567 is held (by another client on this host).
    if (addrA !== '127.0.0.1:9567') expect(await portFree(9567)).toBe(false);
    for (const addr of [addrA, addrB]) {
      const res = await fetch(`http://${addr}/metrics`);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain(`juicefs_uptime{vol_name="${vol.name}"}`);
      expect(text).toContain('juicefs_fuse_ops_durations_histogram_seconds');
    }
    // Every metric the dashboard queries is exported by a mount.
    const exported = await (await fetch(`http://${addrA}/metrics`)).text();
    const dash = readFileSync(join(ROOT, 'docs/grafana-dashboard.json'), 'utf8');
    const names = new Set(
      [...dash.matchAll(/\b((?:juicefs|tjfs)_[a-z_]+?)(?:_bucket|_count)?\{/g)].map((m) => m[1]),
    );
    expect(names.size).toBeGreaterThan(10);
    for (const n of names) expect(exported, n).toMatch(new RegExp(`^# TYPE ${n} `, 'm'));
  }, 90_000);

  it('--metrics ADDR is used as given; a taken one leaves the mount up without metrics, debug notes it', async () => {
    const vol = await env().createVolume('sqlite-file');
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const m = await env().mount(vol, ['--metrics', `127.0.0.1:${port}`]);
      expect((await configOf(m.mp)).Mount.MetricsAddress).toBe('');
      expect(m.log()).toContain(`cannot listen on 127.0.0.1:${port}`);
      // debug collects the rest and says in one line why there are no profiles.
      const outDir = join(env().base, 'debug-no-metrics');
      const r = await tjfs(
        ['debug', m.mp, '--out-dir', outDir, '--stats-sec', '0', '--trace-sec', '0', '--profile-sec', '1'],
        60_000,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('no profiles: the mount serves no metrics');
      const zip = readdirSync(outDir).find((n) => n.endsWith('.zip')) ?? '';
      const entries = unzipSync(readFileSync(join(outDir, zip)));
      expect(Object.keys(entries)).toContain('stats.txt');
      for (const n of ['cpu.cpuprofile', 'heap.heapprofile', 'memstats.json'])
        expect(Object.keys(entries)).not.toContain(n);
      const note = Buffer.from(entries['profile-missing.txt'] ?? new Uint8Array()).toString('utf8');
      expect(note.trim().split('\n')).toHaveLength(1);
      expect(note).toContain('the mount serves no metrics');
    } finally {
      blocker.close();
    }
  }, 60_000);

  it('a malformed --metrics address is a clear error', async () => {
    const vol = await env().createVolume('sqlite-file');
    const r = await run(process.execPath, [
      join(ROOT, 'dist/src/cli/bin.js'),
      'mount',
      vol.metaUrl,
      join(env().base, 'never'),
      '--metrics',
      'nonsense',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("invalid --metrics address 'nonsense'");
  }, 30_000);
});
