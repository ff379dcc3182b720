/**
 * `tjfs sync` end to end between local directories (in-process CLI): copies, the summary
 * line, --update / --force-update / --check-all with mtimes and contents, --dry, --delete-dst,
 * --dirs, --perms, --links, include/exclude rules, prefixes without a trailing slash and
 * one-line errors.
 */
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  readlink,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureIo } from '../helpers/cli-io.js';

let root: string;
let src: string;
let dst: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tjfs-sync-'));
  src = join(root, 'src');
  dst = join(root, 'dst');
  await mkdir(src);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function put(base: string, rel: string, data: string, mtimeSec?: number): Promise<void> {
  const p = join(base, rel);
  await mkdir(join(p, '..'), { recursive: true });
  await writeFile(p, data);
  if (mtimeSec !== undefined) await utimes(p, mtimeSec, mtimeSec);
}

async function sync(...args: string[]): Promise<{ code: number; err: string; out: string; summary: string }> {
  const c = captureIo({}, root);
  const code = await main(['sync', ...args], c.io);
  const summary =
    c
      .err()
      .split('\n')
      .find((l) => l.startsWith('Found:')) ?? '';
  return { code, err: c.err(), out: c.out(), summary };
}

async function tree(base: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const n of (await readdir(d)).sort()) {
      const st = await lstat(join(d, n));
      if (st.isDirectory()) {
        out.push(`${rel}${n}/`);
        await walk(join(d, n), `${rel}${n}/`);
      } else out.push(`${rel}${n}`);
    }
  };
  if (existsSync(base)) await walk(base, '');
  return out;
}

describe('tjfs sync local -> local', () => {
  it('copies a tree, keeps mtimes, prints JuiceFS summary, and skips on the second run', async () => {
    await put(src, 'a.txt', 'hello', 1_600_000_000);
    await put(src, 'd/b.bin', 'x'.repeat(3000));
    await put(src, 'd/e/c', '');
    await put(src, 'a-b', 'dash sorts before a/');
    const r = await sync(src + '/', dst + '/');
    expect(r.code, r.err).toBe(0);
    expect(r.summary).toBe(
      'Found: 4, excluded: 0 (0 B), skipped: 0 (0 B), copied: 4 (2.95 KiB), extra: 0 (0 B), failed: 0',
    );
    expect(await tree(dst)).toEqual(['a-b', 'a.txt', 'd/', 'd/b.bin', 'd/e/', 'd/e/c']);
    expect(await readFile(join(dst, 'd/b.bin'), 'utf8')).toBe('x'.repeat(3000));
    expect(Math.floor((await stat(join(dst, 'a.txt'))).mtimeMs / 1000)).toBe(1_600_000_000);
    const again = await sync(src + '/', dst + '/');
    expect(again.summary).toBe(
      'Found: 4, excluded: 0 (0 B), skipped: 4 (2.95 KiB), copied: 0 (0 B), extra: 0 (0 B), failed: 0',
    );
  });

  it('treats SRC without a trailing slash as a prefix (JuiceFS file store) and requires both to agree', async () => {
    await put(src, 'x', '1');
    await put(root, 'srcfoo', 'prefix match too');
    const bad = await sync(src, dst + '/');
    expect(bad.code).not.toBe(0);
    expect(bad.err.trim()).toBe('tjfs: SRC and DST should both end with path separator or not!');
    const r = await sync(src, dst);
    expect(r.code, r.err).toBe(0);
    expect(await readFile(join(dst, 'x'), 'utf8')).toBe('1');
    expect(await readFile(join(root, 'dstfoo'), 'utf8')).toBe('prefix match too');
  });

  it('--dry changes nothing but counts what it would copy and delete', async () => {
    await put(src, 'a', 'aaa');
    await put(dst, 'extra', 'e');
    const r = await sync('--dry', '--delete-dst', src + '/', dst + '/');
    expect(r.code, r.err).toBe(0);
    expect(r.summary).toBe(
      'Found: 2, excluded: 0 (0 B), skipped: 0 (0 B), copied: 1 (3 B), extra: 0 (0 B), deleted: 1',
    );
    expect(await tree(dst)).toEqual(['extra']);
  });

  it('decides by size by default, by mtime with --update, always with --force-update, by content with --check-all', async () => {
    const old = 1_500_000_000;
    const newer = 1_700_000_000;
    // Same size, different bytes, destination newer.
    await put(src, 'same-size', 'AAAA', old);
    await put(dst, 'same-size', 'BBBB', newer);
    // Different size, destination newer.
    await put(src, 'bigger', 'longer text', old);
    await put(dst, 'bigger', 'short', newer);
    // Same size, source newer.
    await put(src, 'src-newer', 'NEW!', newer);
    await put(dst, 'src-newer', 'old.', old);

    let r = await sync(src + '/', dst + '/');
    expect(r.summary).toContain('skipped: 2 (8 B), copied: 1 (11 B)');
    expect(await readFile(join(dst, 'bigger'), 'utf8')).toBe('longer text');
    expect(await readFile(join(dst, 'same-size'), 'utf8')).toBe('BBBB');
    expect(await readFile(join(dst, 'src-newer'), 'utf8')).toBe('old.');

    // --update: only src-newer (sizes ignored); bigger now has src's mtime (copied) so it is equal.
    await put(dst, 'bigger', 'short', newer);
    r = await sync('--update', src + '/', dst + '/');
    expect(r.code, r.err).toBe(0);
    expect(await readFile(join(dst, 'src-newer'), 'utf8')).toBe('NEW!');
    expect(await readFile(join(dst, 'bigger'), 'utf8')).toBe('short');
    expect(await readFile(join(dst, 'same-size'), 'utf8')).toBe('BBBB');
    // Equal mtimes (the copy kept src's): nothing to update.
    r = await sync('--update', src + '/', dst + '/');
    expect(r.summary).toContain('skipped: 3 (19 B), copied: 0 (0 B)');

    // --check-all: same size and the same mtime but other bytes -> compared and copied.
    await utimes(join(dst, 'same-size'), old, old);
    await put(dst, 'bigger', 'longer text', old);
    r = await sync('--check-all', src + '/', dst + '/');
    expect(r.code, r.err).toBe(0);
    expect(r.summary).toMatch(/copied: 1 \(4 B\).*checked: 4 /);
    expect(await readFile(join(dst, 'same-size'), 'utf8')).toBe('AAAA');

    // --force-update copies everything.
    r = await sync('--force-update', src + '/', dst + '/');
    expect(r.summary).toContain('copied: 3 (19 B)');
  });

  it('--check-new verifies what it copies', async () => {
    await put(src, 'f', 'data');
    const r = await sync('--check-new', src + '/', dst + '/');
    expect(r.code, r.err).toBe(0);
    expect(r.summary).toContain('copied: 1 (4 B), extra: 0 (0 B), checked: 1 (4 B), failed: 0');
  });

  it('--delete-dst removes extra files, and extra directories with --dirs; --dirs copies empty directories', async () => {
    await put(src, 'keep', 'k');
    await mkdir(join(src, 'empty'));
    await put(dst, 'gone', 'g');
    await put(dst, 'olddir/x', 'x');
    let r = await sync('--delete-dst', src + '/', dst + '/');
    expect(r.code, r.err).toBe(0);
    expect(await tree(dst)).toEqual(['keep', 'olddir/']);
    expect(r.summary).toContain('extra: 1 (0 B), deleted: 2');
    r = await sync('--delete-dst', '--dirs', src + '/', dst + '/');
    expect(r.code, r.err).toBe(0);
    expect(await tree(dst)).toEqual(['empty/', 'keep']);
  });

  it('--exclude/--include apply in order, first match wins, per path level', async () => {
    for (const f of ['a.txt', 'b.log', 'keep.log', 'logs/x.txt', 'sub/c.txt', 'sub/d.tmp', 'sub/keep.log'])
      await put(src, f, f);
    const r = await sync(
      '--include',
      'keep.log',
      '--exclude',
      '*.log',
      '--exclude=logs/',
      '--exclude',
      '/sub/*.tmp',
      src + '/',
      dst + '/',
    );
    expect(r.code, r.err).toBe(0);
    expect(await tree(dst)).toEqual(['a.txt', 'keep.log', 'sub/', 'sub/c.txt', 'sub/keep.log']);
    expect(r.summary).toMatch(/^Found: 4, excluded: 4 /);
  });

  it('--include without --exclude changes nothing (as JuiceFS) and warns', async () => {
    await put(src, 'a', '1');
    await put(src, 'b', '2');
    const r = await sync('--include', 'a', src + '/', dst + '/');
    expect(r.err).toContain('include option needs to be used with the exclude option');
    expect(await tree(dst)).toEqual(['a', 'b']);
  });

  it('--perms keeps modes; without it the mode is not copied', async () => {
    await put(src, 'secret', 's');
    await chmod(join(src, 'secret'), 0o604);
    let r = await sync(src + '/', dst + '/');
    expect(r.code, r.err).toBe(0);
    expect((await stat(join(dst, 'secret'))).mode & 0o777).not.toBe(0o604);
    r = await sync('--perms', src + '/', dst + '/');
    expect(r.code, r.err).toBe(0);
    expect(r.summary).toContain('copied: 1 (0 B)'); // only the permissions
    expect((await stat(join(dst, 'secret'))).mode & 0o777).toBe(0o604);
  });

  it('--links copies symlinks as symlinks; without it the target is copied', async () => {
    await put(src, 'target', 'pointed to');
    await symlink('target', join(src, 'link'));
    let r = await sync(src + '/', dst + '/');
    expect(r.code, r.err).toBe(0);
    expect((await lstat(join(dst, 'link'))).isSymbolicLink()).toBe(false);
    expect(await readFile(join(dst, 'link'), 'utf8')).toBe('pointed to');
    await rm(dst, { recursive: true });
    r = await sync('--links', src + '/', dst + '/');
    expect(r.code, r.err).toBe(0);
    expect(await readlink(join(dst, 'link'))).toBe('target');
  });

  it('--delete-src removes source files the destination already has; --delete-src-after those it copied', async () => {
    await put(src, 'a', 'same');
    await put(dst, 'a', 'same');
    await put(src, 'b', 'new');
    let r = await sync('--delete-src', src + '/', dst + '/');
    expect(r.code, r.err).toBe(0);
    expect(await tree(src)).toEqual(['b']);
    expect(await tree(dst)).toEqual(['a', 'b']);
    await put(src, 'c', 'more');
    r = await sync('--delete-src-after', src + '/', dst + '/');
    expect(r.code, r.err).toBe(0);
    expect(await tree(src)).toEqual(['b']); // b was already there (skipped), c copied and deleted
    expect(await readFile(join(dst, 'c'), 'utf8')).toBe('more');
  });

  it('runs with many threads on many files', async () => {
    for (let i = 0; i < 120; i++) await put(src, `d${i % 7}/f${i}`, `content ${i}`);
    const r = await sync('--threads', '16', src + '/', dst + '/');
    expect(r.code, r.err).toBe(0);
    expect(r.summary).toMatch(/^Found: 120, .*copied: 120 /);
    for (let i = 0; i < 120; i += 17)
      expect(await readFile(join(dst, `d${i % 7}/f${i}`), 'utf8')).toBe(`content ${i}`);
  });

  it('--start/--end, size and age filters, --limit', async () => {
    const now = Math.floor(Date.now() / 1000);
    await put(src, 'a', '1', now);
    await put(src, 'b', '22', now - 3 * 86400);
    await put(src, 'c', '333', now);
    await put(src, 'd', '4444', now - 10 * 86400);
    const run = async (...args: string[]): Promise<string[]> => {
      await rm(dst, { recursive: true, force: true });
      const r = await sync(...args, src + '/', dst + '/');
      expect(r.code, r.err).toBe(0);
      return tree(dst);
    };
    expect(await run('--start', 'b', '--end', 'c')).toEqual(['b', 'c']);
    expect(await run('--min-size', '2', '--max-size', '3')).toEqual(['b', 'c']);
    expect(await run('--max-age', '5d')).toEqual(['a', 'b', 'c']);
    expect(await run('--min-age', '1d')).toEqual(['b', 'd']);
    const local = (sec: number): string => {
      const d = new Date(sec * 1000);
      const p2 = (n: number): string => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
    };
    expect(await run('--start-time', local(now - 5 * 86400), '--end-time', local(now - 86400))).toEqual([
      'b',
    ]);
    expect(await run('--limit', '2')).toEqual(['a', 'b']);
    expect(await run('--limit=-1')).toEqual(['a', 'b', 'c', 'd']);
    expect(await run('--limit', '0')).toEqual([]);
    const r = await sync('--min-size', '2', src + '/', dst + '/');
    expect(r.summary).toMatch(/^Found: 3, excluded: 1 \(1 B\)/);
    for (const bad of [
      ['--max-age', 'soon'],
      ['--start-time', '2020-01-01'],
      ['--limit', 'x'],
      ['--min-size', 'big'],
    ]) {
      const e = await sync(...bad, src + '/', dst + '/');
      expect(e.code, bad.join(' ')).not.toBe(0);
      expect(e.err.trim()).toMatch(new RegExp(`^tjfs: invalid ${bad[0]} `));
    }
  });

  it('draws progress bars on a terminal, then the summary line', async () => {
    for (let i = 0; i < 5; i++) await put(src, `f${i}`, 'x');
    const c = captureIo({}, root);
    Object.assign(c.io.stderr, { isTTY: true, columns: 100 });
    const code = await main(['sync', src + '/', dst + '/'], c.io);
    expect(code, c.err()).toBe(0);
    expect(c.err()).toContain('Copied objects');
    expect(c.err()).toContain('Found: 5, ');
    expect(await tree(dst)).toHaveLength(5);
  });

  it('bad URLs and missing sources are one-line errors with a non-zero exit', async () => {
    const cases: [string[], RegExp][] = [
      [['foo://x/', dst + '/'], /^tjfs: unsupported storage scheme 'foo'/],
      [['jfs://NOPE/', dst + '/'], /^tjfs: environment variable NOPE is not set/],
      [[join(root, 'missing') + '/', dst + '/'], /^tjfs: source .*missing\/ does not exist$/],
      [['host:path/', dst + '/'], /^tjfs: sftp storage is not supported/],
      [['s3://127.0.0.1:1/', dst + '/'], /^tjfs: s3:\/\/127\.0\.0\.1:1\/ has no bucket/],
      [['--threads', 'x', src + '/', dst + '/'], /^tjfs: invalid --threads 'x'/],
    ];
    for (const [args, re] of cases) {
      const r = await sync(...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.err.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.err.trim()).toMatch(re);
    }
    expect(existsSync(dst)).toBe(false);
  });
});
