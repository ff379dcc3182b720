/**
 * `mkdir -p` that always terminates. Node's `mkdir(dir, { recursive: true })` loops forever
 * when mkdir(2) answers ENOENT for a directory whose parent exists (e.g. under /proc or
 * /sys), so `format --bucket /proc/foo/` spun at 100% CPU. Here each missing ancestor is
 * created at most once, walking up at most once per path component, and an ENOENT that
 * remains after the parent exists is reported as an error naming the directory (marked
 * `permanent` for errors no retry can fix).
 */
import { mkdirSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code; // cast: Node fs errors carry `code`
}

/** Errors that a retry cannot fix (the object store's retry wrapper reads `permanent`). */
const PERMANENT = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM', 'EROFS', 'ELOOP', 'ENAMETOOLONG']);

function cannot(dir: string, e: unknown): Error {
  const c = code(e);
  const err = new Error(`cannot create directory ${dir}: ${c ?? String(e)}`, {
    cause: e,
  }) as NodeJS.ErrnoException & { permanent?: boolean };
  if (c !== undefined) err.code = c;
  if (c !== undefined && PERMANENT.has(c)) err.permanent = true;
  return err;
}

/** Missing ancestors of `dir` (deepest last), found by walking up until one exists. */
async function missing(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    try {
      if (!(await stat(d)).isDirectory())
        throw Object.assign(new Error(`${d} is not a directory`), { code: 'ENOTDIR' });
      return out.reverse();
    } catch (e) {
      if (code(e) !== 'ENOENT') throw cannot(dir, e);
      out.push(d);
      if (dirname(d) === d) return out.reverse();
    }
  }
}

export async function makeDirs(dir: string, mode = 0o777): Promise<void> {
  for (const d of await missing(dir)) {
    try {
      await mkdir(d, { mode });
    } catch (e) {
      if (code(e) === 'EEXIST' && (await stat(d).catch(() => undefined))?.isDirectory()) continue;
      throw cannot(dir, e);
    }
  }
}

export function makeDirsSync(dir: string, mode = 0o777): void {
  const todo: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    let st;
    try {
      st = statSync(d);
    } catch (e) {
      if (code(e) !== 'ENOENT') throw cannot(dir, e);
    }
    if (st) {
      if (!st.isDirectory())
        throw cannot(dir, Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }));
      break;
    }
    todo.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of todo.reverse()) {
    try {
      mkdirSync(d, { mode });
    } catch (e) {
      if (code(e) === 'EEXIST' && statSync(d, { throwIfNoEntry: false })?.isDirectory()) continue;
      throw cannot(dir, e);
    }
  }
}
