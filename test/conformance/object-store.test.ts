/**
 * One conformance suite for every ObjectStore backend (file, mem, s3 via s3rver), run
 * with and without the `{volume}/` prefix wrapper. Fresh namespace per case.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../src/object/object-store.js';
import { ObjectNotFoundError, listAll } from '../../src/object/object-store.js';
import { createObjectStore } from '../../src/object/registry.js';
import { S3ObjectStore } from '../../src/object/s3/s3-store.js';
import type { S3TestServer } from '../helpers/s3-server.js';
import { startS3Server } from '../helpers/s3-server.js';

let s3: S3TestServer;
let fileRoot: string;
let seq = 0;
const s3Clients: S3ObjectStore[] = [];

beforeAll(async () => {
  s3 = await startS3Server();
  fileRoot = await mkdtemp(join(tmpdir(), 'tjfs-filestore-'));
});

afterAll(async () => {
  for (const c of s3Clients) c.destroy();
  await s3.stop();
  await rm(fileRoot, { recursive: true, force: true });
});

type Factory = () => Promise<ObjectStore>;

const backends: Record<string, Factory> = {
  mem: () => createObjectStore({ storage: 'mem', bucket: `m${seq++}`, retry: false }),
  file: () => createObjectStore({ storage: 'file', bucket: join(fileRoot, `b${seq++}`) + '/', retry: false }),
  s3: async () => {
    const raw = new S3ObjectStore({
      bucket: `${s3.bucketUrl}/run${seq++}`,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
    });
    s3Clients.push(raw);
    return raw;
  },
};

for (const [name, make] of Object.entries(backends)) {
  for (const prefixed of [false, true]) {
    describe(`ObjectStore ${name}${prefixed ? ' + prefix' : ''}`, () => {
      const fresh = async (): Promise<ObjectStore> => {
        const raw = await make();
        if (!prefixed) return raw;
        const { PrefixedStore } = await import('../../src/object/prefixed.js');
        return new PrefixedStore(raw, 'myjfs/');
      };

      it('put/get/head round trip, overwrite', async () => {
        const st = await fresh();
        const data = Buffer.from('hello world');
        await st.put('chunks/0/0/1_0_11', data);
        expect(await st.get('chunks/0/0/1_0_11')).toEqual(data);
        const h = await st.head('chunks/0/0/1_0_11');
        expect(h?.size).toBe(11);
        expect(h?.key).toBe('chunks/0/0/1_0_11');
        await st.put('chunks/0/0/1_0_11', Buffer.from('bye'));
        expect((await st.get('chunks/0/0/1_0_11')).toString()).toBe('bye');
        await st.put('empty', Buffer.alloc(0));
        expect((await st.get('empty')).length).toBe(0);
      });

      it('ranged get, clamped at the end', async () => {
        const st = await fresh();
        const data = Buffer.from('0123456789');
        await st.put('r', data);
        expect((await st.get('r', { off: 2, len: 3 })).toString()).toBe('234');
        expect((await st.get('r', { off: 8, len: 10 })).toString()).toBe('89');
        expect((await st.get('r', { off: 10, len: 5 })).length).toBe(0);
      });

      it('get into a caller buffer: the object lands in it when it fits, else in its own', async () => {
        const st = await fresh();
        const data = Buffer.alloc(300 * 1024);
        for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
        await st.put('into/a', data);
        const into = Buffer.alloc(512 * 1024, 0xee);
        const got = await st.get('into/a', undefined, into);
        expect(got.buffer).toBe(into.buffer);
        expect(got.equals(data)).toBe(true);
        const ranged = await st.get('into/a', { off: 1000, len: 5000 }, into);
        expect(ranged.equals(data.subarray(1000, 6000))).toBe(true);
        const small = Buffer.alloc(1024);
        const own = await st.get('into/a', undefined, small);
        expect(own.buffer).not.toBe(small.buffer);
        expect(own.equals(data)).toBe(true);
      });

      it('missing key: typed not-found on get, undefined on head, delete ok', async () => {
        const st = await fresh();
        await expect(st.get('nope/x')).rejects.toBeInstanceOf(ObjectNotFoundError);
        await expect(st.get('nope/x')).rejects.toMatchObject({ key: 'nope/x' });
        expect(await st.head('nope/x')).toBeUndefined();
        await st.delete('nope/x');
        await st.put('d', Buffer.from('x'));
        await st.delete('d');
        expect(await st.head('d')).toBeUndefined();
        await st.delete('d');
      });

      it('list with prefix, startAfter and limit, in key order', async () => {
        const st = await fresh();
        const keys = ['a/x', 'a/y/z', 'a0', 'b/1', 'b/2', 'b/3', 'c'];
        for (const k of keys) await st.put(k, Buffer.from(k));
        const all = (await st.list({})).map((o) => o.key);
        expect(all).toEqual(keys);
        expect((await st.list({ prefix: 'b/' })).map((o) => o.key)).toEqual(['b/1', 'b/2', 'b/3']);
        expect((await st.list({ prefix: 'a' })).map((o) => o.key)).toEqual(['a/x', 'a/y/z', 'a0']);
        expect((await st.list({ startAfter: 'a/y/z' })).map((o) => o.key)).toEqual([
          'a0',
          'b/1',
          'b/2',
          'b/3',
          'c',
        ]);
        expect((await st.list({ prefix: 'b/', startAfter: 'b/1', limit: 1 })).map((o) => o.key)).toEqual([
          'b/2',
        ]);
        const sizes = (await st.list({ prefix: 'c' })).map((o) => o.size);
        expect(sizes).toEqual([1]);
        const paged: string[] = [];
        for await (const o of listAll(st, { pageSize: 2 })) paged.push(o.key);
        expect(paged).toEqual(keys);
      });

      it.skipIf(name === 's3')(
        'byte order puts "a-b" before "a/x" (s3rver orders by directory)',
        async () => {
          const st = await fresh();
          for (const k of ['a/x', 'a-b', 'a.c/d']) await st.put(k, Buffer.from(k));
          expect((await st.list({})).map((o) => o.key)).toEqual(['a-b', 'a.c/d', 'a/x']);
          expect((await st.list({ startAfter: 'a-b' })).map((o) => o.key)).toEqual(['a.c/d', 'a/x']);
        },
      );

      it('concurrent puts of distinct keys', async () => {
        const st = await fresh();
        const n = 16;
        await Promise.all(Array.from({ length: n }, (_, i) => st.put(`p/${i}`, Buffer.alloc(1000, i))));
        const got = await st.list({ prefix: 'p/' });
        expect(got.length).toBe(n);
        expect((await st.get('p/7')).equals(Buffer.alloc(1000, 7))).toBe(true);
      });

      it('describe() names the backend', async () => {
        const st = await fresh();
        expect(st.describe()).toMatch(/^(mem|file|s3):\/\//);
      });
    });
  }
}
