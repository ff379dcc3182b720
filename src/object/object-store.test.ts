/** Unit tests: file path rules (docs/FORMAT.md §7.4, V-7), bucket URL parsing, retry wrapper. */
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileObjectStore, filePathFor } from './file/file-store.js';
import { FaultyStore } from './faulty.js';
import { MemObjectStore } from './mem/mem-store.js';
import { ObjectNotFoundError, ObjectStoreError, isStillRead } from './object-store.js';
import { RetryingStore } from './retrying.js';
import { parseBucketUrl } from './s3/bucket-url.js';

describe('file store path rules', () => {
  it('joins with a trailing slash, concatenates without', () => {
    expect(filePathFor('/var/jfs/', 'myjfs/chunks/0/1/1234_2_4194304')).toBe(
      '/var/jfs/myjfs/chunks/0/1/1234_2_4194304',
    );
    expect(filePathFor('/var/jfs', 'myjfs/chunks/0/1/1234_2_4194304')).toBe(
      '/var/jfsmyjfs/chunks/0/1/1234_2_4194304',
    );
  });
});

describe('file store without trailing slash', () => {
  it('stores and lists by plain concatenation, ignoring siblings', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tjfs-noslash-'));
    try {
      await mkdir(join(root, 'other'));
      const st = new FileObjectStore(join(root, 'jfs'));
      await st.put('myjfs/chunks/0/0/1_0_1', Buffer.from('x'));
      expect((await readFile(join(root, 'jfsmyjfs/chunks/0/0/1_0_1'))).toString()).toBe('x');
      expect((await st.list({})).map((o) => o.key)).toEqual(['myjfs/chunks/0/0/1_0_1']);
      expect((await st.list({ prefix: 'myjfs/' })).map((o) => o.key)).toEqual(['myjfs/chunks/0/0/1_0_1']);
      expect((await readdir(join(root, 'jfsmyjfs/chunks/0/0'))).length).toBe(1); // temp file renamed away
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('bucket URLs', () => {
  it('path style custom endpoint', () => {
    expect(parseBucketUrl('http://127.0.0.1:9000/mybucket')).toEqual({
      endpoint: 'http://127.0.0.1:9000',
      bucket: 'mybucket',
      region: 'us-east-1',
      forcePathStyle: true,
      keyPrefix: '',
    });
    expect(parseBucketUrl('http://h:1/b/sub/dir').keyPrefix).toBe('sub/dir/');
  });
  it('AWS virtual host', () => {
    expect(parseBucketUrl('https://jfs.s3.eu-west-1.amazonaws.com')).toEqual({
      endpoint: undefined,
      bucket: 'jfs',
      region: 'eu-west-1',
      forcePathStyle: false,
      keyPrefix: '',
    });
    expect(parseBucketUrl('https://jfs.s3.amazonaws.com').region).toBe('us-east-1');
  });
});

describe('RetryingStore', () => {
  const fast = { baseDelayMs: 1, maxDelayMs: 2 };
  it('retries transient failures then succeeds', async () => {
    const mem = new MemObjectStore();
    const f = new FaultyStore(mem).addRule({ ops: ['put'], times: 3 });
    const st = new RetryingStore(f, { ...fast, retries: 5 });
    await st.put('k', Buffer.from('v'));
    expect(mem.counters.put).toBe(1);
    expect(f.injected).toBe(3);
  });
  it('final error names the key and the cause', async () => {
    const f = new FaultyStore(new MemObjectStore()).addRule({ ops: ['get'] });
    const st = new RetryingStore(f, { ...fast, retries: 2 });
    const err = await st.get('some/key').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectStoreError);
    expect((err as ObjectStoreError).key).toBe('some/key');
    expect((err as Error).message).toContain('some/key');
    expect((err as Error).cause).toBeInstanceOf(Error);
    expect(f.injected).toBe(3);
  });
  it('does not retry not-found or permanent errors', async () => {
    const mem = new MemObjectStore();
    const st = new RetryingStore(mem, fast);
    await expect(st.get('x')).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(mem.counters.get).toBe(1);
    const f = new FaultyStore(mem).addRule({ ops: ['put'], permanent: true });
    await expect(new RetryingStore(f, fast).put('y', Buffer.alloc(1))).rejects.toBeInstanceOf(
      ObjectStoreError,
    );
    expect(f.injected).toBe(1);
  });
  it('times out a hung call and retries', async () => {
    const mem = new MemObjectStore();
    const f = new FaultyStore(mem).addRule({ ops: ['put'], hang: true, times: 1 });
    const st = new RetryingStore(f, { ...fast, putTimeoutMs: 50 });
    await st.put('k', Buffer.from('v'));
    f.releaseHung();
    expect(mem.counters.put).toBe(1);
  });
  it('a put given up on marks its data as still read until the call ends', async () => {
    const mem = new MemObjectStore();
    const f = new FaultyStore(mem).addRule({ ops: ['put'], hang: true, times: 1 });
    const data = Buffer.from('payload');
    await new RetryingStore(f, { ...fast, putTimeoutMs: 50 }).put('k', data);
    expect(mem.counters.put).toBe(1); // the retry stored it
    expect(isStillRead(data)).toBe(true); // the first attempt still holds it
    f.releaseHung();
    await new Promise((r) => setTimeout(r, 10));
    expect(isStillRead(data)).toBe(false);
  });
  it('reads into the caller buffer on the first attempt only', async () => {
    const mem = new MemObjectStore();
    await mem.put('k', Buffer.from('hello'));
    const into = Buffer.alloc(16);
    const st = new RetryingStore(mem, fast);
    const got = await st.get('k', undefined, into);
    expect(got.buffer).toBe(into.buffer);
    expect(got.toString()).toBe('hello');
    // A hung first attempt may still write into `into` later: the retry must not use it.
    const f = new FaultyStore(mem).addRule({ ops: ['get'], hang: true, times: 1 });
    const other = Buffer.alloc(16);
    const retried = await new RetryingStore(f, { ...fast, getTimeoutMs: 50 }).get('k', undefined, other);
    f.releaseHung();
    expect(retried.buffer).not.toBe(other.buffer);
    expect(retried.toString()).toBe('hello');
  });
});
