/**
 * Encryption at rest through real mounts, on SQLite and Redis: `format --encrypt-rsa-key`
 * with a passphrase-protected key; a mount with JFS_RSA_PASSPHRASE writes files whose
 * objects in the bucket are sealed (no plaintext, each opens with the key) and reads them
 * back, whole and at random offsets; fsck, gc and sync out of the volume work through the key; a mount without the
 * passphrase, or with a wrong one, fails at start with a message saying so.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import { tjfs, useE2eEnv, type VolumeKind } from '../helpers/mount.js';
import { ok, py } from '../helpers/proc.js';
import { DataEncryptor, parsePrivateKey } from '../../src/object/encrypt.js';

const PASS = 'e2e passphrase';
const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const pem = key.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASS }).toString();

const WRITE = `import sys; open(sys.argv[1], 'wb').write(open(sys.argv[2], 'rb').read())`;
const READ_AT = `import sys, os
fd = os.open(sys.argv[1], os.O_RDONLY)
out = []
for off in sys.argv[2:]:
    out.append(os.pread(fd, 4096, int(off)).hex())
print(' '.join(out))`;

function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...files(p));
    else out.push(p);
  }
  return out;
}

/** Runs `fn` with JFS_RSA_PASSPHRASE set for the children it spawns. */
async function withPassphrase<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const before = process.env['JFS_RSA_PASSPHRASE'];
  if (value === undefined) delete process.env['JFS_RSA_PASSPHRASE'];
  else process.env['JFS_RSA_PASSPHRASE'] = value;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env['JFS_RSA_PASSPHRASE'];
    else process.env['JFS_RSA_PASSPHRASE'] = before;
  }
}

describe.skipIf(!fuseAvailable())('encryption at rest', () => {
  const e = useE2eEnv('encrypt');

  it.each(['sqlite-file', 'redis-file'] as VolumeKind[])(
    '%s: sealed objects in the bucket, plaintext through the mount, a clear error without the passphrase',
    async (kind) => {
      const keyPath = join(e().base, `key-${kind}.pem`);
      writeFileSync(keyPath, pem, { mode: 0o600 });
      const vol = await withPassphrase(PASS, () =>
        e().createVolume(kind, { formatArgs: ['--encrypt-rsa-key', keyPath, '--trash-days', '0'] }),
      );
      const data = randomBytes(9 * 1024 * 1024 + 777); // three blocks, the last partial
      const src = join(e().base, `src-${kind}`);
      writeFileSync(src, data);

      const m = await withPassphrase(PASS, () => e().mount(vol));
      ok(await py(WRITE, [join(m.mp, 'f'), src]), 'write through the mount');
      ok(await py(`import sys; open(sys.argv[1], 'w').write('tiny secret text')`, [join(m.mp, 'small')]));
      await e().unmount(m);

      // Every object in the bucket is sealed: no plaintext, and each opens with the key.
      const enc = new DataEncryptor(parsePrivateKey(pem, PASS));
      const objects = files(join(vol.dir, 'bucket', vol.name, 'chunks'));
      expect(objects.length).toBeGreaterThanOrEqual(4);
      let plainBytes = 0;
      for (const o of objects) {
        const sealed = readFileSync(o);
        expect(sealed.includes(data.subarray(0, 32))).toBe(false);
        expect(sealed.includes(Buffer.from('tiny secret text'))).toBe(false);
        const plain = enc.open(sealed);
        expect(statSync(o).size).toBe(plain.length + 3 + 256 + 12 + 16);
        plainBytes += plain.length;
      }
      expect(plainBytes).toBe(data.length + 'tiny secret text'.length);

      // A fresh mount (empty cache) reads it all back, and small reads at random offsets.
      const m2 = await withPassphrase(PASS, () => e().mount(vol));
      const sha = ok(
        await py(`import sys, hashlib; print(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest())`, [
          join(m2.mp, 'f'),
        ]),
      ).trim();
      const { createHash } = await import('node:crypto');
      expect(sha).toBe(createHash('sha256').update(data).digest('hex'));
      const offs = [0, 4095, 4 * 1024 * 1024 - 100, 8 * 1024 * 1024 + 5, data.length - 4096];
      const got = ok(await py(READ_AT, [join(m2.mp, 'f'), ...offs]))
        .trim()
        .split(' ');
      offs.forEach((off, i) => expect(got[i]).toBe(data.subarray(off, off + 4096).toString('hex')));
      await e().unmount(m2);

      // Maintenance commands go through the key too.
      await withPassphrase(PASS, async () => {
        ok(await tjfs(['fsck', vol.metaUrl]), 'fsck');
        ok(await tjfs(['gc', vol.metaUrl]), 'gc');
        // sync out of the volume (jfs://, meta URL from the environment) reads plaintext.
        const out = join(e().base, `synced-${kind}`);
        process.env['TJFS_ENC_META'] = vol.metaUrl;
        try {
          ok(await tjfs(['sync', 'jfs://TJFS_ENC_META/', out + '/'], 60_000), 'sync');
        } finally {
          delete process.env['TJFS_ENC_META'];
        }
        expect(readFileSync(join(out, 'f')).equals(data)).toBe(true);
        expect(readFileSync(join(out, 'small'), 'utf8')).toBe('tiny secret text');
      });

      // Without the passphrase, or with a wrong one, the mount fails at start and says why.
      for (const [pass, why] of [
        [undefined, /JFS_RSA_PASSPHRASE/],
        ['wrong', /wrong passphrase/],
      ] as const) {
        const r = await withPassphrase(pass, () =>
          tjfs([
            'mount',
            vol.metaUrl,
            join(e().base, `mnt-fail-${kind}`),
            '--cache-dir',
            join(e().base, 'c-fail'),
          ]),
        );
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(why);
      }
    },
    120_000,
  );

  it('format refuses a missing key file, a non-RSA key and an unknown algorithm', async () => {
    const dir = e().base;
    const meta = `sqlite3://${join(dir, 'refused.db')}`;
    const bucket = ['--bucket', join(dir, 'refused-bucket') + '/'];
    let r = await tjfs(['format', meta, 'refused', ...bucket, '--encrypt-rsa-key', join(dir, 'nope.pem')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/load RSA key from/);
    const ecPath = join(dir, 'ec.pem');
    writeFileSync(
      ecPath,
      generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({
        type: 'pkcs8',
        format: 'pem',
      }),
    );
    r = await tjfs(['format', meta, 'refused', ...bucket, '--encrypt-rsa-key', ecPath]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/RSA keys/);
    const rsaPath = join(dir, 'plain.pem');
    writeFileSync(rsaPath, key.export({ type: 'pkcs1', format: 'pem' }));
    r = await tjfs([
      'format',
      meta,
      'refused',
      ...bucket,
      '--encrypt-rsa-key',
      rsaPath,
      '--encrypt-algo',
      'sm4gcm',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unsupported encryption algorithm/);
  });
});
