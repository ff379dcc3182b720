/**
 * The package's programmatic entry: the Node fs/promises-like API, the HDFS-style
 * FileSystem, the WebHDFS gateway, the metadata client and the CLI function.
 */
export { openVolume, Volume, type VolumeOptions } from './api/volume.js';
export { HdfsFileSystem, HdfsError, HdfsInputStream, HdfsOutputStream } from './api/hdfs.js';
export { startWebHdfsGateway } from './gateway/webhdfs.js';
export { openMeta, BaseMeta } from './meta/base-meta.js';
export { FsError, Errno } from './base/errno.js';
export { main } from './cli/main.js';
