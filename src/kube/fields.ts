/**
 * Field selectors (apimachinery `pkg/fields/selector.go`): comma-separated
 * `field=value`, `field==value` or `field!=value`, where `\,`, `\=` and `\\`
 * escape those characters in values.
 */
export interface FieldRequirement {
  readonly field: string;
  readonly operator: '=' | '!=';
  readonly value: string;
}

export class FieldSelectorParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FieldSelectorParseError';
  }
}

function splitTerms(input: string): string[] {
  const terms: string[] = [];
  let current = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c === '\\' && i + 1 < input.length) {
      current += c + input[i + 1];
      i++;
    } else if (c === ',') {
      terms.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  terms.push(current);
  return terms;
}

function unescape(value: string, term: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\') {
      const n = value[i + 1];
      if (n !== '\\' && n !== ',' && n !== '=') throw new FieldSelectorParseError(`invalid field selector: '${term}': invalid escape sequence`);
      out += n;
      i++;
    } else if (c === ',' || c === '=') {
      throw new FieldSelectorParseError(`invalid field selector: '${term}': unescaped '${c}'`);
    } else {
      out += c;
    }
  }
  return out;
}

/** parseFieldSelector parses the query-string form; throws FieldSelectorParseError. */
export function parseFieldSelector(input: string): FieldRequirement[] {
  if (input.trim() === '') return [];
  return splitTerms(input).map((term) => {
    const m = /^([^=!\\]*?)(!=|==|=)(.*)$/s.exec(term);
    if (!m) throw new FieldSelectorParseError(`invalid selector: '${term}'; can't understand '${term}'`);
    const field = m[1]!.trim();
    if (field === '') throw new FieldSelectorParseError(`invalid selector: '${term}'; field name is empty`);
    return { field, operator: m[2] === '!=' ? '!=' : '=', value: unescape(m[3]!, term) };
  });
}

/** matchesFields tells whether each requirement holds; `fieldOf` returns the object's value for a field ('' when absent). */
export function matchesFields(reqs: readonly FieldRequirement[], fieldOf: (field: string) => string): boolean {
  return reqs.every((r) => (fieldOf(r.field) === r.value) === (r.operator === '='));
}
