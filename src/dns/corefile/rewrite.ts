import type { NameRewrite } from './plugins.ts';

/**
 * `rewrite name`: the question's name is replaced before the query is
 * answered, and the response gets the client's name back (question, and
 * answer names the rule produced, as CoreDNS's `answer auto` does).
 * Names here are lower case with the trailing dot.
 */

/** Rewritten is one applied rule: the new name and the function that maps response names back. */
export interface Rewritten {
  readonly name: string;
  readonly revert: (name: string) => string;
}

const dotted = (s: string) => (s.endsWith('.') ? s : `${s}.`);

/** expandGroups fills `{1}`-style references (CoreDNS's regex replacement syntax) from a match. */
function expandGroups(template: string, m: RegExpExecArray): string {
  return template.replace(/\{(\d+)\}/g, (_x, n: string) => m[Number(n)] ?? '');
}

function apply(rule: NameRewrite, name: string): string | undefined {
  switch (rule.match) {
    case 'exact':
      return name === dotted(rule.from) ? dotted(rule.to) : undefined;
    case 'prefix':
      return name.startsWith(rule.from) ? rule.to + name.slice(rule.from.length) : undefined;
    case 'suffix':
      return name.endsWith(rule.from) ? name.slice(0, name.length - rule.from.length) + rule.to : undefined;
    case 'substring':
      return name.includes(rule.from) ? name.replace(rule.from, rule.to) : undefined;
    case 'regex': {
      const m = new RegExp(rule.from).exec(name);
      return m ? dotted(expandGroups(rule.to, m)) : undefined;
    }
  }
}

/** reverseOf maps a response name back through `rule`; names the rule did not produce stay. */
function reverseOf(rule: NameRewrite, original: string, rewritten: string): (name: string) => string {
  return (name) => {
    const n = dotted(name.toLowerCase());
    let back: string | undefined;
    if (n === rewritten) back = original;
    else if (rule.match === 'suffix' && n.endsWith(rule.to)) back = n.slice(0, n.length - rule.to.length) + rule.from;
    else if (rule.match === 'prefix' && n.startsWith(rule.to)) back = rule.from + n.slice(rule.to.length);
    else if (rule.match === 'substring' && n.includes(rule.to)) back = n.replace(rule.to, rule.from);
    return back === undefined ? name : back.replace(/\.$/, '');
  };
}

/** rewriteName applies the first matching rule to `name` (lower case, trailing dot), or returns undefined. */
export function rewriteName(rules: readonly NameRewrite[], name: string): Rewritten | undefined {
  for (const rule of rules) {
    const to = apply(rule, name);
    if (to !== undefined && to !== name) return { name: to, revert: reverseOf(rule, name, to) };
  }
  return undefined;
}
