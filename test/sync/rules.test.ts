/**
 * Rule matching against the cases of JuiceFS's pkg/sync/sync_test.go (TestMatchObjects,
 * TestMatchFullPatch, TestParseFilterRule), plus Go path.Match details.
 */
import { describe, expect, it } from 'vitest';
import {
  globMatch,
  matchFullPath,
  matchLeveledPath,
  parseRules,
  type SyncRule,
} from '../../src/sync/rules.js';

type Case = [SyncRule[], string, boolean];
type FullCase = [SyncRule[], string];

/** [rules, key, kept] — kept = matchLeveledPath's result. */
const LEVELED: Case[] = [
  [[{ pattern: 'a*', include: false }], 'a1', false],
  [[{ pattern: 'a*/b*', include: false }], 'a1/b1', false],
  [[{ pattern: '/a*', include: false }], '/a1', false],
  [[{ pattern: '/a', include: false }], '/a1', true],
  [[{ pattern: '/a/b/c', include: false }], '/a1', true],
  [[{ pattern: 'a*/b?', include: false }], 'a1/b1/c2/d1', false],
  [[{ pattern: 'a*/b?/', include: false }], 'a1/', true],
  [[{ pattern: 'a*/b?/c.txt', include: false }], 'a1/b1', true],
  [[{ pattern: 'a*/b?/', include: false }], 'a1/b1/', false],
  [[{ pattern: 'a*/b?/', include: false }], 'a1/b1/c.txt', false],
  [[{ pattern: 'a*/', include: false }], 'a1/b1', false],
  [[{ pattern: 'a*/b*/', include: false }], 'a1/b1/c1/d.txt/', false],
  [[{ pattern: '/a*/b*', include: false }], '/a1/b1/c1/d.txt/', false],
  [[{ pattern: 'a*/b*/c', include: false }], 'a1/b1/c1/d.txt/', true],
  [[{ pattern: 'a', include: false }], 'a/b/c/d/', false],
  [
    [
      { pattern: 'a.go', include: true },
      { pattern: 'pkg', include: false },
    ],
    'a/pkg/c/a.go',
    false,
  ],
  [
    [
      { pattern: 'a', include: false },
      { pattern: 'pkg', include: true },
    ],
    'a/pkg/c/a.go',
    false,
  ],
  [
    [
      { pattern: 'a.go', include: true },
      { pattern: 'pkg', include: false },
    ],
    '',
    true,
  ],
  [
    [
      { pattern: 'a', include: true },
      { pattern: 'b/', include: false },
      { pattern: 'c', include: true },
    ],
    'a/b/c',
    false,
  ],
  [
    [
      { pattern: 'a/', include: true },
      { pattern: 'a', include: false },
    ],
    'a/b',
    true,
  ],
  [[{ pattern: '/***', include: false }], 'a', false],
  [[{ pattern: '/***', include: false }], 'a/b', false],
  [[{ pattern: '/a/***', include: false }], 'a/', false],
  [[{ pattern: '/a/***', include: false }], 'a/b', false],
  [[{ pattern: '/a/***', include: false }], 'a/b/c', false],
  [[{ pattern: '/a/***', include: false }], 'b/a/', true],
  [[{ pattern: 'a/***', include: false }], 'a/', false],
  [[{ pattern: 'a/***', include: false }], 'a/b', false],
  [[{ pattern: 'a/***', include: false }], 'a/b/c', false],
  [[{ pattern: 'a/***', include: false }], 'd/a/b/c', false],
  [[{ pattern: 'a/***', include: false }], 'a', true],
  [[{ pattern: 'a/***', include: false }], 'ba', true],
  [[{ pattern: 'a/***', include: false }], 'ba/', true],
  [[{ pattern: '*/a/***', include: false }], '/a/', false],
  [[{ pattern: '*/a/***', include: false }], 'b/a/', false],
  [[{ pattern: '*/a/***', include: false }], 'b/a/c', false],
  [[{ pattern: '/*/a/***', include: false }], '/b/a/', false],
  [[{ pattern: '/*/a/***', include: false }], '/b/a/c', false],
  [[{ pattern: '/*/a/***', include: false }], 'c/b/a/', true],
  [[{ pattern: 'a/**/b', include: false }], 'a/c/b', false],
  [[{ pattern: 'a/**/b', include: false }], 'a/c/d/b', false],
  [[{ pattern: 'a/**/b', include: false }], 'a/c/d/e/b', false],
  [[{ pattern: '/**/b', include: false }], 'a/c/b', false],
  [[{ pattern: '/**/b', include: false }], 'a/c/d/b/', false],
  [[{ pattern: 'a**/b', include: false }], 'a/c/d/b/', false],
  [[{ pattern: 'a**/b', include: false }], 'a/c/d/ab/', true],
  [[{ pattern: 'a**b', include: false }], 'a/c/d/b/', false],
  [[{ pattern: 'a**b', include: false }], 'b/c/d/b/', true],
  [[{ pattern: 'a?**', include: false }], 'a/a', true],
  [[{ pattern: '**a', include: false }], 'a', false],
  [[{ pattern: 'a**', include: false }], 'a', false],
  [[{ pattern: 'a**a', include: false }], 'a', true],
  [[{ pattern: 'aa**a', include: false }], 'aa', true],
  [[{ pattern: '**/d2/**a', include: false }], '/d2/d3/1a', false],
  [[{ pattern: '**/d2/**a', include: false }], 'd2/d3/1a', false],
  [[{ pattern: 'a/**/a', include: false }], 'a', true],
  [[{ pattern: 'a/**/a', include: false }], 'a/', true],
  [
    [
      { pattern: '**aa**', include: true },
      { pattern: 'a', include: false },
    ],
    'aa/a',
    true,
  ],
];

/** Keys that --match-full-path excludes. */
const FULL_EXCLUDED: FullCase[] = [
  [[{ pattern: 'a', include: false }], 'b/a'],
  [[{ pattern: 'a*', include: false }], 'a1'],
  [[{ pattern: 'a*/b*', include: false }], 'a1/b1'],
  [[{ pattern: '/a*', include: false }], '/a1'],
  [[{ pattern: 'a*/b?/', include: false }], 'a1/b1/'],
  [[{ pattern: 'a/**/b', include: false }], 'a/c/b'],
  [[{ pattern: 'a/**/b', include: false }], 'a/c/d/b'],
  [[{ pattern: 'a/**/b', include: false }], 'a/c/d/e/b'],
  [[{ pattern: '/**/b', include: false }], 'a/c/b'],
  [[{ pattern: 'a**/b', include: false }], 'a/c/d/b'],
  [[{ pattern: 'a**b', include: false }], 'a/c/d/b'],
  [[{ pattern: '**a', include: false }], 'a'],
  [[{ pattern: 'a**', include: false }], 'a'],
  [[{ pattern: '**/d2/**a', include: false }], '/d2/d3/1a'],
  [[{ pattern: '**/d2/**a', include: false }], 'd2/d3/1a'],
];

/** Keys that --match-full-path keeps. */
const FULL_KEPT: FullCase[] = [
  [[{ pattern: '/a', include: false }], '/a1'],
  [[{ pattern: 'a*/b?', include: false }], 'a1/b1/c2/d1'],
  [[{ pattern: '/a/b/c', include: false }], '/a1'],
  [[{ pattern: 'a*/b?/', include: false }], 'a1/'],
  [[{ pattern: 'a*/b?/c.txt', include: false }], 'a1/b1'],
  [[{ pattern: 'a*/b?/', include: false }], 'a1/b1/c.txt'],
  [[{ pattern: 'a*/', include: false }], 'a1/b1'],
  [[{ pattern: 'a*/b*/', include: false }], 'a1/b1/c1/d.txt/'],
  [[{ pattern: '/a*/b*', include: false }], '/a1/b1/c1/d.txt/'],
  [[{ pattern: 'a', include: false }], 'a/b/c/d/'],
  [[{ pattern: 'a*/b*/c', include: false }], 'a1/b1/c1/d.txt/'],
  [[{ pattern: 'a**/b', include: false }], 'a/c/d/ab/'],
  [[{ pattern: 'a**b', include: false }], 'b/c/d/b'],
  [[{ pattern: '/**/b', include: false }], 'a/c/d/b/'],
  [[{ pattern: 'a?**', include: false }], 'a/a'],
  [[{ pattern: 'a**a', include: false }], 'a'],
  [[{ pattern: 'aa**a', include: false }], 'aa'],
  [[{ pattern: 'a/**/a', include: false }], 'a'],
  [[{ pattern: 'a/**/a', include: false }], 'a/'],
  [
    [
      { pattern: '**aa**', include: true },
      { pattern: 'a', include: false },
    ],
    'aa/a',
  ],
];

describe('sync rules (JuiceFS test cases)', () => {
  it.each(LEVELED)('leveled %j %s -> %s', (rules, key, want) => {
    expect(matchLeveledPath(rules, key)).toBe(want);
  });
  it.each(FULL_EXCLUDED)('full path %j excludes %s', (rules, key) => {
    expect(matchFullPath(rules, key)).toBe(false);
  });
  it.each(FULL_KEPT)('full path %j keeps %s', (rules, key) => {
    expect(matchFullPath(rules, key)).toBe(true);
  });

  it('parses rules in command-line order (TestParseFilterRule)', () => {
    const r = (pattern: string, include = false): SyncRule => ({ pattern, include });
    expect(parseRules(['--include', 'a'])).toEqual([r('a', true)]);
    expect(parseRules(['--exclude', 'a', '--include', 'b'])).toEqual([r('a'), r('b', true)]);
    expect(parseRules(['--include', 'a', '--test', 't', '--exclude', 'b'])).toEqual([r('a', true), r('b')]);
    expect(parseRules(['--include=a', '--test', 't', '--exclude'])).toEqual([r('a', true)]);
    expect(parseRules(['--include', 'a', '--test', 't', '--exclude'])).toEqual([r('a', true)]);
    expect(parseRules(['-include=', 'a', '--test', 't', '--exclude=*'])).toEqual([r('*')]);
  });

  it('drops invalid patterns with a warning', () => {
    const warned: string[] = [];
    expect(parseRules(['--exclude', '[a', '--exclude', 'b'], (m) => warned.push(m))).toEqual([
      { pattern: 'b', include: false },
    ]);
    expect(warned).toHaveLength(1);
  });

  it('matches like Go path.Match', () => {
    expect(globMatch('a*', 'abc')).toBe(true);
    expect(globMatch('a*', 'a/b')).toBe(false);
    expect(globMatch('a?c', 'abc')).toBe(true);
    expect(globMatch('a?c', 'a/c')).toBe(false);
    expect(globMatch('[a-c]x', 'bx')).toBe(true);
    expect(globMatch('[^a-c]x', 'bx')).toBe(false);
    expect(globMatch('[^a-c]x', 'dx')).toBe(true);
    expect(globMatch('\\*', '*')).toBe(true);
    expect(globMatch('\\*', 'a')).toBe(false);
    expect(globMatch('a.b', 'axb')).toBe(false);
    expect(globMatch('[', 'a')).toBe(false);
  });
});
