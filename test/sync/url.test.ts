/** SRC/DST parsing as JuiceFS's cmd/sync.go createSyncStorage. */
import { describe, expect, it } from 'vitest';
import { parseSyncUrl, SyncUrlError } from '../../src/sync/url.js';

const o = { cwd: '/work/here', env: { VOL: 'redis://h:6379/1' } as Record<string, string> };

describe('parseSyncUrl', () => {
  it('local paths: relative to cwd, trailing slash kept, file:// taken as is', () => {
    expect(parseSyncUrl('data/', o)).toEqual({ kind: 'local', path: '/work/here/data/' });
    expect(parseSyncUrl('/abs/prefix', o)).toEqual({ kind: 'local', path: '/abs/prefix' });
    expect(parseSyncUrl('file:///mnt/a%20b/', o)).toEqual({ kind: 'local', path: '/mnt/a b/' });
  });

  it('jfs://NAME/path takes the meta URL from the environment variable NAME', () => {
    expect(parseSyncUrl('jfs://VOL/logs/', o)).toEqual({
      kind: 'jfs',
      name: 'VOL',
      metaUrl: 'redis://h:6379/1',
      path: '/logs/',
    });
    expect(parseSyncUrl('jfs://VOL', o)).toMatchObject({ path: '/' });
    expect(() => parseSyncUrl('jfs://MISSING/', o)).toThrow(/environment variable MISSING is not set/);
  });

  it('s3 path-style hosts (IP, localhost, s3.REGION.amazonaws.com): bucket from the path', () => {
    expect(parseSyncUrl('s3://ak:sk@10.1.2.3:9000/bkt/a/b/', { ...o, noHttps: true })).toEqual({
      kind: 's3',
      bucketUrl: 'http://10.1.2.3:9000/bkt',
      prefix: 'a/b/',
      accessKey: 'ak',
      secretKey: 'sk',
      label: 's3://10.1.2.3:9000/bkt/a/b/',
    });
    // An IP host keeps HTTPS unless --no-https (JuiceFS supportHTTPS looks past the first dot).
    expect(parseSyncUrl('s3://10.1.2.3:9000/bkt/', o)).toMatchObject({
      bucketUrl: 'https://10.1.2.3:9000/bkt',
      prefix: '',
    });
    expect(parseSyncUrl('s3://s3.eu-west-1.amazonaws.com/bkt/p', o)).toMatchObject({
      bucketUrl: 'https://s3.eu-west-1.amazonaws.com/bkt',
      prefix: 'p',
    });
  });

  it('s3 virtual-hosted: bucket in the host, the whole path is the prefix; token after the secret', () => {
    expect(parseSyncUrl('s3://ak:s%2Fk:tok@bkt.s3.us-west-2.amazonaws.com/logs', o)).toEqual({
      kind: 's3',
      bucketUrl: 'https://bkt.s3.us-west-2.amazonaws.com',
      prefix: 'logs',
      accessKey: 'ak',
      secretKey: 's/k',
      sessionToken: 'tok',
      label: 's3://bkt.s3.us-west-2.amazonaws.com/logs',
    });
    expect(parseSyncUrl('s3://bkt.minio.example.com/x/', o)).toMatchObject({
      bucketUrl: 'https://minio.example.com/bkt',
      prefix: 'x/',
    });
    expect(parseSyncUrl('s3://bkt/x/', o)).toMatchObject({ bucketUrl: 's3://bkt', prefix: 'x/' });
  });

  it('credentials from AWS_* when the URL has none; minio:// is plain HTTP', () => {
    const env = { AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'S' };
    expect(parseSyncUrl('minio://h:9000/b/p/', { cwd: '/', env })).toMatchObject({
      bucketUrl: 'http://h:9000/b',
      prefix: 'p/',
      accessKey: 'A',
      secretKey: 'S',
    });
  });

  it('rejects what it cannot open with a message naming the problem, never the secret', () => {
    for (const [u, re] of [
      ['gs://b/', /unsupported storage scheme 'gs'/],
      ['user:secret@host:/x/', /sftp storage is not supported/],
      ['s3://localhost:9000/', /has no bucket/],
      ['file://', /absolute path/],
      ['', /empty/],
    ] as const) {
      let e: unknown;
      try {
        parseSyncUrl(u, o);
      } catch (x) {
        e = x;
      }
      expect(e, u).toBeInstanceOf(SyncUrlError);
      expect((e as Error).message).toMatch(re);
      expect((e as Error).message).not.toContain('secret');
    }
  });
});
