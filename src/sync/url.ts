/**
 * SRC/DST of `tjfs sync` as JuiceFS reads them (cmd/sync.go createSyncStorage):
 * - a path without `://` (or `file:///path`) is a local directory or prefix;
 * - `jfs://META-NAME/path`: a tjfs/JuiceFS volume whose meta URL is in the environment
 *   variable META-NAME;
 * - `s3://[AK:SK[:TOKEN]@]BUCKET.ENDPOINT/prefix` (virtual-hosted) or
 *   `s3://[AK:SK@]HOST[:PORT]/BUCKET/prefix` when HOST is localhost, an IP address or
 *   `s3[.-]REGION.amazonaws.com` (path-style); `minio://[AK:SK@]HOST:PORT/BUCKET/prefix`.
 *   HTTPS unless --no-https (minio: HTTP); credentials from the URL, else AWS_ACCESS_KEY_ID /
 *   AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
 * Design: pure parsing into a descriptor; the CLI opens it. Errors are one-line messages
 * without secrets.
 */
import { posix } from 'node:path';

export type SyncLocation =
  | { kind: 'local'; path: string }
  | { kind: 'jfs'; name: string; metaUrl: string; path: string }
  | {
      kind: 's3';
      /** What S3ObjectStore takes: `http(s)://host/bucket` or an AWS virtual-hosted URL. */
      bucketUrl: string;
      /** Key prefix inside the bucket (a string prefix, may not end with '/'). */
      prefix: string;
      accessKey?: string;
      secretKey?: string;
      sessionToken?: string;
      /** Shown in messages. */
      label: string;
    };

export class SyncUrlError extends Error {
  override name = 'SyncUrlError';
}

const S3_PATH_HOST =
  /^((localhost)|(s3[.-].*\.amazonaws\.com)|((1\d{2}|2[0-4]\d|25[0-5]|[1-9]\d|[1-9])\.((1\d{2}|2[0-4]\d|25[0-5]|[1-9]\d|\d)\.){2}(1\d{2}|2[0-4]\d|25[0-5]|[1-9]\d|\d)))?(:\d*)?$/;
const IPV4 = /^(\d{1,3})(\.\d{1,3}){3}$/;

function supportsHttps(scheme: string, host: string): boolean {
  if (scheme === 'minio') return false;
  const parts = (host.split(':')[0] ?? '').split('.');
  return !(parts.length > 1 && IPV4.test(parts.slice(1).join('.')));
}

function decode(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new SyncUrlError(`invalid ${what} in URL (bad percent-encoding)`);
  }
}

export interface ParseOptions {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  noHttps?: boolean;
}

export function parseSyncUrl(raw: string, o: ParseOptions): SyncLocation {
  if (raw === '') throw new SyncUrlError('empty storage URL');
  if (!raw.includes('://')) {
    if (raw.includes(':'))
      throw new SyncUrlError(`sftp storage is not supported: ${raw.replace(/:[^@/]*@/, ':***@')}`);
    const abs = posix.resolve(o.cwd, raw);
    return { kind: 'local', path: raw.endsWith('/') && abs !== '/' ? abs + '/' : abs };
  }
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(?:([^@/]*)@)?([^/]*)(\/.*)?$/.exec(raw);
  if (m === null) throw new SyncUrlError(`invalid storage URL: ${raw}`);
  const scheme = (m[1] as string).toLowerCase();
  const user = m[2];
  const host = m[3] as string;
  const path = m[4] ?? '';
  switch (scheme) {
    case 'file': {
      if (path === '') throw new SyncUrlError(`file URL needs an absolute path: ${raw} (file:///dir/)`);
      return { kind: 'local', path: decode(path, 'path') };
    }
    case 'jfs': {
      const name = decode(host, 'volume name');
      if (name === '')
        throw new SyncUrlError(
          `jfs URL needs a name: jfs://META-NAME/path, META-NAME an environment variable`,
        );
      const metaUrl = o.env[name];
      if (metaUrl === undefined || metaUrl === '')
        throw new SyncUrlError(
          `environment variable ${name} is not set (jfs://${name}/ takes the meta URL from it)`,
        );
      return { kind: 'jfs', name, metaUrl, path: path === '' ? '/' : decode(path, 'path') };
    }
    case 's3':
    case 'minio':
      return parseS3(scheme, user, host, path, o);
    default:
      throw new SyncUrlError(
        `unsupported storage scheme '${scheme}' in ${scheme}://…: want a path, file://, jfs://, s3:// or minio://`,
      );
  }
}

function parseS3(
  scheme: string,
  user: string | undefined,
  host: string,
  path: string,
  o: ParseOptions,
): SyncLocation {
  if (host === '') throw new SyncUrlError(`${scheme} URL has no host or bucket`);
  let accessKey: string | undefined;
  let secretKey: string | undefined;
  let sessionToken: string | undefined;
  if (user !== undefined) {
    const [ak, sk, ...tok] = user.split(':');
    accessKey = decode(ak ?? '', 'access key');
    secretKey = decode(sk ?? '', 'secret key');
    if (tok.length > 0) sessionToken = decode(tok.join(':'), 'token');
  } else if (o.env.AWS_ACCESS_KEY_ID !== undefined && o.env.AWS_SECRET_ACCESS_KEY !== undefined) {
    accessKey = o.env.AWS_ACCESS_KEY_ID;
    secretKey = o.env.AWS_SECRET_ACCESS_KEY;
    if (o.env.AWS_SESSION_TOKEN !== undefined) sessionToken = o.env.AWS_SESSION_TOKEN;
  }
  const proto = !o.noHttps && supportsHttps(scheme, host) ? 'https' : 'http';
  const creds = {
    ...(accessKey !== undefined ? { accessKey } : {}),
    ...(secretKey !== undefined ? { secretKey } : {}),
    ...(sessionToken !== undefined ? { sessionToken } : {}),
  };
  if (scheme === 'minio' || S3_PATH_HOST.test(host)) {
    const rest = path.slice(1);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    if (bucket === '')
      throw new SyncUrlError(`${scheme}://${host}/ has no bucket: want ${scheme}://${host}/BUCKET/prefix`);
    const prefix = slash < 0 ? '' : decode(rest.slice(slash + 1), 'prefix');
    return {
      kind: 's3',
      bucketUrl: `${proto}://${host}/${bucket}`,
      prefix,
      label: `${scheme}://${host}/${bucket}/${prefix}`,
      ...creds,
    };
  }
  const prefix = decode(path.slice(1), 'prefix');
  if (/\.amazonaws\.com(\.cn)?(:\d+)?$/.test(host) || !host.includes('.'))
    return {
      kind: 's3',
      bucketUrl: host.includes('.') ? `${proto}://${host}` : `s3://${host}`,
      prefix,
      label: `s3://${host}/${prefix}`,
      ...creds,
    };
  // BUCKET.ENDPOINT on another S3 service: path-style on the endpoint.
  const dot = host.indexOf('.');
  const bucket = host.slice(0, dot);
  return {
    kind: 's3',
    bucketUrl: `${proto}://${host.slice(dot + 1)}/${bucket}`,
    prefix,
    label: `s3://${host}/${prefix}`,
    ...creds,
  };
}
