/**
 * Follows a mount's `.accesslog` from the CLI (profile, debug). The daemon streams lines
 * only while the file is open, and a read waits in the daemon until a line comes. To stop,
 * the follower therefore looks up a name that does not exist on the mount: the daemon logs
 * that lookup, the pending read returns, and the file can be closed. Without that wake-up
 * an idle mount would hold the read (and so this process) open.
 */
import { randomBytes } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface LiveLog {
  /** Stops reading and closes the file (waits at most 5 s for the pending read). */
  stop(): Promise<void>;
  /** The read error that ended the follower early, if any. */
  readonly failure: unknown;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Opens `logPath` (under mount `mp`) and passes each chunk read to `onData`; false stops reading. */
export async function followAccessLog(
  mp: string,
  logPath: string,
  onData: (chunk: Buffer) => boolean | void,
): Promise<LiveLog> {
  const fh = await open(logPath, 'r');
  let stopping = false;
  let failure: unknown;
  const reader = (async (): Promise<void> => {
    const buf = Buffer.alloc(1 << 16);
    while (!stopping) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (stopping) return;
      if (bytesRead === 0) await sleep(100);
      else if (onData(Buffer.from(buf.subarray(0, bytesRead))) === false) return;
    }
  })().catch((e: unknown) => {
    failure = e;
  });
  let woke = false;
  void reader.then(() => (woke = true));
  return {
    get failure() {
      return failure;
    },
    stop: async () => {
      stopping = true;
      const giveUp = Date.now() + 5000;
      while (!woke && Date.now() < giveUp) {
        await stat(join(mp, `.tjfs-wake-${randomBytes(6).toString('hex')}`)).catch(() => undefined);
        await Promise.race([reader, sleep(200)]);
      }
      // Still blocked: leave the handle to process exit rather than wait on the daemon.
      if (woke) await fh.close();
    },
  };
}
