/**
 * Unit tests (no server) for Redis key names (docs/FORMAT.md §13 V-5) and URL parsing (docs/FORMAT.md §5.1),
 * including the cluster prefix `{DB}`.
 */
import { describe, expect, it } from 'vitest';
import { TRASH_INODE } from '../../base/types.js';
import {
  COUNTER_KEYS,
  delFileMember,
  parseDelFileMember,
  parseSliceRefField,
  RedisKeys,
  sliceRefField,
} from './redis-keys.js';
import { parseRedisUrl } from './redis-url.js';

describe('RedisKeys', () => {
  it('builds the V-5 names without prefix', () => {
    const k = new RedisKeys('');
    expect([k.inode(1n), k.entries(1n), k.chunk(3n, 0), k.symlink(4n), k.xattrs(3n), k.parents(5n)]).toEqual([
      'i1',
      'd1',
      'c3_0',
      's4',
      'x3',
      'p5',
    ]);
    expect([k.flock(3n), k.plock(3n), k.sustained(7), k.locked(7)]).toEqual([
      'lockf3',
      'lockp3',
      'session7',
      'locked7',
    ]);
    expect(k.entries(TRASH_INODE)).toBe('d9223372032828243968');
    expect(k.global('setting')).toBe('setting');
    expect(sliceRefField(1234, 4194304)).toBe('k1234_4194304');
    expect(delFileMember(3n, 5)).toBe('3:5');
  });

  it('prefixes every key (never fields) in cluster mode', () => {
    const k = new RedisKeys('{0}');
    expect(k.inode(1n)).toBe('{0}i1');
    expect(k.global('setting')).toBe('{0}setting');
    expect(k.counter('nextInode')).toBe('{0}nextinode');
    expect(k.locked(7)).toBe('{0}locked7');
    expect(k.dirStatKeys()).toEqual(['{0}dirDataLength', '{0}dirUsedSpace', '{0}dirUsedInodes']);
    expect(k.quotaKeys('user')).toEqual(['{0}userQuota', '{0}userQuotaUsedSpace', '{0}userQuotaUsedInodes']);
    expect(k.parseLockKey('{0}lockf3')).toBe(3n);
    expect(k.parseLockKey('{0}lockp12')).toBe(12n);
    expect(k.parseLockKey('lockf3')).toBeUndefined();
  });

  it('spells counters like Go', () => {
    expect(COUNTER_KEYS.nextInode).toBe('nextinode');
    expect(COUNTER_KEYS.nextChunk).toBe('nextchunk');
    expect(COUNTER_KEYS.nextSession).toBe('nextsession');
    expect(COUNTER_KEYS.nextTrash).toBe('nextTrash');
    expect(COUNTER_KEYS.totalInodes).toBe('totalInodes');
  });

  it('parses fields and members, skipping legacy forms', () => {
    expect(parseSliceRefField('k1234_4194304')).toEqual({ id: 1234, size: 4194304 });
    expect(parseSliceRefField('x')).toBeUndefined();
    expect(parseDelFileMember('3:5')).toEqual({ ino: 3n, length: 5 });
    expect(parseDelFileMember('3')).toBeUndefined();
    expect(parseDelFileMember('3:5:6')).toBeUndefined();
  });
});

describe('parseRedisUrl', () => {
  it('parses standalone URLs with DB and password', () => {
    const t = parseRedisUrl('redis://user:s3cret@example.com:6380/3');
    expect(t).toMatchObject({
      mode: 'standalone',
      db: 3,
      prefix: '',
      tls: false,
      username: 'user',
      password: 's3cret',
    });
    expect(t.hosts).toEqual([{ host: 'example.com', port: 6380 }]);
    expect(t.displayUrl).toBe('redis://user:****@example.com:6380/3');
    expect(parseRedisUrl('redis://h').hosts).toEqual([{ host: 'h', port: 6379 }]);
    expect(parseRedisUrl('redis://:pw@h/2')).toMatchObject({ db: 2, password: 'pw' });
    expect(parseRedisUrl('redis://:pw@h/2').username).toBeUndefined();
  });

  it('takes the fallback password only when the URL has none', () => {
    expect(parseRedisUrl('redis://h:1/0', 'env').password).toBe('env');
    expect(parseRedisUrl('redis://:url@h:1/0', 'env').password).toBe('url');
  });

  it('parses rediss, unix and cluster forms', () => {
    expect(parseRedisUrl('rediss://h:6379/1')).toMatchObject({ tls: true, db: 1 });
    expect(parseRedisUrl('unix:///var/run/redis.sock?db=4')).toMatchObject({
      path: '/var/run/redis.sock',
      db: 4,
    });
    expect(parseRedisUrl('unix://tmp/r.sock')).toMatchObject({ path: '/tmp/r.sock', db: 0 });
    const c = parseRedisUrl('redis://h1:7000,h2:7001/5');
    expect(c).toMatchObject({ mode: 'cluster', db: 5, prefix: '{5}' });
    expect(c.hosts).toEqual([
      { host: 'h1', port: 7000 },
      { host: 'h2', port: 7001 },
    ]);
    expect(parseRedisUrl('redis://h1:7000,h2:7001').prefix).toBe('{0}');
  });

  it('parses the sentinel form (comma before the first colon)', () => {
    const s = parseRedisUrl('redis://:pw@mymaster,s1,s2:26380/2');
    expect(s).toMatchObject({ mode: 'sentinel', masterName: 'mymaster', db: 2, prefix: '' });
    expect(s.hosts).toEqual([
      { host: 's1', port: 26380 },
      { host: 's2', port: 26380 },
    ]);
  });

  it('rejects malformed URLs with EINVAL', () => {
    expect(() => parseRedisUrl('redis://h:99999/0')).toThrow(/invalid redis URL/);
    expect(() => parseRedisUrl('redis://h:1/x')).toThrow(/bad database/);
  });
});
