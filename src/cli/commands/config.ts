/**
 * `tjfs config META [flags]`: shows the volume setting, or changes its mutable fields
 * (trash days, capacity, inodes, credentials, bucket, --enable-acl) like `juicefs config`. Running
 * clients pick changes up at their next heartbeat. Immutable fields are refused.
 */
import type { Command } from 'commander';
import { formatToJson, parseFormat, type Format } from '../../meta/format.js';
import { encryptFormatSecrets, decryptFormatSecrets } from '../../meta/secret.js';
import { dirAttr } from '../../meta/volume.js';
import { CliError, out, parseIntArg, parseSize, helpExamples, type CliIo } from '../io.js';
import { openCliEngine } from '../meta-open.js';
import { withAclEnabled } from '../../meta/acl.js';
import { redactSecrets, redactedJson } from '../../util/redact.js';

export interface ConfigFlags {
  trashDays?: string;
  capacity?: string;
  inodes?: string;
  bucket?: string;
  accessKey?: string;
  secretKey?: string;
  sessionToken?: string;
  uploadLimit?: string;
  downloadLimit?: string;
  /** `--enable-acl[=bool]`: true (or no value) turns ACLs on; false is refused once on (Go). */
  enableAcl?: boolean | string;
}

export async function runConfig(metaUrl: string, f: ConfigFlags, io: CliIo): Promise<number> {
  const engine = await openCliEngine(metaUrl, io, { mustExist: true });
  try {
    const text = await engine.getFormatText();
    if (text === undefined)
      throw new CliError(`database ${redactSecrets(metaUrl)} is not formatted: run 'tjfs format' first`);
    const old = parseFormat(text);
    const changed = Object.values(f).some((v) => v !== undefined);
    if (!changed) {
      out(io, redactedJson(old));
      return 0;
    }
    // Work on clear-text secrets, then encrypt them all again with the volume UUID.
    const clear = decryptFormatSecrets(old);
    let next: Format = { ...old, KeyEncrypted: false };
    delete next.SecretKey;
    delete next.SessionToken;
    delete next.EncryptKey;
    if (clear.secretKey) next.SecretKey = clear.secretKey;
    if (clear.sessionToken) next.SessionToken = clear.sessionToken;
    if (clear.encryptKey) next.EncryptKey = clear.encryptKey;
    if (f.trashDays !== undefined) next.TrashDays = parseIntArg(f.trashDays, '--trash-days');
    if (f.capacity !== undefined) next.Capacity = parseSize(f.capacity, 'G', '--capacity');
    if (f.inodes !== undefined) next.Inodes = parseIntArg(f.inodes, '--inodes');
    if (f.bucket !== undefined) next.Bucket = f.bucket;
    if (f.accessKey !== undefined) next.AccessKey = f.accessKey;
    if (f.secretKey !== undefined) next.SecretKey = f.secretKey;
    if (f.sessionToken !== undefined) next.SessionToken = f.sessionToken;
    if (f.uploadLimit !== undefined) next.UploadLimit = parseIntArg(f.uploadLimit, '--upload-limit');
    if (f.downloadLimit !== undefined) next.DownloadLimit = parseIntArg(f.downloadLimit, '--download-limit');
    if (
      f.enableAcl !== undefined &&
      parseBoolFlag(f.enableAcl, '--enable-acl') !== (old.EnableACL === true)
    ) {
      if (old.EnableACL === true) throw new CliError('cannot disable acl');
      next = withAclEnabled(next);
    }
    const stored = encryptFormatSecrets(next);
    if (!stored.KeyEncrypted) delete stored.KeyEncrypted;
    const now = Math.floor(Date.now() / 1000);
    await engine.initVolume(formatToJson(stored), {
      isNew: false,
      rootAttr: dirAttr(0o777, now),
      ...(stored.TrashDays > 0 ? { trashAttr: dirAttr(0o555, now) } : {}),
    });
    out(io, redactedJson(stored));
    return 0;
  } finally {
    await engine.close();
  }
}

function parseBoolFlag(v: boolean | string, flag: string): boolean {
  if (typeof v === 'boolean') return v;
  const t = v.toLowerCase();
  if (['true', '1', 't', 'yes'].includes(t)) return true;
  if (['false', '0', 'f', 'no'].includes(t)) return false;
  throw new CliError(`${flag}: invalid boolean '${v}'`);
}

export function registerConfig(program: Command, io: CliIo, setExit: (p: Promise<number>) => void): void {
  program
    .command('config')
    .description('show or change the mutable settings of a volume')
    .argument('<META>')
    .option('--trash-days <n>', 'days deleted files stay in .trash (0 disables)')
    .option('--capacity <size>', 'volume capacity limit, GiB unless suffixed: 500, 2T (0 = unlimited)')
    .option('--inodes <n>', 'volume inode limit (0 = unlimited)')
    .option('--bucket <url>', 'object storage bucket')
    .option('--access-key <key>', 'object storage access key')
    .option('--secret-key <key>', 'object storage secret key')
    .option('--session-token <token>', 'object storage session token')
    .option('--upload-limit <Mbps>', 'volume-wide upload limit (advisory)')
    .option('--download-limit <Mbps>', 'volume-wide download limit (advisory)')
    .option('--enable-acl [bool]', 'enable POSIX ACLs (irreversible: --enable-acl=false is refused once on)')
    .addHelpText(
      'after',
      helpExamples(
        'tjfs config sqlite3://myjfs.db',
        'tjfs config redis://10.0.0.5:6379/1 --capacity 2T --trash-days 7',
      ),
    )
    .action((meta: string, flags: ConfigFlags) => setExit(runConfig(meta, flags, io)));
}
