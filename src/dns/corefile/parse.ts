import { CorefileError } from './errors.ts';

/**
 * The Corefile syntax (CoreDNS's Caddyfile dialect): server blocks whose
 * keys are zones with optional ports, each holding one directive per line
 * with its arguments and an optional `{ ... }` block of further lines.
 * `#` starts a comment, double quotes group a token, `{$VAR}` and `{%VAR%}`
 * are replaced by the environment variable's value. A file with a single
 * server block may leave out that block's braces. This module is pure.
 */

/** Directive is one line of a block: a name, its arguments, and the lines of its own block. */
export interface Directive {
  readonly name: string;
  readonly args: readonly string[];
  readonly block: readonly Directive[];
  /** 1-based line in the Corefile, for messages. */
  readonly line: number;
}

/** ServerKey is one address of a server block: `[dns://]zone[:port]`. */
export interface ServerKey {
  /** Lower case, with the trailing dot (`.` for the root). */
  readonly zone: string;
  readonly port: number;
}

export interface ServerBlock {
  readonly keys: readonly ServerKey[];
  readonly directives: readonly Directive[];
  readonly line: number;
}

interface Token {
  readonly text: string;
  readonly line: number;
  /** Quoted tokens are never braces. */
  readonly quoted: boolean;
}

/** substituteEnv replaces `{$VAR}` and `{%VAR%}` (unset variables become empty, as in CoreDNS). */
export function substituteEnv(text: string, env: NodeJS.ProcessEnv = process.env): string {
  return text.replace(/\{\$([A-Za-z_][A-Za-z0-9_]*)\}|\{%([A-Za-z_][A-Za-z0-9_]*)%\}/g, (_m, a: string | undefined, b: string | undefined) => env[(a ?? b)!] ?? '');
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') line++;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '"') {
      let value = '';
      const start = line;
      for (i++; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) i++;
        if (text[i] === '\n') line++;
        value += text[i];
      }
      if (i >= text.length) throw new CorefileError(start, 'unterminated quoted string');
      i++;
      tokens.push({ text: value, line: start, quoted: true });
    } else {
      let value = '';
      while (i < text.length && !/[\s"]/.test(text[i]!)) value += text[i++];
      tokens.push({ text: value, line, quoted: false });
    }
  }
  return tokens;
}

const isOpen = (t: Token | undefined) => t !== undefined && !t.quoted && t.text === '{';
const isClose = (t: Token | undefined) => t !== undefined && !t.quoted && t.text === '}';

/** parseServerKey reads `[dns://]zone[:port]`; the port defaults to 53. */
export function parseServerKey(text: string, line: number): ServerKey {
  let rest = text.toLowerCase();
  const scheme = /^([a-z0-9+.-]+):\/\//.exec(rest);
  if (scheme) {
    if (scheme[1] !== 'dns') throw new CorefileError(line, `server address ${JSON.stringify(text)}: only dns:// is supported`);
    rest = rest.slice(scheme[0].length);
  }
  let port = 53;
  const m = /^(.*):(\d+)$/.exec(rest);
  if (m) {
    rest = m[1]!;
    port = Number(m[2]);
    if (port > 65535) throw new CorefileError(line, `server address ${JSON.stringify(text)}: port out of range`);
  }
  if (rest === '') rest = '.';
  if (rest.includes('/')) throw new CorefileError(line, `server address ${JSON.stringify(text)}: CIDR zones are not supported, write the in-addr.arpa zone`);
  if (!/^(\.|([a-z0-9_*-]+\.)*[a-z0-9_*-]+\.?)$/.test(rest)) throw new CorefileError(line, `server address ${JSON.stringify(text)}: not a zone`);
  return { zone: rest.endsWith('.') ? rest : `${rest}.`, port };
}

class Parser {
  #i = 0;
  readonly tokens: Token[];

  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  get done(): boolean {
    return this.#i >= this.tokens.length;
  }

  peek(): Token | undefined {
    return this.tokens[this.#i];
  }

  next(): Token {
    return this.tokens[this.#i++]!;
  }

  /** lineTokens takes the tokens on the same line as the next one. */
  lineTokens(): Token[] {
    const first = this.next();
    const out = [first];
    while (!this.done && this.peek()!.line === first.line && !isClose(this.peek())) out.push(this.next());
    return out;
  }

  /** directives reads lines until a closing brace (nested) or the end of the file (top level of a brace-less block). */
  directives(nested: boolean): Directive[] {
    const out: Directive[] = [];
    for (;;) {
      const t = this.peek();
      if (t === undefined) {
        if (nested) throw new CorefileError(this.tokens.at(-1)?.line ?? 1, 'unexpected end of file: missing }');
        return out;
      }
      if (isClose(t)) {
        if (!nested) throw new CorefileError(t.line, 'unexpected }');
        this.next();
        return out;
      }
      const words = this.lineTokens();
      if (isOpen(words[0])) throw new CorefileError(words[0]!.line, 'unexpected {');
      let block: Directive[] = [];
      if (isOpen(words.at(-1))) {
        words.pop();
        block = this.directives(true);
      }
      out.push({ name: words[0]!.text, args: words.slice(1).map((w) => w.text), block, line: words[0]!.line });
    }
  }
}

/**
 * parseCorefile reads a Corefile into server blocks. Env substitution
 * happens first, as in CoreDNS. Throws CorefileError naming the line.
 */
export function parseCorefile(text: string, env: NodeJS.ProcessEnv = process.env): ServerBlock[] {
  const p = new Parser(tokenize(substituteEnv(text, env)));
  const blocks: ServerBlock[] = [];
  while (!p.done) {
    const first = p.peek()!;
    const keys: ServerKey[] = [];
    // Keys are the words of the first line, separated by spaces or commas; the opening brace may follow on the next line.
    while (!p.done && !isOpen(p.peek()) && p.peek()!.line === first.line) {
      const t = p.next();
      for (const part of t.text.split(',').filter((s) => s !== '')) keys.push(parseServerKey(part, t.line));
    }
    if (keys.length === 0) throw new CorefileError(first.line, 'expected a server block address');
    if (isOpen(p.peek())) {
      p.next();
      blocks.push({ keys, directives: p.directives(true), line: first.line });
    } else {
      if (blocks.length > 0) throw new CorefileError(first.line, 'a server block without braces must be the only one');
      const directives = p.directives(false);
      blocks.push({ keys, directives, line: first.line });
    }
  }
  return blocks;
}
