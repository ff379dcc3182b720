/**
 * CSI Node service: publishes a tjfs volume (or its sub-directory) into a pod's target path
 * as a bind mount of a shared per-node FUSE mount, unpublishes it, and reports usage and
 * health of published paths.
 *
 * Rules (docs/DESIGN.md §9): every RPC is idempotent; missing fields → INVALID_ARGUMENT;
 * a concurrent call on the same target → ABORTED; unpublishing an unknown target → OK;
 * stats of an unknown path → NOT_FOUND; a broken mount is reported as an abnormal
 * volume_condition (and healed in the background), never as a hang. Secrets (metaurl) are
 * used, stored 0600, and never logged.
 */
import { status } from '@grpc/grpc-js';
import { mkdir, rmdir } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import type { Logger } from '../util/logger.js';
import { redactSecrets } from '../util/redact.js';
import { BusyKeys, CsiError, internal, invalidArgument, notFound } from './csi-error.js';
import type {
  NodeGetVolumeStatsRequest,
  NodePublishVolumeRequest,
  NodeUnpublishVolumeRequest,
} from './csi-proto.js';
import { mountAt } from './mount-info.js';
import { planMount } from './mount-options.js';
import type { Mounter } from './mounter.js';
import type { SharedMounts } from './shared-mounts.js';
import { capabilityProblem, isReadOnlyMode, normalizeSubPath } from './volume-capability.js';

export interface NodeServiceOptions {
  nodeId: string;
  shared: SharedMounts;
  mounter: Mounter;
  logger: Logger;
  maxVolumesPerNode?: number;
  /** Timeout of any file system call through a FUSE path. Default 5 s. */
  fsTimeoutMs?: number;
}

export interface VolumeStats {
  usage: { unit: 'BYTES' | 'INODES'; total: number; available: number; used: number }[];
  volumeCondition: { abnormal: boolean; message: string };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function targetOf(path: string, field: string): string {
  if (!path) throw invalidArgument(`${field} is required`);
  if (!isAbsolute(path)) throw invalidArgument(`${field} must be an absolute path`);
  return normalize(path).replace(/(.)\/+$/, '$1');
}

export class NodeService {
  private readonly busy = new BusyKeys();

  constructor(private readonly o: NodeServiceOptions) {}

  info(): { nodeId: string; maxVolumesPerNode: number } {
    return { nodeId: this.o.nodeId, maxVolumesPerNode: this.o.maxVolumesPerNode ?? 0 };
  }

  capabilities(): { rpc: { type: string } }[] {
    return ['GET_VOLUME_STATS', 'VOLUME_CONDITION'].map((type) => ({ rpc: { type } }));
  }

  private async locked<T>(target: string, fn: () => Promise<T>): Promise<T> {
    return this.busy.run(target, target, fn);
  }

  async publish(req: NodePublishVolumeRequest): Promise<void> {
    if (!req.volumeId) throw invalidArgument('volume_id is required');
    const target = targetOf(req.targetPath, 'target_path');
    const cap = req.volumeCapability;
    if (!cap) throw invalidArgument('volume_capability is required');
    const problem = capabilityProblem(cap);
    if (problem) throw invalidArgument(problem);
    const metaUrl = req.secrets['metaurl'] ?? '';
    if (!metaUrl) throw invalidArgument('secret key "metaurl" is required (nodePublishSecretRef)');
    const subPath = normalizeSubPath(req.volumeContext['subPath']);
    if (subPath === undefined)
      throw invalidArgument(`invalid subPath '${req.volumeContext['subPath'] ?? ''}'`);
    const readOnly = req.readonly || isReadOnlyMode(cap);
    const plan = planMount(cap.mount?.mountFlags ?? [], req.volumeContext['mountOptions']);
    if (plan.ignored.length > 0)
      this.o.logger.warn('csi: ignoring mount options tjfs does not implement', { ignored: plan.ignored });
    await this.locked(target, async () => {
      const existing = this.o.shared.findTarget(target);
      if (existing) {
        const t = existing.target;
        if (t.volumeId !== req.volumeId || t.subPath !== subPath || t.readOnly !== readOnly) {
          throw new CsiError(
            status.ALREADY_EXISTS,
            `${target} is already published with a different volume or mode`,
          );
        }
        const h = await this.o.shared.targetHealth(target);
        if (!h.ok) await this.o.shared.heal(existing.mount.id);
        return;
      }
      if (mountAt(await this.o.mounter.mounts(), target)) await this.o.mounter.unmount(target);
      await this.bindNew(req.volumeId, metaUrl, plan.args, target, subPath, readOnly);
    });
  }

  private async bindNew(
    volumeId: string,
    metaUrl: string,
    args: string[],
    target: string,
    subPath: string,
    readOnly: boolean,
  ): Promise<void> {
    const ms = this.o.fsTimeoutMs ?? 5000;
    let m;
    try {
      m = await this.o.shared.acquire(metaUrl, args, target, { volumeId, subPath, readOnly });
    } catch (e) {
      throw internal(
        `mounting volume ${volumeId} failed: ${redactSecrets(e instanceof Error ? e.message : String(e))}`,
        e,
      );
    }
    try {
      const source = join(m.mountPoint, subPath);
      if (subPath) await withTimeout(mkdir(source, { recursive: true, mode: 0o777 }), ms, `mkdir ${source}`);
      await mkdir(target, { recursive: true, mode: 0o750 });
      await this.o.mounter.bind(source, target, { readOnly });
      this.o.logger.info?.('csi: published', { volumeId, target, subPath, readOnly, shared: m.id });
    } catch (e) {
      await this.o.shared.release(target).catch(() => undefined);
      await rmdir(target).catch(() => undefined);
      throw internal(
        `publishing volume ${volumeId} at ${target} failed: ${e instanceof Error ? e.message : String(e)}`,
        e,
      );
    }
  }

  async unpublish(req: NodeUnpublishVolumeRequest): Promise<void> {
    if (!req.volumeId) throw invalidArgument('volume_id is required');
    const target = targetOf(req.targetPath, 'target_path');
    await this.locked(target, async () => {
      try {
        await this.o.mounter.unmount(target);
        await rmdir(target).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOENT') throw e;
        });
        await this.o.shared.release(target);
      } catch (e) {
        throw internal(`unpublishing ${target} failed: ${e instanceof Error ? e.message : String(e)}`, e);
      }
      this.o.logger.info?.('csi: unpublished', { volumeId: req.volumeId, target });
    });
  }

  async stats(req: NodeGetVolumeStatsRequest): Promise<VolumeStats> {
    if (!req.volumeId) throw invalidArgument('volume_id is required');
    const path = targetOf(req.volumePath, 'volume_path');
    const found = this.o.shared.findTarget(path);
    if (found && found.target.volumeId !== req.volumeId)
      throw notFound(`volume ${req.volumeId} is not published at ${path}`);
    if (!found && !mountAt(await this.o.mounter.mounts(), path))
      throw notFound(`volume ${req.volumeId} is not published at ${path}`);
    const h = await this.o.shared.targetHealth(path);
    if (!h.ok) {
      if (found) {
        const id = found.mount.id;
        this.o.shared
          .heal(id)
          .catch((e: unknown) =>
            this.o.logger.error('csi: healing failed', { id, err: redactSecrets(String(e)) }),
          );
      }
      return { usage: [], volumeCondition: { abnormal: true, message: h.message } };
    }
    try {
      const u = await withTimeout(this.o.mounter.usage(path), this.o.fsTimeoutMs ?? 5000, `statfs ${path}`);
      return {
        usage: [
          { unit: 'BYTES', ...u.bytes },
          { unit: 'INODES', ...u.inodes },
        ],
        volumeCondition: { abnormal: false, message: 'volume is healthy' },
      };
    } catch (e) {
      return {
        usage: [],
        volumeCondition: {
          abnormal: true,
          message: `statfs failed: ${e instanceof Error ? e.message : String(e)}`,
        },
      };
    }
  }
}
