import { apiErrors } from './errors.ts';

/**
 * The deepest nesting of objects and arrays a request body may have. kube's
 * JSON decoder stops at 10,000 levels; here the bound is lower because every
 * write is serialised, cloned and compared by recursive native code, which
 * runs out of stack between 2,000 and 3,000 levels. Real objects stay well
 * under 100 levels.
 */
export const maxNestingDepth = 1000;

/**
 * checkJsonDepth scans JSON text once, before it is parsed, and rejects a
 * document nested deeper than maxDepth (400, as kube's decoder). Brackets
 * inside strings do not count.
 */
export function checkJsonDepth(text: string, maxDepth = maxNestingDepth): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) throw tooDeep(maxDepth);
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
}

/**
 * The deepest YAML document parsed. The YAML library recurses per level and
 * overflows the stack at about 600 levels, and V8 aborts the whole process
 * ("RegExpCompiler Allocation failed") when a regular expression compiles
 * with the stack nearly spent, so such a document must never reach the
 * parser. Real manifests stay under 40 levels.
 */
export const maxYamlDepth = 256;

/**
 * checkYamlDepth over-estimates the nesting of YAML text before it is parsed:
 * per line, the indentation plus leading `- ` items, plus the flow brackets
 * open (outside quotes and comments). Past maxDepth it is a 400.
 */
export function checkYamlDepth(text: string, maxDepth = maxYamlDepth): void {
  let flow = 0;
  let quote = '';
  for (const line of text.split('\n')) {
    let i = 0;
    while (line[i] === ' ' || line[i] === '\t') i++;
    let depth = i;
    while (line[i] === '-' && (line[i + 1] === ' ' || line[i + 1] === undefined)) {
      depth++;
      i += 2;
      while (line[i] === ' ') i++;
    }
    for (; i < line.length; i++) {
      const c = line[i]!;
      if (quote !== '') {
        if (c === '\\' && quote === '"') i++;
        else if (c === quote) quote = '';
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '#' && (i === 0 || line[i - 1] === ' ')) break;
      else if (c === '[' || c === '{') {
        if (depth + ++flow > maxDepth) throw tooDeep(maxDepth);
      } else if (c === ']' || c === '}') flow = Math.max(0, flow - 1);
    }
    if (depth + flow > maxDepth) throw tooDeep(maxDepth);
  }
}

function tooDeep(maxDepth: number) {
  return apiErrors.badRequest(`the request body is nested too deeply: more than ${maxDepth} levels of objects and arrays`);
}
