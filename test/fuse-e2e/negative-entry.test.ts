/**
 * `mount --negative-entry-cache SECONDS` (JuiceFS's flag, default 0): the kernel remembers
 * that a name does not exist. Two mounts of one SQLite + file-store volume: with the default,
 * a name B creates is visible on A at once (entry cache 0); with a 4 s negative cache, A
 * keeps answering ENOENT for it until the entry expires, while A's own create of a name it
 * just looked up (and saw missing) works and is visible at once.
 */
import { describe, expect, it } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import { useE2eEnv } from '../helpers/mount.js';
import { ok, py } from '../helpers/proc.js';

const STAT = `import sys, os
try: os.stat(os.path.join(sys.argv[1], sys.argv[2])); print('yes', end='')
except FileNotFoundError: print('ENOENT', end='')`;
const CREATE = `import sys, os; open(os.path.join(sys.argv[1], sys.argv[2]), 'w').write('x')`;
const NO_CACHE = ['--attr-cache', '0', '--entry-cache', '0', '--dir-entry-cache', '0'];

describe.skipIf(!fuseAvailable())('negative entry cache', () => {
  const env = useE2eEnv('negentry');

  it('off by default; with --negative-entry-cache a missing name stays missing until it expires', async () => {
    const vol = await env().createVolume('sqlite-file');
    const b = await env().mount(vol, NO_CACHE);
    const plain = await env().mount(vol, NO_CACHE);
    const neg = await env().mount(vol, [...NO_CACHE, '--negative-entry-cache', '4']);
    const stat = async (mp: string, name: string): Promise<string> => ok(await py(STAT, [mp, name]));

    expect(await stat(plain.mp, 'f1')).toBe('ENOENT');
    expect(await stat(neg.mp, 'f1')).toBe('ENOENT');
    const t0 = Date.now();
    ok(await py(CREATE, [b.mp, 'f1']), 'create on B');
    expect(await stat(plain.mp, 'f1')).toBe('yes'); // no negative caching by default
    expect(await stat(neg.mp, 'f1')).toBe('ENOENT'); // remembered as missing
    // Still within the 4 s: only meaningful when the steps above were quick.
    if (Date.now() - t0 < 3000) expect(await stat(neg.mp, 'f1')).toBe('ENOENT');
    await new Promise((r) => setTimeout(r, Math.max(0, 4500 - (Date.now() - t0))));
    expect(await stat(neg.mp, 'f1')).toBe('yes');

    // Its own create of a name it saw missing replaces the negative entry.
    expect(await stat(neg.mp, 'f2')).toBe('ENOENT');
    ok(await py(CREATE, [neg.mp, 'f2']), 'create on the caching mount');
    expect(await stat(neg.mp, 'f2')).toBe('yes');
    expect(await stat(b.mp, 'f2')).toBe('yes');
  }, 90_000);
});
