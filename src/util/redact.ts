/**
 * Redaction of secrets for display and logs: a password in a URL becomes '****' (JuiceFS's
 * RemovePassword), so a meta URL can be printed or logged whole.
 */

/** Replaces a password in a URL by '****' for display and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z0-9+.-]+:\/\/)([^:@/]*):([^@/]*)@/i, (_m, s: string, u: string) => `${s}${u}:****@`);
}
