/**
 * Live upgrade (JuiceFS's smooth upgrade, cmd/mount_unix.go + cmd/passfd.go): `tjfs mount -d`
 * on a mount point that a tjfs supervisor serves takes the mount over. The old supervisor
 * listens on a unix socket named after the mount point; the new one connects, receives the
 * /dev/fuse fd (SCM_RIGHTS, in the addon) and, after it, the state a new worker resumes from
 * (handles, INIT parameters, session, write journal). The old supervisor then exits without
 * unmounting.
 *
 * Design: the old worker is stopped the way a crash would stop it (SIGKILL), so the takeover
 * reuses the restart path: requests in flight are resent, acknowledged writes are replayed
 * from the journal. Only root (or the mount's owner) can reach the socket (mode 0600).
 * Invariants: the fd is sent only after the old worker is gone (one reader at a time).
 */
import { createHash } from 'node:crypto';
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNative } from '../native/addon.js';
import type { ResumeState } from './protocol.js';

/** What the old supervisor hands over after the fd. */
export interface Handover {
  mountpoint: string;
  viaFusermount: boolean;
  journalDir: string;
  state: ResumeState | undefined;
}

/** The upgrade socket of the supervisor serving `mountpoint` (absolute). */
export function upgradeSocketPath(mountpoint: string): string {
  const h = createHash('sha1').update(mountpoint).digest('hex').slice(0, 16);
  return join(tmpdir(), `tjfs-upgrade-${h}.sock`);
}

/**
 * Listens for a takeover. `prepare` stops the worker and returns the device fd and the state;
 * `done` runs once both were sent (or the attempt failed, with the error).
 */
export function serveUpgrades(
  path: string,
  prepare: () => Promise<{ fd: number; handover: Handover }>,
  done: (err?: unknown) => void,
): Server {
  rmSync(path, { force: true });
  const server = createServer((sock: Socket) => {
    server.close();
    prepare().then(
      ({ fd, handover }) => {
        // cast: the connected unix socket's descriptor, for one sendmsg before any write.
        const sfd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1;
        loadNative().sendFd(sfd, fd);
        sock.end(JSON.stringify(handover), () => done());
      },
      (e: unknown) => {
        sock.destroy();
        done(e);
      },
    );
  });
  server.on('error', () => undefined); // a failed listen only means no live upgrade
  server.listen(path, () => chmodSync(path, 0o600));
  server.unref();
  return server;
}

/** Takes the mount over from the supervisor listening at `path` (blocking, bounded). */
export function takeOver(path: string, timeoutMs = 60_000): { fd: number; handover: Handover } {
  const r = loadNative().recvFdFrom(path, timeoutMs);
  return { fd: r.fd, handover: JSON.parse(r.data.toString()) as Handover }; // cast: written by serveUpgrades
}
