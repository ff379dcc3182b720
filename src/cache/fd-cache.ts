/**
 * FdCache: open read-only descriptors of recently read cache files, so a small read of a
 * cached block is one positioned read rather than open + read + close (three thread-pool
 * jobs, each a wait on a busy machine).
 *
 * Design: a Map in LRU order of path → slot (the opening promise, the number of reads
 * using it). Beyond `max` slots the least recently used idle ones are closed. `drop(path)`
 * (the file is removed or replaced) forgets the slot at once and closes its descriptor
 * when its last read ends, so a later open of the path sees the new file.
 *
 * Invariants: a descriptor is closed exactly once, never while a read uses it; a failed
 * open leaves no slot behind.
 */
import { close, constants, open } from 'node:fs';

interface Slot {
  fd: Promise<number>;
  users: number;
  dropped: boolean;
}

export class FdCache {
  private readonly slots = new Map<string, Slot>();

  constructor(private readonly max = 256) {}

  get size(): number {
    return this.slots.size;
  }

  /** Runs `fn` with an open descriptor of `path` (opening it if needed); open errors are thrown. */
  async use<T>(path: string, fn: (fd: number) => Promise<T>): Promise<T> {
    let slot = this.slots.get(path);
    if (slot !== undefined) {
      this.slots.delete(path); // LRU touch
      this.slots.set(path, slot);
      slot.users++;
    } else {
      slot = { fd: openRead(path), users: 1, dropped: false };
      this.slots.set(path, slot);
      this.trim(); // after counting this read, so the new slot is not the one trimmed
    }
    let fd: number;
    try {
      fd = await slot.fd;
    } catch (e) {
      slot.users--;
      if (this.slots.get(path) === slot) this.slots.delete(path);
      throw e;
    }
    try {
      return await fn(fd);
    } finally {
      slot.users--;
      if (slot.dropped && slot.users === 0) closeQuietly(fd);
    }
  }

  /** Forgets `path`'s descriptor (closed once unused). */
  drop(path: string): void {
    const slot = this.slots.get(path);
    if (slot === undefined) return;
    this.slots.delete(path);
    this.retire(slot);
  }

  dropAll(): void {
    for (const slot of this.slots.values()) this.retire(slot);
    this.slots.clear();
  }

  private retire(slot: Slot): void {
    slot.dropped = true;
    if (slot.users === 0) slot.fd.then(closeQuietly, () => undefined); // a failed open has nothing to close
  }

  /** Closes least recently used idle descriptors beyond `max`. */
  private trim(): void {
    for (const [path, slot] of this.slots) {
      if (this.slots.size <= this.max) return;
      if (slot.users > 0) continue;
      this.slots.delete(path);
      this.retire(slot);
    }
  }
}

function openRead(path: string): Promise<number> {
  return new Promise((ok, fail) => open(path, constants.O_RDONLY, (e, fd) => (e ? fail(e) : ok(fd))));
}

function closeQuietly(fd: number): void {
  close(fd, () => undefined); // a read-only descriptor: closing it cannot lose data
}
