import { jsonSize } from './json-size.ts';
import { PatchError, PatchLimitError, clone, deepEqual, isObject, setMember, type Json } from './patch-errors.ts';

/** JSON Patch (RFC 6902) over JSON Pointer paths (RFC 6901). */
interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer "${pointer}": must start with '/'`);
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(token: string, length: number, forInsert: boolean): number {
  if (forInsert && token === '-') return length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new PatchError(`invalid array index "${token}"`);
  const i = Number(token);
  if (i > length || (!forInsert && i === length)) throw new PatchError(`array index ${i} out of bounds`);
  return i;
}

/** parent walks to the container holding the last token. */
function parent(doc: Json, tokens: string[], path: string): Json {
  let node = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[arrayIndex(token, node.length, false)]!;
    else if (isObject(node) && Object.hasOwn(node, token)) node = node[token]!;
    else throw new PatchError(`path "${path}" does not exist`);
  }
  return node;
}

function get(doc: Json, path: string): Json {
  let node = doc;
  for (const token of parsePointer(path)) {
    if (Array.isArray(node)) node = node[arrayIndex(token, node.length, false)]!;
    else if (isObject(node) && Object.hasOwn(node, token)) node = node[token]!;
    else throw new PatchError(`path "${path}" does not exist`);
  }
  return node;
}

function add(doc: Json, path: string, value: Json): Json {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  const container = parent(doc, tokens, path);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(container)) container.splice(arrayIndex(last, container.length, true), 0, value);
  else if (isObject(container)) setMember(container, last, value);
  else throw new PatchError(`path "${path}": parent is not a container`);
  return doc;
}

function remove(doc: Json, path: string): Json {
  const tokens = parsePointer(path);
  if (tokens.length === 0) throw new PatchError('cannot remove the whole document');
  const container = parent(doc, tokens, path);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(container)) container.splice(arrayIndex(last, container.length, false), 1);
  else if (isObject(container) && Object.hasOwn(container, last)) delete container[last];
  else throw new PatchError(`path "${path}" does not exist`);
  return doc;
}

function operation(raw: unknown): Operation {
  if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') throw new PatchError('each operation needs string "op" and "path"');
  return raw as unknown as Operation;
}

function needValue(op: Operation): Json {
  if (!('value' in op)) throw new PatchError(`operation "${op.op}" needs "value"`);
  return clone(op.value!);
}

/**
 * The bounds kube-apiserver puts on a JSON patch (CVE-2019-1002100: a few
 * `copy` operations of a value into itself grow the object exponentially):
 * the operation count (`maxJSONPatchOperations`), the bytes all `copy`
 * operations may duplicate (`JSONPatchMaxCopyBytes`), and the object size,
 * tracked as each operation applies so a bomb stops at the op that crosses it.
 */
export interface JsonPatchLimits {
  readonly maxOperations: number;
  readonly maxCopyBytes: number;
  readonly maxObjectBytes: number;
}

export const defaultJsonPatchLimits: JsonPatchLimits = { maxOperations: 10_000, maxCopyBytes: 3 * 1024 * 1024, maxObjectBytes: 3 * 1024 * 1024 };

/** SizeTracker keeps a running estimate of the document's size as operations add and remove values. */
class SizeTracker {
  private size: number;
  private copied = 0;
  private readonly limits: JsonPatchLimits;

  constructor(doc: Json, limits: JsonPatchLimits) {
    this.limits = limits;
    this.size = jsonSize(doc, limits.maxObjectBytes);
    this.check();
  }

  added(value: Json): void {
    this.size += jsonSize(value, this.limits.maxObjectBytes);
    this.check();
  }

  removed(value: Json): void {
    this.size -= jsonSize(value);
  }

  copiedValue(value: Json): void {
    const bytes = jsonSize(value, this.limits.maxCopyBytes - this.copied);
    this.copied += bytes;
    if (this.copied > this.limits.maxCopyBytes) throw new PatchLimitError(`the copy operations of the patch duplicate more than the limit of ${this.limits.maxCopyBytes} bytes`);
    this.size += bytes;
    this.check();
  }

  private check(): void {
    if (this.size > this.limits.maxObjectBytes) throw new PatchLimitError(`the patched object is larger than the limit of ${this.limits.maxObjectBytes} bytes`);
  }
}

/** applyJsonPatch applies the operations in order to a copy of doc; throws PatchError, or PatchLimitError past a limit. */
export function applyJsonPatch(doc: Json, patch: unknown, limits: JsonPatchLimits = defaultJsonPatchLimits): Json {
  if (!Array.isArray(patch)) throw new PatchError('a JSON patch must be an array of operations');
  if (patch.length > limits.maxOperations) throw new PatchLimitError(`The allowed maximum operations in a JSON patch is ${limits.maxOperations}, got ${patch.length}`);
  const size = new SizeTracker(doc, limits);
  let result = clone(doc);
  for (const raw of patch) result = applyOperation(result, operation(raw), size);
  return result;
}

function applyOperation(result: Json, op: Operation, size: SizeTracker): Json {
  switch (op.op) {
    case 'add': {
      const value = needValue(op);
      size.added(value);
      if (op.path !== '' && existsAt(result, op.path)) size.removed(get(result, op.path));
      return add(result, op.path, value);
    }
    case 'remove':
      size.removed(get(result, op.path));
      return remove(result, op.path);
    case 'replace': {
      const value = needValue(op);
      size.added(value);
      size.removed(get(result, op.path));
      return op.path === '' ? value : add(remove(result, op.path), op.path, value);
    }
    case 'move': {
      if (typeof op.from !== 'string') throw new PatchError('"move" needs "from"');
      const value = get(result, op.from);
      if (op.path !== op.from && existsAt(result, op.path)) size.removed(get(result, op.path));
      return add(remove(result, op.from), op.path, value);
    }
    case 'copy': {
      if (typeof op.from !== 'string') throw new PatchError('"copy" needs "from"');
      const source = get(result, op.from);
      size.copiedValue(source);
      if (existsAt(result, op.path)) size.removed(get(result, op.path));
      return add(result, op.path, clone(source));
    }
    case 'test':
      if (!deepEqual(get(result, op.path), op.value)) throw new PatchError(`testing value ${op.path} failed`);
      return result;
    default:
      throw new PatchError(`unexpected op "${op.op}"`);
  }
}

/** existsAt: an object member the path would overwrite (array inserts shift, they replace nothing). */
function existsAt(doc: Json, path: string): boolean {
  try {
    const tokens = parsePointer(path);
    if (tokens.length === 0) return true;
    const container = parent(doc, tokens, path);
    return isObject(container) && Object.hasOwn(container, tokens[tokens.length - 1]!);
  } catch {
    return false;
  }
}
