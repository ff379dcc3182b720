/**
 * StateStore: what the node plugin must remember across its own restarts — the shared FUSE
 * mounts it started (meta URL and flags to remount, daemon pid) and which publish targets
 * use each of them (the reference count). CSI never re-sends secrets, so the meta URL is
 * kept here, in a root-only (0600) file under --state-dir — never in clear: its password is
 * sealed with AES-256-GCM under a key derived (SHA-256) from TJFS_CSI_STATE_KEY (give it from
 * a Kubernetes Secret), or, without that key, not written at all: the file then holds the URL
 * without password, and a remount after a plugin restart takes the password from the
 * plugin's META_PASSWORD/REDIS_PASSWORD (the daemon's environment) until the volume is
 * published again with its secret.
 *
 * Invariants: writes are atomic (temp file, fsync, rename) and serialised; the in-memory object is
 * the source of truth while the process lives and is reloaded only at start.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
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

  private readonly key: Buffer | undefined;

  /** `stateKey`: the secret that seals meta URL passwords in the file (see header). */
  constructor(
    readonly dir: string,
    opts: { stateKey?: string } = {},
  ) {
    this.key = opts.stateKey ? createHash('sha256').update(opts.stateKey).digest() : undefined;
  }

  get file(): string {
    return join(this.dir, 'state.json');
  }

  async load(): Promise<PluginState> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    try {
      const parsed = JSON.parse(await readFile(this.file, 'utf8')) as Partial<PluginState>;
      const mounts: Record<string, SharedMountState> = {};
      for (const [id, m] of Object.entries(parsed.mounts ?? {})) mounts[id] = this.unseal(m as StoredMount);
      this.state = { version: 1, mounts };
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
    const mounts: Record<string, StoredMount> = {};
    for (const [id, m] of Object.entries(this.state.mounts)) mounts[id] = this.seal(m);
    const text = JSON.stringify({ version: 1, mounts }, null, 2);
    const tmp = `${this.file}.tmp`;
    this.writing = this.writing
      .catch(() => undefined)
      .then(async () => {
        await writeFileAtomic(tmp, this.file, [Buffer.from(text)], { mode: 0o600, sync: true });
      });
    return this.writing;
  }

  private seal(m: SharedMountState): StoredMount {
    const { url, password } = splitPassword(m.metaUrl);
    const out: StoredMount = { ...m, metaUrl: url };
    if (password !== undefined && this.key) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', this.key, iv);
      const body = Buffer.concat([c.update(password, 'utf8'), c.final()]);
      out.sealedPassword = Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
    }
    return out;
  }

  private unseal(m: StoredMount): SharedMountState {
    const { sealedPassword, ...rest } = m;
    if (sealedPassword === undefined || !this.key) return rest;
    try {
      const b = Buffer.from(sealedPassword, 'base64');
      const d = createDecipheriv('aes-256-gcm', this.key, b.subarray(0, 12));
      d.setAuthTag(b.subarray(12, 28));
      const password = Buffer.concat([d.update(b.subarray(28)), d.final()]).toString('utf8');
      return { ...rest, metaUrl: withPassword(rest.metaUrl, password) };
    } catch {
      // Another key: the URL stays without password (the environment's is used, see header).
      return rest;
    }
  }
}

/** A mount as written to the file: its meta URL without password, maybe the sealed password. */
interface StoredMount extends SharedMountState {
  sealedPassword?: string;
}

const URL_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/)([^:@/\s]*):([^/\s]*)@(.*)$/i;

/** `scheme://user:pass@rest` → `scheme://user@rest` and the (still encoded) password. */
export function splitPassword(url: string): { url: string; password?: string } {
  const m = URL_PASSWORD.exec(url);
  if (!m) return { url };
  const [, scheme, user, password, rest] = m as unknown as [string, string, string, string, string];
  return { url: `${scheme}${user === '' ? '' : `${user}@`}${rest}`, password };
}

function withPassword(url: string, password: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(?:([^@/\s]*)@)?(.*)$/i.exec(url);
  if (!m) return url;
  return `${m[1]}${m[2] ?? ''}:${password}@${m[3]}`;
}
