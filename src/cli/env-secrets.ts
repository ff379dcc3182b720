/**
 * Secrets the CLI takes from the environment instead of the command line (where `ps` shows
 * them): the meta password (REDIS_PASSWORD, then META_PASSWORD, then the trimmed contents of
 * META_PASSWORD_FILE — JuiceFS's order, pkg/meta/redis.go and interface.go; SQL engines read
 * only the last two, as interface.go's setPasswordFromEnv), the object
 * store credentials of `format` (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, as JuiceFS's format)
 * and the gateway token (TJFS_GATEWAY_TOKEN). An empty variable counts as unset.
 */
import { readFileSync } from 'node:fs';
import { CliError, type CliIo } from './io.js';

/** The first of `names` set (non-empty) in `env`; else the trimmed contents of the file `fileVar` names. */
export function secretFromEnv(
  env: CliIo['env'],
  names: readonly string[],
  fileVar?: string,
): string | undefined {
  for (const name of names) {
    const v = env[name];
    if (v) return v;
  }
  const file = fileVar === undefined ? undefined : env[fileVar];
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read ${fileVar} ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return text.trim() || undefined;
}

/** The meta password from the environment (REDIS_PASSWORD > META_PASSWORD > META_PASSWORD_FILE). */
export function metaPasswordFromEnv(env: CliIo['env']): string | undefined {
  return secretFromEnv(env, ['REDIS_PASSWORD', 'META_PASSWORD'], 'META_PASSWORD_FILE');
}

/** The password of a SQL meta URL (postgres://) from the environment: META_PASSWORD > META_PASSWORD_FILE. */
export function sqlMetaPasswordFromEnv(env: CliIo['env']): string | undefined {
  return secretFromEnv(env, ['META_PASSWORD'], 'META_PASSWORD_FILE');
}
