/** User and group quotas on mem, SQLite, Redis (private server) and PostgreSQL (when installed). */
import { memTarget, redisTarget, sqliteTarget, withPg } from '../helpers/engine-targets.js';
import { runUgQuotaConformance } from './ug-quota-suite.js';

runUgQuotaConformance(memTarget());
runUgQuotaConformance(sqliteTarget());
runUgQuotaConformance(redisTarget());
withPg('user/group quotas on postgres', (target) => runUgQuotaConformance(target));
