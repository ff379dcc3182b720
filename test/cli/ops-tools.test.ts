/**
 * info, summary, rmr and restore end to end on a real mount (SQLite and Redis metadata):
 * the commands run as the compiled CLI in a child against paths inside the mount, exactly
 * as an operator types them; files are made and checked by shell children (the test
 * process itself never touches the mount). Also: their one-line argument errors, and the
 * global log/progress flags.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import { BIN, tjfs, useE2eEnv, type Mount } from '../helpers/mount.js';
import { ok, run } from '../helpers/proc.js';

const canMount = fuseAvailable();
const hasRedis = existsSync('/usr/bin/redis-server');
if (!canMount) console.warn('ops-tools: FUSE unavailable, skipped');
if (!hasRedis) console.warn('ops-tools: redis-server missing, Redis case skipped');

const sh = async (script: string): Promise<string> => ok(await run('sh', ['-ec', script]), script);

/** Polls a shell condition (the mount's caches expire within about a second). */
async function eventually(cond: string): Promise<void> {
  await sh(
    `for i in $(seq 60); do if ${cond}; then exit 0; fi; sleep 0.1; done; echo "never: ${cond}"; exit 1`,
  );
}

async function makeTree(m: Mount): Promise<void> {
  await sh(
    `cd ${m.mp} && mkdir -p d/a/b && head -c 10000 /dev/urandom > d/f1 && ` +
      `head -c 5242880 /dev/urandom > d/a/f2 && echo hi > d/a/b/f3 && sync`,
  );
}

const kinds = [
  { kind: 'sqlite-file' as const, run: canMount },
  { kind: 'redis-file' as const, run: canMount && hasRedis },
];

for (const k of kinds) {
  describe.skipIf(!k.run)(`info, summary, rmr, restore (${k.kind})`, () => {
    const env = useE2eEnv(`ops-${k.kind}`);

    it('info shows inode, sizes, path and object keys; -r counts the tree; --raw shows slices', async () => {
      const vol = await env().createVolume(k.kind);
      const m = await env().mount(vol);
      await makeTree(m);
      const f2 = ok(await tjfs(['info', join(m.mp, 'd/a/f2')]), 'info');
      expect(f2).toContain(`${join(m.mp, 'd/a/f2')} :`);
      expect(f2).toMatch(/^ {2}inode: \d+$/m);
      expect(f2).toMatch(/^ {2}files: 1$/m);
      expect(f2).toContain(' length: 5.00 MiB (5242880 Bytes)');
      expect(f2).toContain('   path: /d/a/f2');
      expect(f2).toContain(' objects:');
      expect(f2).toMatch(
        new RegExp(
          `\\| +0 \\| ${vol.name}/chunks/0/0/\\d+_0_4194304 \\| 4194304 \\| +0 \\| 4194304 \\| +0 \\|`,
        ),
      );
      expect(f2).toMatch(/_1_1048576 +\| +1048576 \| +0 \| +1048576 \| 4194304 \|/);
      const raw = ok(await tjfs(['info', '--raw', join(m.mp, 'd/a/f2')]), 'info --raw');
      expect(raw).toContain(' chunks:');
      expect(raw).toMatch(/\|\s+0 \|\s+\d+ \| 5242880 \|\s+0 \| 5242880 \|/);
      const dir = ok(await tjfs(['info', '-r', join(m.mp, 'd')]), 'info -r');
      expect(dir).toMatch(/^ {2}files: 3$/m);
      expect(dir).toMatch(/^ {3}dirs: 3$/m);
      expect(dir).toContain(' length: 5.01 MiB (5252883 Bytes)');
      const flat = ok(await tjfs(['info', join(m.mp, 'd')]), 'info');
      expect(flat).toMatch(/^ {2}files: 1$/m); // d/f1 only: without -r, direct children
      const byIno = /inode: (\d+)/.exec(f2)![1]!;
      const viaI = await run(process.execPath, [BIN, 'info', '-i', byIno], {
        cwd: m.mp,
      });
      expect(ok(viaI, 'info -i')).toContain('   path: /d/a/f2');
    });

    it('summary prints the tree table (and CSV) largest first', async () => {
      const vol = await env().createVolume(k.kind);
      const m = await env().mount(vol);
      await makeTree(m);
      const p = join(m.mp, 'd');
      const r = await tjfs(['summary', p]);
      const text = ok(r, 'summary');
      const lines = text.split('\n').filter((l) => l.startsWith('|'));
      expect(lines[0]).toMatch(/^\| +PATH +\| +SIZE +\| DIRS \| FILES \|$/);
      expect(lines[1]).toMatch(new RegExp(`^\\| ${p}/ +\\| +5\\.0 MiB \\| +3 \\| +3 \\|$`));
      expect(lines[2]).toMatch(new RegExp(`^\\| ${p}/a/ +\\|`)); // largest first
      expect(lines.some((l) => l.includes(`${p}/a/b/ `))).toBe(true);
      expect(r.stderr).toMatch(/summary .*: entries: \d+/); // piped: one plain summary line
      const csv = ok(await tjfs(['summary', '--csv', '--depth', '0', p]), 'summary --csv');
      expect(csv.trim().split('\n')).toEqual(['PATH,SIZE,DIRS,FILES', `${p}/,5271552,3,3`]);
      const top1 = ok(await tjfs(['summary', '-e', '1', '-d', '1', p]), 'summary -e 1');
      expect(top1).toContain(`${p}/...`);
    });

    it('rmr moves the tree to the trash; restore rebuilds it and --put-back brings it back', async () => {
      const vol = await env().createVolume(k.kind);
      const m = await env().mount(vol);
      await makeTree(m);
      await sh(`mkdir -p ${m.mp}/e/x && echo gone > ${m.mp}/e/x/g`);
      const r = await tjfs(['rmr', join(m.mp, 'd')]);
      ok(r, 'rmr');
      expect(r.stderr).toMatch(/rmr: Removing entries: 6/);
      await eventually(`! test -e ${m.mp}/d`);
      const hours = (await sh(`ls ${m.mp}/.trash`)).trim().split('\n');
      expect(hours).toHaveLength(1);
      const hour = hours[0]!;
      const trashed = await sh(`ls ${m.mp}/.trash/${hour}`);
      expect(trashed).toMatch(/^1-\d+-d$/m);
      expect(trashed).toMatch(/^\d+-\d+-f2$/m);

      ok(await tjfs(['rmr', '--skip-trash', join(m.mp, 'e')]), 'rmr --skip-trash');
      await eventually(`! test -e ${m.mp}/e`);
      expect(await sh(`ls ${m.mp}/.trash/${hour}`)).not.toMatch(/-g$|-e$|-x$/m);

      const rebuilt = ok(await tjfs(['restore', vol.metaUrl, hour]), 'restore');
      expect(rebuilt).toContain(`${hour}: 5 rebuilt, 1 need put-back, 0 conflicts, 0 failed`);
      const back = ok(await tjfs(['restore', vol.metaUrl, hour, '--put-back']), 'restore --put-back');
      expect(back).toContain(`${hour}: 1 restored`);
      await eventually(`test -e ${m.mp}/d/a/b/f3`);
      expect((await sh(`wc -c < ${m.mp}/d/a/f2`)).trim()).toBe('5242880');
      expect((await sh(`cat ${m.mp}/d/a/b/f3`)).trim()).toBe('hi');
      expect((await sh(`ls ${m.mp}/.trash/${hour} | wc -l`)).trim()).toBe('0');
    });

    it('bad arguments and global flags get clear one-line answers', async () => {
      const vol = await env().createVolume(k.kind);
      const m = await env().mount(vol);
      await sh(`mkdir -p ${m.mp}/q && echo x > ${m.mp}/q/f`);
      const cases: [string[], RegExp][] = [
        [['summary', '--depth', 'x', m.mp], /invalid --depth 'x': want a whole number/],
        [['info', '/proc/self'], /is not inside a tjfs mount/],
        [['info', '-i', 'abc'], /invalid inode 'abc'/],
        [['rmr', m.mp], /is the mount point/],
        [['rmr', join(m.mp, 'nope')], /ENOENT/],
        [['rmr', '-p', '-3', join(m.mp, 'q')], /invalid --threads '-3'/],
        [['restore', vol.metaUrl, '2024-13'], /invalid hour '2024-13': want YYYY-MM-DD-HH/],
        [['restore', vol.metaUrl, '2020-01-01-00'], /restore 2020-01-01-00: .*ENOENT/],
        [['--log-level', 'loud', 'summary', m.mp], /invalid --log-level 'loud'/],
      ];
      for (const [args, want] of cases) {
        const r = await tjfs(args);
        expect(r.code, args.join(' ')).toBe(1);
        expect(
          r.stderr
            .trim()
            .split('\n')
            .find((l) => l.startsWith('tjfs:')),
        ).toMatch(want);
      }
      const quiet = await tjfs(['summary', '--quiet', join(m.mp, 'q')]);
      expect(ok(quiet, 'summary --quiet')).toContain('PATH');
      expect(quiet.stderr).toBe('');
      ok(await tjfs(['-v', 'summary', join(m.mp, 'q')]), 'tjfs -v summary');
      ok(await tjfs(['summary', '--log-level', 'warning', join(m.mp, 'q')]), '--log-level warning');
    });
  });
}
