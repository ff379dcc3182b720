/** pidAlive: this process and init exist (init answers EPERM to a non-root caller); a reaped child does not. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { pidAlive } from './pid-alive.js';

describe('pidAlive', () => {
  it('is true for a live process, also one of another user, and false for a dead one', () => {
    expect(pidAlive(process.pid)).toBe(true);
    expect(pidAlive(1)).toBe(true);
    const child = spawnSync(process.execPath, ['-e', '0']);
    expect(child.pid).toBeGreaterThan(0);
    expect(pidAlive(child.pid)).toBe(false); // exited and reaped (a reused pid would be rare)
  });
});
