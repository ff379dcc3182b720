/**
 * Loads the CSI proto (src/csi/proto/csi.proto, kept in the repository) and types the
 * messages as @grpc/proto-loader delivers them: camelCased, defaults filled in (missing
 * strings are "", missing maps {}, missing messages null), enums as names, int64 as decimal
 * strings, oneofs exposed by name (`accessType: 'mount' | 'block'`).
 *
 * The .proto is found relative to the package root (walking up to package.json), so the same
 * code works from src/ under vitest and from dist/src/ after tsc (which does not copy it).
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { packageRoot } from '../native/package-root.js';

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export type StringMap = Record<string, string>;

export type AccessModeName =
  | 'UNKNOWN'
  | 'SINGLE_NODE_WRITER'
  | 'SINGLE_NODE_READER_ONLY'
  | 'MULTI_NODE_READER_ONLY'
  | 'MULTI_NODE_SINGLE_WRITER'
  | 'MULTI_NODE_MULTI_WRITER'
  | 'SINGLE_NODE_SINGLE_WRITER'
  | 'SINGLE_NODE_MULTI_WRITER';

export interface VolumeCapabilityMsg {
  block?: Record<string, never> | null;
  mount?: { fsType: string; mountFlags: string[]; volumeMountGroup: string } | null;
  accessMode: { mode: AccessModeName } | null;
  accessType?: 'mount' | 'block';
}

export interface CapacityRangeMsg {
  requiredBytes: string;
  limitBytes: string;
}

export interface NodePublishVolumeRequest {
  volumeId: string;
  publishContext: StringMap;
  stagingTargetPath: string;
  targetPath: string;
  volumeCapability: VolumeCapabilityMsg | null;
  readonly: boolean;
  secrets: StringMap;
  volumeContext: StringMap;
}

export interface NodeUnpublishVolumeRequest {
  volumeId: string;
  targetPath: string;
}

export interface NodeGetVolumeStatsRequest {
  volumeId: string;
  volumePath: string;
  stagingTargetPath: string;
}

export interface CreateVolumeRequest {
  name: string;
  capacityRange: CapacityRangeMsg | null;
  volumeCapabilities: VolumeCapabilityMsg[];
  parameters: StringMap;
  secrets: StringMap;
  volumeContentSource: unknown;
}

export interface DeleteVolumeRequest {
  volumeId: string;
  secrets: StringMap;
}

export interface ValidateVolumeCapabilitiesRequest {
  volumeId: string;
  volumeContext: StringMap;
  volumeCapabilities: VolumeCapabilityMsg[];
  parameters: StringMap;
  secrets: StringMap;
}

export interface ControllerExpandVolumeRequest {
  volumeId: string;
  capacityRange: CapacityRangeMsg | null;
  secrets: StringMap;
  volumeCapability: VolumeCapabilityMsg | null;
}

export interface CsiServices {
  Identity: grpc.ServiceClientConstructor;
  Controller: grpc.ServiceClientConstructor;
  Node: grpc.ServiceClientConstructor;
}

export function protoPath(): string {
  return join(packageRoot(), 'src', 'csi', 'proto', 'csi.proto');
}

let cached: CsiServices | undefined;

/** The csi.v1 services, loaded once. */
export function loadCsi(): CsiServices {
  if (cached) return cached;
  const def = protoLoader.loadSync(protoPath(), LOADER_OPTIONS);
  const root = grpc.loadPackageDefinition(def);
  // cast: loadPackageDefinition returns a nested untyped namespace; csi.proto declares these three services.
  const ns = (root['csi'] as grpc.GrpcObject)['v1'] as unknown as CsiServices;
  cached = { Identity: ns.Identity, Controller: ns.Controller, Node: ns.Node };
  return cached;
}
