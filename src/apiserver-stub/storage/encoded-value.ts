import type { StoredValue } from './backend.ts';

/**
 * A stored value serialised once per write: the registry encodes it (which
 * also proves it can be encoded before anything is reserved), the file
 * store's log line and etcd's put reuse that text, and the registry then
 * derives the text readers get (metadata plus resourceVersion) from it by
 * splicing, rather than serialising the object a second, third and fourth
 * time. `metaEnd` is the offset just past the metadata object's closing
 * brace, -1 when the value has no metadata object.
 */
export interface EncodedValue {
  readonly text: string;
  readonly metaEnd: number;
}

const encoded = new WeakMap<object, EncodedValue>();

/**
 * encodeValue is JSON.stringify(value), byte for byte, remembered for the
 * value (stored values are immutable once handed to the store).
 */
export function encodeValue(value: StoredValue): EncodedValue {
  const known = encoded.get(value);
  if (known !== undefined) return known;
  let text = '{';
  let metaEnd = -1;
  for (const key of Object.keys(value)) {
    const part = JSON.stringify((value as Record<string, unknown>)[key]);
    // As JSON.stringify: undefined (and functions) leave the key out.
    if (part === undefined) continue;
    text += `${text.length > 1 ? ',' : ''}${JSON.stringify(key)}:${part}`;
    if (key === 'metadata' && part.startsWith('{')) metaEnd = text.length;
  }
  const result = { text: `${text}}`, metaEnd };
  encoded.set(value, result);
  return result;
}

/** encodedText is the remembered text of value, or its serialisation (a value that came from disk or etcd). */
export function encodedText(value: StoredValue): string {
  return encoded.get(value)?.text ?? JSON.stringify(value);
}

/** takeEncoded hands over and forgets what encodeValue remembered (the registry keeps the reader's text instead). */
export function takeEncoded(value: StoredValue): EncodedValue | undefined {
  const known = encoded.get(value);
  if (known !== undefined) encoded.delete(value);
  return known;
}
