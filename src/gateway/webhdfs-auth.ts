/**
 * Caller identity for WebHDFS requests (docs/WEBHDFS.md §1.2): the optional shared token, then
 * `user.name` (or the static default user), then `doas` for superusers, mapped to
 * uid/gid/gids through one UserDb (a users map and the local passwd/group files).
 *
 * Invariants: token comparison is constant-time and leaks neither content nor length (the
 * SHA-256 digests of both sides are compared); an unknown user is either rejected with a
 * clear SecurityException (403, never 401: Java reads no body on 401) or mapped to
 * `nobody` (65534), per configuration; `doas` by a non-superuser is an
 * AuthorizationException.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { HdfsError } from '../api/hdfs-errors.js';
import type { UserDb } from '../api/users.js';
import type { Identity } from '../api/volume.js';
import { param, type WebHdfsRequest } from './webhdfs-request.js';

export interface AuthOptions {
  users: UserDb;
  /** Shared secret: required as `delegation=<token>` or `Authorization: Bearer <token>`. */
  token?: string;
  /** User when a request names none (Hadoop's static web user). */
  defaultUser: string;
  unknownUser: 'reject' | 'nobody';
  /** Users allowed to impersonate with `doas` (default: root). */
  superusers: readonly string[];
}

export interface Caller {
  user: string;
  identity: Identity;
}

const NOBODY = 65534;

/** Constant-time equality over fixed-size digests: no early exit on a length difference. */
export function sameSecret(a: string, b: string): boolean {
  const x = createHash('sha256').update(a, 'utf8').digest();
  const y = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(x, y);
}

function presentedToken(req: WebHdfsRequest, headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string' && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  return param(req, 'delegation');
}

function identityOf(name: string, opts: AuthOptions): Identity {
  const u = opts.users.user(name);
  if (u) return { uid: u.uid, gid: u.gid, gids: u.gids, umask: 0 };
  if (opts.unknownUser === 'nobody') return { uid: NOBODY, gid: NOBODY, gids: [NOBODY], umask: 0 };
  throw new HdfsError(
    'SecurityException',
    `Unknown user '${name}': add it to the gateway's --users-map or to /etc/passwd`,
  );
}

export function authenticate(req: WebHdfsRequest, headers: IncomingHttpHeaders, opts: AuthOptions): Caller {
  if (opts.token !== undefined) {
    const t = presentedToken(req, headers);
    if (t === undefined || !sameSecret(t, opts.token)) {
      throw new HdfsError(
        'SecurityException',
        'Authentication required: pass the gateway token as delegation=<token> or Authorization: Bearer <token>',
      );
    }
  }
  const real = param(req, 'user.name') ?? opts.defaultUser;
  const doas = param(req, 'doas');
  if (doas !== undefined && doas !== real) {
    if (!opts.superusers.includes(real)) {
      throw new HdfsError('AuthorizationException', `User: ${real} is not allowed to impersonate ${doas}`);
    }
    return { user: doas, identity: identityOf(doas, opts) };
  }
  return { user: real, identity: identityOf(real, opts) };
}
