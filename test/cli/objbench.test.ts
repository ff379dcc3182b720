/**
 * `tjfs objbench` in-process against a local file store and a private s3rver, with small
 * sizes: every functional row's result, a performance table whose value and cost cells are
 * numbers, no benchmark objects left behind, and clear errors for a bad bucket or flags.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { listAll } from '../../src/object/object-store.js';
import { S3ObjectStore } from '../../src/object/s3/s3-store.js';
import { captureIo } from '../helpers/cli-io.js';
import { freePort } from '../helpers/redis-server.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';

const SMALL = ['--big-object-size', '8M', '--block-size', '1M', '--small-objects', '12', '-p', '2'];

/** Rows of the first `+---+` table after `title`, as arrays of trimmed cells. */
function table(text: string, title: string): string[][] {
  const lines = text.slice(text.indexOf(title)).split('\n');
  const start = lines.findIndex((l) => l.startsWith('+'));
  const rows: string[][] = [];
  for (const l of lines.slice(start)) {
    if (l.startsWith('+')) continue;
    if (!l.startsWith('|')) break;
    rows.push(
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return rows.slice(1); // without the header
}

function functional(text: string): Record<string, string> {
  return Object.fromEntries(table(text, 'Start Functional Testing').map((r) => [r[1], r[2]]));
}

const BASIC = [
  'create a bucket',
  'put an object',
  'get an object',
  'get non-exist',
  'get partial object',
  'head an object',
  'delete an object',
  'delete non-exist',
  'list objects',
  'special key',
  'put a big object',
];

function expectPerformance(text: string, threads: number): void {
  expect(text).toContain(
    `Benchmark finished! block-size: 1.0 MiB, big-object-size: 8.0 MiB, small-object-size: 128 KiB, small-objects: 12, NumThreads: ${threads}`,
  );
  const rows = table(text, 'Start Performance Testing');
  expect(rows.map((r) => r[0])).toEqual([
    'upload objects',
    'download objects',
    'put small objects',
    'get small objects',
    'list objects',
    'head objects',
    'delete objects',
    'change permissions',
    'change owner/group',
    'update mtime',
  ]);
  const units = ['MiB/s', 'MiB/s', 'objects/s', 'objects/s', 'objects/s', 'objects/s', 'objects/s'];
  for (const [i, unit] of units.entries()) {
    const [, value, cost] = rows[i]!;
    const m = new RegExp(`^(\\d+\\.\\d\\d) ${unit.replace('/', '\\/')}$`).exec(value!);
    expect(m, `${rows[i]![0]}: ${value}`).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(cost).toMatch(i === 4 ? /^\d+\.\d\d ms\/ 20 objects$/ : /^[\d.e-]+ ms\/object$/);
  }
  for (const r of rows.slice(7)) expect(r.slice(1)).toEqual(['not support', 'not support']);
}

describe('tjfs objbench on a file store', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tjfs-objbench-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the functional cases and fills the performance table', async () => {
    const h = captureIo();
    const bucket = join(dir, 'bucket');
    const code = await main(['objbench', bucket, '--storage', 'file', ...SMALL], h.io);
    const text = h.out();
    expect(code, h.err() + h.out()).toBe(0);
    const f = functional(text);
    for (const t of BASIC) expect(f[t], t).toBe('pass');
    // The file store writes a key ending in '/' as a file path, which the OS refuses (JuiceFS
    // makes a directory); the row reports it rather than hiding it.
    expect(f['put an empty object']).toMatch(/^put `\/` suffixed object failed: put slash_/);
    for (const t of ['multipart upload', 'change owner/group', 'change permission', 'change mtime'])
      expect(f[t], t).toBe('not support');
    expectPerformance(text, 2);
    expect(readdirSync(bucket)).toEqual([]); // the __juicefs_benchmark_*__ prefix is gone
  }, 120_000);

  it('skips the functional tests and reduces too many threads', async () => {
    const h = captureIo();
    const args = ['objbench', join(dir, 'b2'), '--skip-functional-tests', '--big-object-size', '8M'];
    const code = await main([...args, '--block-size', '1M', '--small-objects', '12', '-p', '64'], h.io);
    expect(code, h.err() + h.out()).toBe(0);
    expect(h.out()).not.toContain('Start Functional Testing');
    expect(h.err()).toContain('reduced to 8');
    expect(h.out()).toContain('NumThreads: 8');
  }, 60_000);

  it('refuses an unusable bucket and bad flags with one line', async () => {
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    let h = captureIo();
    expect(await main(['objbench', join(file, 'sub'), '--skip-functional-tests'], h.io)).toBe(1);
    expect(h.err()).toMatch(/^tjfs: cannot use bucket file:\/\/.*plain-file\/sub\/: ENOTDIR/);
    h = captureIo();
    expect(await main(['objbench', 'http://127.0.0.1:9/b', '--storage', 'file'], h.io)).toBe(1);
    expect(h.err()).toContain("doesn't look like a file path; did you forget --storage");
    for (const [flag, msg] of [
      ['--threads', '--threads should not be set to zero'],
      ['--small-objects', '--small-objects should not be set to zero'],
    ] as const) {
      h = captureIo();
      expect(await main(['objbench', join(dir, 'b3'), flag, '0'], h.io)).toBe(1);
      expect(h.err()).toContain(msg);
    }
    h = captureIo();
    expect(await main(['objbench', join(dir, 'b3'), '--block-size', 'big'], h.io)).toBe(1);
    expect(h.err()).toContain("invalid --block-size 'big'");
    h = captureIo();
    expect(await main(['objbench', join(dir, 'b3'), '--storage', 'gcs'], h.io)).toBe(1);
    expect(h.err()).toContain('unsupported storage type: gcs');
  });
});

describe('tjfs objbench on s3rver', () => {
  let s3: S3TestServer;
  beforeAll(async () => {
    s3 = await startS3Server('objbench');
  });
  afterAll(async () => {
    await s3.stop();
  });
  const creds = (): string[] => ['--access-key', s3.accessKey, '--secret-key', s3.secretKey];

  it('runs the functional cases and fills the performance table', async () => {
    const h = captureIo();
    const code = await main(['objbench', s3.bucketUrl, '--storage', 's3', ...creds(), ...SMALL], h.io);
    const text = h.out();
    expect(code, h.err() + h.out()).toBe(0);
    const f = functional(text);
    for (const t of [...BASIC, 'put an empty object']) expect(f[t], t).toBe('pass');
    for (const t of ['multipart upload', 'change owner/group', 'change permission', 'change mtime'])
      expect(f[t], t).toBe('not support');
    expectPerformance(text, 2);
    const left = new S3ObjectStore({
      bucket: s3.bucketUrl,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
    });
    const keys: string[] = [];
    for await (const o of listAll(left)) keys.push(o.key);
    left.destroy();
    expect(keys).toEqual([]);
  }, 180_000);

  it('takes the keys from ACCESS_KEY/SECRET_KEY', async () => {
    const h = captureIo({ ACCESS_KEY: s3.accessKey, SECRET_KEY: s3.secretKey });
    const code = await main(
      ['objbench', s3.bucketUrl, '--storage', 's3', '--skip-functional-tests', ...SMALL],
      h.io,
    );
    expect(code, h.err() + h.out()).toBe(0);
    expectPerformance(h.out(), 2);
  }, 60_000);

  it('names a missing bucket and an unreachable endpoint', async () => {
    let h = captureIo();
    const missing = s3.bucketUrl.replace(/objbench\/?$/, 'no-such-bucket');
    expect(await main(['objbench', missing, '--storage', 's3', ...creds()], h.io)).toBe(1);
    expect(h.err()).toMatch(/^tjfs: cannot use bucket s3:\/\/no-such-bucket\/.*: the bucket does not exist/);
    h = captureIo();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/b`;
    expect(await main(['objbench', url, '--storage', 's3', ...creds()], h.io)).toBe(1);
    expect(h.err()).toMatch(/^tjfs: cannot use bucket s3:\/\/b\/.*: endpoint unreachable \(ECONNREFUSED\)/);
    expect(h.err()).not.toContain(s3.secretKey);
  }, 60_000);
});
