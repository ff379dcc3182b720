/**
 * The POSIX scenario set: every scenario the FUSE mount (node:fs/promises in a child
 * process, test/scenarios/run-child.ts) and the in-process API must pass. Names are
 * unique and stable; docs/SEMANTICS.md cites them.
 */
import { dataScenarios } from './data-scenarios.js';
import { namespaceScenarios } from './namespace-scenarios.js';
import type { Scenario } from './scenario-fs.js';

export const posixScenarios: readonly Scenario[] = [...dataScenarios, ...namespaceScenarios];

export function scenarioByName(name: string): Scenario | undefined {
  return posixScenarios.find((s) => s.name === name);
}
