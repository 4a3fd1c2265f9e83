/**
 * Domain names on the wire (RFC 1035 §3.1, §4.1.4). Text form is dot-joined
 * labels without the trailing dot ('' is the root); a '.' or '\' inside a
 * label is escaped with a backslash so that splitting on dots stays exact.
 */
export const MAX_NAME_LENGTH = 255;
const MAX_LABEL_LENGTH = 63;
const MAX_POINTERS = 32;

/**
 * readName decodes the name at `offset`, following compression pointers.
 * `end` is the offset just past the name where it started (after the first
 * pointer, if any). Throws a plain Error on loops, overlong names or labels,
 * reserved label types and truncation.
 */
export function readName(buf: Buffer, offset: number): { text: string; end: number } {
  const labels: string[] = [];
  let off = offset;
  let end = -1;
  let wireLength = 1;
  let jumps = 0;
  for (;;) {
    if (off >= buf.length) throw new Error('name runs past the end of the message');
    const len = buf[off]!;
    if (len === 0) {
      if (end < 0) end = off + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (off + 1 >= buf.length) throw new Error('compression pointer truncated');
      if (++jumps > MAX_POINTERS) throw new Error('compression pointer loop');
      if (end < 0) end = off + 2;
      const target = ((len & 0x3f) << 8) | buf[off + 1]!;
      if (target >= off) throw new Error('compression pointer does not point backwards');
      off = target;
      continue;
    }
    if (kind !== 0) throw new Error('reserved label type');
    if (len > MAX_LABEL_LENGTH) throw new Error('label longer than 63 octets');
    if (off + 1 + len > buf.length) throw new Error('label runs past the end of the message');
    wireLength += len + 1;
    if (wireLength > MAX_NAME_LENGTH) throw new Error('name longer than 255 octets');
    labels.push(escapeLabel(buf.toString('latin1', off + 1, off + 1 + len)));
    off += 1 + len;
  }
  return { text: labels.join('.'), end };
}

function escapeLabel(label: string): string {
  return label.includes('.') || label.includes('\\') ? label.replace(/[.\\]/g, (c) => `\\${c}`) : label;
}

/** splitName splits a text name into unescaped labels. */
export function splitName(name: string): string[] {
  if (name === '') return [];
  if (!name.includes('\\')) return name.split('.');
  const labels: string[] = [];
  let cur = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    if (c === '\\' && i + 1 < name.length) cur += name[++i];
    else if (c === '.') {
      labels.push(cur);
      cur = '';
    } else cur += c;
  }
  labels.push(cur);
  return labels;
}

/**
 * NameCompressor writes names with RFC 1035 compression: each suffix written
 * at an offset below 0x4000 is remembered and later names point at the
 * longest known suffix. Suffixes match case-sensitively, as miekg/dns's
 * compression map does for CoreDNS: a name keeps its own spelling, so an
 * answer owned by `svc1.testns.svc.ClUsTeR.lOcAl` is not respelled by a
 * pointer into a question that wrote `SvC1.TeStNs...`.
 */
export class NameCompressor {
  #offsets = new Map<string, number>();

  /** write encodes `name` at `off` in `buf` and returns the offset after it, or -1 if it does not fit within `limit`. */
  write(buf: Buffer, off: number, name: string, limit: number): number {
    const labels = splitName(name);
    const added: string[] = [];
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.');
      const known = this.#offsets.get(suffix);
      if (known !== undefined) {
        if (off + 2 > limit) return this.#undo(added);
        buf.writeUInt16BE(0xc000 | known, off);
        return off + 2;
      }
      const label = labels[i]!;
      const len = Buffer.byteLength(label, 'latin1');
      if (off + 1 + len > limit) return this.#undo(added);
      if (off < 0x4000) {
        this.#offsets.set(suffix, off);
        added.push(suffix);
      }
      buf[off] = len;
      buf.write(label, off + 1, 'latin1');
      off += 1 + len;
    }
    if (off + 1 > limit) return this.#undo(added);
    buf[off] = 0;
    return off + 1;
  }

  /** forget drops suffixes recorded at or after `off` (used when a record is rolled back). */
  forget(off: number): void {
    for (const [suffix, at] of this.#offsets) if (at >= off) this.#offsets.delete(suffix);
  }

  #undo(added: string[]): number {
    for (const suffix of added) this.#offsets.delete(suffix);
    return -1;
  }
}
