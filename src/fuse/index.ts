/**
 * Public surface of the FUSE layer: mount a FuseOps implementation, the contract types,
 * and the session (notifications, stats, lookup counts). Everything else is internal.
 */
export { mountFuse, MountedFuseSession, fuseConnection } from './mount.js';
export type { MountOptions, UnmountOptions } from './mount.js';
export { FuseSession } from './session.js';
export type { SessionOptions, SessionStats, SessionLogger } from './session.js';
export type { Capabilities, InitOptions } from './init.js';
export { NodeTable } from './nodes.js';
export { LockType, OFFSET_MAX, FUSE_ROOT_ID, MNT_DETACH, MNT_FORCE } from './abi.js';
export type * from './fuse-ops.js';
