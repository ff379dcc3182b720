/** FdCache: descriptors reused, closed once and never under a running read, failed opens forgotten. */
import { mkdtemp, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { fstatSync, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FdCache } from './fd-cache.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tjfs-fdc-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const isOpen = (fd: number): boolean => {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
};

describe('FdCache', () => {
  it('reuses a descriptor, and a dropped one closes only after its last read', async () => {
    const p = join(dir, 'a');
    await writeFile(p, 'hello');
    const c = new FdCache(4);
    const fd1 = await c.use(p, (fd) => Promise.resolve(fd));
    const fd2 = await c.use(p, (fd) => Promise.resolve(fd));
    expect(fd2).toBe(fd1);
    let release: () => void = () => undefined;
    const running = c.use(p, async (fd) => {
      await new Promise<void>((r) => (release = r));
      const b = Buffer.alloc(5);
      readSync(fd, b, 0, 5, 0);
      return b.toString();
    });
    await new Promise((r) => setTimeout(r, 5));
    c.drop(p); // the file is replaced: forget it, but the read goes on
    expect(isOpen(fd1)).toBe(true);
    release();
    expect(await running).toBe('hello');
    await new Promise((r) => setTimeout(r, 5));
    expect(isOpen(fd1)).toBe(false);
    await writeFile(p, 'world');
    expect(await c.use(p, (fd) => Promise.resolve(isOpen(fd)))).toBe(true);
    c.dropAll();
  });

  it('keeps at most max idle descriptors, and forgets a failed open', async () => {
    const openFds = async (): Promise<number> => (await readdir('/proc/self/fd')).length;
    const before = await openFds();
    const c = new FdCache(2);
    for (const n of ['a', 'b', 'c', 'd']) {
      await writeFile(join(dir, n), n);
      await c.use(join(dir, n), (fd) => Promise.resolve(fd));
    }
    await new Promise((r) => setTimeout(r, 5));
    expect(c.size).toBe(2);
    expect(await openFds()).toBe(before + 2);
    await unlink(join(dir, 'a'));
    await expect(c.use(join(dir, 'a'), () => Promise.resolve(0))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(c.size).toBe(1); // the failed open took the oldest idle slot's place, then left
    c.dropAll();
    await new Promise((r) => setTimeout(r, 5));
    expect(await openFds()).toBe(before);
  });
});
