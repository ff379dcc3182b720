/**
 * The package is honest: its install script fails when the native addon does not build (no
 * `|| echo`), `prepare` builds the TypeScript, `npm pack` ships the built code, the native
 * sources, the CSI proto and the docs but no tests or benchmarks, and a copy of the built
 * package without the addon refuses `tjfs mount` at once, saying why (spawned dist/ CLI).
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/proc.js';
import { ROOT } from '../helpers/mount.js';

interface PackageJson {
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;

describe('package.json', () => {
  it('install and prepare fail loudly (no swallowed failures)', () => {
    expect(pkg.scripts['install']).toContain('node-gyp rebuild --directory native');
    expect(pkg.scripts['install']).not.toMatch(/\|\|/);
    expect(pkg.scripts['prepare']).toBe('tsc -p tsconfig.json');
    expect(pkg.scripts['postinstall']).toBeUndefined();
    for (const unused of ['node-addon-api', 'tsx'])
      expect({ ...pkg.dependencies, ...pkg.devDependencies }).not.toHaveProperty(unused);
  });

  it('npm pack ships the built code, native sources, proto and docs; no tests or benchmarks', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const [report] = JSON.parse(out) as { files: { path: string }[] }[];
    const files = (report?.files ?? []).map((f) => f.path);
    for (const want of [
      'dist/src/cli/bin.js',
      'dist/src/index.d.ts',
      'native/binding.gyp',
      'native/tjfs_fuse.c',
      'src/csi/proto/csi.proto',
      'README.md',
      'LICENSE',
      'docs/FORMAT.md',
    ])
      expect(files).toContain(want);
    const shipped = files.filter((f) => /(^|\/)(test|benchmarks)\/|\.test\.|^native\/build\//.test(f));
    expect(shipped).toEqual([]);
  });
});

describe('a package whose addon did not build', () => {
  const base = mkdtempSync(join(tmpdir(), 'tjfs-noaddon-'));
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('refuses tjfs mount at once with the reason, creating nothing', async () => {
    // The built package without native/build: dist (no tests), package.json, node_modules.
    const pkgDir = join(base, 'pkg');
    mkdirSync(join(pkgDir, 'native'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(pkgDir, 'package.json'));
    for (const d of readdirSync(join(ROOT, 'dist')))
      if (d !== 'test' && d !== 'benchmarks')
        cpSync(join(ROOT, 'dist', d), join(pkgDir, 'dist', d), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(pkgDir, 'node_modules'));
    const mp = join(base, 'deep', 'mnt');
    for (const extra of [[], ['-d', '--log', join(base, 'm.log')]]) {
      const r = await run(
        process.execPath,
        [join(pkgDir, 'dist/src/cli/bin.js'), 'mount', `sqlite3://${base}/x.db`, mp, ...extra],
        {
          timeoutMs: 20_000,
        },
      );
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.trim()).toMatch(
        /^tjfs: mount refused: native FUSE addon not available.*build:native.*\(.*tjfs_fuse\.node/,
      );
      expect(existsSync(join(base, 'deep'))).toBe(false);
      expect(existsSync(join(base, 'x.db'))).toBe(false);
    }
  }, 60_000);
});
