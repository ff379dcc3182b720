/**
 * `tjfs format META NAME`: creates a volume (or updates the mutable settings of an existing
 * one) exactly like `juicefs format`: checks the object store, refuses a non-empty volume
 * prefix, writes `juicefs_uuid`, encrypts secrets, then initialises the metadata.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { readFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import { defaultFormat, type Format } from '../../meta/format.js';
import { initFormat, normalizeBlockSizeKiB } from '../../meta/volume.js';
import { withAclEnabled } from '../../meta/acl.js';
import { DataEncryptor } from '../../object/encrypt.js';
import { createObjectStore } from '../../object/registry.js';
import { listAll, type ObjectStore } from '../../object/object-store.js';
import { secretFromEnv } from '../env-secrets.js';
import { CliError, out, parseIntArg, parseSize, helpExamples, type CliIo } from '../io.js';
import { openCliEngine, removeSqliteFiles, sqliteFileToCreate } from '../meta-open.js';
import { makeDirs } from '../../util/make-dirs.js';
import { redactSecrets, redactedJson } from '../../util/redact.js';

export interface FormatFlags {
  storage: string;
  bucket?: string;
  accessKey?: string;
  secretKey?: string;
  sessionToken?: string;
  blockSize: string;
  compress: string;
  trashDays: string;
  capacity?: string;
  inodes?: string;
  hashPrefix?: boolean;
  encryptRsaKey?: string;
  encryptAlgo?: string;
  enableAcl?: boolean;
  force?: boolean;
  noUpdate?: boolean;
}

export function defaultBucket(storage: string, env: CliIo['env']): string {
  if (storage !== 'file') throw new CliError(`--bucket is required for storage '${storage}'`);
  if (process.getuid?.() === 0) return '/var/jfs/';
  return `${env['HOME'] ?? homedir()}/.tjfs/local/`;
}

/** File buckets are absolute and end with '/', as Go's format writes them (docs/FORMAT.md §7.4). */
export function normalizeBucket(storage: string, bucket: string, cwd: string): string {
  if (storage !== 'file') return bucket;
  const abs = isAbsolute(bucket) ? bucket : resolve(cwd, bucket);
  return abs.endsWith('/') ? abs : abs + '/';
}

/** A file bucket must be a directory we can create and write; refused at once otherwise. */
async function checkBucketDir(bucket: string): Promise<void> {
  const dir = bucket.replace(/^file:\/\//, '');
  try {
    await makeDirs(dir);
    await access(dir, fsConstants.W_OK | fsConstants.X_OK);
  } catch (e) {
    throw new CliError(`bucket ${bucket} cannot be used: ${(e as Error).message}`);
  }
}

async function checkStore(store: ObjectStore, name: string): Promise<void> {
  const key = `testing/${randomBytes(5).toString('hex')}`;
  const data = randomBytes(100);
  try {
    await store.put(key, data);
    const back = await store.get(key);
    if (!back.equals(data)) throw new Error('read back different bytes');
    await store.delete(key);
  } catch (e) {
    throw new CliError(`object storage ${store.describe()} is not usable: ${(e as Error).message}`);
  }
  for await (const o of listAll(store, { prefix: '' })) {
    if (o.key === 'testing' || o.key.startsWith('testing/') || o.size === 0 || o.key === 'juicefs_uuid')
      continue;
    throw new CliError(
      `storage ${store.describe()} already holds objects of volume '${name}' (${o.key}); use another bucket or name`,
    );
  }
}

export async function runFormat(metaUrl: string, name: string, f: FormatFlags, io: CliIo): Promise<number> {
  const storage = f.storage.toLowerCase();
  const cwd = io.cwd ?? process.cwd();
  const bucket = normalizeBucket(storage, f.bucket ?? defaultBucket(storage, io.env), cwd);
  const compress = f.compress.toLowerCase();
  if (!['none', 'lz4', 'zstd'].includes(compress))
    throw new CliError(`unknown compression '${f.compress}' (none, lz4, zstd)`);
  let format: Format = {
    ...defaultFormat(name, randomUUID(), bucket),
    Storage: storage,
    BlockSize: normalizeBlockSizeKiB(parseSize(f.blockSize, 'K', '--block-size') / 1024),
    Compression: compress,
    TrashDays: parseIntArg(f.trashDays, '--trash-days'),
  };
  const access = f.accessKey ?? secretFromEnv(io.env, ['ACCESS_KEY']);
  const secret = f.secretKey ?? secretFromEnv(io.env, ['SECRET_KEY']);
  const token = f.sessionToken ?? secretFromEnv(io.env, ['SESSION_TOKEN']);
  if (access) format.AccessKey = access;
  if (secret) format.SecretKey = secret;
  if (token) format.SessionToken = token;
  if (f.capacity) format.Capacity = parseSize(f.capacity, 'G', '--capacity');
  if (f.inodes) format.Inodes = parseIntArg(f.inodes, '--inodes');
  if (f.hashPrefix) format.HashPrefix = true;
  if (f.enableAcl) format = withAclEnabled(format);
  const encrypt =
    f.encryptRsaKey !== undefined ? loadEncryption(f.encryptRsaKey, f.encryptAlgo, io, cwd) : undefined;
  if (encrypt !== undefined) {
    format.EncryptKey = encrypt.pem;
    format.EncryptAlgo = encrypt.enc.algo;
  }

  const created = await sqliteFileToCreate(metaUrl);
  const engine = await openCliEngine(metaUrl, io, { mustExist: false });
  let ok = false;
  try {
    const exists = (await engine.getFormatText()) !== undefined;
    if (exists && f.noUpdate) {
      out(io, `volume already formatted in ${redactSecrets(metaUrl)}; left unchanged (--no-update)`);
      return 0;
    }
    const store = await createObjectStore({
      storage,
      bucket,
      prefix: `${name}/`,
      ...(access ? { accessKey: access } : {}),
      ...(secret ? { secretKey: secret } : {}),
      ...(token ? { sessionToken: token } : {}),
      ...(encrypt !== undefined ? { encrypt: encrypt.enc } : {}),
    });
    if (exists && f.enableAcl)
      out(
        io,
        `--enable-acl is ignored on an existing volume (as in JuiceFS); use 'tjfs config --enable-acl'`,
      );
    if (!exists) {
      if (storage === 'file') await checkBucketDir(bucket);
      await checkStore(store, name);
      await store.put('juicefs_uuid', Buffer.from(format.UUID));
    }
    const res = await initFormat(engine, format, {
      force: f.force === true,
      nowSec: Math.floor(Date.now() / 1000),
    });
    out(
      io,
      `Volume ${res.created ? 'formatted' : 'updated'} in ${redactSecrets(metaUrl)}:\n${redactedJson(res.format)}`,
    );
    ok = true;
    return 0;
  } finally {
    await engine.close();
    // A failed format leaves no database file behind that it created itself.
    if (!ok && created) await removeSqliteFiles(created);
  }
}

/**
 * `--encrypt-rsa-key FILE [--encrypt-algo A]`: the PEM (stored in the settings, encrypted with
 * the volume UUID like the other secrets) and an encryptor proving it works, unlocked with
 * JFS_RSA_PASSPHRASE. Any problem is a one-line error before anything is created.
 */
function loadEncryption(
  path: string,
  algo: string | undefined,
  io: CliIo,
  cwd: string,
): { pem: string; enc: DataEncryptor } {
  let pem: string;
  try {
    pem = readFileSync(resolve(cwd, path), 'utf8');
  } catch (e) {
    throw new CliError(`load RSA key from "${path}": ${(e as Error).message}`);
  }
  try {
    return { pem, enc: DataEncryptor.fromSettings(pem, algo, io.env['JFS_RSA_PASSPHRASE'] ?? '') };
  } catch (e) {
    throw new CliError(e instanceof Error ? e.message : String(e));
  }
}

export function registerFormat(program: Command, io: CliIo, setExit: (p: Promise<number>) => void): void {
  program
    .command('format')
    .description('create a volume (or update an existing one) in the metadata engine META')
    .argument('<META>', 'metadata URL: sqlite3://path.db, redis://host:6379/1, mem://name')
    .argument('<NAME>', 'volume name: 3-63 characters of a-z, 0-9 and -')
    .option('--storage <type>', 'object storage type: file, s3, mem', 'file')
    .option('--bucket <url>', 'bucket: a directory for file, http(s)://host:port/bucket for s3')
    .option('--access-key <key>', 'object storage access key (env ACCESS_KEY)')
    .option('--secret-key <key>', 'object storage secret key (env SECRET_KEY)')
    .option('--session-token <token>', 'object storage session token (env SESSION_TOKEN)')
    .option('--block-size <size>', 'block size, KiB unless suffixed: 64K..16M', '4M')
    .option('--compress <algo>', 'block compression: none, lz4, zstd', 'none')
    .option('--trash-days <n>', 'days deleted files stay in .trash (0 disables)', '1')
    .option('--capacity <size>', 'volume capacity limit, GiB unless suffixed: 500, 2T (0 = unlimited)')
    .option('--inodes <n>', 'volume inode limit (0 = unlimited)')
    .option('--hash-prefix', 'spread object keys with a hash prefix')
    .option(
      '--encrypt-rsa-key <file>',
      'encrypt objects at rest with this RSA private key (PEM; env JFS_RSA_PASSPHRASE unlocks it)',
    )
    .option('--encrypt-algo <algo>', 'object encryption: aes256gcm-rsa, chacha20-rsa', 'aes256gcm-rsa')
    .option('--enable-acl', 'enable POSIX ACLs (irreversible once enabled)')
    .option('--force', 'overwrite settings that cannot normally change')
    .option('--no-update', 'leave an existing volume unchanged')
    .addHelpText(
      'after',
      helpExamples(
        'tjfs format sqlite3://myjfs.db myjfs',
        'tjfs format redis://10.0.0.5:6379/1 lake --storage s3 --bucket http://10.0.0.6:9000/lake-bucket --compress lz4 --capacity 2T',
      ),
    )
    .action((meta: string, name: string, flags: FormatFlags & { update?: boolean }) => {
      setExit(runFormat(meta, name, { ...flags, noUpdate: flags.update === false }, io));
    });
}
