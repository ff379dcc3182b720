/** Meta.clone on mem, SQLite, Redis (private server) and PostgreSQL (when installed). */
import { memTarget, redisTarget, sqliteTarget, withPg } from '../helpers/engine-targets.js';
import { runCloneConformance } from './clone-suite.js';

runCloneConformance(memTarget());
runCloneConformance(sqliteTarget());
runCloneConformance(redisTarget());
withPg('clone on postgres', (target) => runCloneConformance(target));
