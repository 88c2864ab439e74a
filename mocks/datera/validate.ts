/**
 * Request field checks. Lenient where real clients are sloppy (unknown fields, numeric strings for sizes, as
 * template_override sends them), strict on types that would corrupt state, with messages naming the field.
 */
import { validation } from './errors.js';

export type Body = Record<string, unknown>;

// Names become keys of plain objects in the state, so `__proto__` (which would set a prototype) is refused.
export const AI_NAME = /^(?!__proto__$)[a-zA-Z_][a-zA-Z0-9_\-.]{2,63}$/;
export const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
export const SUB_NAME = /^(?!__proto__$)[a-zA-Z_][a-zA-Z0-9_\-.]{0,63}$/;
export const INITIATOR_NAME = /^(?!__proto__$)[a-zA-Z_][a-zA-Z0-9_\-\s.]{2,127}$/;
export const IQN = /^(iqn\.\d{4}-\d{2}\.[a-zA-Z0-9.-]+(:[^\s]*)?|eui\.[0-9a-fA-F]{16})$/;

export function isObject(v: unknown): v is Body {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `rec[key]` only when it is the record's own entry: a name like `constructor` or `__proto__` must not find Object.prototype's. */
export function own<T>(rec: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(rec, key) ? rec[key] : undefined;
}

/** decodeURIComponent that answers a validation error (not a URIError, a 500) for broken percent-encoding. */
export function decodeName(s: string, field: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw validation(`${field} has bad percent-encoding: '${s.slice(0, 80)}'`);
  }
}

export function optObject(body: Body, field: string): Body | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw validation(`${field} must be an object, got ${describe(v)}`);
  return v;
}

export function optArray(body: Body, field: string): unknown[] | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw validation(`${field} must be a list, got ${describe(v)}`);
  return v;
}

export function optString(body: Body, field: string, pattern?: RegExp, hint?: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw validation(`${field} must be a string, got ${describe(v)}`);
  if (pattern && !pattern.test(v)) throw validation(`${field} '${v.slice(0, 80)}' is invalid${hint ? `: ${hint}` : ''}`);
  return v;
}

export function reqString(body: Body, field: string, pattern?: RegExp, hint?: string): string {
  const v = optString(body, field, pattern, hint);
  if (v === undefined) throw validation(`${field} is required`);
  return v;
}

/** Integer in [min, max]; a numeric string is accepted (template overrides send sizes as strings). */
export function optInt(body: Body, field: string, min: number, max: number): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n)) throw validation(`${field} must be an integer, got ${describe(v)}`);
  if (n < min || n > max) throw validation(`${field} must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function optBool(body: Body, field: string): boolean | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw validation(`${field} must be a boolean, got ${describe(v)}`);
}

export function oneOf<T extends string>(body: Body, field: string, values: readonly T[]): T | undefined {
  const v = optString(body, field);
  if (v === undefined) return undefined;
  if (!(values as readonly string[]).includes(v)) throw validation(`${field} must be one of ${values.join(', ')}, got '${v.slice(0, 40)}'`);
  return v as T;
}

/** A reference object `{path: "/collection/name"}`; returns the last segment after checking the collection. */
export function refName(v: unknown, field: string, collection: string): string {
  if (!isObject(v) || typeof v.path !== 'string') throw validation(`${field} must be an object with a string path, got ${describe(v)}`);
  const prefix = `/${collection}/`;
  if (!v.path.startsWith(prefix) || v.path.length === prefix.length) throw validation(`${field}.path must look like ${prefix}<name>, got '${v.path.slice(0, 80)}'`);
  return decodeName(v.path.slice(prefix.length), `${field}.path`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `'${v.slice(0, 40)}'`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v).slice(0, 40)}`;
}
