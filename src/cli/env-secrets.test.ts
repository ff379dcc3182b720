/** secretFromEnv: first non-empty variable wins, an empty one counts as unset, a file is read last and trimmed. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { secretFromEnv } from './env-secrets.js';
import { CliError } from './io.js';

describe('secretFromEnv', () => {
  it('takes the first variable that is set and not empty', () => {
    expect(secretFromEnv({ A: '', B: 'b' }, ['A', 'B'])).toBe('b');
    expect(secretFromEnv({ A: 'a', B: 'b' }, ['A', 'B'])).toBe('a');
    expect(secretFromEnv({ A: '' }, ['A'])).toBeUndefined();
  });

  it('reads the file variable last, trimmed; an unreadable file is a one-line CliError naming it', () => {
    const d = mkdtempSync(join(tmpdir(), 'tjfs-env-secret-'));
    try {
      writeFileSync(join(d, 'pw'), '  from-file\n');
      expect(secretFromEnv({ F: join(d, 'pw') }, ['A'], 'F')).toBe('from-file');
      expect(secretFromEnv({ A: 'a', F: join(d, 'pw') }, ['A'], 'F')).toBe('a');
      writeFileSync(join(d, 'blank'), ' \n');
      expect(secretFromEnv({ F: join(d, 'blank') }, ['A'], 'F')).toBeUndefined();
      const e = (() => {
        try {
          return secretFromEnv({ F: join(d, 'none') }, ['A'], 'F');
        } catch (err) {
          return err;
        }
      })();
      expect(e).toBeInstanceOf(CliError);
      expect((e as CliError).message).toMatch(/^cannot read F .*none: ENOENT$/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
