import { Optional, type Environment } from '@marcbachmann/cel-js';
import { isIP } from 'node:net';
import { charge } from './cel-meter.ts';
import { isDNS1035Label, isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidLabelValue } from '../../kube/names.ts';

/**
 * The cheap part of kube's CEL library (k8s.io/apiserver/pkg/cel/library)
 * for CRD rules: lists (isSorted, sum, min, max, indexOf, lastIndexOf),
 * strings (charAt, replace, reverse), regex (find, findAll), isIP and
 * isCIDR, and format (`format.dns1123Label().validate(s)`, `format.named(n)`).
 * Not provided: url, quantity, ip(), cidr(), semver, authz.
 */
type Any = any; // cel-js passes runtime values through untyped

const compare = (a: Any, b: Any): number => (a < b ? -1 : a > b ? 1 : 0);

function sum(list: Any[]): Any {
  if (list.length === 0) return 0n;
  if (!list.every((v) => typeof v === 'number' || typeof v === 'bigint')) throw new Error('sum of a list that is not of numbers');
  // Ints are bigints, doubles numbers: a list mixing them throws here, as cel-go has no int + double.
  return list.reduce((a: Any, b: Any) => a + b);
}

function extreme(list: Any[], sign: number): Any {
  if (list.length === 0) throw new Error('min/max of an empty list');
  return list.reduce((a, b) => (compare(b, a) * sign > 0 ? b : a));
}

function indexIn(list: Any[], v: Any, last: boolean): bigint {
  charge(list.length);
  const same = (x: Any): boolean => x === v || JSON.stringify(x, big) === JSON.stringify(v, big);
  return BigInt(last ? list.findLastIndex(same) : list.findIndex(same));
}

const big = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? `${v}n` : v);

export function kubeLibrary(env: Environment): Environment {
  return formatLibrary(env)
    .registerFunction('list.isSorted(): bool', (l: Any[]) => l.every((v, i) => i === 0 || compare(l[i - 1], v) <= 0))
    .registerFunction('list.sum(): dyn', sum)
    .registerFunction('list.min(): dyn', (l: Any[]) => extreme(l, -1))
    .registerFunction('list.max(): dyn', (l: Any[]) => extreme(l, 1))
    .registerFunction('list.indexOf(dyn): int', (l: Any[], v: Any) => indexIn(l, v, false))
    .registerFunction('list.lastIndexOf(dyn): int', (l: Any[], v: Any) => indexIn(l, v, true))
    .registerFunction('string.charAt(int): string', (s: string, i: bigint) => {
      if (i < 0n || i > BigInt(s.length)) throw new Error(`index out of range: ${i}`);
      return s.charAt(Number(i));
    })
    .registerFunction('string.replace(string, string): string', (s: string, a: string, b: string) => replaceN(s, a, b, -1))
    .registerFunction('string.replace(string, string, int): string', (s: string, a: string, b: string, n: bigint) => replaceN(s, a, b, Number(n)))
    .registerFunction('isIP(string): bool', isIPAddress)
    .registerFunction('isCIDR(string): bool', isCIDR)
    .registerFunction('string.reverse(): string', (s: string) => [...s].reverse().join(''))
    .registerFunction('string.find(string): string', (s: string, re: string) => new RegExp(re).exec(s)?.[0] ?? '')
    .registerFunction('string.findAll(string): list<string>', (s: string, re: string) => [...s.matchAll(new RegExp(re, 'g'))].map((m) => m[0]));
}

/** isIPAddress is kube's isIP: an IPv4 or IPv6 address without zone, and no IPv4-mapped IPv6 form. */
function isIPAddress(s: string): boolean {
  return isIP(s) !== 0 && !s.includes('%') && !(s.includes(':') && s.includes('.'));
}

/** isCIDR is kube's isCIDR: an address and a prefix length in its family's range. */
function isCIDR(s: string): boolean {
  const [address, prefix, extra] = s.split('/');
  if (extra !== undefined || prefix === undefined || !/^(0|[1-9]\d*)$/.test(prefix) || !isIPAddress(address!)) return false;
  return Number(prefix) <= (isIP(address!) === 4 ? 32 : 128);
}

/** replaceN replaces the first n occurrences of a (all if n < 0), charging the meter for the string it builds first. */
function replaceN(s: string, a: string, b: string, n: number): string {
  const parts = s.split(a);
  const count = n < 0 ? parts.length - 1 : Math.min(n, parts.length - 1);
  charge((s.length + count * Math.max(0, b.length - a.length)) >> 6);
  if (n < 0) return parts.join(b);
  if (parts.length - 1 <= n) return parts.join(b);
  return parts.slice(0, n + 1).join(b) + a + parts.slice(n + 1).join(a);
}

/** The `format` constant and its formats: validate gives none for a valid string, else its errors. */
class FormatLibrary {}
class Format {
  readonly check: (s: string) => string[];
  constructor(check: (s: string) => string[]) {
    this.check = check;
  }
}

/** asPrefix validates a generateName-style prefix: a trailing dash is allowed (kube's maskTrailingDash). */
const asPrefix = (check: (s: string) => string[]) => (s: string): string[] => check(s.endsWith('-') ? `${s.slice(0, -1)}a` : s);
const matching = (re: RegExp, message: string) => (s: string): string[] => (re.test(s) ? [] : [message]);

const formats: Record<string, (s: string) => string[]> = {
  dns1123Label: isDNS1123Label,
  dns1123Subdomain: isDNS1123Subdomain,
  dns1035Label: isDNS1035Label,
  qualifiedName: isQualifiedName,
  dns1123LabelPrefix: asPrefix(isDNS1123Label),
  dns1123SubdomainPrefix: asPrefix(isDNS1123Subdomain),
  dns1035LabelPrefix: asPrefix(isDNS1035Label),
  labelValue: isValidLabelValue,
  uri: (s) => (/^([a-zA-Z][a-zA-Z0-9+.-]*:|\/)/.test(s) && URL.canParse(s, 'http://x') ? [] : ['invalid URI']),
  uuid: matching(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'does not match the UUID format'),
  byte: matching(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'invalid base64'),
  date: matching(/^\d{4}-\d{2}-\d{2}$/, 'invalid date'),
  datetime: (s) => (/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)) ? [] : ['invalid datetime']),
};

function formatLibrary(env: Environment): Environment {
  env.registerType('FormatLibrary', FormatLibrary).registerType('Format', Format).registerConstant('format', 'FormatLibrary', new FormatLibrary());
  for (const [name, check] of Object.entries(formats)) env.registerFunction(`FormatLibrary.${name}(): Format`, () => new Format(check));
  return env
    .registerFunction('FormatLibrary.named(string): optional<Format>', (_l: FormatLibrary, name: string) => (Object.hasOwn(formats, name) ? Optional.of(new Format(formats[name]!)) : Optional.none()))
    .registerFunction('Format.validate(string): optional<list<string>>', (f: Format, s: string) => {
      const errors = f.check(s);
      return errors.length > 0 ? Optional.of(errors) : Optional.none();
    });
}
