/**
 * Hadoop glob patterns (GlobPattern / globStatus) compiled per path component:
 * `*`, `?`, `[abc]`, `[a-z]`, `[^a]`/`[!a]`, `{a,b}` (nestable, not across '/'), `\x`.
 *
 * Invariants: a pattern never matches across '/'; an invalid pattern is an
 * IllegalArgumentException (HdfsError); plain components are matched literally.
 */
import { HdfsError } from './hdfs-errors.js';

const SPECIAL = /[*?[{\\]/;

export function hasGlob(component: string): boolean {
  return SPECIAL.test(component);
}

/** Compiles one component to an anchored RegExp. */
export function compileGlob(component: string): RegExp {
  let re = '';
  let depth = 0;
  for (let i = 0; i < component.length; i++) {
    const c = component[i]!;
    if (c === '\\') {
      const n = component[++i];
      if (n === undefined)
        throw new HdfsError(
          'IllegalArgumentException',
          `Illegal file pattern: trailing escape in ${component}`,
        );
      re += escapeRe(n);
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '{') {
      re += '(?:';
      depth++;
    } else if (c === '}' && depth > 0) {
      re += ')';
      depth--;
    } else if (c === ',' && depth > 0) re += '|';
    else if (c === '[') {
      const end = component.indexOf(']', i + 2);
      if (end < 0)
        throw new HdfsError('IllegalArgumentException', `Illegal file pattern: unclosed [ in ${component}`);
      let body = component.slice(i + 1, end);
      if (body.startsWith('!')) body = '^' + body.slice(1);
      re += `[${body.replace(/\\/g, '\\\\').replace(/\]/g, '\\]')}]`;
      i = end;
    } else re += escapeRe(c);
  }
  if (depth !== 0)
    throw new HdfsError('IllegalArgumentException', `Illegal file pattern: unclosed { in ${component}`);
  try {
    return new RegExp(`^${re}$`, 's');
  } catch (e) {
    throw new HdfsError('IllegalArgumentException', `Illegal file pattern: ${component}`, { cause: e });
  }
}

function escapeRe(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}
