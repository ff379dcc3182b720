/**
 * A tiny in-test stand-in for the metadata layer's chunk lists: slice id allocation,
 * commits (append a record, grow the length) and truncate (hole records, docs/FORMAT.md §4.5).
 * It shares no code with src/chunk.
 */
import type { Slice, Timespec } from '../../src/base/types.js';

const CHUNK = 64 * 1024 * 1024;

export class SliceModel {
  readonly chunks = new Map<number, Slice[]>();
  length = 0;
  nextId = 1;
  commits = 0;

  allocSliceId = (): Promise<number> => Promise.resolve(this.nextId++);

  commit = (indx: number, s: Slice, _mtime: Timespec): Promise<void> => {
    const list = this.chunks.get(indx) ?? [];
    list.push({ ...s });
    this.chunks.set(indx, list);
    this.length = Math.max(this.length, indx * CHUNK + s.pos + s.len);
    this.commits++;
    return Promise.resolve();
  };

  getSlices = (indx: number): Promise<Slice[]> =>
    Promise.resolve((this.chunks.get(indx) ?? []).map((s) => ({ ...s })));

  /** Truncate as the metadata layer does: hole records over [min, max). */
  truncate(newLen: number): void {
    const old = this.length;
    if (newLen === old) return;
    const left = Math.min(old, newLen);
    const right = Math.max(old, newLen);
    const first = Math.floor(left / CHUNK);
    const lastIdx = Math.floor(right / CHUNK);
    const push = (indx: number, s: Slice, ifExists: boolean): void => {
      const list = this.chunks.get(indx);
      if (list === undefined) {
        if (ifExists) return;
        this.chunks.set(indx, [s]);
      } else list.push(s);
    };
    const pos = left % CHUNK;
    const len = first === lastIdx ? right - left : CHUNK - pos;
    push(first, { pos, id: 0, size: 0, off: 0, len }, false);
    for (let c = first + 1; c < lastIdx; c++) push(c, { pos: 0, id: 0, size: 0, off: 0, len: CHUNK }, true);
    if (lastIdx > first && right % CHUNK > 0)
      push(lastIdx, { pos: 0, id: 0, size: 0, off: 0, len: right % CHUNK }, false);
    this.length = newLen;
  }
}
