import { COMBINED_LOG_FORMAT, COMMON_LOG_FORMAT, parseLogFormat, type FormatNode, type ResponseClass } from '../log-format.ts';
import { fail, fqdn } from './directive-args.ts';
import type { Directive } from './parse.ts';

/**
 * The `metadata` and `log` directives (CoreDNS plugin/metadata and
 * plugin/log setup.go), read into what the plugin chain needs.
 */

/** MetadataConfig is `metadata [ZONES...]`: the zones whose queries get metadata (FQDNs, lower case). */
export interface MetadataConfig {
  readonly zones: readonly string[];
}

/** LogRule is one name scope of `log [NAMES...] [FORMAT] { class CLASSES... }`. */
export interface LogRule {
  /** FQDN, lower case; `.` for every name. */
  readonly nameScope: string;
  readonly format: readonly FormatNode[];
  /** Response classes logged; empty: all. */
  readonly classes: readonly ResponseClass[];
}

export function parseMetadata(d: Directive, blockZones: readonly string[]): MetadataConfig {
  if (d.block.length > 0) fail(d, 'Wrong argument count or unexpected line ending');
  return { zones: (d.args.length ? d.args : blockZones).map(fqdn) };
}

/**
 * parseLog reads one `log` directive. As CoreDNS: no argument logs every
 * name in the common format; one argument is a name; with more, the last is
 * the format when it holds a `{` (`{common}` and `{combined}` expand).
 */
export function parseLog(d: Directive): LogRule[] {
  let names = d.args.length === 0 ? ['.'] : [...d.args];
  let format = COMMON_LOG_FORMAT;
  if (names.length > 1 && names[names.length - 1]!.includes('{')) {
    format = names.pop()!.replaceAll('{common}', COMMON_LOG_FORMAT).replaceAll('{combined}', COMBINED_LOG_FORMAT);
  }
  const classes = new Set<ResponseClass | 'all'>();
  for (const o of d.block) {
    if (o.name !== 'class') fail(d, `unknown property '${o.name}'`);
    if (o.args.length === 0) fail(d, 'Wrong argument count or unexpected line ending');
    for (const c of o.args) {
      if (c !== 'all' && c !== 'success' && c !== 'denial' && c !== 'error') return fail(d, `invalid Class: ${c}`);
      classes.add(c);
    }
  }
  const listed = classes.has('all') ? [] : ([...classes] as ResponseClass[]);
  const parsed = parseLogFormat(format);
  return names.map((n) => ({ nameScope: fqdn(n), format: parsed, classes: listed }));
}
