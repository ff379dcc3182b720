/** Redaction: URL passwords become '****' wherever they stand; secret JSON fields read "removed". */
import { describe, expect, it } from 'vitest';
import { redactedJson, redactSecrets } from './redact.js';

describe('redactSecrets', () => {
  it('hides the password of a URL, with or without a user', () => {
    expect(redactSecrets('redis://u:s3cret@h:6379/1')).toBe('redis://u:****@h:6379/1');
    expect(redactSecrets('postgres://:pw@h/db')).toBe('postgres://:****@h/db');
  });

  it('hides every URL password inside a message and leaves the rest alone', () => {
    expect(redactSecrets('mount redis://u:s3cret@h:6379/1 failed, then rediss://:x@y/2')).toBe(
      'mount redis://u:****@h:6379/1 failed, then rediss://:****@y/2',
    );
    expect(redactSecrets('sqlite3:///var/jfs/meta.db and user@host')).toBe(
      'sqlite3:///var/jfs/meta.db and user@host',
    );
  });

  it("hides a password that contains '@' whole (up to the last '@' of the authority)", () => {
    expect(redactSecrets('redis://u:p@ss@h:6379/1')).toBe('redis://u:****@h:6379/1');
  });
});

describe('redactedJson', () => {
  it('replaces secret fields by "removed" and URL passwords by ****, keeping empty fields and bigints', () => {
    const shown = JSON.parse(
      redactedJson({
        SecretKey: 'sk',
        SessionToken: '',
        EncryptKey: 'k',
        Bucket: 'https://a:b@s3/x',
        Root: 1n,
      }),
    ) as Record<string, unknown>;
    expect(shown).toEqual({
      SecretKey: 'removed',
      SessionToken: '',
      EncryptKey: 'removed',
      Bucket: 'https://a:****@s3/x',
      Root: '1',
    });
  });
});
