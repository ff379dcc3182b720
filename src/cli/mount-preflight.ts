/**
 * What `tjfs mount` checks before it starts a daemon, so a mount that cannot work fails at
 * once with its real cause and leaves nothing behind:
 *  - the mount point is not already a tjfs mount (a second daemon would stack on top of it);
 *  - the mount point, if it exists, is a directory;
 *  - the volume opens: the database exists (nothing is created), is formatted, is reachable.
 * The mount point directory itself is created only by `makeMountPoint`, which returns the
 * directories it made so a failed mount removes exactly those.
 */
import { rmdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { makeDirsSync } from '../util/make-dirs.js';
import { mountTypeAt } from './commands/umount.js';
import { CliError, type CliIo } from './io.js';
import { openCliMeta } from './meta-open.js';

/** Refuses a mount point that is already a tjfs mount or is not a directory. */
export function checkMountPoint(mp: string): void {
  let type: string | undefined;
  try {
    type = mountTypeAt(mp);
  } catch {
    type = undefined; // no /proc: nothing to compare against
  }
  if (type === 'fuse.tjfs') {
    throw new CliError(
      `${mp} is already mounted by tjfs; unmount it first ('tjfs umount ${mp}', or --force if its daemon is gone)`,
    );
  }
  const st = statSync(mp, { throwIfNoEntry: false });
  if (st !== undefined && !st.isDirectory()) throw new CliError(`mount point ${mp} is not a directory`);
}

/** Opens and closes the volume's metadata: the real cause when it cannot be used. */
export async function checkVolume(metaUrl: string, io: CliIo): Promise<void> {
  const meta = await openCliMeta(metaUrl, io, { readOnly: true });
  await meta.stop();
}

/** Creates the mount point (and missing parents); returns the directories made, deepest last. */
export function makeMountPoint(mp: string): string[] {
  const made: string[] = [];
  for (let d = resolve(mp); statSync(d, { throwIfNoEntry: false }) === undefined; d = dirname(d)) {
    made.unshift(d);
    if (dirname(d) === d) break;
  }
  try {
    makeDirsSync(mp);
  } catch (e) {
    removeMadeDirs(made);
    throw new CliError(`cannot create mount point ${mp}: ${(e as Error).message}`);
  }
  return made;
}

/** Removes directories `makeMountPoint` made (only if still empty), deepest first. */
export function removeMadeDirs(made: readonly string[]): void {
  for (const d of [...made].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty or already gone: leave it and its parents
    }
  }
}
