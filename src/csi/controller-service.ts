/**
 * CSI Controller service (dynamic provisioning): one sub-directory per PV on a shared tjfs
 * volume, with a directory quota equal to the requested capacity.
 *
 * volume_id = the sub-directory path (`[basePath/]name`, name = the CO's `pvc-<uuid>`);
 * volume_context = StorageClass parameters + `subPath` + `capacity`, never secrets. The meta
 * URL comes from the provisioner secret (`metaurl`). CreateVolume is idempotent on `name`
 * (same capacity → same volume; a different quota → ALREADY_EXISTS). DeleteVolume removes
 * the directory, only for ids whose last component looks like `pvc-<uuid>` (static volumes are
 * never touched) and does nothing without secrets (the provisioner proceeds when the secret
 * is gone). ValidateVolumeCapabilities checks the directory for real when secrets are given.
 */
import { status } from '@grpc/grpc-js';
import type { Logger } from '../util/logger.js';
import { BusyKeys, CsiError, internal, invalidArgument, notFound } from './csi-error.js';
import type {
  CapacityRangeMsg,
  ControllerExpandVolumeRequest,
  CreateVolumeRequest,
  DeleteVolumeRequest,
  StringMap,
  ValidateVolumeCapabilitiesRequest,
  VolumeCapabilityMsg,
} from './csi-proto.js';
import { VolumeProvisioner } from './volume-provisioner.js';
import { capabilityProblem, normalizeSubPath } from './volume-capability.js';

export interface VolumeMsg {
  volumeId: string;
  capacityBytes: number;
  volumeContext: StringMap;
}

const DYNAMIC_NAME = /^pvc-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RESERVED_PREFIX = 'csi.storage.k8s.io/';

function capacityOf(range: CapacityRangeMsg | null): number {
  if (!range) return 0;
  const required = Number(range.requiredBytes || 0);
  const limit = Number(range.limitBytes || 0);
  if (required < 0 || limit < 0) throw new CsiError(status.OUT_OF_RANGE, 'capacity must not be negative');
  if (limit > 0 && required > limit)
    throw new CsiError(status.OUT_OF_RANGE, `required_bytes ${required} exceeds limit_bytes ${limit}`);
  return required > 0 ? required : limit;
}

function checkCapabilities(caps: readonly VolumeCapabilityMsg[]): void {
  if (caps.length === 0) throw invalidArgument('volume_capabilities is required');
  for (const c of caps) {
    const p = capabilityProblem(c);
    if (p) throw invalidArgument(p);
  }
}

function partsOf(volumeId: string): string[] {
  const sub = normalizeSubPath(volumeId);
  if (!sub) throw invalidArgument(`invalid volume_id '${volumeId}'`);
  return sub.split('/');
}

export class ControllerService {
  private readonly busy = new BusyKeys();

  constructor(
    private readonly logger: Logger,
    private readonly provisioner = new VolumeProvisioner(),
  ) {}

  capabilities(): { rpc: { type: string } }[] {
    return ['CREATE_DELETE_VOLUME', 'EXPAND_VOLUME'].map((type) => ({ rpc: { type } }));
  }

  private async locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.busy.run(key, `volume ${key}`, fn);
  }

  async createVolume(req: CreateVolumeRequest): Promise<VolumeMsg> {
    if (!req.name) throw invalidArgument('name is required');
    if (req.name.includes('/') || req.name === '.' || req.name === '..')
      throw invalidArgument(`invalid volume name '${req.name}'`);
    checkCapabilities(req.volumeCapabilities);
    if (req.volumeContentSource)
      throw invalidArgument('volume content sources (snapshots, clones) are not supported');
    const capacity = capacityOf(req.capacityRange);
    const base = normalizeSubPath(req.parameters['basePath']);
    if (base === undefined) throw invalidArgument(`invalid basePath '${req.parameters['basePath'] ?? ''}'`);
    const subPath = base ? `${base}/${req.name}` : req.name;
    const context: StringMap = {};
    for (const [k, v] of Object.entries(req.parameters))
      if (!k.startsWith(RESERVED_PREFIX) && k !== 'basePath') context[k] = v;
    context['subPath'] = subPath;
    context['capacity'] = String(capacity);
    const metaUrl = req.secrets['metaurl'] ?? '';
    if (!metaUrl) {
      this.logger.warn(
        'csi: CreateVolume without provisioner secret: directory created on first publish, no quota',
        { name: req.name },
      );
      return { volumeId: subPath, capacityBytes: capacity, volumeContext: context };
    }
    return this.locked(subPath, async () => {
      let dir;
      try {
        dir = await this.provisioner.create(metaUrl, subPath.split('/'), capacity);
      } catch (e) {
        throw internal(`creating ${subPath}: ${e instanceof Error ? e.message : String(e)}`, e);
      }
      if (dir.existed && dir.maxSpace !== capacity) {
        throw new CsiError(
          status.ALREADY_EXISTS,
          `volume ${req.name} exists with capacity ${dir.maxSpace}, requested ${capacity}`,
        );
      }
      this.logger.info?.('csi: volume created', { volumeId: subPath, capacity, existed: dir.existed });
      return { volumeId: subPath, capacityBytes: capacity, volumeContext: context };
    });
  }

  async deleteVolume(req: DeleteVolumeRequest): Promise<void> {
    if (!req.volumeId) throw invalidArgument('volume_id is required');
    const parts = partsOf(req.volumeId);
    const metaUrl = req.secrets['metaurl'] ?? '';
    if (!DYNAMIC_NAME.test(parts[parts.length - 1] ?? '')) {
      this.logger.info?.('csi: DeleteVolume of a non-dynamic volume id: nothing removed', {
        volumeId: req.volumeId,
      });
      return;
    }
    if (!metaUrl) {
      this.logger.warn('csi: DeleteVolume without secrets: directory left in place', {
        volumeId: req.volumeId,
      });
      return;
    }
    await this.locked(req.volumeId, async () => {
      try {
        const removed = await this.provisioner.remove(metaUrl, parts);
        this.logger.info?.('csi: volume deleted', { volumeId: req.volumeId, removed });
      } catch (e) {
        throw internal(`deleting ${req.volumeId}: ${e instanceof Error ? e.message : String(e)}`, e);
      }
    });
  }

  async validate(
    req: ValidateVolumeCapabilitiesRequest,
  ): Promise<{ confirmed: object | null; message: string }> {
    if (!req.volumeId) throw invalidArgument('volume_id is required');
    if (req.volumeCapabilities.length === 0) throw invalidArgument('volume_capabilities is required');
    const parts = partsOf(req.volumeId);
    const metaUrl = req.secrets['metaurl'] ?? '';
    if (metaUrl && !(await this.provisioner.find(metaUrl, parts)))
      throw notFound(`volume ${req.volumeId} does not exist`);
    for (const c of req.volumeCapabilities) {
      const p = capabilityProblem(c);
      if (p) return { confirmed: null, message: p };
    }
    return {
      confirmed: {
        volumeContext: req.volumeContext,
        volumeCapabilities: req.volumeCapabilities,
        parameters: req.parameters,
      },
      message: '',
    };
  }

  async expand(
    req: ControllerExpandVolumeRequest,
  ): Promise<{ capacityBytes: number; nodeExpansionRequired: boolean }> {
    if (!req.volumeId) throw invalidArgument('volume_id is required');
    if (!req.capacityRange) throw invalidArgument('capacity_range is required');
    const capacity = capacityOf(req.capacityRange);
    const parts = partsOf(req.volumeId);
    const metaUrl = req.secrets['metaurl'] ?? '';
    if (!metaUrl) throw invalidArgument('secret key "metaurl" is required (controller-expand-secret)');
    return this.locked(req.volumeId, async () => {
      const cur = await this.provisioner.find(metaUrl, parts);
      if (!cur) throw notFound(`volume ${req.volumeId} does not exist`);
      if (cur.maxSpace >= capacity && cur.maxSpace > 0)
        return { capacityBytes: cur.maxSpace, nodeExpansionRequired: false };
      await this.provisioner.setQuota(metaUrl, parts, capacity);
      return { capacityBytes: capacity, nodeExpansionRequired: false };
    });
  }
}
