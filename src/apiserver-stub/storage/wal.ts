import { open, readFile, truncate, type FileHandle } from 'node:fs/promises';
import type { KeyValue, StoredValue } from './backend.ts';
import { CorruptStoreError } from './errors.ts';
import type { HistoryEntry } from './history.ts';
import { encodedText } from './encoded-value.ts';

/**
 * The write-ahead log of the file store: one JSON record per line,
 * `{"rev":7,"op":"create","key":"/registry/…","value":{…}}` (no value for
 * "delete"). Records are appended in revision order; a batch of them is made
 * durable by one write plus one fdatasync (group commit).
 */
export interface WalRecord {
  readonly rev: number;
  readonly op: 'create' | 'update' | 'delete';
  readonly key: string;
  readonly value?: StoredValue;
}

const OPS = { ADDED: 'create', MODIFIED: 'update', DELETED: 'delete' } as const;

/** encodeRecord renders one applied write as a log line (with its newline). */
export function encodeRecord(entry: HistoryEntry): string {
  const { type, key, value, revision } = entry.event;
  if (type === 'DELETED') return JSON.stringify({ rev: revision, op: 'delete', key } satisfies WalRecord) + '\n';
  // JSON.stringify of the record, with the value's text as the registry already encoded it.
  return `{"rev":${revision},"op":"${OPS[type]}","key":${JSON.stringify(key)},"value":${encodedText(value)}}\n`;
}

/**
 * replayEntry turns a record back into the write it was, given the key's
 * state before it; a record that contradicts that state is corruption.
 */
export function replayEntry(record: WalRecord, prev: KeyValue | undefined, file: string): HistoryEntry {
  const { rev: revision, key } = record;
  if (record.op === 'create' ? prev !== undefined : prev === undefined) {
    throw new CorruptStoreError(file, `record ${revision} ${record.op} ${key} contradicts the replayed state`);
  }
  if (record.op === 'delete') return { event: { type: 'DELETED', key, value: prev!.value, revision }, prev };
  const value = record.value ?? {};
  if (record.op === 'create') return { event: { type: 'ADDED', key, value, revision }, prev };
  return { event: { type: 'MODIFIED', key, value, revision, prevValue: prev!.value }, prev };
}

export interface WalContents {
  readonly records: WalRecord[];
  /** True when a torn last record (a write cut by a crash) was cut off. */
  readonly repaired: boolean;
}

/**
 * readWal parses a log file. A last line without its newline, or one that
 * does not parse, is a write the crash cut short (never acknowledged, since
 * acknowledgement follows fdatasync): with `repairTail` the file is truncated
 * to the last whole record. A bad record anywhere else is CorruptStoreError.
 */
export async function readWal(file: string, repairTail: boolean): Promise<WalContents> {
  const text = await readFile(file, 'utf8');
  const records: WalRecord[] = [];
  let offset = 0;
  while (offset < text.length) {
    const end = text.indexOf('\n', offset);
    const record = end < 0 ? undefined : parseRecord(text.slice(offset, end));
    if (!record) {
      if ((end >= 0 && end + 1 < text.length) || !repairTail) {
        throw new CorruptStoreError(file, `bad record at byte ${Buffer.byteLength(text.slice(0, offset))}`);
      }
      await truncate(file, Buffer.byteLength(text.slice(0, offset)));
      return { records, repaired: true };
    }
    const last = records.at(-1);
    if (last && record.rev <= last.rev) throw new CorruptStoreError(file, `revision ${record.rev} after ${last.rev}`);
    records.push(record);
    offset = end + 1;
  }
  return { records, repaired: false };
}

function parseRecord(line: string): WalRecord | undefined {
  try {
    const r = JSON.parse(line) as Partial<WalRecord>;
    const ok = Number.isSafeInteger(r.rev) && typeof r.key === 'string' && (r.op === 'create' || r.op === 'update' || r.op === 'delete');
    return ok ? (r as WalRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** WalWriter appends batches to one log file; each append resolves once the data is on disk. */
export class WalWriter {
  private readonly handle: FileHandle;

  private constructor(handle: FileHandle) {
    this.handle = handle;
  }

  /** open opens (creating if needed) a log file in append mode. */
  static async open(file: string): Promise<WalWriter> {
    return new WalWriter(await open(file, 'a'));
  }

  /** append writes `text` and fdatasyncs: the group commit. */
  async append(text: string): Promise<void> {
    // appendFile loops until every byte is written (write() may write part).
    await this.handle.appendFile(text);
    await this.handle.datasync();
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
