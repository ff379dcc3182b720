/**
 * Checks of CSI volume capabilities shared by the Node and Controller services: tjfs serves
 * file-system (mount) access only, in every access mode except UNKNOWN.
 */
import type { AccessModeName, VolumeCapabilityMsg } from './csi-proto.js';

const SUPPORTED: ReadonlySet<AccessModeName> = new Set([
  'SINGLE_NODE_WRITER',
  'SINGLE_NODE_READER_ONLY',
  'MULTI_NODE_READER_ONLY',
  'MULTI_NODE_SINGLE_WRITER',
  'MULTI_NODE_MULTI_WRITER',
  'SINGLE_NODE_SINGLE_WRITER',
  'SINGLE_NODE_MULTI_WRITER',
]);

/** Why `cap` is unsupported, or undefined when tjfs can serve it. */
export function capabilityProblem(cap: VolumeCapabilityMsg): string | undefined {
  if (cap.accessType === 'block' || cap.block) return 'block access is not supported (tjfs is a file system)';
  if (cap.accessType !== 'mount' && !cap.mount) return 'volume_capability.access_type (mount) is required';
  const mode = cap.accessMode?.mode;
  if (!mode || mode === 'UNKNOWN') return 'volume_capability.access_mode is required';
  if (!SUPPORTED.has(mode)) return `access mode ${mode} is not supported`;
  const fs = cap.mount?.fsType ?? '';
  if (fs !== '' && fs !== 'tjfs' && fs !== 'juicefs' && fs !== 'fuse.tjfs')
    return `fs_type '${fs}' is not supported (use tjfs)`;
  return undefined;
}

export function isReadOnlyMode(cap: VolumeCapabilityMsg): boolean {
  const mode = cap.accessMode?.mode;
  return mode === 'SINGLE_NODE_READER_ONLY' || mode === 'MULTI_NODE_READER_ONLY';
}

/** A volume sub-directory from volume_context.subPath: relative, no '..', no empty parts. */
export function normalizeSubPath(raw: string | undefined): string | undefined {
  const parts = (raw ?? '').split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..' || p.includes('\0'))) return undefined;
  return parts.join('/');
}
