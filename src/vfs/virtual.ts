/**
 * Virtual files in the volume root (docs/FORMAT.md §10.2): `.accesslog` (live op log), `.stats`
 * (Prometheus text), `.config` (client config as JSON, secrets removed). Never stored;
 * owned by the mounting user, times = mount start.
 */
import {
  emptyAttr,
  CONFIG_INODE,
  FileType,
  LOG_INODE,
  STATS_INODE,
  type Attr,
  type Ino,
  type Timespec,
} from '../base/types.js';

export interface VirtualNode {
  ino: Ino;
  name: string;
  mode: number;
}

export const VIRTUAL_NODES: readonly VirtualNode[] = [
  { ino: LOG_INODE, name: '.accesslog', mode: 0o400 },
  { ino: STATS_INODE, name: '.stats', mode: 0o444 },
  { ino: CONFIG_INODE, name: '.config', mode: 0o400 },
];

export function virtualByName(name: string): VirtualNode | undefined {
  return VIRTUAL_NODES.find((v) => v.name === name);
}

export function virtualByIno(ino: Ino): VirtualNode | undefined {
  return VIRTUAL_NODES.find((v) => v.ino === ino);
}

export function virtualAttr(v: VirtualNode, uid: number, gid: number, start: Timespec, length = 0): Attr {
  const a = emptyAttr();
  a.type = FileType.File;
  a.mode = v.mode;
  a.uid = uid;
  a.gid = gid;
  a.nlink = 1;
  a.length = length;
  a.parent = 1n;
  a.atime = a.mtime = a.ctime = start.sec;
  a.atimensec = a.mtimensec = a.ctimensec = start.nsec;
  return a;
}
