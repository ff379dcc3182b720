/**
 * Redaction of secrets for display and logs, in one place. The password of every URL in a
 * text becomes '****' (JuiceFS's RemovePassword); in JSON shown to users (status, config,
 * format, `.config`), secret fields (secret key, session token, encryption key, passwords,
 * tokens) read "removed", the word JuiceFS writes for them (dump, status).
 */

/** `scheme://user:pass@` (user may be empty): the password runs to the last '@' of the authority. */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/)([^:@/\s]*):([^/\s]*)@/gi;

/** Replaces the password of every URL in `text` by '****'. */
export function redactSecrets(text: string): string {
  return text.replace(URL_PASSWORD, (_m, s: string, u: string) => `${s}${u}:****@`);
}

const SECRET_KEYS = /secret|password|token|encryptkey/i;

/** JSON (2-space indented, bigints as strings) with secret fields "removed" and URL passwords '****'. */
export function redactedJson(value: unknown): string {
  return JSON.stringify(
    value,
    (k, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (typeof v === 'string' && SECRET_KEYS.test(k) && v !== '') return 'removed';
      if (typeof v === 'string') return redactSecrets(v);
      return v;
    },
    2,
  );
}
