/**
 * Reads /proc/self/mountinfo (procfs never blocks on a dead FUSE daemon, unlike stat of
 * the mount point) into records. Mount points are unescaped (\040 = space, \011, \012, \134).
 */
import { readFile } from 'node:fs/promises';

export interface MountRecord {
  id: number;
  parentId: number;
  /** "major:minor" of the file system; binds of one FUSE mount share it. */
  device: string;
  /** Path inside the mounted file system that is mounted here ("/" or a bind's sub-dir). */
  root: string;
  mountPoint: string;
  options: string;
  fsType: string;
  source: string;
}

function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMountInfo(text: string): MountRecord[] {
  const out: MountRecord[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (sep < 0 || f.length < sep + 3) continue;
    out.push({
      id: Number(f[0]),
      parentId: Number(f[1]),
      device: f[2] ?? '',
      root: unescape(f[3] ?? ''),
      mountPoint: unescape(f[4] ?? ''),
      options: f[5] ?? '',
      fsType: f[sep + 1] ?? '',
      source: unescape(f[sep + 2] ?? ''),
    });
  }
  return out;
}

export async function readMountInfo(file = '/proc/self/mountinfo'): Promise<MountRecord[]> {
  return parseMountInfo(await readFile(file, 'utf8'));
}

/** The topmost mount at `path`, if any (later lines stack over earlier ones). */
export function mountAt(records: readonly MountRecord[], path: string): MountRecord | undefined {
  let found: MountRecord | undefined;
  for (const r of records) if (r.mountPoint === path) found = r;
  return found;
}
