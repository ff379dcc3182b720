/**
 * Object store registry: builds a store from a volume's storage settings, loading the
 * driver module lazily (the S3 SDK is only imported for `s3`).
 *
 * Wrapping order (outermost first, docs/FORMAT.md §7.1): retries → encryption (when the volume
 * has a key) → `{volume}/` prefix → raw store. Retries sit outside so the final error names
 * the caller's key; a retried put seals the data again.
 */
import type { DataEncryptor } from './encrypt.js';
import type { ObjectStore } from './object-store.js';
import type { RetryOptions } from './retrying.js';

export type StorageKind = 'file' | 's3' | 'mem';

export interface ObjectStoreConfig {
  storage: StorageKind | string;
  bucket: string;
  accessKey?: string;
  secretKey?: string;
  sessionToken?: string;
  region?: string;
  /** Volume namespace: when set, keys are stored as `{prefix}{key}` (use `name + '/'`). */
  prefix?: string;
  /** Retry settings; `false` disables the retry wrapper (tests). */
  retry?: RetryOptions | false;
  /** Seals every object (a volume formatted with --encrypt-rsa-key; see encrypt.ts). */
  encrypt?: DataEncryptor;
}

export async function createRawObjectStore(cfg: ObjectStoreConfig): Promise<ObjectStore> {
  switch (cfg.storage.toLowerCase()) {
    case 'file':
    case 'local': {
      const { FileObjectStore } = await import('./file/file-store.js');
      return new FileObjectStore(cfg.bucket);
    }
    case 'mem':
    case 'memory': {
      const { MemObjectStore } = await import('./mem/mem-store.js');
      return new MemObjectStore(cfg.bucket);
    }
    case 's3':
    case 'minio': {
      const { S3ObjectStore } = await import('./s3/s3-store.js');
      return new S3ObjectStore({
        bucket: cfg.bucket,
        ...(cfg.accessKey !== undefined ? { accessKey: cfg.accessKey } : {}),
        ...(cfg.secretKey !== undefined ? { secretKey: cfg.secretKey } : {}),
        ...(cfg.sessionToken !== undefined ? { sessionToken: cfg.sessionToken } : {}),
        ...(cfg.region !== undefined ? { region: cfg.region } : {}),
      });
    }
    default:
      throw new Error(`unsupported storage type: ${cfg.storage}`);
  }
}

/** The store the chunk layer uses: raw driver, optional volume prefix, retries. */
export async function createObjectStore(cfg: ObjectStoreConfig): Promise<ObjectStore> {
  let store = await createRawObjectStore(cfg);
  if (cfg.prefix !== undefined && cfg.prefix !== '') {
    const { PrefixedStore } = await import('./prefixed.js');
    store = new PrefixedStore(store, cfg.prefix);
  }
  if (cfg.encrypt !== undefined) {
    const { EncryptedStore } = await import('./encrypt.js');
    store = new EncryptedStore(store, cfg.encrypt);
  }
  if (cfg.retry !== false) {
    const { RetryingStore } = await import('./retrying.js');
    store = new RetryingStore(store, cfg.retry ?? {});
  }
  return store;
}
