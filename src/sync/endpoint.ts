/**
 * What `tjfs sync` needs from one side of a copy (JuiceFS object.ObjectStorage plus its
 * FileSystem and SupportSymlink extensions), keyed like an object store.
 *
 * Design: keys are relative to the endpoint's root, '/'-separated; a directory's key ends with
 * '/'. `list` streams every entry in byte order of keys (a directory just before its
 * children), so two listings merge in one pass with memory bounded by a directory's width.
 * File systems (local, jfs://) also keep modes, owners, symlinks and mtimes; object stores
 * (s3://) have none of those (`fileSystem` false).
 * Invariants: `head`/`list` of a missing root are empty/undefined, never an error; `delete`
 * of a missing key succeeds; `write` replaces the target atomically where the store can.
 */

export interface SyncEntry {
  key: string;
  size: number;
  mtimeMs: number;
  isDir: boolean;
  isSymlink: boolean;
  /** Permission bits (with setuid/setgid/sticky); file systems only. */
  mode?: number;
  uid?: number;
  gid?: number;
}

export interface ListOptions {
  /** Report symlinks as what they point to (JuiceFS: without --links). */
  followLinks: boolean;
}

export interface SyncEndpoint {
  /** A file system: modes, owners, mtimes and symlinks are kept. */
  readonly fileSystem: boolean;
  list(opts: ListOptions): AsyncIterable<SyncEntry>;
  head(key: string): Promise<SyncEntry | undefined>;
  /** Streams a file's bytes in chunks of at most `chunk` bytes. */
  read(key: string, chunk: number): AsyncIterable<Buffer>;
  /** Creates or replaces a file with the bytes of `data` (`size` bytes long). */
  write(key: string, data: AsyncIterable<Buffer>, size: number): Promise<void>;
  /** Creates a directory (a `dir/` marker on object stores); parents as needed. */
  mkdir(key: string): Promise<void>;
  /** Removes a file, symlink or empty directory; a missing key is not an error. */
  delete(key: string): Promise<void>;
  readlink(key: string): Promise<string>;
  symlink(target: string, key: string): Promise<void>;
  /** Sets mtime (no-op on object stores). */
  chtimes(key: string, mtimeMs: number): Promise<void>;
  chown(key: string, uid: number, gid: number): Promise<void>;
  chmod(key: string, mode: number): Promise<void>;
  /** Location for messages, without secrets. */
  describe(): string;
  close(): Promise<void>;
}
