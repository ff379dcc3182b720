/**
 * INIT negotiation (docs/FUSE.md §3): kernel offer × our wishes → init_out + caps.
 *
 * Design: a pure function. Flags are (offered ∩ wanted); features whose FuseOps methods are
 * missing are never advertised (no POSIX_LOCKS without getlk+setlk, no FLOCK_LOCKS without
 * flock, no DO_READDIRPLUS without readdirplus). WRITEBACK_CACHE and HANDLE_KILLPRIV_V2 are
 * opt-in; REQUEST_TIMEOUT is never set (it would kill the connection during SETLKW waits).
 * HAS_RESEND is echoed when offered: a restarted worker asks the kernel (NOTIFY_RESEND) to
 * queue again the requests its predecessor had read and not answered. POSIX_ACL and DONT_MASK
 * go together, only for a file system that stores ACLs (`ops.posixAcl`, JuiceFS does the same
 * on `--enable-acl` volumes): with POSIX_ACL the VFS leaves the umask to the file system, and
 * without DONT_MASK the kernel's FUSE layer would apply it anyway, so a parent's default ACL
 * could not override it.
 * Invariants: major 7 only; minor = min(kernel, 45); kernels below 7.28 are refused.
 */
import {
  DEFAULT_MAX_PAGES,
  DEFAULT_MAX_WRITE,
  FUSE_KERNEL_MINOR_VERSION,
  FUSE_KERNEL_VERSION,
  FUSE_MIN_KERNEL_MINOR,
  InitFlag,
  InitFlag2,
} from './abi.js';
import type { InitIn } from './decode.js';
import type { InitOut } from './encode.js';
import type { FuseOps } from './fuse-ops.js';

export interface InitOptions {
  maxWrite?: number;
  maxPages?: number;
  maxBackground?: number;
  congestionThreshold?: number;
  /** Kernel page-cache write-back (kernel becomes authoritative for size/mtime). Default off. */
  writebackCache?: boolean;
  /** Server answers LOOKUP of "." and ".." (NFS export). Default off. */
  exportSupport?: boolean;
  /** Server clears suid/sgid itself (HANDLE_KILLPRIV_V2). Default off. */
  handleKillpriv?: boolean;
  /** Kernel caches READLINK results. Default off. */
  cacheSymlinks?: boolean;
  /** Use READDIRPLUS when `ops.readdirplus` exists. Default on. */
  readdirplus?: boolean;
  /** Override of `ops.posixAcl` (POSIX_ACL + DONT_MASK). */
  posixAcl?: boolean;
}

/** What was agreed; the session and notification code consult it. */
export interface Capabilities {
  minor: number;
  flags: number;
  flags2: number;
  maxWrite: number;
  maxPages: number;
  maxReadahead: number;
  posixLocks: boolean;
  flockLocks: boolean;
  readdirplus: boolean;
  writebackCache: boolean;
  setxattrExt: boolean;
  expireOnly: boolean;
  /** The kernel re-queues unanswered requests on NOTIFY_RESEND (unique bit 63 set). */
  resend: boolean;
  /** The kernel enforces and caches POSIX ACLs (and applies default_permissions). */
  posixAcl: boolean;
}

export type InitResult =
  { ok: true; reply: InitOut; caps: Capabilities } | { ok: false; reply?: InitOut; error: string };

export function negotiateInit(kin: InitIn, ops: Partial<FuseOps>, opts: InitOptions = {}): InitResult {
  if (kin.major > FUSE_KERNEL_VERSION) {
    // Reply with our major only; the kernel then sends a second INIT (never seen in practice).
    return {
      ok: false,
      reply: bareReply(),
      error: `kernel FUSE major ${kin.major} > 7; waiting for a 7.x INIT`,
    };
  }
  if (kin.major < FUSE_KERNEL_VERSION || kin.minor < FUSE_MIN_KERNEL_MINOR) {
    return {
      ok: false,
      error: `kernel FUSE ${kin.major}.${kin.minor} too old (need 7.${FUSE_MIN_KERNEL_MINOR})`,
    };
  }
  const posixLocks = ops.getlk !== undefined && ops.setlk !== undefined;
  const readdirplus = opts.readdirplus !== false && ops.readdirplus !== undefined;
  let want =
    InitFlag.ASYNC_READ |
    InitFlag.ATOMIC_O_TRUNC |
    InitFlag.BIG_WRITES |
    InitFlag.AUTO_INVAL_DATA |
    InitFlag.ASYNC_DIO |
    InitFlag.PARALLEL_DIROPS |
    InitFlag.MAX_PAGES |
    InitFlag.INIT_EXT;
  if (posixLocks) want |= InitFlag.POSIX_LOCKS;
  if (ops.flock !== undefined) want |= InitFlag.FLOCK_LOCKS;
  if (readdirplus) want |= InitFlag.DO_READDIRPLUS | InitFlag.READDIRPLUS_AUTO;
  if (opts.exportSupport === true) want |= InitFlag.EXPORT_SUPPORT;
  if (opts.writebackCache === true) want |= InitFlag.WRITEBACK_CACHE;
  if (opts.handleKillpriv === true) want |= InitFlag.HANDLE_KILLPRIV_V2;
  if (opts.cacheSymlinks === true) want |= InitFlag.CACHE_SYMLINKS;
  const acl =
    (opts.posixAcl ?? ops.posixAcl === true) && ops.getxattr !== undefined && ops.setxattr !== undefined;
  if (acl) want |= InitFlag.POSIX_ACL | InitFlag.DONT_MASK;
  const flags = (kin.flags & want) >>> 0;
  const offered2 = (kin.flags & InitFlag.INIT_EXT) !== 0 ? kin.flags2 : 0;
  // HAS_EXPIRE_ONLY is kernel → server information; HAS_RESEND is echoed (a restarted
  // worker relies on it, see FuseSession's resume mode).
  const flags2 = (offered2 & InitFlag2.HAS_RESEND) >>> 0;
  const maxPages = Math.min(opts.maxPages ?? DEFAULT_MAX_PAGES, 0xffff);
  const maxWrite = Math.min(opts.maxWrite ?? DEFAULT_MAX_WRITE, maxPages * 4096);
  const maxBackground = opts.maxBackground ?? 64;
  const reply: InitOut = {
    major: FUSE_KERNEL_VERSION,
    minor: Math.min(kin.minor, FUSE_KERNEL_MINOR_VERSION),
    maxReadahead: kin.maxReadahead,
    flags,
    flags2,
    maxBackground,
    congestionThreshold: opts.congestionThreshold ?? Math.floor((maxBackground * 3) / 4),
    maxWrite,
    timeGran: 1,
    maxPages,
  };
  const caps: Capabilities = {
    minor: reply.minor,
    flags,
    flags2,
    maxWrite,
    maxPages,
    maxReadahead: kin.maxReadahead,
    posixLocks: (flags & InitFlag.POSIX_LOCKS) !== 0,
    flockLocks: (flags & InitFlag.FLOCK_LOCKS) !== 0,
    readdirplus: (flags & InitFlag.DO_READDIRPLUS) !== 0,
    writebackCache: (flags & InitFlag.WRITEBACK_CACHE) !== 0,
    setxattrExt: false,
    expireOnly: (offered2 & InitFlag2.HAS_EXPIRE_ONLY) !== 0,
    resend: (offered2 & InitFlag2.HAS_RESEND) !== 0,
    posixAcl: (flags & InitFlag.POSIX_ACL) !== 0,
  };
  return { ok: true, reply, caps };
}

function bareReply(): InitOut {
  return {
    major: FUSE_KERNEL_VERSION,
    minor: 0,
    maxReadahead: 0,
    flags: 0,
    flags2: 0,
    maxBackground: 0,
    congestionThreshold: 0,
    maxWrite: 0,
    timeGran: 0,
    maxPages: 0,
  };
}
