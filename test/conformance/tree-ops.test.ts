/** Tree operations (rmr, restore, info/summary walks) on mem, SQLite, Redis, PostgreSQL and MySQL (when installed). */
import { memTarget, redisTarget, sqliteTarget, withMysql, withPg } from '../helpers/engine-targets.js';
import { runTreeOpsConformance } from './tree-ops-suite.js';

runTreeOpsConformance(memTarget());
runTreeOpsConformance(sqliteTarget());
runTreeOpsConformance(redisTarget());
withPg('tree ops on postgres', (target) => runTreeOpsConformance(target));
withMysql('tree ops on mysql', (target) => runTreeOpsConformance(target));
