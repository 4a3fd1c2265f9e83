import type { Readable } from 'node:stream';
import type { Status } from './errors.ts';

/** WatchEvent is one line of a watch stream. ERROR events carry a Status. */
export type WatchEvent<T> =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly object: T }
  | { readonly type: 'BOOKMARK'; readonly object: { metadata?: { resourceVersion?: string; annotations?: Record<string, string> } } }
  | { readonly type: 'ERROR'; readonly object: Status };

const TYPES = new Set(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

/**
 * readWatchEvents splits a watch body into events, one JSON object per line
 * (the apiserver's framing). A line that is not a well-formed event throws:
 * unlike client-node we do not drop it silently, because a lost event would
 * leave the cache wrong until the next relist.
 */
export async function* readWatchEvents<T>(body: Readable): AsyncGenerator<WatchEvent<T>> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of body as AsyncIterable<Buffer>) {
    pending += decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n', start)) {
      const line = pending.slice(start, nl).trim();
      start = nl + 1;
      if (line !== '') yield parseEvent<T>(line);
    }
    pending = pending.slice(start);
  }
  const last = (pending + decoder.decode()).trim();
  if (last !== '') yield parseEvent<T>(last);
}

function parseEvent<T>(line: string): WatchEvent<T> {
  const event = JSON.parse(line) as { type?: unknown; object?: unknown };
  if (typeof event !== 'object' || event === null || typeof event.type !== 'string' || !TYPES.has(event.type) || typeof event.object !== 'object' || event.object === null) {
    throw new Error(`malformed watch event: ${line.slice(0, 120)}`);
  }
  return event as WatchEvent<T>;
}
