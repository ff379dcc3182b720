/**
 * At-rest encryption of objects, byte-compatible with JuiceFS (`format --encrypt-rsa-key`,
 * docs/FORMAT.md §9): every object is sealed on its own, after compression, with a fresh
 * random data key that an RSA key wraps.
 *
 * Layout of a sealed object (as Go's pkg/object dataEncryptor writes it):
 *
 *     u16 BE  length of the wrapped data key (the RSA modulus size: 256 for RSA-2048)
 *     u8      nonce length (12)
 *     ...     wrapped key: RSA-OAEP(SHA-256, label "keys") of the data key
 *     ...     nonce
 *     ...     AEAD ciphertext followed by its 16-byte tag (no additional data)
 *
 * The data key is 32 bytes for both algorithms: AES-256-GCM (`aes256gcm-rsa`, the default)
 * and ChaCha20-Poly1305 (`chacha20-rsa`). The PEM private key lives in the volume's
 * settings (EncryptKey); a key encrypted with a passphrase (PKCS#1 with Proc-Type
 * ENCRYPTED, or encrypted PKCS#8) is unlocked with JFS_RSA_PASSPHRASE, as JuiceFS does.
 *
 * Design: `EncryptedStore` wraps the store under the chunk layer. A range cannot be read
 * from a sealed object, so `get` with a range fetches and opens the whole object (the
 * chunk layer asks for whole blocks instead; see ChunkStore `rangeReads`). Listing and
 * `head` report the sealed sizes, as Go's do.
 *
 * Invariants: a wrong, missing or non-RSA key is an error when the store is built, never
 * garbage later; an object that fails to open (tampered, truncated, another key) is an
 * error naming its key, never plaintext.
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type CipherGCMTypes,
  type KeyObject,
} from 'node:crypto';
import type { ByteRange, ListOptions, ObjectInfo, ObjectStore } from './object-store.js';

export const ENCRYPT_ALGOS = ['aes256gcm-rsa', 'chacha20-rsa'] as const;
export type EncryptAlgo = (typeof ENCRYPT_ALGOS)[number];

const OAEP_LABEL = Buffer.from('keys');
const DATA_KEY_LEN = 32;
const NONCE_LEN = 12;
const TAG_LEN = 16;

/** A key that cannot be used: the message says what to do (set the passphrase, fix the file). */
export class EncryptionKeyError extends Error {
  override name = 'EncryptionKeyError';
}

/** A sealed object that does not open (corrupt, truncated or sealed with another key). */
export class SealedObjectError extends Error {
  override name = 'SealedObjectError';
  /** Retrying the read cannot help (see RetryingStore's isTransient). */
  readonly permanent = true;
}

/**
 * The RSA private key of a PEM, unlocked with `passphrase` when it is encrypted. Errors are
 * JuiceFS's: a missing passphrase says to set JFS_RSA_PASSPHRASE.
 */
export function parsePrivateKey(pem: string, passphrase = ''): KeyObject {
  const encrypted = /Proc-Type:\s*4,ENCRYPTED/.test(pem) || /-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(pem);
  if (encrypted && passphrase === '') {
    throw new EncryptionKeyError(
      "passphrase is required to private key: please set the 'JFS_RSA_PASSPHRASE' environment variable",
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(encrypted ? { key: pem, format: 'pem', passphrase } : { key: pem, format: 'pem' });
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    if (encrypted)
      throw new EncryptionKeyError(`parse private key: wrong passphrase or damaged key (${why})`);
    throw new EncryptionKeyError(`parse private key: ${why}`);
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new EncryptionKeyError(
      `parse private key: a ${key.asymmetricKeyType ?? 'non-RSA'} key; tjfs supports RSA keys (aes256gcm-rsa, chacha20-rsa)`,
    );
  }
  return key;
}

export function isEncryptAlgo(s: string): s is EncryptAlgo {
  return (ENCRYPT_ALGOS as readonly string[]).includes(s);
}

/** Seals and opens objects with one RSA key and one AEAD algorithm. */
export class DataEncryptor {
  private readonly publicKey: KeyObject;
  private readonly cipher: 'aes-256-gcm' | 'chacha20-poly1305';

  constructor(
    private readonly privateKey: KeyObject,
    readonly algo: EncryptAlgo = 'aes256gcm-rsa',
  ) {
    this.publicKey = createPublicKey(privateKey);
    this.cipher = algo === 'chacha20-rsa' ? 'chacha20-poly1305' : 'aes-256-gcm';
  }

  /** From the volume's settings: the PEM, its algorithm ('' is the default) and the passphrase. */
  static fromSettings(pem: string, algo: string | undefined, passphrase = ''): DataEncryptor {
    const a = (algo ?? '') === '' ? 'aes256gcm-rsa' : (algo as string).toLowerCase();
    if (!isEncryptAlgo(a)) {
      throw new EncryptionKeyError(
        `unsupported encryption algorithm ${algo}: tjfs supports ${ENCRYPT_ALGOS.join(', ')}`,
      );
    }
    return new DataEncryptor(parsePrivateKey(pem, passphrase), a);
  }

  seal(plain: Buffer): Buffer {
    const dataKey = randomBytes(DATA_KEY_LEN);
    const wrapped = publicEncrypt(
      {
        key: this.publicKey,
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: 'sha256',
        oaepLabel: OAEP_LABEL,
      },
      dataKey,
    );
    const nonce = randomBytes(NONCE_LEN);
    // Both AEADs take (key, 12-byte nonce) and append a 16-byte tag; the typing names GCM.
    const c = createCipheriv(this.cipher as CipherGCMTypes, dataKey, nonce, { authTagLength: TAG_LEN });
    const head = Buffer.allocUnsafe(3);
    head.writeUInt16BE(wrapped.length, 0);
    head[2] = nonce.length;
    return Buffer.concat([head, wrapped, nonce, c.update(plain), c.final(), c.getAuthTag()]);
  }

  /** The plaintext of a sealed object; SealedObjectError when it does not open. */
  open(sealed: Buffer): Buffer {
    if (sealed.length < 3) throw new SealedObjectError('sealed object shorter than its header');
    const keyLen = sealed.readUInt16BE(0);
    const nonceLen = sealed[2] as number;
    const body = 3 + keyLen + nonceLen;
    if (body + TAG_LEN > sealed.length) {
      throw new SealedObjectError(
        `malformed sealed object: key ${keyLen} and nonce ${nonceLen} bytes in ${sealed.length}`,
      );
    }
    let dataKey: Buffer;
    try {
      dataKey = privateDecrypt(
        {
          key: this.privateKey,
          padding: constants.RSA_PKCS1_OAEP_PADDING,
          oaepHash: 'sha256',
          oaepLabel: OAEP_LABEL,
        },
        sealed.subarray(3, 3 + keyLen),
      );
    } catch (e) {
      throw new SealedObjectError(`decrypt key: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (dataKey.length !== DATA_KEY_LEN)
      throw new SealedObjectError(`decrypt key: ${dataKey.length}-byte data key`);
    try {
      const nonce = sealed.subarray(3 + keyLen, body);
      const d = createDecipheriv(this.cipher as CipherGCMTypes, dataKey, nonce, { authTagLength: TAG_LEN });
      d.setAuthTag(sealed.subarray(sealed.length - TAG_LEN));
      return Buffer.concat([d.update(sealed.subarray(body, sealed.length - TAG_LEN)), d.final()]);
    } catch {
      throw new SealedObjectError('message authentication failed (corrupt object or another key)');
    }
  }
}

/** An object store whose objects are sealed by a DataEncryptor. */
export class EncryptedStore implements ObjectStore {
  constructor(
    readonly inner: ObjectStore,
    readonly enc: DataEncryptor,
  ) {}

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    const sealed = await this.inner.get(key);
    let plain: Buffer;
    try {
      plain = this.enc.open(sealed);
    } catch (e) {
      throw new SealedObjectError(`object ${key}: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    }
    if (range === undefined) return plain;
    const off = Math.min(range.off, plain.length);
    return plain.subarray(off, Math.min(plain.length, off + range.len));
  }

  put(key: string, data: Buffer): Promise<void> {
    return this.inner.put(key, this.enc.seal(data));
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.inner.head(key);
  }

  list(opts: ListOptions): Promise<ObjectInfo[]> {
    return this.inner.list(opts);
  }

  describe(): string {
    return `${this.inner.describe()}(encrypted)`;
  }
}

/**
 * The encryptor of a volume from its settings (the clear-text PEM and EncryptAlgo), or
 * undefined when it has no key. JFS_RSA_PASSPHRASE in `env` unlocks a protected key.
 */
export function volumeEncryptor(
  pem: string | undefined,
  algo: string | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
): DataEncryptor | undefined {
  if (pem === undefined || pem === '') return undefined;
  if (pem === 'removed') {
    throw new EncryptionKeyError(
      'the encryption key of this volume is not in its settings (a dump made without --keep-secret-key was loaded): load a dump that keeps it',
    );
  }
  return DataEncryptor.fromSettings(pem, algo, env['JFS_RSA_PASSPHRASE'] ?? '');
}
