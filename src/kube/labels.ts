import type { LabelSelector } from './types.ts';
import { isQualifiedName, isValidLabelValue } from './names.ts';

/**
 * Label selectors with apimachinery's grammar (`pkg/labels/selector.go`):
 * comma-separated requirements, each `key`, `!key`, `key=v`, `key==v`,
 * `key!=v`, `key in (a,b)`, `key notin (a,b)`, `key>N` or `key<N`.
 */
export type LabelOperator = 'exists' | '!' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';

export interface Requirement {
  readonly key: string;
  readonly operator: LabelOperator;
  readonly values: readonly string[];
}

export type Labels = Readonly<Record<string, string>>;

export class LabelSelectorParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabelSelectorParseError';
  }
}

type Token = { kind: 'id'; text: string } | { kind: 'op'; text: string } | { kind: 'eof' };

const opChars = new Set(['!', '=', '<', '>', '(', ')', ',']);

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (opChars.has(c)) {
      const two = input.slice(i, i + 2);
      if (two === '!=' || two === '==') {
        tokens.push({ kind: 'op', text: two });
        i += 2;
      } else {
        tokens.push({ kind: 'op', text: c });
        i++;
      }
    } else {
      let j = i;
      while (j < input.length && !opChars.has(input[j]!) && !/\s/.test(input[j]!)) j++;
      tokens.push({ kind: 'id', text: input.slice(i, j) });
      i = j;
    }
  }
  tokens.push({ kind: 'eof' });
  return tokens;
}

class Parser {
  private pos = 0;
  private readonly tokens: Token[];

  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private next(): Token {
    return this.tokens[this.pos++]!;
  }

  private isOp(text: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.text === text;
  }

  parse(): Requirement[] {
    const reqs: Requirement[] = [];
    if (this.peek().kind === 'eof') return reqs;
    for (;;) {
      reqs.push(this.requirement());
      const t = this.next();
      if (t.kind === 'eof') return reqs;
      if (t.kind !== 'op' || t.text !== ',') throw new LabelSelectorParseError(`found '${describe(t)}', expected: ',' or 'end of string'`);
    }
  }

  private key(): string {
    const t = this.next();
    if (t.kind !== 'id' || t.text === 'in' || t.text === 'notin') throw new LabelSelectorParseError(`found '${describe(t)}', expected: identifier`);
    const errs = isQualifiedName(t.text);
    if (errs.length > 0) throw new LabelSelectorParseError(`invalid label key "${t.text}": ${errs.join('; ')}`);
    return t.text;
  }

  private value(): string {
    const t = this.peek();
    if (t.kind !== 'id') return '';
    this.pos++;
    const errs = isValidLabelValue(t.text);
    if (errs.length > 0) throw new LabelSelectorParseError(`invalid label value: "${t.text}": ${errs.join('; ')}`);
    return t.text;
  }

  private requirement(): Requirement {
    if (this.isOp('!')) {
      this.pos++;
      return { key: this.key(), operator: '!', values: [] };
    }
    const key = this.key();
    const t = this.peek();
    if (t.kind === 'eof' || (t.kind === 'op' && t.text === ',')) return { key, operator: 'exists', values: [] };
    this.pos++;
    if (t.kind === 'op' && (t.text === '=' || t.text === '==' || t.text === '!=')) {
      return { key, operator: t.text === '!=' ? '!=' : '=', values: [this.value()] };
    }
    if (t.kind === 'op' && (t.text === '>' || t.text === '<')) {
      const v = this.next();
      if (v.kind !== 'id' || !/^-?\d+$/.test(v.text)) throw new LabelSelectorParseError(`for 'Gt', 'Lt' operators, the value must be an integer`);
      return { key, operator: t.text === '>' ? 'gt' : 'lt', values: [v.text] };
    }
    if (t.kind === 'id' && (t.text === 'in' || t.text === 'notin')) return { key, operator: t.text, values: this.valueSet() };
    throw new LabelSelectorParseError(`found '${describe(t)}', expected: in, notin, =, ==, !=, gt, lt`);
  }

  private valueSet(): string[] {
    if (!this.isOp('(')) throw new LabelSelectorParseError(`found '${describe(this.peek())}', expected: '('`);
    this.pos++;
    const values: string[] = [];
    for (;;) {
      values.push(this.value());
      const t = this.next();
      if (t.kind === 'op' && t.text === ')') break;
      if (t.kind !== 'op' || t.text !== ',') throw new LabelSelectorParseError(`found '${describe(t)}', expected: ',', ')' or identifier`);
    }
    return values;
  }
}

function describe(t: Token): string {
  return t.kind === 'eof' ? 'end of string' : t.text;
}

/** parseLabelSelector parses the query-string form; throws LabelSelectorParseError. */
export function parseLabelSelector(input: string): Requirement[] {
  return new Parser(tokenize(input)).parse();
}

function matchesRequirement(req: Requirement, labels: Labels): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = has ? labels[req.key]! : undefined;
  switch (req.operator) {
    case 'exists':
      return has;
    case '!':
      return !has;
    case '=':
      return has && value === req.values[0];
    case '!=':
      return !has || value !== req.values[0];
    case 'in':
      return has && req.values.includes(value!);
    case 'notin':
      return !has || !req.values.includes(value!);
    case 'gt':
    case 'lt': {
      if (!has || !/^-?\d+$/.test(value!)) return false;
      const a = Number(value);
      const b = Number(req.values[0]);
      return req.operator === 'gt' ? a > b : a < b;
    }
  }
}

/** matchesLabels tells whether every requirement holds (an empty selector matches everything). */
export function matchesLabels(reqs: readonly Requirement[], labels: Labels | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => matchesRequirement(r, l));
}

/**
 * fromLabelSelector converts a metav1.LabelSelector (matchLabels and
 * matchExpressions) to requirements; a null selector matches nothing, so
 * callers decide what undefined means.
 */
export function fromLabelSelector(selector: LabelSelector): Requirement[] {
  const reqs: Requirement[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) reqs.push({ key, operator: '=', values: [value] });
  for (const expr of selector.matchExpressions ?? []) {
    const op = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' }[expr.operator];
    if (op === undefined) throw new LabelSelectorParseError(`"${expr.operator}" is not a valid label selector operator`);
    reqs.push({ key: expr.key, operator: op as LabelOperator, values: expr.values ?? [] });
  }
  return reqs;
}

/** formatLabelSelector renders requirements back to the query-string form. */
export function formatLabelSelector(reqs: readonly Requirement[]): string {
  return reqs
    .map((r) => {
      switch (r.operator) {
        case 'exists':
          return r.key;
        case '!':
          return `!${r.key}`;
        case '=':
        case '!=':
          return `${r.key}${r.operator}${r.values[0] ?? ''}`;
        case 'gt':
          return `${r.key}>${r.values[0]}`;
        case 'lt':
          return `${r.key}<${r.values[0]}`;
        default:
          return `${r.key} ${r.operator} (${r.values.join(',')})`;
      }
    })
    .join(',');
}
