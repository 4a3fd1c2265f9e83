import { parseDuration } from '../../util/duration.ts';
import { CorefileError } from './errors.ts';
import type { Directive } from './parse.ts';

/** Readers of a directive's arguments with CoreDNS's errors (plugin/NAME: ...), shared by the plugins' parsers. */

export const fail = (d: Directive, message: string): never => {
  throw new CorefileError(d.line, `plugin/${d.name}: ${message}`);
};
export const noArgs = (d: Directive) => d.args.length > 0 && fail(d, `unexpected argument ${JSON.stringify(d.args[0])}`);
export const noBlock = (d: Directive) => d.block.length > 0 && fail(d, `unknown property ${JSON.stringify(d.block[0]!.name)}`);
export const fqdn = (z: string) => (z.toLowerCase().endsWith('.') ? z.toLowerCase() : `${z.toLowerCase()}.`);

export function duration(d: Directive, text: string | undefined): number {
  try {
    return parseDuration(text ?? '');
  } catch {
    return fail(d, `invalid duration ${JSON.stringify(text)}`);
  }
}

export function int(d: Directive, text: string | undefined, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) fail(d, `invalid value ${JSON.stringify(text)}: want an integer within ${min}-${max}`);
  return n;
}

export function address(d: Directive, text: string | undefined, fallback: string): string {
  const value = (text ?? fallback).replace(/^localhost:/, '127.0.0.1:');
  if (!/^(\[[0-9a-f:.]+\]|[0-9.]*):\d+$/i.test(value)) fail(d, `invalid address ${JSON.stringify(text)}: want [host]:port`);
  return value;
}

/** flag reads an option that takes no argument (CoreDNS: c.ArgErr otherwise). */
export function flag(d: Directive, args: readonly string[]): true {
  if (args.length > 0) fail(d, `Wrong argument count or unexpected line ending after ${JSON.stringify(args[0])}`);
  return true;
}
