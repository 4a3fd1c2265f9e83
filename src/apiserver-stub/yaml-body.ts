import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { ApiError, apiErrors } from './errors.ts';
import { checkJsonDepth, checkYamlDepth } from './body-shape.ts';
import { yieldIfBusy } from './yield.ts';

/**
 * YAML request bodies are decoded on a worker thread. The YAML library takes
 * about 0.6 s for a 3 MiB manifest on an idle core (and did 44 s before
 * duplicate keys were checked with a set instead of its pairwise scan), and
 * on the main thread that time would block every other request, health
 * probes included (issue 19). The worker hands back JSON text, which the main
 * thread parses in a few milliseconds per megabyte.
 *
 * The worker source is plain JavaScript so it runs the same under tsx and
 * from the esbuild bundle, and loads the checkout's `yaml` package by path.
 */
const yamlPath = createRequire(import.meta.url).resolve('yaml');

// Aliases are followed at most 100 times (kube bounds alias expansion too);
// an alias to an enclosing node makes JSON.stringify meet a cycle.
const workerSource = `
const { parentPort } = require('node:worker_threads');
const Y = require(${JSON.stringify(yamlPath)});
function decode(text) {
  const doc = Y.parseDocument(text, { uniqueKeys: false, maxAliasCount: 100 });
  if (doc.errors.length > 0) throw doc.errors[0];
  Y.visit(doc, { Map(_key, map) {
    const seen = new Set();
    for (const pair of map.items) {
      const key = Y.isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      if (seen.has(key)) throw new Error('Map keys must be unique: ' + JSON.stringify(key));
      seen.add(key);
    }
  } });
  try {
    return JSON.stringify(doc.toJS({ maxAliasCount: 100 })) ?? 'null';
  } catch (error) {
    if (/circular/i.test(error.message)) throw new Error('an alias refers to a node that contains it');
    throw error;
  }
}
parentPort.on('message', ({ id, text, maxBytes }) => {
  try {
    const json = decode(text);
    if (json.length > maxBytes) parentPort.postMessage({ id, tooLarge: json.length });
    else parentPort.postMessage({ id, json });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error && error.message || error) });
  }
});
`;

/** How long the worker is kept once idle: it holds ~10 MB, given back when YAML stops coming. */
const idleMs = 30_000;

type Pending = { resolve: (json: string) => void; reject: (error: Error) => void };

/**
 * The largest object a YAML body may decode to, as kube's 3 MiB limit on an
 * object. Without aliases a body under the 3 MiB limit stays about that size
 * as JSON; aliases can expand it a hundredfold, and such a document is
 * refused in the worker, so its expansion never reaches the main thread.
 */
export const maxDecodedBytes = 3 * 1024 * 1024;

class YamlWorker {
  #worker: Worker | undefined;
  #pending = new Map<number, Pending>();
  #nextId = 0;
  #idleTimer: NodeJS.Timeout | undefined;

  decode(text: string): Promise<string> {
    const worker = this.#start();
    clearTimeout(this.#idleTimer);
    const id = this.#nextId++;
    return new Promise<string>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ id, text, maxBytes: maxDecodedBytes });
    });
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    // A document that still explodes in memory ends this worker, not the apiserver.
    const worker = new Worker(workerSource, { eval: true, execArgv: [], resourceLimits: { maxOldGenerationSizeMb: 512 } });
    worker.unref();
    worker.on('message', (msg: { id: number; json?: string; error?: string; tooLarge?: number }) => {
      const waiting = this.#pending.get(msg.id);
      this.#pending.delete(msg.id);
      if (msg.tooLarge !== undefined) waiting?.reject(apiErrors.tooLarge(`the request body decodes to an object of ${msg.tooLarge} bytes (aliases expanded), larger than the limit of ${maxDecodedBytes} bytes`));
      else if (msg.error !== undefined) waiting?.reject(new Error(msg.error));
      else waiting?.resolve(msg.json!);
      if (this.#pending.size === 0) this.#idleTimer = setTimeout(() => this.#stop(), idleMs).unref();
    });
    worker.on('error', (error) => this.#fail(worker, error));
    worker.on('exit', () => this.#fail(worker, new Error('the YAML decoder stopped')));
    this.#worker = worker;
    return worker;
  }

  #fail(worker: Worker, error: Error): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    for (const waiting of this.#pending.values()) waiting.reject(error);
    this.#pending.clear();
  }

  #stop(): void {
    const worker = this.#worker;
    if (!worker || this.#pending.size > 0) return;
    this.#worker = undefined;
    void worker.terminate();
  }
}

const decoder = new YamlWorker();

/**
 * decodeYaml turns YAML text into a plain JSON tree off the main thread.
 * Nesting deeper than the limits of body-shape.ts, duplicate keys, cyclic
 * aliases and malformed text are 400s whose message starts with `prefix`.
 */
export async function decodeYaml(text: string, prefix = 'the request body is not valid YAML'): Promise<unknown> {
  checkYamlDepth(text);
  let json: string;
  try {
    json = await decoder.decode(text);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw badYaml(prefix, error);
  }
  // Aliases can nest documents into each other past what the text shows.
  await yieldIfBusy();
  checkJsonDepth(json);
  return JSON.parse(json);
}

function badYaml(prefix: string, error: unknown): ApiError {
  return apiErrors.badRequest(`${prefix}: ${(error as Error).message}`);
}
