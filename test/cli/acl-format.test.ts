/**
 * `tjfs format --enable-acl` and `tjfs config --enable-acl` on SQLite, as JuiceFS's cmd/format.go
 * and cmd/config.go: the flag is stored with MinClientVersion raised to 1.2.0-A; format on an
 * existing volume leaves it as stored; config turns it on, and never off (`cannot disable acl`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { openEngine } from '../../src/meta/registry.js';
import { parseFormat, type Format } from '../../src/meta/format.js';
import { captureIo } from '../helpers/cli-io.js';

async function stored(meta: string): Promise<Format> {
  const e = await openEngine(meta);
  try {
    const t = await e.getFormatText();
    if (t === undefined) throw new Error('not formatted');
    return parseFormat(t);
  } finally {
    await e.close();
  }
}

describe('tjfs format/config --enable-acl', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  function volume(): { meta: string; bucket: string } {
    const d = mkdtempSync(join(tmpdir(), 'tjfs-aclfmt-'));
    dirs.push(d);
    return { meta: `sqlite3://${join(d, 'v.db')}`, bucket: join(d, 'b') };
  }

  it('format --enable-acl stores EnableACL and MinClientVersion 1.2.0-A; re-format keeps it', async () => {
    const { meta, bucket } = volume();
    expect(await main(['format', meta, 'aclvol', '--bucket', bucket, '--enable-acl'], captureIo().io)).toBe(
      0,
    );
    let f = await stored(meta);
    expect(f.EnableACL).toBe(true);
    expect(f.MinClientVersion).toBe('1.2.0-A');
    // updating the volume without the flag does not turn ACLs off
    expect(
      await main(['format', meta, 'aclvol', '--bucket', bucket, '--trash-days', '3'], captureIo().io),
    ).toBe(0);
    f = await stored(meta);
    expect(f.EnableACL).toBe(true);
    expect(f.MinClientVersion).toBe('1.2.0-A');
    expect(f.TrashDays).toBe(3);
  });

  it('format without the flag leaves ACLs off; on an existing volume the flag is ignored as in Go', async () => {
    const { meta, bucket } = volume();
    expect(await main(['format', meta, 'plain', '--bucket', bucket], captureIo().io)).toBe(0);
    expect((await stored(meta)).EnableACL).toBe(false);
    expect((await stored(meta)).MinClientVersion).toBe('1.1.0-A');
    const io = captureIo();
    expect(await main(['format', meta, 'plain', '--bucket', bucket, '--enable-acl'], io.io)).toBe(0);
    expect(io.out()).toContain('config --enable-acl');
    expect((await stored(meta)).EnableACL).toBe(false);
  });

  it('config --enable-acl turns ACLs on, once; --enable-acl=false is refused after', async () => {
    const { meta, bucket } = volume();
    expect(await main(['format', meta, 'cfg', '--bucket', bucket], captureIo().io)).toBe(0);
    // false on a volume without ACLs changes nothing
    expect(await main(['config', meta, '--enable-acl=false'], captureIo().io)).toBe(0);
    expect((await stored(meta)).EnableACL).toBe(false);
    expect(await main(['config', meta, '--enable-acl'], captureIo().io)).toBe(0);
    const f = await stored(meta);
    expect(f.EnableACL).toBe(true);
    expect(f.MinClientVersion).toBe('1.2.0-A');
    const bad = captureIo();
    expect(await main(['config', meta, '--enable-acl=false'], bad.io)).not.toBe(0);
    expect(bad.err()).toContain('cannot disable acl');
    expect((await stored(meta)).EnableACL).toBe(true);
    // true again is a no-op
    expect(await main(['config', meta, '--enable-acl=true'], captureIo().io)).toBe(0);
    expect((await stored(meta)).EnableACL).toBe(true);
  });
});
