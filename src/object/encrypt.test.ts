/**
 * Object encryption: the sealed layout JuiceFS writes (u16 wrapped-key length, u8 nonce
 * length, RSA-OAEP(SHA-256, label "keys") wrapped key, nonce, AEAD ciphertext + tag), checked
 * against an independent implementation (Python's `cryptography`, written from Go's layout),
 * in both directions; the key forms Go accepts (PKCS#1 with a legacy encrypted PEM header,
 * encrypted PKCS#8, plain); and the errors for a missing or wrong passphrase, a non-RSA key,
 * a tampered or foreign object.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemObjectStore } from './mem/mem-store.js';
import {
  DataEncryptor,
  EncryptedStore,
  EncryptionKeyError,
  SealedObjectError,
  parsePrivateKey,
  volumeEncryptor,
} from './encrypt.js';

const PASS = 'correct horse';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const plainPem = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
// The legacy "Proc-Type: 4,ENCRYPTED / DEK-Info: AES-256-CBC" form Go's ExportRsaPrivateKeyToPem writes.
const pkcs1Protected = rsa.privateKey
  .export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASS })
  .toString();
const pkcs8Protected = rsa.privateKey
  .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASS })
  .toString();

/** Python with `cryptography` (Debian python3-cryptography), or undefined. */
const python = ((): string | undefined => {
  const r = spawnSync('python3', ['-c', 'import cryptography'], { encoding: 'utf8' });
  return r.status === 0 ? 'python3' : undefined;
})();

// Go's layout written again from its description, in another language and library.
const PY = String.raw`
import sys, os, struct
from cryptography.hazmat.primitives import serialization, hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
mode, algo, pem = sys.argv[1], sys.argv[2], open(sys.argv[3], 'rb').read()
key = serialization.load_pem_private_key(pem, password=None)
oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=b'keys')
aead = ChaCha20Poly1305 if algo == 'chacha20-rsa' else AESGCM
data = sys.stdin.buffer.read()
if mode == 'open':
    klen, nlen = struct.unpack('>H', data[:2])[0], data[2]
    dk = key.decrypt(data[3:3 + klen], oaep)
    nonce = data[3 + klen:3 + klen + nlen]
    sys.stdout.buffer.write(aead(dk).decrypt(nonce, data[3 + klen + nlen:], None))
else:
    dk, nonce = os.urandom(32), os.urandom(12)
    wrapped = key.public_key().encrypt(dk, oaep)
    sys.stdout.buffer.write(struct.pack('>H', len(wrapped)) + bytes([12]) + wrapped + nonce + aead(dk).encrypt(nonce, data, None))
`;

function pyRun(mode: 'open' | 'seal', algo: string, input: Buffer): Buffer {
  const dir = spawnSync('mktemp', ['-d'], { encoding: 'utf8' }).stdout.trim();
  const pemPath = `${dir}/key.pem`;
  spawnSync('sh', ['-c', `cat > ${pemPath}`], { input: plainPem });
  try {
    const r = spawnSync(python as string, ['-c', PY, mode, algo, pemPath], { input, maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`python ${mode} failed: ${r.stderr.toString()}`);
    return r.stdout;
  } finally {
    spawnSync('rm', ['-rf', dir]);
  }
}

describe('DataEncryptor', () => {
  it.each(['aes256gcm-rsa', 'chacha20-rsa'] as const)(
    '%s: seals in Go layout and opens what it sealed',
    (algo) => {
      const enc = new DataEncryptor(parsePrivateKey(plainPem), algo);
      for (const size of [0, 1, 4096, 4 << 20]) {
        const plain = randomBytes(size);
        const sealed = enc.seal(plain);
        expect(sealed.readUInt16BE(0)).toBe(256); // RSA-2048 wraps into 256 bytes
        expect(sealed[2]).toBe(12);
        expect(sealed.length).toBe(3 + 256 + 12 + size + 16);
        if (size >= 16) expect(sealed.includes(plain.subarray(0, 16))).toBe(false);
        expect(enc.open(sealed).equals(plain)).toBe(true);
        // a fresh data key and nonce every time
        expect(enc.seal(plain).subarray(3).equals(sealed.subarray(3))).toBe(false);
      }
    },
  );

  it.skipIf(python === undefined).each(['aes256gcm-rsa', 'chacha20-rsa'] as const)(
    '%s: an independent implementation of the layout opens ours and we open its',
    (algo) => {
      const enc = new DataEncryptor(parsePrivateKey(plainPem), algo);
      const plain = randomBytes(200_000);
      expect(pyRun('open', algo, enc.seal(plain)).equals(plain)).toBe(true);
      expect(enc.open(pyRun('seal', algo, plain)).equals(plain)).toBe(true);
    },
  );

  it('refuses tampered, truncated and foreign objects', () => {
    const enc = new DataEncryptor(parsePrivateKey(plainPem));
    const sealed = enc.seal(Buffer.from('hello world'));
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 20] = (flipped[flipped.length - 20] as number) ^ 1;
    expect(() => enc.open(flipped)).toThrow(SealedObjectError);
    expect(() => enc.open(sealed.subarray(0, 2))).toThrow(/shorter than its header/);
    expect(() => enc.open(sealed.subarray(0, 200))).toThrow(/malformed/);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expect(() => new DataEncryptor(other).open(sealed)).toThrow(/decrypt key/);
    const chacha = new DataEncryptor(parsePrivateKey(plainPem), 'chacha20-rsa');
    expect(() => chacha.open(sealed)).toThrow(/authentication failed/);
  });
});

describe('keys', () => {
  it('opens plain PKCS#1, protected PKCS#1 (legacy PEM header) and protected PKCS#8 keys', () => {
    expect(pkcs1Protected).toContain('Proc-Type: 4,ENCRYPTED');
    expect(pkcs8Protected).toContain('BEGIN ENCRYPTED PRIVATE KEY');
    const sealed = new DataEncryptor(parsePrivateKey(plainPem)).seal(Buffer.from('x'));
    for (const pem of [pkcs1Protected, pkcs8Protected]) {
      expect(new DataEncryptor(parsePrivateKey(pem, PASS)).open(sealed).toString()).toBe('x');
    }
  });

  it('says to set JFS_RSA_PASSPHRASE when it is missing, and when it is wrong', () => {
    for (const pem of [pkcs1Protected, pkcs8Protected]) {
      expect(() => parsePrivateKey(pem)).toThrow(/JFS_RSA_PASSPHRASE/);
      expect(() => parsePrivateKey(pem, 'wrong')).toThrow(/wrong passphrase/);
    }
    expect(() => volumeEncryptor(pkcs1Protected, 'aes256gcm-rsa', {})).toThrow(EncryptionKeyError);
    expect(volumeEncryptor(pkcs1Protected, '', { JFS_RSA_PASSPHRASE: PASS })?.algo).toBe('aes256gcm-rsa');
  });

  it('refuses keys and algorithms it cannot use, and a key a dump removed', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    expect(() => parsePrivateKey(ec.export({ type: 'pkcs8', format: 'pem' }).toString())).toThrow(/RSA keys/);
    expect(() => parsePrivateKey('not a key')).toThrow(/parse private key/);
    expect(() => DataEncryptor.fromSettings(plainPem, 'sm4gcm')).toThrow(
      /unsupported encryption algorithm sm4gcm/,
    );
    expect(() => volumeEncryptor('removed', 'aes256gcm-rsa')).toThrow(/not in its settings/);
    expect(volumeEncryptor(undefined, 'aes256gcm-rsa')).toBeUndefined();
  });
});

describe('EncryptedStore', () => {
  it('stores sealed objects, reads whole objects and ranges of them, and names the key of one that does not open', async () => {
    const raw = new MemObjectStore();
    const enc = new DataEncryptor(parsePrivateKey(plainPem));
    const store = new EncryptedStore(raw, enc);
    const data = randomBytes(100_000);
    await store.put('chunks/0/0/1_0_100000', data);
    const stored = await raw.get('chunks/0/0/1_0_100000');
    expect(stored.length).toBe(data.length + 3 + 256 + 12 + 16);
    expect(enc.open(stored).equals(data)).toBe(true);
    expect((await store.get('chunks/0/0/1_0_100000')).equals(data)).toBe(true);
    expect(
      (await store.get('chunks/0/0/1_0_100000', { off: 5000, len: 100 })).equals(data.subarray(5000, 5100)),
    ).toBe(true);
    expect((await store.get('chunks/0/0/1_0_100000', { off: 99_990, len: 100 })).length).toBe(10);
    await raw.put('chunks/0/0/2_0_5', Buffer.from('plain'));
    const err = await store.get('chunks/0/0/2_0_5').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SealedObjectError);
    expect((err as Error).message).toContain('chunks/0/0/2_0_5');
    expect((err as SealedObjectError).permanent).toBe(true);
    expect(store.describe()).toContain('(encrypted)');
  });
});
