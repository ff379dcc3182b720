/**
 * `tjfs dump META [FILE]` and `tjfs load META [FILE]`: JuiceFS JSON dumps (v1), streamed;
 * FILE ending in .gz is (de)compressed; '-' or no FILE means stdout/stdin.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { Command } from 'commander';
import { openMeta } from '../../meta/base-meta.js';
import { dumpMeta } from '../../meta/dump/dump.js';
import { loadMeta } from '../../meta/dump/load.js';
import { openEngine, redactUrl } from '../../meta/registry.js';
import { CliError, err, type CliIo } from '../io.js';
import { resolveSubdir } from '../subdir.js';

export async function runDump(metaUrl: string, file: string | undefined, flags: { subdir?: string; keepSecretKey?: boolean; skipTrash?: boolean }, io: CliIo): Promise<number> {
  const meta = await openMeta(metaUrl, { readOnly: true });
  try {
    const root = flags.subdir ? await resolveSubdir(meta, flags.subdir) : undefined;
    let sink: Writable = io.stdout;
    let fileStream: Writable | undefined;
    if (file && file !== '-') {
      fileStream = createWriteStream(resolve(io.cwd ?? process.cwd(), file));
      sink = fileStream;
      if (file.endsWith('.gz')) {
        const gz = createGzip();
        gz.pipe(fileStream);
        sink = gz;
      }
    }
    await dumpMeta(meta.engine, sink, { ...(root !== undefined ? { root } : {}), keepSecretKey: flags.keepSecretKey === true, skipTrash: flags.skipTrash === true });
    if (fileStream) {
      sink.end();
      await finished(fileStream);
      err(io, `dumped ${redactUrl(metaUrl)} to ${file}`);
    }
    return 0;
  } finally {
    await meta.stop();
  }
}

export async function runLoad(metaUrl: string, file: string | undefined, io: CliIo): Promise<number> {
  const engine = await openEngine(metaUrl, io.env['META_PASSWORD'] ? { password: io.env['META_PASSWORD'] } : {});
  let raw: Readable | undefined;
  try {
    if (!(await engine.isEmpty())) throw new CliError(`database ${redactUrl(metaUrl)} is not empty: load needs an empty database`);
    let src: Readable | NodeJS.ReadableStream;
    if (file && file !== '-') {
      raw = createReadStream(resolve(io.cwd ?? process.cwd(), file));
      src = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
    } else {
      if (!io.stdin) throw new CliError('load: no FILE and no stdin');
      src = io.stdin;
    }
    const res = await loadMeta(engine, src as AsyncIterable<Buffer>);
    err(io, `loaded ${res.inodes} inodes into ${redactUrl(metaUrl)}`);
    return 0;
  } finally {
    raw?.destroy();
    await engine.close();
  }
}

export function registerDumpLoad(program: Command, io: CliIo, setExit: (p: Promise<number>) => void): void {
  program
    .command('dump')
    .description('dump the metadata as JuiceFS JSON to FILE (or stdout)')
    .argument('<META>')
    .argument('[FILE]')
    .option('--subdir <path>', 'dump only this sub-directory')
    .option('--keep-secret-key', 'keep the object storage secret key')
    .option('--skip-trash', 'leave out the trash')
    .action((meta: string, file: string | undefined, flags: { subdir?: string; keepSecretKey?: boolean; skipTrash?: boolean }) =>
      setExit(runDump(meta, file, flags, io)),
    );
  program
    .command('load')
    .description('load a JuiceFS JSON dump from FILE (or stdin) into an empty database')
    .argument('<META>')
    .argument('[FILE]')
    .action((meta: string, file: string | undefined) => setExit(runLoad(meta, file, io)));
}
