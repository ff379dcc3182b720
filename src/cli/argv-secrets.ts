/**
 * Keeps secrets given on the command line out of `ps` (/proc/PID/cmdline), as JuiceFS does
 * with its process title: the running process's title shows URL passwords as '****' and
 * the values of secret flags as 'removed'; a re-executed daemon (`mount -d`) gets the meta
 * URL's password through the environment (REDIS_PASSWORD / META_PASSWORD, which the CLI
 * reads) and a URL without it in its argv.
 *
 * Invariant: what the child receives is equivalent (same engine, same password); only
 * where the password travels changes. Only the first URL argument carrying a password (the
 * meta URL comes first) is moved; other flags are left to the title masking.
 */
import { redactSecrets } from '../util/redact.js';

/** Flags whose value is a secret (space- or '='-separated). */
const SECRET_FLAGS = new Set(['--secret-key', '--session-token', '--token', '--access-key']);

const URL_WITH_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/)([^:@/\s]*):([^/\s]*)@(.*)$/i;

const REDIS_SCHEMES = new Set(['redis', 'rediss', 'unix']);

/** The command line as `ps` should show it, or undefined when it holds no secret. */
export function maskedCommandLine(argv: readonly string[]): string | undefined {
  let changed = false;
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0 && SECRET_FLAGS.has(a.slice(0, eq))) {
      out.push(`${a.slice(0, eq)}=removed`);
      changed = true;
      continue;
    }
    if (SECRET_FLAGS.has(a) && i + 1 < argv.length) {
      out.push(a, 'removed');
      i++;
      changed = true;
      continue;
    }
    const r = redactSecrets(a);
    if (r !== a) changed = true;
    out.push(r);
  }
  return changed ? out.join(' ') : undefined;
}

/**
 * Moves the meta URL's password from `args` into `env` for a child process. Returns the
 * args and env to spawn with (unchanged when no argument carries a password).
 */
export function movePasswordToEnv(
  args: readonly string[],
  env: Record<string, string | undefined>,
): { args: string[]; env: Record<string, string | undefined> } {
  const i = args.findIndex((a) => !a.startsWith('-') && URL_WITH_PASSWORD.test(a));
  if (i < 0) return { args: [...args], env };
  const m = URL_WITH_PASSWORD.exec(args[i]!)!;
  const [, scheme, user, pass, rest] = m as unknown as [string, string, string, string, string];
  let password = pass;
  try {
    password = decodeURIComponent(pass);
  } catch {
    // not percent-encoded: the engine's URL parser would take it as written too
  }
  const out = [...args];
  out[i] = `${scheme}${user === '' ? '' : `${user}@`}${rest}`;
  const next: Record<string, string | undefined> = { ...env, META_PASSWORD: password };
  delete next['META_PASSWORD_FILE'];
  const name = scheme.slice(0, -3).toLowerCase();
  if (REDIS_SCHEMES.has(name)) next['REDIS_PASSWORD'] = password;
  else delete next['REDIS_PASSWORD'];
  return { args: out, env: next };
}
