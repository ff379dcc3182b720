/**
 * The shared scenarios through the HDFS-style FileSystem (via the ScenarioFs adapter), on
 * sqlite3+file and on redis+s3rver. Scenarios that need operations HDFS does not model
 * (hard links, random writes, growing truncate) are reported as skipped.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { HdfsFileSystem } from '../../src/api/hdfs.js';
import { apiScenarios } from '../scenarios/api-scenarios.js';
import { hdfsScenarioFs, UNSUPPORTED } from '../scenarios/hdfs-adapter.js';
import { loadSharedScenarios } from '../scenarios/shared.js';
import {
  describeRedisS3,
  formatTestVolume,
  type TestVolume,
  type TestVolumeSpec,
} from '../helpers/api-volume.js';

const scenarios = [...apiScenarios, ...(await loadSharedScenarios())];

/** Scenarios asserting POSIX details that Hadoop's FileSystem model does not carry. */
const POSIX_ONLY: Readonly<Record<string, string>> = {
  'directories: mkdir, nlink, recursive mkdir, rmdir': 'FileStatus has no link count',
  'chmod, sticky bit and setgid bit are stored': 'Hadoop permissions have 10 bits (no setuid/setgid)',
  'setgid directory: entries inherit its group, subdirectories the bit': 'no setgid in Hadoop permissions',
  'utimes keeps sub-millisecond precision': 'Hadoop times are milliseconds',
  'error codes: ENOENT, EEXIST, ENOTEMPTY, ENOTDIR, EISDIR, ENAMETOOLONG':
    'HDFS reports create-over-directory as FileAlreadyExistsException (spec 6.6)',
  'rename directories: over an empty dir, across parents, and the errors':
    'HDFS rename reports a file/directory mismatch as IOException (spec 6.4b)',
};

function hdfsSuite(label: string, spec: () => TestVolumeSpec): void {
  describe(`HdfsFileSystem scenarios on ${label}`, () => {
    let tv: TestVolume;
    let fs: HdfsFileSystem;
    let n = 0;
    beforeAll(async () => {
      tv = await formatTestVolume(spec());
      fs = await HdfsFileSystem.open(tv.metaUrl, { uid: 0, gid: 0 });
    });
    afterAll(async () => {
      await fs?.close();
      await tv?.cleanup();
    });
    for (const s of scenarios) {
      const why = POSIX_ONLY[s.name];
      if (why !== undefined) {
        it.skip(`${s.name} [POSIX only: ${why}]`, () => undefined);
        continue;
      }
      it(s.name, async (ctx) => {
        const dir = `/h${n++}`;
        await fs.mkdirs(dir);
        try {
          await s.run(hdfsScenarioFs(fs), dir);
        } catch (e) {
          if ((e as { code?: string }).code === UNSUPPORTED)
            ctx.skip(`not in the HDFS model: ${(e as Error).message}`);
          throw e;
        }
      });
    }
  });
}

hdfsSuite('sqlite3 meta + file store', () => ({ meta: 'sqlite', storage: 'file' }));

describeRedisS3('redis + s3rver', (spec) => hdfsSuite('redis meta + s3 store', spec));
