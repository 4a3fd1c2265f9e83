import { PatchError, clone, deepEqual, isObject, type Json } from './patch-errors.ts';

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
  else if (isObject(container)) container[last] = value;
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

/** applyJsonPatch applies the operations in order to a copy of doc; throws PatchError. */
export function applyJsonPatch(doc: Json, patch: unknown): Json {
  if (!Array.isArray(patch)) throw new PatchError('a JSON patch must be an array of operations');
  let result = clone(doc);
  for (const raw of patch) {
    const op = operation(raw);
    switch (op.op) {
      case 'add':
        result = add(result, op.path, needValue(op));
        break;
      case 'remove':
        result = remove(result, op.path);
        break;
      case 'replace':
        if (op.path === '') {
          result = needValue(op);
        } else {
          get(result, op.path);
          result = add(remove(result, op.path), op.path, needValue(op));
        }
        break;
      case 'move': {
        if (typeof op.from !== 'string') throw new PatchError('"move" needs "from"');
        const value = get(result, op.from);
        result = add(remove(result, op.from), op.path, value);
        break;
      }
      case 'copy': {
        if (typeof op.from !== 'string') throw new PatchError('"copy" needs "from"');
        result = add(result, op.path, clone(get(result, op.from)));
        break;
      }
      case 'test':
        if (!deepEqual(get(result, op.path), op.value)) throw new PatchError(`testing value ${op.path} failed`);
        break;
      default:
        throw new PatchError(`unexpected op "${op.op}"`);
    }
  }
  return result;
}
