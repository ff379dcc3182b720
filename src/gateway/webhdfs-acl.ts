/**
 * WebHDFS ACL operations (docs/WEBHDFS.md §3.1, §3.2): GETACLSTATUS and the PUT ops SETACL,
 * MODIFYACLENTRIES, REMOVEACLENTRIES, REMOVEDEFAULTACL, REMOVEACL over HdfsFileSystem.
 *
 * Design: `aclspec` is first checked against Hadoop's default parameter pattern
 * (dfs.webhdfs.acl.provider.permission.pattern), then parsed as AclEntry.parseAclSpec does
 * (with permissions, or without for REMOVEACLENTRIES); either failure is a 400
 * IllegalArgumentException. ACL rule errors are AclException (403), as the NameNode answers.
 */
import { aclEntryString, parseAclSpec, type AclEntry } from '../api/hdfs.js';
import { HdfsError } from '../api/hdfs-errors.js';
import type { OpContext, OpHandler } from './webhdfs-ops.js';
import { sendEmpty, sendJson } from './webhdfs-ops.js';
import { param } from './webhdfs-request.js';

// Java's `[[A-Za-z_][A-Za-z0-9._-]]*` is a class union: any of A-Za-z0-9._- repeated.
const ENTRY = '(default:)?(user|group|mask|other):[A-Za-z0-9._-]*:([rwx-]{3})?';
const ACLSPEC = new RegExp(`^${ENTRY}(,${ENTRY})*$`);

/** The `aclspec` parameter parsed; an absent or empty one is an empty spec. */
export function aclSpecParam(c: OpContext, withPermission: boolean): AclEntry[] {
  const raw = param(c.req, 'aclspec') ?? '';
  if (raw === '') return [];
  if (!ACLSPEC.test(raw))
    throw new HdfsError(
      'IllegalArgumentException',
      `Invalid value for webhdfs parameter "aclspec": Invalid value: "${raw}" does not belong to the domain ${ACLSPEC.source}`,
    );
  return parseAclSpec(raw, withPermission);
}

function withSpec(
  withPermission: boolean,
  run: (c: OpContext, spec: AclEntry[]) => Promise<void>,
): OpHandler {
  return async (c) => {
    await run(c, aclSpecParam(c, withPermission));
    sendEmpty(c.res);
  };
}

export const ACL_GET_OPS: Readonly<Record<string, OpHandler>> = {
  GETACLSTATUS: async (c) => {
    const s = await c.fs.getAclStatus(c.req.path);
    sendJson(c.res, {
      AclStatus: {
        entries: s.entries.map(aclEntryString),
        group: s.group,
        owner: s.owner,
        permission: s.permission.toString(8),
        stickyBit: s.stickyBit,
      },
    });
  },
};

export const ACL_PUT_OPS: Readonly<Record<string, OpHandler>> = {
  SETACL: withSpec(true, (c, spec) => c.fs.setAcl(c.req.path, spec)),
  MODIFYACLENTRIES: withSpec(true, (c, spec) => c.fs.modifyAclEntries(c.req.path, spec)),
  REMOVEACLENTRIES: withSpec(false, (c, spec) => c.fs.removeAclEntries(c.req.path, spec)),
  REMOVEDEFAULTACL: async (c) => {
    await c.fs.removeDefaultAcl(c.req.path);
    sendEmpty(c.res);
  },
  REMOVEACL: async (c) => {
    await c.fs.removeAcl(c.req.path);
    sendEmpty(c.res);
  },
};
