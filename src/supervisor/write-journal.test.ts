/** The write journal holds data not yet persisted: its files are the owner's only (0600). */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WriteJournal } from './write-journal.js';

describe('WriteJournal file modes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tjfs-journal-mode-'));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates journal files 0600 whatever the umask', () => {
    const old = process.umask(0o022);
    try {
      const j = new WriteJournal(dir);
      j.append(42n, 0, Buffer.from('secret data'));
      expect(statSync(join(dir, '42')).mode & 0o777).toBe(0o600);
      j.close();
    } finally {
      process.umask(old);
    }
  });
});
