import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../util/redact.js';
import { CsiError } from './csi-error.js';
import { mountAt, parseMountInfo } from './mount-info.js';
import { planMount, sharedMountId } from './mount-options.js';
import { socketPathOf } from './csi-plugin.js';

describe('planMount', () => {
  it('maps JuiceFS-style options to tjfs mount flags, deterministically', () => {
    const a = planMount(['cache-size=1024', 'writeback', 'allow_other'], 'attr-cache=0,ro');
    expect(a.args).toEqual([
      '--attr-cache=0',
      '--cache-size=1024',
      '--read-only',
      '--writeback',
      '-o',
      'allow_other',
    ]);
    const b = planMount(['ro', 'allow_other,writeback'], 'cache-size=1024,attr-cache=0');
    expect(b.args).toEqual(a.args);
    expect(sharedMountId('sqlite3://x.db', a.args)).toBe(sharedMountId('sqlite3://x.db', b.args));
    expect(sharedMountId('sqlite3://y.db', a.args)).not.toBe(sharedMountId('sqlite3://x.db', a.args));
  });

  it('passes --io-retries on to the mount', () => {
    expect(planMount(['io-retries=20']).args).toEqual(['--io-retries=20']);
  });

  it('passes --verify-cache-checksum on to the mount', () => {
    expect(planMount(['verify-cache-checksum=full'])).toEqual({
      args: ['--verify-cache-checksum=full'],
      ignored: [],
    });
  });

  it('ignores JuiceFS-only flags and rejects unknown ones', () => {
    expect(planMount(['consul=10.0.0.1:8500', 'writeback_cache']).ignored).toEqual(['consul=10.0.0.1:8500']);
    expect(planMount(['writeback_cache']).args).toEqual(['-o', 'writeback_cache']);
    expect(planMount(['metrics=0.0.0.0:9567']).args).toEqual(['--metrics=0.0.0.0:9567']);
    expect(() => planMount(['rm-rf=/'])).toThrow(CsiError);
    expect(() => planMount(['cache-size'])).toThrow(/needs a value/);
  });
});

describe('helpers', () => {
  it('parses mountinfo with escapes', () => {
    const text =
      '36 35 0:51 /pvc-1 /var/lib/kubelet/pods/a\\040b/mount rw,relatime shared:1 - fuse.tjfs tjfs:vol rw,user_id=0\n';
    const r = parseMountInfo(text);
    expect(r[0]).toMatchObject({
      device: '0:51',
      root: '/pvc-1',
      mountPoint: '/var/lib/kubelet/pods/a b/mount',
      fsType: 'fuse.tjfs',
      source: 'tjfs:vol',
    });
    expect(mountAt(r, '/var/lib/kubelet/pods/a b/mount')?.id).toBe(36);
  });

  it('redacts passwords and parses endpoints', () => {
    expect(redactSecrets('mount redis://u:s3cret@h:6379/1 failed')).toBe(
      'mount redis://u:****@h:6379/1 failed',
    );
    expect(redactSecrets('postgres://:pw@h/db')).toBe('postgres://:****@h/db');
    expect(socketPathOf('unix:///csi/csi.sock')).toBe('/csi/csi.sock');
    expect(socketPathOf('unix:/csi/csi.sock')).toBe('/csi/csi.sock');
    expect(socketPathOf('/csi/csi.sock')).toBe('/csi/csi.sock');
    expect(() => socketPathOf('tcp://1.2.3.4:1')).toThrow();
  });
});
