/** POSIX ACLs on mem, SQLite, Redis (private server) and PostgreSQL (when installed). */
import { memTarget, redisTarget, sqliteTarget, withPg } from '../helpers/engine-targets.js';
import { runAclConformance } from './acl-suite.js';

runAclConformance(memTarget());
runAclConformance(sqliteTarget());
runAclConformance(redisTarget());
withPg('POSIX ACLs on postgres', (target) => runAclConformance(target));
