/**
 * The mount-point check of the inspector commands (stats, profile, debug), as JuiceFS does
 * it: the path must be a directory whose inode is 1 (the root a FUSE mount shows), and its
 * virtual files must be there (`.jfs.stats` first, as with --prefix-internal, then `.stats`).
 * Also whether the output is a terminal that takes colors (JuiceFS's SupportANSIColor).
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CliError, type CliIo } from './io.js';

export interface InspectedMount {
  /** Absolute mount point. */
  mp: string;
  stats: string;
  accessLog: string;
  config: string;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Resolves `path` and checks that it is the root of a tjfs (or JuiceFS) mount. */
export async function requireMountPoint(path: string, io: CliIo): Promise<InspectedMount> {
  if (path === '') throw new CliError('missing MOUNTPOINT');
  const mp = resolve(io.cwd ?? process.cwd(), path);
  const st = await stat(mp).catch((e: NodeJS.ErrnoException) => {
    throw new CliError(`lookup inode for ${path}: ${e.code ?? e.message}`);
  });
  if (!st.isDirectory() || st.ino !== 1) throw new CliError(`path ${path} is not a mount point`);
  const prefix = (await exists(join(mp, '.jfs.stats'))) ? '.jfs.' : '.';
  const m: InspectedMount = {
    mp,
    stats: join(mp, `${prefix}stats`),
    accessLog: join(mp, `${prefix}accesslog`),
    config: join(mp, `${prefix}config`),
  };
  if (!(await exists(m.stats)))
    throw new CliError(`${path} has no .stats: not a tjfs mount, or mounted with --hide-internal`);
  return m;
}

/** Colors only on a terminal, unless NO_COLOR is set or TERM is dumb. */
export function colorful(io: CliIo, noColor = false): boolean {
  const tty = (io.stdout as { isTTY?: boolean }).isTTY === true;
  return tty && !noColor && io.env['NO_COLOR'] === undefined && io.env['TERM'] !== 'dumb';
}
