import test from 'ava';
import { encodeValue, encodedText, takeEncoded } from '../../../src/apiserver-stub/storage/encoded-value.ts';
import { encodeRecord } from '../../../src/apiserver-stub/storage/wal.ts';
import type { StoredValue } from '../../../src/apiserver-stub/storage/backend.ts';

/** A stored value is serialised once per write: the text must be JSON.stringify's, byte for byte, and know where metadata ends. */
const values: Array<Record<string, unknown>> = [
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', labels: { 'ünï': '"q"' } }, data: { x: '1\n2' } },
  { kind: 'Service', skipped: undefined, fn: () => 1, metadata: {}, spec: { ports: [{ port: 80, name: undefined }] } },
  { metadata: ['not', 'an', 'object'], n: 1.5e300 },
  { spec: { nested: { metadata: { name: 'inner' } } } },
  {},
];

for (const [i, value] of values.entries()) {
  test(`encodeValue ${i}: JSON.stringify's text, metadata's end, remembered once`, (t) => {
    const encoded = encodeValue(value as StoredValue);
    t.is(encoded.text, JSON.stringify(value));
    const meta = value.metadata;
    if (typeof meta === 'object' && meta !== null && !Array.isArray(meta)) {
      const metaText = JSON.stringify(meta);
      t.is(encoded.text.slice(encoded.metaEnd - metaText.length, encoded.metaEnd), metaText);
      t.true(encoded.text.slice(0, encoded.metaEnd - metaText.length).endsWith('"metadata":'));
    } else t.is(encoded.metaEnd, -1);
    t.is(encodeValue(value as StoredValue), encoded);
    t.is(encodedText(value as StoredValue), encoded.text);
    t.is(takeEncoded(value as StoredValue), encoded);
    t.is(takeEncoded(value as StoredValue), undefined);
    t.is(encodedText(value as StoredValue), JSON.stringify(value));
  });
}

test('a log record reuses the encoded value and reads back as JSON.stringify of the record', (t) => {
  const value = values[0] as StoredValue;
  encodeValue(value);
  for (const type of ['ADDED', 'MODIFIED'] as const) {
    const line = encodeRecord({ event: { type, key: '/registry/configmaps/default/"a"', value, revision: 7 }, prev: undefined });
    t.is(line, `${JSON.stringify({ rev: 7, op: type === 'ADDED' ? 'create' : 'update', key: '/registry/configmaps/default/"a"', value })}\n`);
  }
  t.is(encodeRecord({ event: { type: 'DELETED', key: 'k', value, revision: 8 }, prev: undefined }), '{"rev":8,"op":"delete","key":"k"}\n');
});
