/**
 * `tjfs dump META [FILE]` and `tjfs load META [FILE]`: JuiceFS JSON dumps (v1), streamed;
 * FILE ending in .gz is (de)compressed; '-' or no FILE means stdout/stdin. `load --encrypt-rsa-key`
 * reads a dump sealed with an encrypted volume's key (as JuiceFS writes its backups).
 *
 * Invariants: a dump to a file is written to a temporary file next to it and renamed into
 * place only when complete, so a failed dump leaves no half-written FILE (devices and pipes
 * are written directly). A failed load leaves the database empty, and a SQLite file that the
 * load created is removed. Bad paths give one-line errors.
 */
import { createReadStream, readFileSync, type Stats } from 'node:fs';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGunzip, createGzip, gunzipSync } from 'node:zlib';
import type { Command } from 'commander';
import { loadMeta } from '../../meta/dump/load.js';
import { DataEncryptor } from '../../object/encrypt.js';
import { CliError, err, helpExamples, type CliIo } from '../io.js';
import { openCliEngine, openCliMeta, removeSqliteFiles, sqliteFileToCreate } from '../meta-open.js';
import { resolveSubdir } from '../subdir.js';
import { redactSecrets } from '../../util/redact.js';
import { countingIterable, countingWritable, createProgress } from '../progress.js';

/** "ENOENT: no such file or directory" out of a Node fs error, without the syscall and path. */
export function fsReason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split(',')[0] ?? msg;
}

interface Output {
  sink: Writable;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch {
    return undefined;
  }
}

/** Opens FILE for a dump: a temporary sibling renamed on commit, or the device/pipe itself. */
async function openOutput(path: string): Promise<Output> {
  const st = await statOrUndefined(path);
  if (st?.isDirectory()) throw new CliError(`cannot write dump to ${path}: it is a directory`);
  const direct = st !== undefined && !st.isFile();
  const target = direct
    ? path
    : join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now().toString(36)}`);
  const fh = await open(target, direct ? 'w' : 'wx').catch((e: unknown) => {
    throw new CliError(`cannot write dump to ${path}: ${fsReason(e)}`);
  });
  // `flush`: the stream fsyncs before it closes the file, so the rename publishes durable bytes.
  const file = fh.createWriteStream({ flush: !direct });
  const gz = path.endsWith('.gz') ? createGzip() : undefined;
  const piped = gz ? pipeline(gz, file) : undefined;
  piped?.catch(() => undefined); // observed in commit/abort
  return {
    sink: gz ?? file,
    async commit() {
      try {
        if (gz) {
          gz.end();
          await piped;
        } else {
          file.end();
        }
        await finished(file);
      } catch (e) {
        throw new CliError(`cannot write dump to ${path}: ${fsReason(e)}`);
      }
      if (!direct) await rename(target, path);
    },
    async abort() {
      gz?.destroy();
      file.destroy();
      await finished(file).catch(() => undefined);
      if (!direct) await unlink(target).catch(() => undefined);
    },
  };
}

type DumpFlags = { subdir?: string; keepSecretKey?: boolean; skipTrash?: boolean };

export async function runDump(
  metaUrl: string,
  file: string | undefined,
  flags: DumpFlags,
  io: CliIo,
): Promise<number> {
  const meta = await openCliMeta(metaUrl, io, { readOnly: true });
  let output: Output | undefined;
  try {
    const root = flags.subdir ? await resolveSubdir(meta, flags.subdir) : undefined;
    const path = file && file !== '-' ? resolve(io.cwd ?? process.cwd(), file) : undefined;
    if (path) output = await openOutput(path);
    const opts = {
      ...(root !== undefined ? { root } : {}),
      keepSecretKey: flags.keepSecretKey === true,
      skipTrash: flags.skipTrash === true,
    };
    try {
      const p = createProgress(io, 'dump');
      await meta.dump(countingWritable(output?.sink ?? io.stdout, p.counter('Dumped')), opts);
      p.done();
    } catch (e) {
      // The sink's own error (ENOSPC, EPIPE) says more than the stream layer's.
      if (output && !(e instanceof CliError)) throw new CliError(`dump to ${file} failed: ${fsReason(e)}`);
      throw e;
    }
    if (output) {
      await output.commit();
      output = undefined;
      err(io, `dumped ${redactSecrets(metaUrl)} to ${file}`);
    }
    return 0;
  } finally {
    await output?.abort();
    await meta.stop();
  }
}

/**
 * The dump source: FILE (gunzipped when it ends in .gz) or stdin. The file is checked before
 * any database is opened, and opened only when the load starts reading it.
 */
async function openInput(
  file: string | undefined,
  io: CliIo,
  enc?: DataEncryptor,
): Promise<{ open(): AsyncIterable<Buffer | string>; close(): void }> {
  if (!file || file === '-') {
    if (!io.stdin) throw new CliError('load: no FILE and no stdin');
    const stdin = io.stdin as AsyncIterable<Buffer>;
    return { open: () => stdin, close: () => undefined };
  }
  const path = resolve(io.cwd ?? process.cwd(), file);
  const st = await stat(path).catch((e: unknown) => {
    throw new CliError(`cannot read dump ${file}: ${fsReason(e)}`);
  });
  if (st.isDirectory()) throw new CliError(`cannot read dump ${file}: it is a directory`);
  const streams: Readable[] = [];
  if (enc !== undefined) {
    // A sealed dump (an encrypted volume's backup) is one object: opened whole, then gunzipped.
    let plain: Buffer;
    try {
      plain = enc.open(await readFile(path));
    } catch (e) {
      throw new CliError(`cannot open encrypted dump ${file}: ${(e as Error).message}`);
    }
    return {
      open: () => Readable.from(file.endsWith('.gz') ? [gunzipSync(plain)] : [plain]),
      close: () => undefined,
    };
  }
  return {
    open() {
      const raw: Readable = createReadStream(path);
      streams.push(raw);
      if (!file.endsWith('.gz')) return raw;
      const gz = createGunzip();
      streams.push(gz);
      raw.on('error', (e) => gz.destroy(e));
      return raw.pipe(gz);
    },
    close: () => streams.forEach((s) => s.destroy()),
  };
}

export interface LoadFlags {
  encryptRsaKey?: string;
  encryptAlgo?: string;
}

export async function runLoad(
  metaUrl: string,
  file: string | undefined,
  io: CliIo,
  flags: LoadFlags = {},
): Promise<number> {
  const input = await openInput(file, io, loadDumpKey(flags, io));
  const created = await sqliteFileToCreate(metaUrl);
  let ok = false;
  try {
    const engine = await openCliEngine(metaUrl, io, { mustExist: false });
    try {
      if (!(await engine.isEmpty()))
        throw new CliError(`database ${redactSecrets(metaUrl)} is not empty: load needs an empty database`);
      const p = createProgress(io, 'load');
      const res = await loadMeta(engine, countingIterable(input.open(), p.counter('Loaded')));
      p.done();
      err(io, `loaded ${res.inodes} inodes into ${redactSecrets(metaUrl)}`);
      ok = true;
      return 0;
    } finally {
      await engine.close();
    }
  } finally {
    input.close();
    if (!ok && created) await removeSqliteFiles(created);
  }
}

/** The encryptor of `--encrypt-rsa-key` (JFS_RSA_PASSPHRASE unlocks it), or undefined. */
function loadDumpKey(flags: LoadFlags, io: CliIo): DataEncryptor | undefined {
  if (flags.encryptRsaKey === undefined) return undefined;
  let pem: string;
  try {
    pem = readFileSync(resolve(io.cwd ?? process.cwd(), flags.encryptRsaKey), 'utf8');
  } catch (e) {
    throw new CliError(`load RSA key from "${flags.encryptRsaKey}": ${(e as Error).message}`);
  }
  try {
    return DataEncryptor.fromSettings(pem, flags.encryptAlgo, io.env['JFS_RSA_PASSPHRASE'] ?? '');
  } catch (e) {
    throw new CliError((e as Error).message);
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
    .addHelpText(
      'after',
      helpExamples(
        'tjfs dump redis://10.0.0.5:6379/1 meta-dump.json.gz',
        'tjfs dump sqlite3://myjfs.db --subdir /projects/a > a.json',
      ),
    )
    .action((meta: string, file: string | undefined, flags: DumpFlags) =>
      setExit(runDump(meta, file, flags, io)),
    );
  program
    .command('load')
    .description('load a JuiceFS JSON dump from FILE (or stdin) into an empty database')
    .argument('<META>')
    .argument('[FILE]')
    .option('--encrypt-rsa-key <file>', 'the dump is sealed with this RSA key (an encrypted volume backup)')
    .option('--encrypt-algo <algo>', 'its encryption: aes256gcm-rsa, chacha20-rsa', 'aes256gcm-rsa')
    .addHelpText('after', helpExamples('tjfs load sqlite3://restored.db meta-dump.json.gz'))
    .action((meta: string, file: string | undefined, flags: LoadFlags) =>
      setExit(runLoad(meta, file, io, flags)),
    );
}
