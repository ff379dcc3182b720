/** The metadata conformance suite on SQLite (a temp database file per case). */
import { sqliteTarget } from '../helpers/engine-targets.js';
import { runMetaConformance } from './meta-suite.js';

runMetaConformance(sqliteTarget());
