/**
 * Progress of long commands (JuiceFS: utils.NewProgress with count bars and spinners).
 *
 * Design: one `Progress` per command run holds named counters. On a terminal (stderr is a
 * TTY) they are drawn as cli-progress bars (a bar when the total is known, a counter
 * otherwise). When stderr is piped or a file, nothing is redrawn: a plain line with every
 * counter is written at most every `intervalMs` (default 5 s) while work goes on, and one
 * final line at `done()`. `quiet` (the global --quiet) draws nothing at all.
 * Invariants: counters only grow; `done()` is idempotent and always stops the bars.
 */
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { Writable } from 'node:stream';
import type { CliIo } from './io.js';

export interface ProgressCounter {
  readonly name: string;
  readonly value: number;
  /** Adds `n` (default 1) to the counter; `bytes` adds to its byte count. */
  increment(n?: number, bytes?: number): void;
  /** Sets or raises the known total (turns a counter into a bar on a terminal). */
  setTotal(total: number): void;
}

export interface ProgressOptions {
  /** Draw nothing (--quiet). */
  quiet?: boolean;
  /** Force the mode (tests); default: bars when stderr is a TTY. */
  tty?: boolean;
  /** Piped mode: at most one interim line per this many ms (default 5000). */
  intervalMs?: number;
}

/** Whether commands draw progress by default (set from the global --quiet in main.ts). */
let quietByDefault = false;
export function setProgressQuiet(quiet: boolean): void {
  quietByDefault = quiet;
}

function human(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${u[i]}`;
}

class Counter implements ProgressCounter {
  value = 0;
  bytes = 0;
  total = 0;
  bar: SingleBar | undefined;
  constructor(
    readonly name: string,
    private readonly owner: Progress,
  ) {}
  increment(n = 1, bytes = 0): void {
    this.value += n;
    this.bytes += bytes;
    this.owner.changed(this);
  }
  setTotal(total: number): void {
    this.total = Math.max(this.total, total);
    this.bar?.setTotal(this.total);
    this.owner.changed(this);
  }
  text(): string {
    const count = this.total > 0 ? `${this.value}/${this.total}` : String(this.value);
    return `${this.name}: ${count}${this.bytes > 0 ? ` (${human(this.bytes)})` : ''}`;
  }
}

export class Progress {
  private readonly counters: Counter[] = [];
  private readonly multi: MultiBar | undefined;
  private readonly piped: boolean;
  private last = Date.now();
  private finished = false;

  constructor(
    private readonly io: CliIo,
    private readonly title: string,
    private readonly opts: ProgressOptions = {},
  ) {
    const quiet = opts.quiet ?? quietByDefault;
    const tty = opts.tty ?? (io.stderr as NodeJS.WriteStream).isTTY === true;
    this.piped = !quiet && !tty;
    if (!quiet && tty) {
      this.multi = new MultiBar(
        {
          stream: io.stderr as NodeJS.WriteStream,
          format: '{name} {bar} {value}/{total} {extra}',
          hideCursor: true,
          clearOnComplete: false,
          stopOnComplete: false,
          etaBuffer: 20,
        },
        Presets.shades_classic,
      );
    }
  }

  /** A named counter (JuiceFS: AddCountBar when `total` is known, AddCountSpinner otherwise). */
  counter(name: string, total = 0): ProgressCounter {
    const c = new Counter(name, this);
    c.total = total;
    // A counter without a total is a JuiceFS count spinner: name, count and bytes, no bar.
    const spinner = { format: '{name} {value} {extra}' };
    if (this.multi)
      c.bar = this.multi.create(total, 0, { name: name.padEnd(14), extra: '' }, total > 0 ? {} : spinner);
    this.counters.push(c);
    return c;
  }

  /** Called by counters: redraws a bar, or writes an interim line when the interval passed. */
  changed(c: Counter): void {
    if (this.finished) return;
    if (c.bar) {
      c.bar.update(c.value, { extra: c.bytes > 0 ? human(c.bytes) : '' });
      return;
    }
    if (!this.piped) return;
    const now = Date.now();
    if (now - this.last >= (this.opts.intervalMs ?? 5000)) {
      this.last = now;
      this.line();
    }
  }

  private line(): void {
    this.io.stderr.write(`${this.title}: ${this.counters.map((c) => c.text()).join(', ')}\n`);
  }

  /** Stops the bars; piped, writes the final summary line. */
  done(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.multi) this.multi.stop();
    else if (this.piped) this.line();
  }
}

export function createProgress(io: CliIo, title: string, opts: ProgressOptions = {}): Progress {
  return new Progress(io, title, opts);
}

/** `sink` seen through a counter of the bytes written (dump); errors arrive through write callbacks. */
export function countingWritable(sink: Writable, c: ProgressCounter): Writable {
  const w = new Writable({
    write(chunk: Buffer | string, enc: BufferEncoding, cb: (e?: Error | null) => void): void {
      c.increment(0, chunk.length);
      sink.write(chunk, enc, cb);
    },
  });
  // The writer learns of a failed write from its callback (and `errored`); the event has no other use.
  w.on('error', () => undefined);
  return w;
}

/** `src` seen through a counter of the bytes read (load). */
export async function* countingIterable<T extends Buffer | string>(
  src: AsyncIterable<T>,
  c: ProgressCounter,
): AsyncIterable<T> {
  for await (const chunk of src) {
    c.increment(0, chunk.length);
    yield chunk;
  }
}
