/** The package entry (package.json "main") loads and exposes the public API. */
import { describe, expect, it } from 'vitest';
import * as tjfs from '../../src/index.js';
import { captureIo } from '../helpers/cli-io.js';

describe('package entry', () => {
  it('exports the API, the HDFS FileSystem, the gateway and the CLI', async () => {
    expect(Object.keys(tjfs).sort()).toEqual(
      [
        'BaseMeta',
        'Errno',
        'FsError',
        'HdfsError',
        'HdfsFileSystem',
        'HdfsInputStream',
        'HdfsOutputStream',
        'Volume',
        'main',
        'openMeta',
        'openVolume',
        'startWebHdfsGateway',
      ].sort(),
    );
    const h = captureIo();
    expect(await tjfs.main(['--version'], h.io)).toBe(0);
    await expect(tjfs.openVolume('mem://not-formatted-entry-test')).rejects.toThrow(/not formatted/);
  });
});
