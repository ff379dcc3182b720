import { describe, expect, it } from 'vitest';
import { maskedCommandLine, movePasswordToEnv } from './argv-secrets.js';

describe('argv secrets', () => {
  it('masks URL passwords and secret flag values, and leaves clean lines alone', () => {
    expect(
      maskedCommandLine([
        'node',
        'tjfs',
        'mount',
        'redis://:pw@h:6379/1',
        '/mnt',
        '--secret-key',
        'sk',
        '--token=t',
      ]),
    ).toBe('node tjfs mount redis://:****@h:6379/1 /mnt --secret-key removed --token=removed');
    expect(maskedCommandLine(['node', 'tjfs', 'mount', 'redis://h/1', '/mnt'])).toBeUndefined();
  });

  it('moves the meta URL password to the environment the CLI reads', () => {
    const r = movePasswordToEnv(['redis://:p%40ss@h:6379/1', '/mnt'], { REDIS_PASSWORD: 'old', X: '1' });
    expect(r.args).toEqual(['redis://h:6379/1', '/mnt']);
    expect(r.env).toMatchObject({ REDIS_PASSWORD: 'p@ss', META_PASSWORD: 'p@ss', X: '1' });
    const pg = movePasswordToEnv(['postgres://u:pw@h/db', '/mnt'], { META_PASSWORD_FILE: '/f' });
    expect(pg.args).toEqual(['postgres://u@h/db', '/mnt']);
    expect(pg.env).toEqual({ META_PASSWORD: 'pw' });
    expect(movePasswordToEnv(['sqlite3://a.db', '/mnt'], {}).args).toEqual(['sqlite3://a.db', '/mnt']);
  });
});
