/**
 * PATCH semantics of the API server over plain JSON: RFC 7386 merge patch, RFC 6902 JSON patch and Kubernetes
 * strategic merge patch (the apply half of k8s.io/apimachinery pkg/util/strategicpatch, driven by the tables of
 * ./patch-meta.ts). Server-side apply is refused with 415. Errors are ApiErrors with the codes the real server uses.
 */
import { ApiError, badRequest } from './status.js';
import { type FieldMeta, type Schema, schemaFor } from './patch-meta.js';

export type PatchType =
  | 'application/json-patch+json'
  | 'application/merge-patch+json'
  | 'application/strategic-merge-patch+json'
  | 'application/apply-patch+yaml';

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [k: string]: Json;
}

export const PATCH_TYPES: readonly PatchType[] = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/apply-patch+yaml',
  'application/strategic-merge-patch+json',
];

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ORDER = '$setElementOrder/';
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList/';

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const kindOf = (v: Json): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Go's %v of decoded JSON, for messages that quote values the way apimachinery does. */
function goFmt(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goFmt).join(' ')}]`;
  if (isObject(v)) return `map[${Object.keys(v).sort().map((k) => `${k}:${goFmt(v[k])}`).join(' ')}]`;
  return String(v);
}

/** Errors strategicpatch returns: format errors are 400, the rest 500 with an empty reason (interpretStrategicMergePatchError). */
const smpBadRequest = (message: string) => badRequest(message);
const smpInternal = (message: string) => new ApiError(500, '', message);
const errNoMergeKey = (m: unknown, key: string) => smpInternal(`map: ${goFmt(m)} does not contain declared merge key: ${key}`);
const errBadRetainKeys = () => smpBadRequest('invalid patch format of retainKeys');
const errBadSetOrder = () => smpBadRequest('invalid patch format of setElementOrder list');

function parseBody(patchBody: string): Json {
  try {
    return JSON.parse(patchBody) as Json;
  } catch (e) {
    throw badRequest(`error decoding patch: ${(e as Error).message}`);
  }
}

/**
 * Applies `patchBody` of media type `contentType` (parameters such as `; charset=utf-8` are ignored) to `original`,
 * which is not modified. `kind` selects the strategic-merge metadata.
 */
export function applyPatch(kind: string, original: unknown, patchBody: string, contentType: string): unknown {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  const doc = structuredClone(original ?? {}) as Json;
  switch (type) {
    case 'application/merge-patch+json': {
      const patch = parseBody(patchBody);
      if (!isObject(patch)) throw badRequest('error decoding patch: a merge patch must be a JSON object');
      return mergePatch(doc, patch);
    }
    case 'application/json-patch+json':
      return jsonPatch(doc, parseBody(patchBody));
    case 'application/strategic-merge-patch+json': {
      const patch = parseBody(patchBody);
      if (!isObject(patch)) throw badRequest(`error decoding patch: json: cannot unmarshal ${kindOf(patch)} into Go value of type map[string]interface {}`);
      return strategicMergePatch(isObject(doc) ? doc : {}, patch, schemaFor(kind));
    }
    case 'application/apply-patch+yaml':
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        'server-side apply (application/apply-patch+yaml) is not supported by the embedded API server; use client-side apply (kubectl apply without --server-side)',
      );
    default:
      throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// RFC 7386 JSON merge patch

/** RFC 7386 MergePatch(target, patch); does not modify `patch`, may modify `target`. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: JsonObject = isObject(target) ? target : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(Object.hasOwn(out, k) ? out[k]! : null, v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// RFC 6902 JSON patch

/** A failure while applying a decoded JSON patch: the real server answers 422 through NewGenericServerResponse. */
function jsonPatchFailed(message: string): ApiError {
  return new ApiError(422, 'Invalid', 'the server rejected our request due to an error in our request', {
    causes: [{ reason: 'UnexpectedServerResponse', message }],
  });
}

function parsePointer(pointer: unknown, op: string): string[] {
  if (typeof pointer !== 'string') throw badRequest(`error decoding patch: ${op} operation has no valid "path"`);
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw jsonPatchFailed(`${op} operation does not apply: invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(arr: Json[], token: string, op: string, path: string, allowEnd: boolean): number {
  if (allowEnd && token === '-') return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw jsonPatchFailed(`${op} operation does not apply: invalid array index "${token}" in "${path}"`);
  const i = Number(token);
  if (i > arr.length || (!allowEnd && i === arr.length)) throw jsonPatchFailed(`${op} operation does not apply: index ${i} out of range in "${path}"`);
  return i;
}

/** Resolves the parent container of the last token, or throws "doc is missing path". */
function parentOf(doc: Json, tokens: string[], op: string, path: string): Json {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, op, path, false)]!;
    else if (isObject(cur) && Object.hasOwn(cur, t)) cur = cur[t]!;
    else throw jsonPatchFailed(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
  }
  return cur;
}

function getAt(doc: Json, path: string, op: string): Json {
  const tokens = parsePointer(path, op);
  if (tokens.length === 0) return doc;
  const parent = parentOf(doc, tokens, op, path);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) return parent[arrayIndex(parent, last, op, path, false)]!;
  if (isObject(parent) && Object.hasOwn(parent, last)) return parent[last]!;
  throw jsonPatchFailed(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
}

function removeAt(doc: Json, path: string, op: string): Json {
  const tokens = parsePointer(path, op);
  if (tokens.length === 0) throw jsonPatchFailed(`${op} operation does not apply: cannot remove the whole document`);
  const parent = parentOf(doc, tokens, op, path);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, last, op, path, false), 1)[0]!;
  if (isObject(parent) && Object.hasOwn(parent, last)) {
    const v = parent[last]!;
    delete parent[last];
    return v;
  }
  throw jsonPatchFailed(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
}

/** add (insert) or replace (overwrite an existing member) at `path`; returns the new document. */
function putAt(doc: Json, path: string, value: Json, op: string, replace: boolean): Json {
  const tokens = parsePointer(path, op);
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, op, path);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, last, op, path, !replace);
    parent.splice(i, replace ? 1 : 0, value);
  } else if (isObject(parent)) {
    if (replace && !Object.hasOwn(parent, last)) throw jsonPatchFailed(`${op} operation does not apply: doc is missing key: "${path}": missing value`);
    parent[last] = value;
  } else {
    throw jsonPatchFailed(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
  }
  return doc;
}

const deepEqual = (a: Json, b: Json): boolean => {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]!));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k]!, b[k]!));
  }
  return false;
};

/** RFC 6902; `doc` may be modified. */
export function jsonPatch(doc: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw badRequest(`error decoding patch: json: cannot unmarshal ${kindOf(ops)} into Go value of type jsonpatch.Patch`);
  let out = doc;
  for (const raw of ops) {
    if (!isObject(raw)) throw badRequest(`error decoding patch: json: cannot unmarshal ${kindOf(raw)} into Go value of type jsonpatch.Operation`);
    const op = raw.op;
    const path = raw.path as string;
    const needValue = () => {
      if (!Object.hasOwn(raw, 'value')) throw jsonPatchFailed(`${String(op)} operation has no "value" field`);
      return structuredClone(raw.value!);
    };
    const from = () => {
      if (typeof raw.from !== 'string') throw jsonPatchFailed(`${String(op)} operation has no "from" field`);
      return raw.from;
    };
    switch (op) {
      case 'add':
        out = putAt(out, path, needValue(), 'add', false);
        break;
      case 'replace':
        out = putAt(out, path, needValue(), 'replace', true);
        break;
      case 'remove':
        removeAt(out, path, 'remove');
        break;
      case 'move': {
        const source = from();
        if (path !== source && path.startsWith(`${source}/`)) throw jsonPatchFailed(`move operation does not apply: "from" ${source} is a prefix of "path" ${path}`);
        const v = removeAt(out, source, 'move');
        out = putAt(out, path, v, 'move', false);
        break;
      }
      case 'copy':
        out = putAt(out, path, structuredClone(getAt(out, from(), 'copy')), 'copy', false);
        break;
      case 'test': {
        const expected = needValue();
        let actual: Json | undefined;
        try {
          actual = getAt(out, path, 'test');
        } catch {
          actual = undefined;
        }
        if (actual === undefined ? expected !== null : !deepEqual(actual, expected)) throw jsonPatchFailed(`testing value ${path} failed: test failed`);
        break;
      }
      default:
        throw jsonPatchFailed(`Unexpected kind: ${goFmt(op)}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Strategic merge patch (apply side, MergeParallelList and IgnoreUnmatchedNulls as the server uses them)

const isDirectiveKey = (k: string) => k === DIRECTIVE || k === RETAIN_KEYS || k.startsWith(SET_ORDER) || k.startsWith(DELETE_PRIMITIVE);

/**
 * A patch value that lands where the original has nothing to merge with: drop null members and every directive
 * (an object or element carrying `$patch: delete` disappears; `$patch: replace` just loses its marker), as the
 * server's removeDirectives + discardNullValuesFromPatch and the typed decode that follows do.
 */
function clean(v: Json): Json | undefined {
  if (Array.isArray(v)) return v.map(clean).filter((e): e is Json => e !== undefined);
  if (!isObject(v)) return v;
  if (Object.hasOwn(v, DIRECTIVE) && v[DIRECTIVE] !== 'replace') return undefined;
  const out: JsonObject = {};
  for (const [k, e] of Object.entries(v)) {
    if (e === null || isDirectiveKey(k)) continue;
    const c = clean(e);
    if (c !== undefined) out[k] = c;
  }
  return out;
}

/** Applies a strategic merge patch to `original` (modified in place and returned) using `schema` for list strategies. */
export function strategicMergePatch(original: JsonObject, patch: JsonObject, schema: Schema): JsonObject {
  return mergeMap(original, structuredClone(patch), schema);
}

function mergeMap(original: JsonObject, patch: JsonObject, schema: Schema): JsonObject {
  if (Object.hasOwn(patch, DIRECTIVE)) {
    const directive = patch[DIRECTIVE];
    if (directive === 'replace') {
      delete patch[DIRECTIVE];
      return clean(patch) as JsonObject;
    }
    if (directive === 'delete') return {};
    throw smpInternal(`unknown patch type: ${goFmt(directive)} in map: ${goFmt(patch)}`);
  }
  applyRetainKeys(original, patch);
  mergeSetElementOrder(original, patch, schema);

  for (const [patchKey, patchV] of Object.entries(patch)) {
    const isDeleteList = patchKey.startsWith(DELETE_PRIMITIVE);
    const k = isDeleteList ? patchKey.slice(DELETE_PRIMITIVE.length) : patchKey;
    if (patchV === null) {
      delete original[k];
      continue;
    }
    const meta = schema[k];
    const origV = Object.hasOwn(original, k) ? original[k]! : undefined;
    if (origV === undefined || kindOf(origV) !== kindOf(patchV)) {
      if (!isDeleteList) {
        const c = clean(patchV);
        if (c === undefined) delete original[k];
        else original[k] = c;
      }
      continue;
    }
    if (isObject(origV)) {
      original[k] = meta?.strategy === 'replace' ? (clean(patchV) as JsonObject) : mergeMap(origV, patchV as JsonObject, meta?.schema ?? {});
    } else if (Array.isArray(origV)) {
      original[k] = mergeSliceHandler(origV, patchV as Json[], meta, isDeleteList);
    } else {
      original[k] = patchV;
    }
  }
  return original;
}

/** `$retainKeys`: clear the original's keys missing from the list; every key the patch sets must be listed. */
function applyRetainKeys(original: JsonObject, patch: JsonObject): void {
  if (!Object.hasOwn(patch, RETAIN_KEYS)) return;
  const list = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(list)) throw errBadRetainKeys();
  const keep = new Set(list);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_PRIMITIVE) || k.startsWith(SET_ORDER)) continue;
    if (!keep.has(k)) throw errBadRetainKeys();
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

function mergeSliceHandler(original: Json[], patch: Json[], meta: FieldMeta | undefined, isDeleteList: boolean): Json[] {
  if (isDeleteList) return mergeSlice(original, patch, '', {}, true);
  if (meta?.strategy === 'merge') return mergeSlice(original, patch, meta.key ?? '', meta.schema ?? {}, false);
  return clean(patch) as Json[];
}

/** The common kind of the elements of the lists ('object', 'string', ...); lists of lists and mixed lists are errors. */
function sliceElementKind(...lists: Json[][]): string {
  let kind: string | undefined;
  for (const list of lists) {
    for (const v of list) {
      const k = kindOf(v);
      if (kind === undefined) {
        if (k === 'array') throw smpInternal('lists of lists are not supported');
        kind = k;
      } else if (k !== kind) {
        throw smpInternal(`list element types are not identical: ${goFmt(lists)}`);
      }
    }
  }
  if (kind === undefined) throw smpInternal('no elements in any of the given slices');
  return kind;
}

const mergeKeyOf = (v: Json, key: string): Json | undefined => (isObject(v) && Object.hasOwn(v, key) ? v[key] : undefined);

function findByKey(list: Json[], key: string, value: Json): number {
  return list.findIndex((v) => {
    if (!isObject(v)) throw smpInternal(`value for key ${goFmt(v)} is not a map.`);
    return Object.hasOwn(v, key) && v[key] === value;
  });
}

function mergeSlice(original: Json[], patch: Json[], mergeKey: string, elemSchema: Schema, isDeleteList: boolean): Json[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = sliceElementKind(original, patch);
  let merged: Json[];
  let serverOrder = original;
  let patchOrder = patch;
  if (kind !== 'object') {
    if (isDeleteList) {
      const drop = new Set(patch);
      return original.filter((v) => !drop.has(v));
    }
    merged = [...new Set([...original, ...patch])];
  } else {
    if (!mergeKey) throw smpInternal('cannot merge lists without merge key for type map');
    [serverOrder, patchOrder] = mergeSliceWithSpecialElements(original, patch, mergeKey);
    merged = [...serverOrder];
    for (const v of patchOrder) {
      const value = mergeKeyOf(v, mergeKey);
      if (value === undefined) throw errNoMergeKey(v, mergeKey);
      const i = findByKey(merged, mergeKey, value);
      if (i >= 0) merged[i] = mergeMap(merged[i] as JsonObject, v as JsonObject, elemSchema);
      else merged.push(clean(v)!);
    }
  }
  const [patchItems, serverOnly] = partition(merged, patchOrder, mergeKey, kind);
  return normalizeElementOrder(patchItems, serverOnly, patchOrder, serverOrder, mergeKey, kind);
}

/** `$patch: delete` elements remove every match from the original, `$patch: replace` drops the original. */
function mergeSliceWithSpecialElements(original: Json[], patch: Json[], mergeKey: string): [Json[], Json[]] {
  const plain: Json[] = [];
  let replace = false;
  let out = original;
  for (const v of patch) {
    const m = v as JsonObject;
    if (!Object.hasOwn(m, DIRECTIVE)) {
      plain.push(v);
      continue;
    }
    switch (m[DIRECTIVE]) {
      case 'delete': {
        const value = mergeKeyOf(m, mergeKey);
        if (value === undefined) throw errNoMergeKey(m, mergeKey);
        out = out.filter((e) => mergeKeyOf(e, mergeKey) !== value);
        break;
      }
      case 'replace':
        replace = true;
        break;
      case 'merge':
        throw smpInternal('merging lists cannot yet be specified in the patch');
      default:
        throw smpInternal(`unknown patch type: ${goFmt(m[DIRECTIVE])} in map: ${goFmt(m)}`);
    }
  }
  return replace ? [plain.map((e) => clean(e)!), []] : [out, plain];
}

function keyValue(item: Json, mergeKey: string, kind: string): Json | undefined {
  return kind === 'object' ? mergeKeyOf(item, mergeKey) : item;
}

function indexIn(list: Json[], item: Json, mergeKey: string, kind: string): number {
  const want = keyValue(item, mergeKey, kind);
  return list.findIndex((v) => keyValue(v, mergeKey, kind) === want);
}

/** Items of `merged` present in `by` (by merge key, or by value for primitives), and the rest. */
function partition(merged: Json[], by: Json[], mergeKey: string, kind: string): [Json[], Json[]] {
  const inPatch: Json[] = [];
  const serverOnly: Json[] = [];
  for (const v of merged) {
    if (kind === 'object' && mergeKeyOf(v, mergeKey) === undefined) throw errNoMergeKey(v, mergeKey);
    (indexIn(by, v, mergeKey, kind) >= 0 ? inPatch : serverOnly).push(v);
  }
  return [inPatch, serverOnly];
}

/** normalizeSliceOrder: a stable insertion sort with Go's comparator (an item missing from `order` sorts first). */
function sortByOrder(items: Json[], order: Json[], mergeKey: string, kind: string): Json[] {
  if (kind === 'object') for (const v of [...items, ...order]) if (mergeKeyOf(v, mergeKey) === undefined) throw errNoMergeKey(v, mergeKey);
  const s = [...items];
  const less = (a: Json, b: Json) => {
    const ia = indexIn(order, a, mergeKey, kind);
    const ib = ia >= 0 ? indexIn(order, b, mergeKey, kind) : -1;
    return ia >= 0 && ib >= 0 ? ia < ib : true;
  };
  for (let i = 1; i < s.length; i++) for (let j = i; j > 0 && less(s[j]!, s[j - 1]!); j--) [s[j], s[j - 1]] = [s[j - 1]!, s[j]!];
  return s;
}

/**
 * Patch items in patch order, server-only items in server order, then interleaved: a server-only item goes before the
 * next patch item only when the live list has it earlier (mergeSortedSlice).
 */
function normalizeElementOrder(patchItems: Json[], serverOnly: Json[], patchOrder: Json[], serverOrder: Json[], mergeKey: string, kind: string): Json[] {
  const right = sortByOrder(patchItems, patchOrder, mergeKey, kind);
  const left = sortByOrder(serverOnly, serverOrder, mergeKey, kind);
  const out: Json[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]!);
    else if (j >= right.length) out.push(left[i++]!);
    else {
      const li = indexIn(serverOrder, left[i]!, mergeKey, kind);
      const ri = indexIn(serverOrder, right[j]!, mergeKey, kind);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]!);
      else out.push(right[j++]!);
    }
  }
  return out;
}

/** Relative order of the non-deleting patch items must agree with the `$setElementOrder` list. */
function validateSetOrder(patchList: Json[], setOrder: Json[], mergeKey: string): void {
  if (setOrder.length === 0 || patchList.length === 0) return;
  if (!mergeKey && patchList.some(isObject)) return; // an atomic list of objects: nothing to compare by
  const nonDelete = mergeKey ? patchList.filter((v) => !(isObject(v) && v[DIRECTIVE] === 'delete')) : patchList;
  let p = 0;
  let s = 0;
  while (p < nonDelete.length && s < setOrder.length) {
    const item = nonDelete[p]!;
    if (isObject(item) && Object.hasOwn(item, DIRECTIVE)) {
      p++;
      continue;
    }
    let equal: boolean;
    if (mergeKey) {
      const a = mergeKeyOf(item, mergeKey);
      const b = mergeKeyOf(setOrder[s]!, mergeKey);
      if (a === undefined) throw errNoMergeKey(item, mergeKey);
      if (b === undefined) throw errNoMergeKey(setOrder[s], mergeKey);
      equal = a === b;
    } else {
      equal = item === setOrder[s];
    }
    if (equal) p++;
    s++;
  }
  if (p < nonDelete.length) {
    throw smpInternal(`The order in patch list:\n${goFmt(patchList)}\n doesn't match ${SET_ORDER.slice(0, -1)} list:\n${goFmt(setOrder)}\n`);
  }
}

/** `$setElementOrder/<field>`: merge the field's list (if patched) and order it as the directive says. */
function mergeSetElementOrder(original: JsonObject, patch: JsonObject, schema: Schema): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    const setOrder = patch[key];
    delete patch[key];
    if (!Array.isArray(setOrder)) throw errBadSetOrder();
    const field = key.slice(SET_ORDER.length);
    const origList = original[field];
    const patchList = patch[field];
    const foundOriginal = origList !== undefined && origList !== null;
    const foundPatch = patchList !== undefined && patchList !== null;
    if (foundOriginal && !Array.isArray(origList)) throw smpInternal(`expected a []interface {}, but received a ${kindOf(origList)}`);
    if (foundPatch && !Array.isArray(patchList)) throw smpInternal(`expected a []interface {}, but received a ${kindOf(patchList)}`);
    const meta = schema[field];
    const mergeKey = meta?.strategy === 'merge' ? (meta.key ?? '') : '';
    const origArr = (foundOriginal ? origList : []) as Json[];
    const patchArr = (foundPatch ? patchList : []) as Json[];
    validateSetOrder(patchArr, setOrder, mergeKey);
    if (!foundOriginal && !foundPatch) continue;
    let merged: Json[];
    if (!foundPatch) merged = origArr;
    else if (!foundOriginal) merged = clean(patchArr) as Json[];
    else merged = mergeSliceHandler(origArr, patchArr, meta, false);
    delete patch[field];
    // An atomic list of objects has nothing to order by (the Go code cannot hash maps here; kubectl never sends it).
    if ((origArr.length === 0 && patchArr.length === 0) || (!mergeKey && merged.some(isObject))) {
      original[field] = merged;
      continue;
    }
    const kind = sliceElementKind(origArr, patchArr);
    const [patchItems, serverOnly] = partition(merged, setOrder, mergeKey, kind);
    original[field] = normalizeElementOrder(patchItems, serverOnly, setOrder, origArr, mergeKey, kind);
  }
}

/** Is `contentType` (parameters ignored) one of the PATCH media types? */
export const isPatchType = (contentType: string): contentType is PatchType => (PATCH_TYPES as readonly string[]).includes(contentType.split(';')[0]!.trim().toLowerCase());
