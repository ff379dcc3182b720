/**
 * Shared semantic scenarios: ONE set of definitions run against every way users reach a
 * volume — node:fs/promises on a real FUSE mount (from a child process), the in-process
 * `openVolume` API, and the HDFS-style FileSystem through an adapter. A scenario gets a
 * file-system object shaped like the subset of node:fs/promises below and a fresh
 * directory path inside the volume, and throws (node:assert) on any deviation.
 *
 * Errors must be Node-shaped: `err.code === 'ENOENT'` etc.
 */

export interface ScenarioStats {
  size: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  ino: number | bigint;
  mtimeMs: number;
  atimeMs: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

export interface ScenarioDirent {
  name: string;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

export interface ScenarioFileHandle {
  read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number | null,
  ): Promise<{ bytesRead: number }>;
  write(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number | null,
  ): Promise<{ bytesWritten: number }>;
  truncate(len?: number): Promise<void>;
  stat(): Promise<ScenarioStats>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface ScenarioFs {
  readFile(path: string): Promise<Buffer>;
  writeFile(path: string, data: Buffer | string): Promise<void>;
  appendFile(path: string, data: Buffer | string): Promise<void>;
  open(path: string, flags: string, mode?: number): Promise<ScenarioFileHandle>;
  mkdir(path: string, opts?: { recursive?: boolean; mode?: number }): Promise<unknown>;
  readdir(path: string): Promise<string[]>;
  readdir(path: string, opts: { withFileTypes: true }): Promise<ScenarioDirent[]>;
  rm(path: string, opts?: { recursive?: boolean; force?: boolean }): Promise<void>;
  rmdir(path: string): Promise<void>;
  unlink(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  stat(path: string): Promise<ScenarioStats>;
  lstat(path: string): Promise<ScenarioStats>;
  symlink(target: string, path: string): Promise<void>;
  readlink(path: string): Promise<string>;
  link(existing: string, path: string): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  utimes(path: string, atime: Date | number, mtime: Date | number): Promise<void>;
  truncate(path: string, len?: number): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
  access(path: string, mode?: number): Promise<void>;
  /** Optional (root only on a mount); scenarios that need it skip when absent. */
  chown?(path: string, uid: number, gid: number): Promise<void>;
}

export interface Scenario {
  name: string;
  /** `dir` is an empty directory in the volume (absolute for the driver at hand). */
  run(fs: ScenarioFs, dir: string): Promise<void>;
}
