/**
 * Include/exclude rules of `tjfs sync` (JuiceFS pkg/sync: parseIncludeRules, matchLeveledPath,
 * matchFullPath), rsync-style.
 *
 * Design: rules keep the order they had on the command line (commander groups repeated flags
 * per name, so they are read from argv as JuiceFS reads os.Args). A key is tested level by
 * level (`a`, `a/b`, `a/b/c`): at each level the first matching rule decides, an exclude drops
 * the key, an include moves on to the next level; no match at any level keeps it. With
 * --match-full-path only the whole key is tested. Patterns: `*` and `?` never cross `/`,
 * `**` does, a trailing `***` matches a directory and everything under it, a trailing `/`
 * only directories (keys ending with `/`), a leading `/` anchors at the root.
 * Invariants: an invalid pattern (bad class) is dropped with a warning, as JuiceFS does.
 */

export interface SyncRule {
  pattern: string;
  include: boolean;
}

/** Go's path.Match as a regular expression; undefined when the pattern is malformed. */
function compileGlob(p: string): RegExp | undefined {
  let re = '^';
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      i++;
      if (i >= p.length) return undefined;
      re += escapeRe(p[i] as string);
    } else if (c === '[') {
      let j = i + 1;
      let cls = '[';
      if (p[j] === '^') {
        cls += '^';
        j++;
      }
      let n = 0;
      while (j < p.length && (p[j] !== ']' || n === 0)) {
        const d = p[j] as string;
        if (d === '\\') {
          j++;
          if (j >= p.length) return undefined;
          cls += escapeRe(p[j] as string);
        } else if (d === '-' && n > 0 && p[j + 1] !== ']') cls += '-';
        else cls += escapeRe(d);
        n++;
        j++;
      }
      if (j >= p.length || n === 0) return undefined;
      re += cls + ']';
      i = j;
    } else re += escapeRe(c);
  }
  try {
    return new RegExp(re + '$', 's');
  } catch {
    return undefined;
  }
}

function escapeRe(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}

const globs = new Map<string, RegExp | undefined>();

/** path.Match(pattern, name): false for a malformed pattern. */
export function globMatch(pattern: string, name: string): boolean {
  let re = globs.get(pattern);
  if (re === undefined && !globs.has(pattern)) {
    re = compileGlob(pattern);
    if (globs.size > 1000) globs.clear();
    globs.set(pattern, re);
  }
  return re !== undefined && re.test(name);
}

export function isValidPattern(p: string): boolean {
  return compileGlob(p) !== undefined;
}

function matchTwoStar(p: string, s: string[]): boolean {
  if (s.length === 0) return p === '*';
  const idx = p.indexOf('**');
  if (idx === -1) return globMatch(p, s.join('/'));
  if (!globMatch(p.slice(0, idx + 1), s[0] as string)) return false;
  for (let i = 0; i <= s.length; i++) {
    const tp = i === 0 ? p.slice(0, idx) + p.slice(idx + 1) : p.slice(idx + 1);
    if (matchTwoStar(tp, s.slice(i))) return true;
  }
  return false;
}

function matchPrefix(p: string[], s: string[]): boolean {
  if (p.length === 0 || s.length === 0) return p.length === s.length;
  const first = p[0] as string;
  if (first === '***') return true;
  if (first.includes('**')) {
    for (let i = 1; i <= s.length; i++)
      if (matchTwoStar(first, s.slice(0, i)) && matchPrefix(p.slice(1), s.slice(i))) return true;
    return false;
  }
  return globMatch(first, s[0] as string) && matchPrefix(p.slice(1), s.slice(1));
}

function matchSuffix(p: string[], s: string[]): boolean {
  if (p.length === 0) return true;
  const last = p[p.length - 1] as string;
  if (s.length === 0) return p.length === 1 && (last === '***' || last === '**');
  const prefix = p.slice(0, -1);
  const n = s.length;
  if (last === '***') {
    for (let i = 0; i < n; i++) if (matchSuffix(prefix, s.slice(0, i))) return true;
    return false;
  }
  if (last.includes('**')) {
    for (let i = 0; i < n; i++)
      if (matchTwoStar(last, s.slice(i)) && matchSuffix(prefix, s.slice(0, i))) return true;
    return false;
  }
  return globMatch(last, s[n - 1] as string) && matchSuffix(prefix, s.slice(0, n - 1));
}

function ruleMatches(pattern: string, ps: string[]): boolean {
  let p = pattern.split('/');
  if (p[0] === '') {
    if (ps[0] !== '') p = p.slice(1);
    return matchPrefix(p, ps);
  }
  return matchSuffix(p, ps);
}

/** --match-full-path: the whole key against each rule; first match decides. */
export function matchFullPath(rules: readonly SyncRule[], key: string): boolean {
  const ps = key.split('/');
  for (const r of rules) {
    if (ruleMatches(r.pattern, ps)) {
      if (r.include) break;
      return false;
    }
  }
  return true;
}

/** Default: every level of the key, first matching rule per level decides. */
export function matchLeveledPath(rules: readonly SyncRule[], key: string): boolean {
  const parts = key.split('/');
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] === '') continue;
    for (const r of rules) {
      let ps = parts.slice(0, i + 1);
      const p = r.pattern.split('/');
      const lastP = p[p.length - 1];
      if (i < parts.length - 1 && (lastP === '' || lastP === '***')) ps = [...ps, ''];
      if (ruleMatches(r.pattern, ps)) {
        if (r.include) break;
        return false;
      }
    }
  }
  return true;
}

/**
 * Rules in command-line order from raw argv (`--include X`, `--exclude=X`, single dash too).
 * `warn` receives invalid patterns, which are skipped.
 */
export function parseRules(
  argv: readonly string[],
  warn: (msg: string) => void = () => undefined,
): SyncRule[] {
  const rules: SyncRule[] = [];
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i] as string;
    if (a === '--') break;
    if (a.startsWith('--')) a = a.slice(1);
    if (i < argv.length - 1 && (a === '-include' || a === '-exclude')) {
      const pat = argv[i + 1] as string;
      if (!isValidPattern(pat)) warn(`ignore invalid pattern: "${a}" "${pat}"`);
      else rules.push({ pattern: pat, include: a === '-include' });
      i++;
    } else if (a.startsWith('-include=') || a.startsWith('-exclude=')) {
      const s = a.split('=');
      if (s.length === 2 && s[1] !== '') {
        if (!isValidPattern(s[1] as string)) warn(`ignore invalid pattern: "${a}"`);
        else rules.push({ pattern: s[1] as string, include: s[0] === '-include' });
      }
    }
  }
  return rules;
}
