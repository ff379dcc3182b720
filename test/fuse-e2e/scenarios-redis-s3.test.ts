/**
 * The shared POSIX scenarios on a real mount of a Redis + S3 (s3rver) volume with the
 * default trash (1 day) and a non-default secret key; plus the checks that need that
 * volume: `.config` hides the secret, removed names land in `.trash`.
 */
import { describe, expect, it } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import { ok, py } from '../helpers/proc.js';
import { defineScenarioTests, useScenarioMount } from './scenario-suite.js';

const SECRET = 'tjfs-e2e-Secret-7f3a91';

const TRASH_PY = `
import os, sys, json
mp = sys.argv[1]; d = mp + '/trash-check'; os.mkdir(d)
a, b, g = d + '/a', d + '/b', d + '/gone'
open(a, 'w').write('linked'); os.link(a, b); open(g, 'w').write('bye')
pino, ino_a, ino_g = os.stat(d).st_ino, os.stat(a).st_ino, os.stat(g).st_ino
os.unlink(a); os.unlink(g)
hours = os.listdir(mp + '/.trash')
names = {n: h for h in hours for n in os.listdir(mp + '/.trash/' + h)}
gone = f'{pino}-{ino_g}-gone'
print(json.dumps({
  'nlink_b': os.stat(b).st_nlink,
  'has_a': f'{pino}-{ino_a}-a' in names, 'has_gone': gone in names,
  'content': open(f'{mp}/.trash/{names[gone]}/{gone}').read() if gone in names else None,
  'listed': os.listdir(d),
}))
`;

describe.skipIf(!fuseAvailable())('POSIX scenarios on a mount: Redis + S3 (s3rver)', () => {
  const sm = useScenarioMount('redis-s3', { secretKey: SECRET });
  defineScenarioTests(sm);

  it('.config shows the volume and mount settings with the secret key removed', async () => {
    const text = ok(
      await py('import sys; print(open(sys.argv[1] + "/.config").read())', [sm.mount().mp]),
      '.config',
    );
    expect(text).not.toContain(SECRET);
    const cfg = JSON.parse(text) as { Format: { SecretKey?: string; Storage: string; Name: string } };
    expect(cfg.Format.SecretKey).toBe('removed');
    expect(cfg.Format.Storage).toBe('s3');
    expect(cfg.Format.Name).toBe(sm.volume().name);
  });

  it('trash: removed names move to .trash/<hour>/<parent>-<ino>-<name>; a hard link stays counted', async () => {
    const r = JSON.parse(ok(await py(TRASH_PY, [sm.mount().mp]), 'trash check')) as Record<string, unknown>;
    expect(r).toEqual({ nlink_b: 2, has_a: true, has_gone: true, content: 'bye', listed: ['b'] });
  });
});
