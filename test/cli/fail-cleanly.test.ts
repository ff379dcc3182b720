/**
 * Tools that fail cleanly (issue 13, part 6), in-process through `main`: bad output paths
 * give one line and leave no file; a dump that fails half-way keeps the old FILE; a load that
 * fails leaves no database it created and an empty one it was given; read-only commands
 * never create a database; a bucket under /proc is refused at once; the meta password is
 * read from REDIS_PASSWORD, META_PASSWORD or META_PASSWORD_FILE by every command.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { metaPasswordFromEnv } from '../../src/cli/env-secrets.js';
import { MemEngine } from '../../src/meta/mem/mem-engine.js';
import { openEngine } from '../../src/meta/registry.js';
import { captureIo } from '../helpers/cli-io.js';
import { HAVE_JUICEFS_FIXTURES, juicefsFixture, NEEDS_FIXTURES } from '../helpers/juicefs-fixtures.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const io = captureIo;
const SAMPLE = juicefsFixture('metadata.sample');

/** One line on stderr, starting with 'tjfs: ', and no stack frame. */
function expectOneLine(text: string, re: RegExp): void {
  expect(text).toMatch(re);
  expect(text.trimEnd().split('\n')).toHaveLength(1);
  expect(text).toMatch(/^tjfs: /);
  expect(text).not.toMatch(/\n\s+at /);
}

describe('tools fail cleanly', () => {
  const dirs: string[] = [];
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'tjfs-clean-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    vi.restoreAllMocks();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function volume(d: string): Promise<string> {
    const meta = `sqlite3://${join(d, 'v.db')}`;
    expect(await main(['format', meta, 'vol', '--bucket', join(d, 'bucket')], io().io)).toBe(0);
    return meta;
  }

  it('dump to a bad path, a directory or a full device gives one line and no file', async () => {
    const d = tmp();
    const meta = await volume(d);
    const bad = io();
    expect(await main(['dump', meta, '/nonexistent/dir/x.json'], bad.io)).toBe(1);
    expectOneLine(bad.err(), /cannot write dump to \/nonexistent\/dir\/x\.json: ENOENT/);
    const dir = io();
    expect(await main(['dump', meta, d], dir.io)).toBe(1);
    expectOneLine(dir.err(), /is a directory/);
    if (existsSync('/dev/full')) {
      const full = io();
      expect(await main(['dump', meta, '/dev/full'], full.io)).toBe(1);
      expectOneLine(full.err(), /ENOSPC/);
    }
    expect(readdirSync(d).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('a dump that fails half-way leaves the previous FILE as it was and no temporary file', async () => {
    const meta = `mem://clean-dump-${process.pid}`;
    expect(await main(['format', meta, 'vol', '--storage', 'mem', '--bucket', 'b'], io().io)).toBe(0);
    const d = tmp();
    const file = join(d, 'dump.json');
    writeFileSync(file, 'previous dump');
    vi.spyOn(MemEngine.prototype, 'listEntries').mockRejectedValue(new Error('metadata engine went away'));
    const r = io();
    expect(await main(['dump', meta, file], r.io)).toBe(1);
    expectOneLine(r.err(), /metadata engine went away/);
    expect(readFileSync(file, 'utf8')).toBe('previous dump');
    expect(readdirSync(d)).toEqual(['dump.json']);
  });

  it('load: a missing input creates nothing', async () => {
    const d = tmp();
    const db = join(d, 'new.db');
    const missing = io();
    expect(await main(['load', `sqlite3://${db}`, join(d, 'nope.json')], missing.io)).toBe(1);
    expectOneLine(missing.err(), /cannot read dump .*nope\.json: ENOENT/);
    expect(existsSync(db)).toBe(false);
  });

  it.skipIf(!HAVE_JUICEFS_FIXTURES)(
    `load: an invalid dump leaves no new database and an empty given one${NEEDS_FIXTURES}`,
    async () => {
      const d = tmp();
      const db = join(d, 'new.db');
      const sample = readFileSync(SAMPLE, 'utf8');
      writeFileSync(join(d, 'bad.json'), sample.replace('"f11": {', '"a/b": {'));
      const bad = io();
      expect(await main(['load', `sqlite3://${db}`, join(d, 'bad.json')], bad.io)).toBe(1);
      expectOneLine(bad.err(), /invalid dump: FSTree\/d1\/a\/b: entry name "a\/b" contains '\/'/);
      expect(readdirSync(d).filter((f) => f.startsWith('new.db'))).toEqual([]);
      // A truncated dump into a database that already existed (empty): it stays empty.
      const meta = `mem://clean-load-${process.pid}`;
      writeFileSync(join(d, 'cut.json'), sample.slice(0, Math.floor(sample.length * 0.8)));
      const cut = io();
      expect(await main(['load', meta, join(d, 'cut.json')], cut.io)).toBe(1);
      expectOneLine(cut.err(), /invalid dump JSON/);
      const e = await openEngine(meta);
      expect(await e.isEmpty()).toBe(true);
      expect(await e.getFormatText()).toBeUndefined();
      await e.close();
      expect(await main(['load', meta, SAMPLE], io().io)).toBe(0);
    },
  );

  it('read-only commands never create a database', async () => {
    const d = tmp();
    const db = join(d, 'missing.db');
    const meta = `sqlite3://${db}`;
    const commands = [
      ['status', meta],
      ['dump', meta, join(d, 'out.json')],
      ['fsck', meta],
      ['gc', meta],
      ['quota', 'list', meta],
      ['quota', 'get', meta, '--path', '/'],
      ['config', meta],
      ['config', meta, '--trash-days', '2'],
    ];
    for (const argv of commands) {
      const r = io();
      expect(await main(argv, r.io), argv.join(' ')).toBe(1);
      expectOneLine(r.err(), /missing\.db does not exist/);
      expect(readdirSync(d), argv.join(' ')).toEqual([]);
    }
  });

  it('a --log path that cannot be written is one line, at once (gateway, mount -d)', async () => {
    const d = tmp();
    const meta = await volume(d);
    for (const argv of [
      ['gateway', 'webhdfs', meta, '--address', '127.0.0.1:0', '--log', '/proc/foo/gw.log'],
      ['mount', meta, join(d, 'mnt'), '-d', '--log', '/proc/foo/m.log'],
      ['mount', meta, join(d, 'mnt'), '-d', '--log', d],
    ]) {
      const r = io();
      const started = Date.now();
      expect(await main(argv, r.io), argv.join(' ')).toBe(1);
      expect(Date.now() - started).toBeLessThan(5000);
      expectOneLine(r.err(), /cannot write log file /);
    }
    expect(existsSync(join(d, 'mnt'))).toBe(false);
  }, 30_000);

  it('format refuses a bucket under /proc at once and leaves no database', async () => {
    const d = tmp();
    const db = join(d, 'v.db');
    const started = Date.now();
    const r = io();
    expect(await main(['format', `sqlite3://${db}`, 'vol', '--bucket', '/proc/foo/'], r.io)).toBe(1);
    expect(Date.now() - started).toBeLessThan(5000);
    expectOneLine(
      r.err(),
      /bucket \/proc\/foo\/ cannot be used: cannot create directory \/proc\/foo\/: ENOENT/,
    );
    expect(existsSync(db)).toBe(false);
  }, 30_000);
});

describe('meta password from the environment', () => {
  it('follows JuiceFS: REDIS_PASSWORD, then META_PASSWORD, then META_PASSWORD_FILE (trimmed)', () => {
    const d = mkdtempSync(join(tmpdir(), 'tjfs-pw-'));
    try {
      const file = join(d, 'pw');
      writeFileSync(file, '  from-file\n');
      expect(metaPasswordFromEnv({})).toBeUndefined();
      expect(metaPasswordFromEnv({ META_PASSWORD_FILE: file })).toBe('from-file');
      expect(metaPasswordFromEnv({ META_PASSWORD: 'meta', META_PASSWORD_FILE: file })).toBe('meta');
      expect(
        metaPasswordFromEnv({ REDIS_PASSWORD: 'redis', META_PASSWORD: 'meta', META_PASSWORD_FILE: file }),
      ).toBe('redis');
      expect(() => metaPasswordFromEnv({ META_PASSWORD_FILE: join(d, 'none') })).toThrow(
        /cannot read META_PASSWORD_FILE .*none: ENOENT/,
      );
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  describe('every command on a Redis with requirepass', () => {
    let server: RedisServer | undefined;
    const d = mkdtempSync(join(tmpdir(), 'tjfs-pw-redis-'));
    beforeAll(async () => {
      server = await startRedis();
      const r = new Redis(server.url);
      await r.config('SET', 'requirepass', 's3cret pass');
      r.disconnect();
    });
    afterAll(async () => {
      await server?.stop();
      rmSync(d, { recursive: true, force: true });
    });

    it('format, status, config, quota, dump, fsck, gc and load authenticate with each variable', async () => {
      const url = server!.url;
      const file = join(d, 'pw');
      writeFileSync(file, 's3cret pass\n');
      const denied = io();
      expect(await main(['status', url], denied.io)).toBe(1);
      expect(denied.err()).toMatch(/NOAUTH|auth/i);
      const envs = [
        { REDIS_PASSWORD: 's3cret pass' },
        { META_PASSWORD: 's3cret pass' },
        { META_PASSWORD_FILE: file },
      ];
      expect(await main(['format', url, 'pwvol', '--bucket', join(d, 'bucket')], io(envs[0]).io)).toBe(0);
      const dump = join(d, 'dump.json');
      const runs = [
        ['status', url],
        ['config', url],
        ['quota', 'list', url],
        ['dump', url, dump],
        ['fsck', url],
        ['gc', url],
      ];
      for (const env of envs) {
        for (const argv of runs) {
          const r = io(env);
          expect(await main(argv, r.io), `${argv[0]} with ${Object.keys(env)[0]}: ${r.err()}`).toBe(0);
        }
      }
      // load into another DB of the same server (empty), with the password from a file.
      const other = url.replace(/\/1$/, '/2');
      const l = io({ META_PASSWORD_FILE: file });
      expect(await main(['load', other, dump], l.io), l.err()).toBe(0);
      const s = io({ META_PASSWORD: 's3cret pass' });
      expect(await main(['status', other], s.io)).toBe(0);
      expect(s.out()).toContain('"Name": "pwvol"');
    }, 120_000);
  });
});
