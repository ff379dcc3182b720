/**
 * `tjfs load --encrypt-rsa-key`: a dump sealed with an encrypted volume's key (JuiceFS writes
 * its metadata backups of encrypted volumes that way) loads and dumps back the same; without
 * the key it is not JSON, and with a wrong key or passphrase the error says so.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { DataEncryptor, parsePrivateKey } from '../../src/object/encrypt.js';
import { captureIo } from '../helpers/cli-io.js';

const dir = mkdtempSync(join(tmpdir(), 'tjfs-load-enc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PASS = 'backup pass';
const pem = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASS })
  .toString();
const keyPath = join(dir, 'key.pem');
writeFileSync(keyPath, pem);

describe('load --encrypt-rsa-key', () => {
  it('loads a sealed gzipped dump and dumps it back identically', async () => {
    const src = `sqlite3://${join(dir, 'src.db')}`;
    expect(await main(['format', src, 'sealed', '--bucket', join(dir, 'b') + '/'], captureIo().io)).toBe(0);
    const plainDump = join(dir, 'plain.json');
    expect(await main(['dump', src, plainDump], captureIo().io)).toBe(0);
    const json = readFileSync(plainDump);
    const enc = new DataEncryptor(parsePrivateKey(pem, PASS));
    const sealedPath = join(dir, 'dump-2026-12-05-000000.json.gz');
    writeFileSync(sealedPath, enc.seal(gzipSync(json)));

    const env = { JFS_RSA_PASSPHRASE: PASS };
    const dst = `sqlite3://${join(dir, 'dst.db')}`;
    const l = captureIo(env);
    expect(await main(['load', dst, sealedPath, '--encrypt-rsa-key', keyPath], l.io)).toBe(0);
    const back = join(dir, 'back.json');
    expect(await main(['dump', dst, back], captureIo().io)).toBe(0);
    expect(readFileSync(back).equals(json)).toBe(true);

    // Without the key the file is not a dump; a missing or wrong passphrase is named.
    const raw = captureIo(env);
    expect(await main(['load', `sqlite3://${join(dir, 'x1.db')}`, sealedPath], raw.io)).not.toBe(0);
    const nopass = captureIo();
    expect(
      await main(
        ['load', `sqlite3://${join(dir, 'x2.db')}`, sealedPath, '--encrypt-rsa-key', keyPath],
        nopass.io,
      ),
    ).not.toBe(0);
    expect(nopass.err()).toMatch(/JFS_RSA_PASSPHRASE/);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs1', format: 'pem' })
      .toString();
    writeFileSync(join(dir, 'other.pem'), other);
    const wrong = captureIo();
    expect(
      await main(
        ['load', `sqlite3://${join(dir, 'x3.db')}`, sealedPath, '--encrypt-rsa-key', join(dir, 'other.pem')],
        wrong.io,
      ),
    ).not.toBe(0);
    expect(wrong.err()).toMatch(/cannot open encrypted dump .*decrypt key/);
  });
});
