/**
 * Secret encryption of the volume setting (docs/FORMAT.md §2.3, vector V-10): SecretKey,
 * SessionToken and EncryptKey are stored as base64std(nonce(12) || ciphertext || tag(16)),
 * AES-128-GCM with key = MD5(UUID text), no AAD, a fresh random nonce per field.
 * Design: `initFormat` stores the encrypted form (KeyEncrypted: true); consumers that need
 * the clear text (object store credentials, the data-encryption key) call
 * `decryptFormatSecrets`. The setting in memory stays as stored.
 * Invariants: decrypt(encrypt(x)) === x; "removed" (scrubbed by dump) never decrypts;
 * SM4-GCM volumes are refused with a clear message (not implemented).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { FsError, Errno } from '../base/errno.js';
import type { Format } from './format.js';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

function secretKey(uuid: string): Buffer {
  return createHash('md5').update(uuid, 'utf8').digest();
}

function checkAlgo(format: Pick<Format, 'EncryptAlgo'>): void {
  if ((format.EncryptAlgo ?? '').toLowerCase() === 'sm4gcm') {
    throw new FsError(Errno.ENOTSUP, {
      op: 'secret',
      message: 'ENOTSUP: setting secrets encrypted with SM4-GCM are not supported by tjfs',
    });
  }
}

/** Encrypts one secret with the volume UUID; `nonce` is for test vectors only. */
export function encryptSecret(uuid: string, plain: string, nonce: Buffer = randomBytes(NONCE_BYTES)): string {
  if (nonce.length !== NONCE_BYTES)
    throw new FsError(Errno.EINVAL, { op: 'secret', message: 'EINVAL: GCM nonce must be 12 bytes' });
  const c = createCipheriv('aes-128-gcm', secretKey(uuid), nonce);
  const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return Buffer.concat([nonce, ct, c.getAuthTag()]).toString('base64');
}

/** Decrypts one stored secret; EINVAL with the field name when it cannot be decrypted. */
export function decryptSecret(uuid: string, stored: string, field = 'secret'): string {
  if (stored === 'removed') {
    throw new FsError(Errno.EINVAL, {
      op: 'secret',
      message: `EINVAL: ${field} was removed from the setting (dump without secrets); set it again with 'config'`,
    });
  }
  const raw = Buffer.from(stored, 'base64');
  if (raw.length < NONCE_BYTES + TAG_BYTES) {
    throw new FsError(Errno.EINVAL, {
      op: 'secret',
      message: `EINVAL: cannot decrypt ${field}: ${raw.length} bytes is too short`,
    });
  }
  try {
    const d = createDecipheriv('aes-128-gcm', secretKey(uuid), raw.subarray(0, NONCE_BYTES));
    d.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    return Buffer.concat([d.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), d.final()]).toString(
      'utf8',
    );
  } catch (e) {
    throw new FsError(Errno.EINVAL, {
      op: 'secret',
      cause: e,
      message: `EINVAL: cannot decrypt ${field} with the volume UUID`,
    });
  }
}

export interface FormatSecrets {
  secretKey?: string;
  sessionToken?: string;
  encryptKey?: string;
}

type SecretField = 'EncryptKey' | 'SecretKey' | 'SessionToken';
/** Go's decrypt order. */
const FIELDS: readonly SecretField[] = ['EncryptKey', 'SecretKey', 'SessionToken'];

/** A copy of `format` with every non-empty secret encrypted and KeyEncrypted set. */
export function encryptFormatSecrets(format: Format): Format {
  if (format.KeyEncrypted) return { ...format };
  const out: Format = { ...format };
  let any = false;
  for (const k of FIELDS) {
    const v = format[k];
    if (v) {
      checkAlgo(format);
      out[k] = encryptSecret(format.UUID, v);
      any = true;
    }
  }
  if (any) out.KeyEncrypted = true;
  return out;
}

/** The clear-text secrets of a stored setting (decrypted when KeyEncrypted). */
export function decryptFormatSecrets(format: Format): FormatSecrets {
  const out: FormatSecrets = {};
  const put = (k: SecretField, v: string): void => {
    if (k === 'EncryptKey') out.encryptKey = v;
    else if (k === 'SecretKey') out.secretKey = v;
    else out.sessionToken = v;
  };
  for (const k of FIELDS) {
    const v = format[k];
    if (!v) continue;
    if (format.KeyEncrypted) {
      checkAlgo(format);
      put(k, decryptSecret(format.UUID, v, k));
    } else {
      put(k, v);
    }
  }
  return out;
}
