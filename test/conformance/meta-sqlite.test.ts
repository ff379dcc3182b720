/** The metadata conformance suite on SQLite (a temp database file per case). */
import { sqliteTarget } from '../helpers/engine-targets.js';
import { runBoundedWork } from './meta-bounded.js';
import { runMetaConformance } from './meta-suite.js';

const target = sqliteTarget();
runMetaConformance(target);
runBoundedWork(target);
