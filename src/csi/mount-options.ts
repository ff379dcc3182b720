/**
 * Mount options of a publish → the `tjfs mount` flags of the shared FUSE mount.
 *
 * Sources, merged in order: `volume_capability.mount.mount_flags` (PV/StorageClass
 * `mountOptions`), then `volume_context.mountOptions` (comma list, JuiceFS legacy). Each
 * entry is `name` or `name=value`, JuiceFS style without dashes (`cache-size=204800`,
 * `subdir=/a`), or a kernel FUSE option (`allow_other`, `default_permissions`). JuiceFS flags
 * tjfs does not implement are accepted and reported as ignored, anything else is rejected
 * (INVALID_ARGUMENT) rather than failing inside the mount daemon.
 * Invariant: the same set of options (in any order) yields the same args and the same
 * shared-mount id.
 */
import { createHash } from 'node:crypto';
import { invalidArgument } from './csi-error.js';

const VALUE_FLAGS = new Set([
  'attr-cache',
  'entry-cache',
  'dir-entry-cache',
  'negative-entry-cache',
  'cache-dir',
  'cache-size',
  'free-space-ratio',
  'verify-cache-checksum',
  'buffer-size',
  'max-uploads',
  'io-retries',
  'prefetch',
  'max-readahead',
  'subdir',
  'metrics',
]);
const BOOL_FLAGS = new Set(['writeback', 'read-only', 'no-bgjob', 'hide-internal']);
const FUSE_OPTIONS = new Set(['allow_other', 'default_permissions', 'writeback_cache']);
/** JuiceFS client flags and libfuse options tjfs accepts but does not act on. */
const IGNORED = new Set([
  'no-usage-report',
  'consul',
  'heartbeat',
  'upload-limit',
  'download-limit',
  'open-cache',
  'open-cache-limit',
  'cache-partial-only',
  'cache-large-write',
  'cache-eviction',
  'cache-expire',
  'cache-mode',
  'backup-meta',
  'backup-skip-trash',
  'get-timeout',
  'put-timeout',
  'max-deletes',
  'max-stage-write',
  'skip-dir-nlink',
  'skip-dir-mtime',
  'enable-xattr',
  'enable-acl',
  'enable-ioctl',
  'no-syslog',
  'log-level',
  'debug',
  'verbose',
  'atime-mode',
  'max-fuse-io',
  'allow_root',
  'nonempty',
  'fsname',
  'rw',
  'juicefs',
  'tjfs',
]);

export interface MountPlan {
  /** Flags for `tjfs mount META MOUNTPOINT <args>` (sorted, deterministic). */
  args: string[];
  /** Options accepted but not acted upon (logged once). */
  ignored: string[];
}

function splitOptions(flags: readonly string[], legacy: string | undefined): string[] {
  const all = [...flags, ...(legacy ? [legacy] : [])];
  return all
    .flatMap((f) => f.split(','))
    .map((s) => s.trim().replace(/^--?/, ''))
    .filter((s) => s.length > 0);
}

export function planMount(flags: readonly string[], legacy?: string): MountPlan {
  const values = new Map<string, string>();
  const bools = new Set<string>();
  const fuse = new Set<string>();
  const ignored: string[] = [];
  for (const opt of splitOptions(flags, legacy)) {
    const eq = opt.indexOf('=');
    const name = eq < 0 ? opt : opt.slice(0, eq);
    const value = eq < 0 ? undefined : opt.slice(eq + 1);
    if (name === 'ro') bools.add('read-only');
    else if (VALUE_FLAGS.has(name)) {
      if (value === undefined || value === '')
        throw invalidArgument(`mount option '${name}' needs a value (${name}=...)`);
      values.set(name, value);
    } else if (BOOL_FLAGS.has(name)) {
      if (value === undefined || value === 'true') bools.add(name);
    } else if (FUSE_OPTIONS.has(name)) fuse.add(name);
    else if (IGNORED.has(name)) ignored.push(opt);
    else throw invalidArgument(`unsupported mount option '${name}'`);
  }
  const args: string[] = [];
  for (const [k, v] of [...values].sort(([a], [b]) => a.localeCompare(b))) args.push(`--${k}=${v}`);
  for (const b of [...bools].sort()) args.push(`--${b}`);
  if (fuse.size > 0) args.push('-o', [...fuse].sort().join(','));
  return { args, ignored };
}

/** Id of the shared mount for (meta URL, options): stable across restarts, safe in paths. */
export function sharedMountId(metaUrl: string, args: readonly string[]): string {
  return createHash('sha256').update(metaUrl).update('\0').update(args.join('\0')).digest('hex').slice(0, 20);
}
