import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * FakeApiserver is a small stateful stand-in for the apiserver's list/watch
 * surface, for unit tests of the client and informer: objects per resource
 * path, one revision counter, an event history that `compact()` truncates
 * (so watches from before it get a 410 ERROR event), paginated lists, and
 * `cutConnections()` to break open watches. Selectors are not implemented.
 */
export class FakeApiserver {
  readonly objects = new Map<string, Map<string, Record<string, any>>>();
  readonly requests: string[] = [];
  /** When set, watches end at once with no event (a misbehaving server or proxy). */
  endWatchesAtOnce = false;
  /** When set, every request gets this status with a Status body. */
  failWith: { code: number; reason: string; message: string } | undefined;
  #rv = 1;
  #history: Array<{ rv: number; collection: string; type: string; object: Record<string, any> }> = [];
  #compactedAt = 0;
  #watchers = new Set<{ collection: string; res: ServerResponse }>();
  #sockets = new Set<Socket>();
  #server: Server;

  constructor() {
    this.#server = createServer((req, res) => this.#handle(req, res));
    this.#server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.cutConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  /** upsert stores an object under a collection path such as `/api/v1/services` and notifies watchers. */
  upsert(collection: string, obj: Record<string, any>): void {
    const items = this.#collection(collection);
    const key = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const type = items.has(key) ? 'MODIFIED' : 'ADDED';
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.#rv) } };
    items.set(key, stored);
    this.#emit(collection, type, stored);
  }

  remove(collection: string, namespace: string, name: string): void {
    const items = this.#collection(collection);
    const key = `${namespace}/${name}`;
    const old = items.get(key);
    if (!old) return;
    items.delete(key);
    this.#emit(collection, 'DELETED', { ...old, metadata: { ...old.metadata, resourceVersion: String(++this.#rv) } });
  }

  /** compact drops the event history: watches from an older resourceVersion get 410. */
  compact(): void {
    this.#compactedAt = this.#rv;
    this.#history = [];
  }

  /** cutConnections destroys every open socket (watches and idle keep-alive connections). */
  cutConnections(): void {
    for (const s of this.#sockets) s.destroy();
    this.#watchers.clear();
  }

  /** freeze stops writing to open watches while keeping their connections (a half-open peer). */
  freeze(): void {
    this.#watchers.clear();
  }

  bookmark(collection: string): void {
    for (const w of this.#watchers) if (w.collection === collection) w.res.write(JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(this.#rv) } } }) + '\n');
  }

  #collection(path: string): Map<string, Record<string, any>> {
    let c = this.objects.get(path);
    if (!c) this.objects.set(path, (c = new Map()));
    return c;
  }

  #emit(collection: string, type: string, object: Record<string, any>): void {
    this.#history.push({ rv: this.#rv, collection, type, object });
    for (const w of this.#watchers) if (w.collection === collection) w.res.write(JSON.stringify({ type, object }) + '\n');
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    if (this.failWith) return this.#status(res, this.failWith.code, this.failWith.reason, this.failWith.message);
    const collection = url.pathname;
    const items = [...this.#collection(collection).values()];
    if (url.searchParams.get('watch') === '1') return this.#watch(collection, Number(url.searchParams.get('resourceVersion') ?? '0'), res);
    const limit = Number(url.searchParams.get('limit') ?? '0');
    const start = Number(url.searchParams.get('continue') ?? '0');
    const page = limit > 0 ? items.slice(start, start + limit) : items.slice(start);
    const next = limit > 0 && start + limit < items.length ? String(start + limit) : undefined;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'List', metadata: { resourceVersion: String(this.#rv), continue: next }, items: page }));
  }

  #watch(collection: string, from: number, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    if (this.endWatchesAtOnce) return void res.end();
    if (from < this.#compactedAt) {
      res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', status: 'Failure', reason: 'Expired', code: 410, message: `too old resource version: ${from} (${this.#compactedAt})` } }) + '\n');
      return;
    }
    for (const e of this.#history) if (e.collection === collection && e.rv > from) res.write(JSON.stringify({ type: e.type, object: e.object }) + '\n');
    const w = { collection, res };
    this.#watchers.add(w);
    res.on('close', () => this.#watchers.delete(w));
  }

  #status(res: ServerResponse, code: number, reason: string, message: string): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code }));
  }
}
