/**
 * The CLI as a function: help/version, format on the embedded default (SQLite + file
 * bucket) and on mem, status, dump/load through files, and clear errors for bad input.
 */
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureIo } from '../helpers/cli-io.js';

const io = captureIo;

describe('tjfs CLI', () => {
  const dirs: string[] = [];
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'tjfs-cli-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('prints help and version', async () => {
    const h = io();
    expect(await main(['--help'], h.io)).toBe(0);
    expect(h.out()).toMatch(/format.*\n.*mount/s);
    const v = io();
    expect(await main(['--version'], v.io)).toBe(0);
    expect(v.out()).toMatch(/^tjfs \d+\.\d+\.\d+/);
    const u = io();
    expect(await main(['nosuchcmd'], u.io)).not.toBe(0);
  });

  it('formats the embedded default, shows status, and refuses an immutable change', async () => {
    const d = tmp();
    const meta = `sqlite3://${join(d, 'v.db')}`;
    const f = io({ SECRET_KEY: 'supersecret' });
    expect(
      await main(['format', meta, 'myvol', '--bucket', join(d, 'bucket'), '--trash-days', '0'], f.io),
    ).toBe(0);
    expect(f.out()).toContain('"Name": "myvol"');
    expect(f.out()).not.toContain('supersecret');
    expect(existsSync(join(d, 'bucket', 'myvol', 'juicefs_uuid'))).toBe(true);
    const s = io();
    expect(await main(['status', meta], s.io)).toBe(0);
    const status = JSON.parse(s.out()) as {
      Setting: { Bucket: string; TrashDays: number; SecretKey: string };
    };
    expect(status.Setting.Bucket).toBe(join(d, 'bucket') + '/');
    expect(status.Setting.TrashDays).toBe(0);
    expect(status.Setting.SecretKey).toBe('removed');
    const again = io();
    expect(
      await main(['format', meta, 'myvol', '--bucket', join(d, 'bucket'), '--block-size', '1M'], again.io),
    ).toBe(1);
    expect(again.err()).toMatch(/BlockSize cannot change/);
  });

  it('dumps to a gzip file and loads it into another database', async () => {
    const d = tmp();
    const a = `sqlite3://${join(d, 'a.db')}`;
    const b = `sqlite3://${join(d, 'b.db')}`;
    expect(await main(['format', a, 'vol1', '--bucket', join(d, 'bucket')], io().io)).toBe(0);
    expect(await main(['dump', a, join(d, 'dump.json.gz')], io().io)).toBe(0);
    expect(await main(['dump', a, join(d, 'dump.json')], io().io)).toBe(0);
    expect(readFileSync(join(d, 'dump.json'), 'utf8')).toMatch(/"FSTree": \{/);
    expect(await main(['load', b, join(d, 'dump.json.gz')], io().io)).toBe(0);
    const s = io();
    expect(await main(['status', b], s.io)).toBe(0);
    expect(s.out()).toContain('"Name": "vol1"');
    const again = io();
    expect(await main(['load', b, join(d, 'dump.json')], again.io)).toBe(1);
    expect(again.err()).toMatch(/not empty/);
  });

  it('changes mutable settings with config, keeps secrets encrypted, and manages quotas', async () => {
    const d = tmp();
    const meta = `sqlite3://${join(d, 'v.db')}`;
    expect(
      await main(['format', meta, 'cfgvol', '--bucket', join(d, 'b'), '--secret-key', 'sk1'], io().io),
    ).toBe(0);
    const c = io();
    expect(await main(['config', meta, '--trash-days', '3', '--capacity', '2'], c.io)).toBe(0);
    expect(c.out()).not.toContain('sk1');
    const { openEngine } = await import('../../src/meta/registry.js');
    const { parseFormat } = await import('../../src/meta/format.js');
    const { decryptFormatSecrets } = await import('../../src/meta/secret.js');
    const e = await openEngine(meta);
    const f = parseFormat((await e.getFormatText())!);
    await e.close();
    expect(f.TrashDays).toBe(3);
    expect(f.Capacity).toBe(2 * 1024 ** 3);
    expect(f.KeyEncrypted).toBe(true);
    expect(decryptFormatSecrets(f).secretKey).toBe('sk1');
    const q = io();
    expect(await main(['quota', 'set', meta, '--path', '/', '--inodes', '10'], q.io)).toBe(0);
    expect(JSON.parse(q.out())).toMatchObject({ inode: '1', maxInodes: 10, usedInodes: 0 });
    const l = io();
    expect(await main(['quota', 'list', meta], l.io)).toBe(0);
    expect(JSON.parse(l.out())).toHaveLength(1);
    expect(await main(['quota', 'delete', meta, '--path', '/'], io().io)).toBe(0);
    const g = io();
    expect(await main(['quota', 'get', meta, '--path', '/'], g.io)).toBe(1);
    expect(g.err()).toMatch(/no quota/);
  });

  it('reports malformed and unformatted meta URLs clearly', async () => {
    const d = tmp();
    const bad = io();
    expect(await main(['status', 'nonsense'], bad.io)).toBe(1);
    expect(bad.err()).toMatch(/invalid meta URL/);
    const unknown = io();
    expect(await main(['status', 'foo://x'], unknown.io)).toBe(1);
    expect(unknown.err()).toMatch(/unsupported meta URL scheme/);
    const missing = io();
    expect(await main(['status', `sqlite3://${join(d, 'empty.db')}`], missing.io)).toBe(1);
    expect(missing.err()).toMatch(/empty\.db does not exist/);
    expect(existsSync(join(d, 'empty.db'))).toBe(false);
    writeFileSync(join(d, 'empty.db'), '');
    const unformatted = io();
    expect(await main(['status', `sqlite3://${join(d, 'empty.db')}`], unformatted.io)).toBe(1);
    expect(unformatted.err()).toMatch(/not formatted/);
    const name = io();
    expect(await main(['format', 'mem://x', 'Bad_Name', '--storage', 'mem', '--bucket', 'b'], name.io)).toBe(
      1,
    );
    expect(name.err()).toMatch(/invalid volume name/);
  });
});
