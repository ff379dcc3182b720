/**
 * Environment of a mount daemon process. Block uploads, cache writes and file-store reads all
 * run on libuv's thread pool, whose default of 4 threads makes them queue behind each other
 * (`--max-uploads` is 20). The size can only be set before the process starts, so every
 * launcher of a daemon (`mount -d`, the CSI plugin, the benchmarks) passes it; a value the
 * user set wins. A foreground `tjfs mount` uses whatever the shell gives it.
 */
export const DAEMON_THREADPOOL_SIZE = '16';

export function daemonEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  out['UV_THREADPOOL_SIZE'] ??= DAEMON_THREADPOOL_SIZE;
  return out;
}
