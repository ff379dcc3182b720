/**
 * Drives a writer child (it prints "<index> <unix time>" per fsync'd record and "done" at the
 * end) through a server outage: waits for record `after`, stops the server for `ms`, starts
 * it again, and reads the writer to its end. Returns when the outage began and when the
 * writer resumed after its one long pause, and the writer's exit.
 */
import type { Interactive } from '../helpers/proc.js';

export interface OutageRun {
  stoppedAt: number;
  resumedAt: number;
  code: number | null;
  stderr: string;
}

export async function writeThroughOutage(
  w: Interactive,
  after: number,
  server: { stop(): Promise<void>; start(): Promise<void> },
  ms: number,
): Promise<OutageRun> {
  let line = '';
  while (!line.startsWith(`${after} `)) line = await w.nextLine(30_000);
  await server.stop();
  const stoppedAt = Date.now() / 1000;
  await new Promise((r) => setTimeout(r, ms));
  await server.start();
  let resumedAt = 0;
  let prev = Number(line.split(' ')[1]);
  for (;;) {
    line = await w.nextLine(90_000);
    if (line === 'done') break;
    const t = Number(line.split(' ')[1]);
    if (t - prev > 5 && resumedAt === 0) resumedAt = t;
    prev = t;
  }
  const end = await w.finish();
  return { stoppedAt, resumedAt, ...end };
}
