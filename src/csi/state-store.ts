/**
 * StateStore: what the node plugin must remember across its own restarts — the shared FUSE
 * mounts it started (meta URL and flags to remount, daemon pid) and which publish targets
 * use each of them (the reference count). CSI never re-sends secrets, so the meta URL is
 * kept here, in a root-only (0600) file under --state-dir.
 *
 * Invariants: writes are atomic (temp file, fsync, rename) and serialised; the in-memory object is
 * the source of truth while the process lives and is reloaded only at start.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';

export interface TargetState {
  volumeId: string;
  /** Sub-directory of the volume bound to the target ('' = the root). */
  subPath: string;
  readOnly: boolean;
}

export interface SharedMountState {
  id: string;
  /** Secret: never logged; needed to remount after a daemon death or plugin restart. */
  metaUrl: string;
  args: string[];
  mountPoint: string;
  pid: number;
  targets: Record<string, TargetState>;
}

export interface PluginState {
  version: 1;
  mounts: Record<string, SharedMountState>;
}

export class StateStore {
  private state: PluginState = { version: 1, mounts: {} };
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly dir: string) {}

  get file(): string {
    return join(this.dir, 'state.json');
  }

  async load(): Promise<PluginState> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    try {
      const parsed = JSON.parse(await readFile(this.file, 'utf8')) as Partial<PluginState>;
      this.state = { version: 1, mounts: parsed.mounts ?? {} };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    return this.state;
  }

  get current(): PluginState {
    return this.state;
  }

  /** Persists the current state; resolves once this (and every earlier) write is on disk. */
  save(): Promise<void> {
    const text = JSON.stringify(this.state, null, 2);
    const tmp = `${this.file}.tmp`;
    this.writing = this.writing
      .catch(() => undefined)
      .then(async () => {
        await writeFileAtomic(tmp, this.file, [Buffer.from(text)], { mode: 0o600, sync: true });
      });
    return this.writing;
  }
}
