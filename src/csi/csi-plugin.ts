/**
 * CsiPlugin: the `tjfs csi` process — Identity always, Node and/or Controller by mode — served
 * with @grpc/grpc-js on one unix socket.
 *
 * Start-up: load the state file, re-attach to (or repair) the shared mounts a previous
 * incarnation started, unlink a stale socket, bind. Close: stop serving and healing; the FUSE
 * daemons keep running on purpose (pods still use them; the next incarnation re-attaches).
 * Every handler goes through `unary`, which maps errors to CSI status codes and logs the
 * method and code only (requests carry secrets and are never logged).
 */
import { access, mkdir, rm } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../util/logger.js';
import { ControllerService } from './controller-service.js';
import { CsiError, toServiceError } from './csi-error.js';
import { loadCsi } from './csi-proto.js';
import type {
  ControllerExpandVolumeRequest,
  CreateVolumeRequest,
  DeleteVolumeRequest,
  NodeGetVolumeStatsRequest,
  NodePublishVolumeRequest,
  NodeUnpublishVolumeRequest,
  ValidateVolumeCapabilitiesRequest,
} from './csi-proto.js';
import { createDaemonLauncher, type DaemonLauncher } from './daemon-launcher.js';
import { SystemMounter, type Mounter } from './mounter.js';
import { NodeService } from './node-service.js';
import { SharedMounts } from './shared-mounts.js';
import { StateStore } from './state-store.js';

export const DRIVER_NAME = 'csi.tjfs.io';

export type CsiMode = 'node' | 'controller' | 'all';

export interface CsiPluginOptions {
  endpoint: string;
  nodeId: string;
  mode: CsiMode;
  stateDir: string;
  /** Seals meta URL passwords in the state file (TJFS_CSI_STATE_KEY); without it none is written. */
  stateKey?: string;
  mountBase: string;
  version: string;
  logger: Logger;
  /** Environment handed to mount daemons. */
  env: Readonly<Record<string, string | undefined>>;
  mounter?: Mounter;
  launch?: DaemonLauncher;
  /** Period of the background health check of shared mounts; 0 disables. Default 30 s. */
  checkIntervalMs?: number;
  probeTimeoutMs?: number;
}

/** `unix:///abs/csi.sock`, `unix:/abs/csi.sock` or `/abs/csi.sock` → the socket path. */
export function socketPathOf(endpoint: string): string {
  const m = /^unix:(?:\/\/)?(\/.*)$/.exec(endpoint);
  const path = m?.[1] ?? (endpoint.startsWith('/') ? endpoint : undefined);
  if (!path) throw new Error(`unsupported CSI endpoint '${endpoint}': use unix:///path/csi.sock`);
  return path;
}

function unary<Req, Res>(
  log: Logger,
  method: string,
  fn: (req: Req) => Promise<Res> | Res,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (res) => callback(null, res),
        (e: unknown) => {
          const se = toServiceError(e);
          const level = e instanceof CsiError && e.code !== grpc.status.INTERNAL ? 'warn' : 'error';
          log[level](`csi: ${method} failed`, {
            code: grpc.status[se.code ?? grpc.status.INTERNAL],
            message: se.details,
          });
          callback(se);
        },
      );
  };
}

export class CsiPlugin {
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;

  private constructor(
    private readonly server: grpc.Server,
    readonly socketPath: string,
    readonly shared: SharedMounts | undefined,
    private readonly log: Logger,
  ) {}

  static async start(o: CsiPluginOptions): Promise<CsiPlugin> {
    const socketPath = socketPathOf(o.endpoint);
    const csi = loadCsi();
    const server = new grpc.Server();
    const log = o.logger;
    const nodeOn = o.mode !== 'controller';
    const ctrlOn = o.mode !== 'node';
    let shared: SharedMounts | undefined;
    server.addService(csi.Identity.service, {
      GetPluginInfo: unary(log, 'GetPluginInfo', () => ({
        name: DRIVER_NAME,
        vendorVersion: o.version,
        manifest: { mode: o.mode },
      })),
      GetPluginCapabilities: unary(log, 'GetPluginCapabilities', () => ({
        capabilities: ctrlOn
          ? [{ service: { type: 'CONTROLLER_SERVICE' } }, { volumeExpansion: { type: 'ONLINE' } }]
          : [],
      })),
      Probe: unary(log, 'Probe', async () => {
        if (nodeOn) {
          await access('/dev/fuse', constants.R_OK | constants.W_OK).catch(() => {
            throw new CsiError(
              grpc.status.FAILED_PRECONDITION,
              '/dev/fuse is not available (node plugin must be privileged)',
            );
          });
        }
        return { ready: { value: true } };
      }),
    });
    if (nodeOn) {
      const store = new StateStore(o.stateDir, o.stateKey ? { stateKey: o.stateKey } : {});
      await store.load();
      const mounter = o.mounter ?? new SystemMounter();
      shared = new SharedMounts({
        mountBase: o.mountBase,
        store,
        mounter,
        launch: o.launch ?? createDaemonLauncher(o.env),
        logger: log,
        ...(o.probeTimeoutMs !== undefined ? { probeTimeoutMs: o.probeTimeoutMs } : {}),
      });
      await shared.recover();
      const node = new NodeService({
        nodeId: o.nodeId,
        shared,
        mounter,
        logger: log,
        ...(o.probeTimeoutMs !== undefined ? { fsTimeoutMs: o.probeTimeoutMs } : {}),
      });
      server.addService(csi.Node.service, {
        NodeGetInfo: unary(log, 'NodeGetInfo', () => node.info()),
        NodeGetCapabilities: unary(log, 'NodeGetCapabilities', () => ({ capabilities: node.capabilities() })),
        NodePublishVolume: unary(
          log,
          'NodePublishVolume',
          async (r: NodePublishVolumeRequest) => (await node.publish(r), {}),
        ),
        NodeUnpublishVolume: unary(
          log,
          'NodeUnpublishVolume',
          async (r: NodeUnpublishVolumeRequest) => (await node.unpublish(r), {}),
        ),
        NodeGetVolumeStats: unary(log, 'NodeGetVolumeStats', (r: NodeGetVolumeStatsRequest) => node.stats(r)),
      });
    }
    if (ctrlOn) {
      const ctrl = new ControllerService(log);
      server.addService(csi.Controller.service, {
        CreateVolume: unary(log, 'CreateVolume', async (r: CreateVolumeRequest) => ({
          volume: await ctrl.createVolume(r),
        })),
        DeleteVolume: unary(
          log,
          'DeleteVolume',
          async (r: DeleteVolumeRequest) => (await ctrl.deleteVolume(r), {}),
        ),
        ValidateVolumeCapabilities: unary(
          log,
          'ValidateVolumeCapabilities',
          (r: ValidateVolumeCapabilitiesRequest) => ctrl.validate(r),
        ),
        ControllerGetCapabilities: unary(log, 'ControllerGetCapabilities', () => ({
          capabilities: ctrl.capabilities(),
        })),
        ControllerExpandVolume: unary(log, 'ControllerExpandVolume', (r: ControllerExpandVolumeRequest) =>
          ctrl.expand(r),
        ),
      });
    }
    await mkdir(dirname(socketPath), { recursive: true });
    await rm(socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (e) =>
        e ? reject(e) : resolve(),
      );
    });
    const plugin = new CsiPlugin(server, socketPath, shared, log);
    const period = o.checkIntervalMs ?? 30_000;
    if (shared && period > 0) {
      plugin.timer = setInterval(() => void plugin.checkNow().catch(() => undefined), period);
      plugin.timer.unref();
    }
    log.info?.('csi: serving', { driver: DRIVER_NAME, mode: o.mode, node: o.nodeId, socket: socketPath });
    return plugin;
  }

  /** One background health pass over the shared mounts (no overlap with a running one). */
  checkNow(): Promise<void> {
    if (!this.shared) return Promise.resolve();
    this.checking ??= this.shared.recover().finally(() => (this.checking = undefined));
    return this.checking;
  }

  /** Stops serving. Mount daemons keep running for the next incarnation. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.shared?.close();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 5000);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    await this.checking?.catch(() => undefined);
    await rm(this.socketPath, { force: true });
    this.log.info?.('csi: stopped');
  }
}
