/**
 * The state a new worker takes over: the write journal (replay order, torn tail, emptied only
 * when a flush covered everything, removed on last close) and the supervisor's handle ledger
 * (handles, dirty inodes, numbers that never repeat, nothing to resume before INIT).
 */
import { appendFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Capabilities } from '../fuse/init.js';
import { HandleLedger } from './protocol.js';
import { WriteJournal } from './write-journal.js';

const dirs: string[] = [];
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tjfs-journal-test-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('WriteJournal', () => {
  it('a new worker replays what the dead one acknowledged, in order, at exact offsets', () => {
    const d = dir();
    const old = new WriteJournal(d);
    old.append(7n, 0, Buffer.from('abc'));
    old.append(7n, 2 ** 40 + 3, Buffer.from('far'));
    old.append(9n, 5, Buffer.from('other'));
    // The old worker dies without closing anything.
    const next = new WriteJournal(d);
    expect(next.takeOver(7n).map((r) => [r.offset, r.data.toString()])).toEqual([
      [0, 'abc'],
      [2 ** 40 + 3, 'far'],
    ]);
    expect(next.takeOver(7n)).toEqual([]); // taken over: emptied
    expect(next.takeOver(9n).map((r) => r.data.toString())).toEqual(['other']);
  });

  it('ignores a torn last record (never acknowledged: the kernel resends that WRITE)', () => {
    const d = dir();
    const j = new WriteJournal(d);
    j.append(3n, 10, Buffer.from('whole'));
    const h = Buffer.alloc(16);
    h.writeUInt32LE(0x4a4a4654, 0);
    h.writeUInt32LE(1000, 4);
    appendFileSync(join(d, '3'), Buffer.concat([h, Buffer.from('only part')]));
    expect(new WriteJournal(d).takeOver(3n).map((r) => r.data.toString())).toEqual(['whole']);
  });

  it('a flush empties it only if nothing was appended after its mark; last close removes it', () => {
    const d = dir();
    const j = new WriteJournal(d);
    j.append(4n, 0, Buffer.alloc(100));
    const mark = j.mark(4n);
    j.append(4n, 100, Buffer.alloc(50)); // arrived while the flush ran
    j.persisted(4n, mark);
    expect(j.size(4n)).toBe(2 * 16 + 150);
    const mark2 = j.mark(4n);
    j.persisted(4n, mark2);
    expect(j.size(4n)).toBe(0);
    expect(new WriteJournal(d).takeOver(4n)).toEqual([]);
    j.append(4n, 0, Buffer.alloc(1));
    j.drop(4n);
    expect(existsSync(join(d, '4'))).toBe(false);
  });
});

describe('HandleLedger', () => {
  const caps = { minor: 45, flags: 1, flags2: 0x80, resend: true } as unknown as Capabilities; // cast: only carried through

  it('nothing to resume before INIT was answered', () => {
    const l = new HandleLedger();
    l.apply({ t: 'open', h: { fh: '1', ino: '5', kind: 'file', flags: 2 } });
    expect(l.resumeState()).toBeUndefined();
  });

  it('keeps open handles, dirty inodes until their last handle closes, and the next number', () => {
    const l = new HandleLedger();
    l.apply({ t: 'init', caps });
    l.apply({ t: 'session', sid: 12 });
    l.apply({ t: 'open', h: { fh: '1', ino: '5', kind: 'file', flags: 2 } });
    l.apply({ t: 'open', h: { fh: '2', ino: '5', kind: 'file', flags: 0 } });
    l.apply({ t: 'open', h: { fh: '3', ino: '1', kind: 'dir', flags: 0 } });
    l.apply({ t: 'dirty', ino: '5', on: true });
    l.apply({ t: 'close', fh: '1' });
    expect(l.resumeState()).toMatchObject({ sid: 12, dirty: ['5'], nextFh: '4' });
    l.apply({ t: 'close', fh: '2' });
    l.apply({ t: 'close', fh: '3' });
    // Closed handles are gone, and their numbers are not handed out again.
    expect(l.resumeState()).toMatchObject({ handles: [], dirty: [], nextFh: '4', caps });
  });
});
