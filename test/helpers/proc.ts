/**
 * Child processes for real-mount tests. The test process never touches a mount itself:
 * everything runs in python3 or node children, spawned asynchronously and killed on
 * timeout. `Interactive` drives a long-lived child line by line (a holder that keeps a file
 * open or a lock held while the test does something elsewhere).
 * Invariants: every child is tracked until it exits; `killAllChildren` ends stragglers.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Debian's python3 (see docs/DESIGN.md §11: an earlier `python3` on PATH may be another interpreter). */
export const PYTHON = '/usr/bin/python3';

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

export interface RunOptions {
  timeoutMs?: number;
  env?: Record<string, string>;
  cwd?: string;
  input?: string;
}

const live = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Runs a command to completion (or timeout: SIGKILL) and collects its output. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<ChildResult> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(cmd, [...args], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, ...(opts.env ?? {}) },
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
      }),
    );
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, ms: Date.now() - t0 });
    });
  });
}

/** `python3 -c CODE ARGS...`; sys.argv[1:] are the args. */
export function py(
  code: string,
  args: readonly (string | number)[] = [],
  opts: RunOptions = {},
): Promise<ChildResult> {
  return run(PYTHON, ['-c', code, ...args.map(String)], opts);
}

/** Throws with the child's output unless it exited 0; returns stdout. */
export function ok(r: ChildResult, what = 'child'): string {
  if (r.code !== 0 || r.timedOut) {
    throw new Error(
      `${what} failed (code ${r.code}, signal ${r.signal}${r.timedOut ? ', timed out' : ''})\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
    );
  }
  return r.stdout;
}

/** A long-lived child spoken to by lines on stdin/stdout. */
export class Interactive {
  private buf = '';
  private readonly lines: string[] = [];
  private waiters: Array<() => void> = [];
  private stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        this.lines.push(this.buf.slice(0, i));
        this.buf = this.buf.slice(i + 1);
      }
      this.wake();
    });
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    child.stdin?.on('error', () => undefined);
    this.exited = new Promise((resolve) =>
      child.once('close', (code, signal) => {
        this.wake();
        resolve({ code, signal });
      }),
    );
  }

  static python(code: string, args: readonly (string | number)[] = []): Interactive {
    // -u: unbuffered, so every print reaches us at once
    return new Interactive(
      track(spawn(PYTHON, ['-u', '-c', code, ...args.map(String)], { stdio: ['pipe', 'pipe', 'pipe'] })),
    );
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private get done(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** The next stdout line; rejects on timeout or if the child exits first. */
  async nextLine(timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const l = this.lines.shift();
      if (l !== undefined) return l;
      if (this.done)
        throw new Error(
          `child exited (${this.child.exitCode ?? this.child.signalCode}) before a line; stderr:\n${this.stderr}`,
        );
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line from child within ${timeoutMs} ms; stderr:\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Skips lines until one equals `want` (or starts with it); returns that line. */
  async expect(want: string, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const l = await this.nextLine(Math.max(1, deadline - Date.now()));
      if (l === want || l.startsWith(want)) return l;
    }
  }

  send(line: string): void {
    this.child.stdin?.write(line + '\n');
  }

  /** Waits for exit (SIGKILL after the timeout); returns the exit code and stderr. */
  async finish(timeoutMs = 15_000): Promise<{ code: number | null; stderr: string }> {
    const t = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const { code } = await this.exited;
    clearTimeout(t);
    return { code, stderr: this.stderr };
  }

  kill(): void {
    if (!this.done) this.child.kill('SIGKILL');
  }
}

/** SIGKILLs every tracked child that is still running and waits for them. */
export async function killAllChildren(): Promise<number> {
  const left = [...live];
  await Promise.all(
    left.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGKILL');
        }),
    ),
  );
  return left.length;
}

/** Resident memory of a process in MiB (0 once it is gone), from /proc. */
export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Whether `child` exits within `ms` (true at once when it already has). */
export function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
