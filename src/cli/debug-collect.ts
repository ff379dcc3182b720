/**
 * What `tjfs debug` collects, one function per file of the archive: system facts, the
 * mount's daemon command lines, `.config` with secrets removed, `.stats` samples, an
 * access-log sample, the last lines of the mount's log, the daemon's /proc status and the
 * profiles its metrics listener serves (`fetchProfile`, src/cli/profiler.ts).
 * Each collector returns text (or undefined when there is nothing to collect) and never
 * throws: a missing piece is reported as a warning, as JuiceFS does, and the rest goes on.
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat, statfs } from 'node:fs/promises';
import { cpus, freemem, homedir, loadavg, totalmem, uptime } from 'node:os';
import { join } from 'node:path';
import { redactedJson, redactSecrets } from '../util/redact.js';
import { followAccessLog } from './live-log.js';

const run = (cmd: string, args: string[]): Promise<string> =>
  new Promise((resolve) => {
    execFile(cmd, args, { timeout: 5000 }, (e, stdout) => resolve(e ? '' : stdout.trim()));
  });

/** Bytes in the largest binary unit that keeps the number below 1024 (`8.0 MiB`). */
function human(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0;
  for (; n >= 1024 && i < units.length - 1; i++) n /= 1024;
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i] ?? ''}`;
}

/** The /proc/mounts line of `mp` (device, type and options), if mounted. */
export async function mountLine(mp: string): Promise<string | undefined> {
  const text = await readFile('/proc/mounts', 'utf8').catch(() => '');
  const esc = mp.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return text.split('\n').find((l) => l.split(' ')[1] === esc);
}

/** Platform, kernel, OS, Node, CPUs, memory, the mount's options and its df. */
export async function systemInfo(mp: string, version: string): Promise<string> {
  const osRelease = await readFile('/etc/os-release', 'utf8').catch(() => '');
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1] ?? 'unknown';
  const c = cpus();
  const lines = [
    'Platform: ',
    `${process.platform} ${process.arch}`,
    `Kernel: ${(await run('uname', ['-a'])) || 'unknown'}`,
    `OS: ${pretty}`,
    `Node: ${process.version}`,
    `tjfs: ${version}`,
    `CPU: ${c.length} x ${c[0]?.model ?? 'unknown'}, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
    `Memory: total ${human(totalmem())}, free ${human(freemem())}`,
    `Uptime: ${Math.floor(uptime())} s`,
    `Mount: ${(await mountLine(mp)) ?? '(not in /proc/mounts)'}`,
  ];
  try {
    const s = await statfs(mp);
    const total = s.blocks * s.bsize;
    const avail = s.bavail * s.bsize;
    lines.push(
      `Df: size ${human(total)}, used ${human(total - s.bfree * s.bsize)}, avail ${human(avail)}, ` +
        `inodes ${s.files} total, ${s.ffree} free`,
    );
  } catch (e) {
    lines.push(`Df: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return lines.join('\n') + '\n';
}

export interface DaemonProcess {
  pid: number;
  cmdline: string;
}

/** Processes whose command line is a `mount` of `mp` (supervisor and worker), secrets masked. */
export async function mountProcesses(mp: string): Promise<DaemonProcess[]> {
  const out: DaemonProcess[] = [];
  for (const e of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    const raw = await readFile(`/proc/${e}/cmdline`, 'utf8').catch(() => '');
    const args = raw.split('\0').filter(Boolean);
    const words = args.flatMap((a) => a.split(' '));
    if (words.includes('mount') && words.includes(mp) && !words.includes('debug'))
      out.push({ pid: Number(e), cmdline: redactSecrets(args.join(' ')) });
  }
  return out;
}

/** `/proc/PID/status` and `/proc/PID/limits` of each daemon process. */
export async function processStatus(procs: readonly DaemonProcess[]): Promise<string | undefined> {
  const parts: string[] = [];
  for (const p of procs) {
    const status = await readFile(`/proc/${p.pid}/status`, 'utf8').catch(() => '');
    const limits = await readFile(`/proc/${p.pid}/limits`, 'utf8').catch(() => '');
    parts.push(`== pid ${p.pid}: ${p.cmdline}\n${status}\n${limits}`);
  }
  return parts.length > 0 ? parts.join('\n') : undefined;
}

/** `.config` as JSON with secret fields "removed" and URL passwords masked (again). */
export async function configText(path: string): Promise<string> {
  const raw = await readFile(path, 'utf8');
  try {
    return redactedJson(JSON.parse(raw)) + '\n';
  } catch {
    return redactSecrets(raw);
  }
}

/**
 * Where the mount logs: `--log` from `.config`, else the default file of a background
 * mount; undefined for a foreground mount without --log (its log went to its terminal).
 */
export function logPathOf(mount: Record<string, unknown>, daemonUid: number | undefined): string | undefined {
  if (typeof mount['log'] === 'string' && mount['log'] !== '') return mount['log'];
  if (mount['background'] !== true) return undefined;
  return daemonUid === 0 || (daemonUid === undefined && process.getuid?.() === 0)
    ? '/var/log/tjfs.log'
    : join(homedir(), '.tjfs', 'tjfs.log');
}

/** The last `limit` lines of a log file, URL passwords masked; reads at most 64 MiB. */
export async function tailLines(path: string, limit: number): Promise<string> {
  const st = await stat(path);
  const max = 64 * 1024 ** 2;
  const start = Math.max(0, st.size - max);
  const lines: string[] = [];
  const stream = createReadStream(path, { start, encoding: 'utf8' });
  let rest = '';
  for await (const chunk of stream as AsyncIterable<string>) {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const l of parts) {
      lines.push(l);
      if (lines.length > limit) lines.shift();
    }
  }
  if (rest !== '') {
    lines.push(rest);
    if (lines.length > limit) lines.shift();
  }
  return lines.map(redactSecrets).join('\n') + (lines.length > 0 ? '\n' : '');
}

/** What `.accesslog` shows during `seconds` (at most `maxBytes`). */
export async function accessLogSample(
  mp: string,
  logPath: string,
  seconds: number,
  maxBytes: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  let full: () => void = () => undefined;
  const filled = new Promise<void>((r) => (full = r));
  const log = await followAccessLog(mp, logPath, (chunk) => {
    chunks.push(chunk);
    size += chunk.length;
    if (size < maxBytes) return true;
    full();
    return false;
  });
  await Promise.race([filled, new Promise((r) => setTimeout(r, seconds * 1000))]);
  await log.stop();
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
}

/**
 * Where to connect for a listener's `host:port` (`.config` → Mount.MetricsAddress): a
 * wildcard host (`0.0.0.0`, `[::]`, from `--metrics :PORT`) is reached on loopback.
 * Undefined for no address (the mount serves no metrics).
 */
export function dialAddress(addr: unknown): string | undefined {
  if (typeof addr !== 'string' || addr.trim() === '') return undefined;
  const a = addr.trim();
  if (a.startsWith('0.0.0.0:')) return `127.0.0.1:${a.slice('0.0.0.0:'.length)}`;
  if (a.startsWith('[::]:')) return `[::1]:${a.slice('[::]:'.length)}`;
  return a;
}

/**
 * GET `http://ADDR/debug/pprof/NAME?QUERY` of a mount's metrics listener: the JSON body, or
 * an Error whose message says in one line why not (refused, timed out, HTTP status and text).
 */
export async function fetchProfile(addr: string, name: string, timeoutMs: number): Promise<Buffer> {
  const url = `http://${addr}/debug/pprof/${name}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why =
      (e as Error).name === 'TimeoutError'
        ? `no answer in ${Math.round(timeoutMs / 1000)} s`
        : (cause?.code ?? cause?.message ?? (e as Error).message);
    throw new Error(`${url}: ${why}`);
  }
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status === 404)
    throw new Error(`${url}: not served (HTTP 404; a tjfs older than its profiles, or not tjfs)`);
  if (res.status !== 200) {
    const text = body.toString('utf8').trim().split('\n')[0] ?? '';
    throw new Error(`${url}: HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`);
  }
  if (!(res.headers.get('content-type') ?? '').startsWith('application/json'))
    throw new Error(`${url}: not a JSON profile (content-type ${res.headers.get('content-type') ?? 'none'})`);
  return body;
}
