/**
 * Parses JuiceFS-style S3 bucket URLs into client settings.
 *
 * Supported forms:
 * - `http(s)://host[:port]/bucket` → path-style on a custom endpoint (MinIO, s3rver, Ceph);
 * - `https://bucket.s3.region.amazonaws.com` / `https://bucket.s3.amazonaws.com` →
 *   virtual-host style on AWS (region from the host, us-east-1 when absent);
 * - `https://s3.region.amazonaws.com/bucket` → path-style on AWS;
 * - `s3://bucket` → AWS, region us-east-1 unless given.
 * A trailing path after the bucket becomes a key prefix (`…/bucket/dir/`).
 */

export interface S3Location {
  /** undefined = the SDK's default AWS endpoint for the region. */
  endpoint: string | undefined;
  bucket: string;
  region: string;
  forcePathStyle: boolean;
  /** Key prefix inside the bucket ('' or ending with '/'). */
  keyPrefix: string;
}

const AWS_HOST = /^([^.]+)\.s3(?:[.-]([a-z0-9-]+))?\.amazonaws\.com(?:\.cn)?$/;
const AWS_PATH_HOST = /^s3(?:[.-]([a-z0-9-]+))?\.amazonaws\.com(?:\.cn)?$/;

function splitPath(pathname: string): { bucket: string; keyPrefix: string } {
  const parts = pathname.split('/').filter((p) => p !== '');
  const bucket = parts.shift() ?? '';
  const keyPrefix = parts.length > 0 ? parts.join('/') + '/' : '';
  return { bucket, keyPrefix };
}

export function parseBucketUrl(raw: string, region?: string): S3Location {
  const text = raw.includes('://') ? raw : `https://${raw}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch (e) {
    throw new Error(`invalid S3 bucket URL: ${raw}`, { cause: e });
  }
  if (url.protocol === 's3:') {
    const { keyPrefix } = splitPath(url.pathname);
    return {
      endpoint: undefined,
      bucket: url.hostname,
      region: region ?? 'us-east-1',
      forcePathStyle: false,
      keyPrefix,
    };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`unsupported S3 URL scheme: ${raw}`);
  const host = url.hostname.toLowerCase();
  const vh = AWS_HOST.exec(host);
  if (vh !== null && vh[1] !== undefined && vh[1] !== 's3') {
    const r = vh[2] !== undefined && vh[2] !== 'external-1' ? vh[2] : 'us-east-1';
    const { bucket, keyPrefix } = splitPath(`/${vh[1]}${url.pathname}`);
    return { endpoint: undefined, bucket, region: region ?? r, forcePathStyle: false, keyPrefix };
  }
  const { bucket, keyPrefix } = splitPath(url.pathname);
  if (bucket === '') throw new Error(`S3 bucket URL has no bucket name: ${raw}`);
  const ph = AWS_PATH_HOST.exec(host);
  if (ph !== null) {
    return {
      endpoint: undefined,
      bucket,
      region: region ?? ph[1] ?? 'us-east-1',
      forcePathStyle: true,
      keyPrefix,
    };
  }
  return {
    endpoint: `${url.protocol}//${url.host}`,
    bucket,
    region: region ?? 'us-east-1',
    forcePathStyle: true,
    keyPrefix,
  };
}
