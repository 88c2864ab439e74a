/**
 * Server-side field validation (fieldValidation=Strict|Warn|Ignore) and the JSON decoding type errors a real server
 * answers with, checked against the same definitions /openapi serves.
 */
import { badRequest, type ApiError } from './status.js';
import { buildDefinitions, definitionName, modelClassOf, REF_PREFIX, type Definitions, type Schema } from './schemas.js';

let defs: Definitions | undefined;
const KINDS = ['Namespace', 'Node', 'Pod', 'Service', 'Endpoints', 'ConfigMap', 'Secret', 'Event', 'ServiceAccount', 'PersistentVolume', 'PersistentVolumeClaim', 'StatefulSet', 'ControllerRevision', 'Deployment', 'StorageClass', 'Scale', 'Eviction'];

function definitions(): Definitions {
  defs ??= buildDefinitions(KINDS.map(modelClassOf));
  return defs;
}

/** The root schema of a kind, or undefined for kinds we have no schema for (nothing is checked then). */
function rootSchema(kind: string): { name: string; schema: Schema } | undefined {
  const d = definitions();
  const name = definitionName(modelClassOf(kind));
  const schema = d[name];
  return schema ? { name, schema } : undefined;
}

const resolve = (s: Schema): { name?: string; schema: Schema } => {
  if (!s.$ref) return { schema: s };
  const name = s.$ref.slice(REF_PREFIX.length);
  return { name, schema: definitions()[name] ?? {} };
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Unknown fields of `obj` against the kind's schema, as the paths real servers print (`spec.replica`,
 * `spec.template.spec.containers[0].imagee`). `raw` (the request body as JSON text) enables duplicate detection.
 */
export function checkFields(kind: string, apiVersion: string, obj: unknown, raw?: string): { unknown: string[]; duplicate?: string[] } {
  void apiVersion;
  const root = rootSchema(kind);
  const unknown: string[] = [];
  const walk = (value: unknown, s: Schema, path: string) => {
    const { schema } = resolve(s);
    if (schema.properties && isObject(value)) {
      for (const [k, v] of Object.entries(value)) {
        const p = path ? `${path}.${k}` : k;
        const sub = schema.properties[k];
        if (!sub) unknown.push(p);
        else walk(v, sub, p);
      }
    } else if (schema.type === 'array' && schema.items && Array.isArray(value)) {
      value.forEach((v, i) => walk(v, schema.items!, `${path}[${i}]`));
    } else if (schema.type === 'object' && schema.additionalProperties && isObject(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, schema.additionalProperties, `${path}[${k}]`);
    }
  };
  if (root) walk(obj, root.schema, '');
  const out: { unknown: string[]; duplicate?: string[] } = { unknown };
  if (raw !== undefined) {
    const dup = duplicateFields(raw);
    if (dup.length) out.duplicate = dup;
  }
  return out;
}

/** Strict-mode message: `strict decoding error: unknown field "spec.replica", duplicate field "spec.replicas"`. */
export function strictMessage(r: { unknown: string[]; duplicate?: string[] }): string | undefined {
  const parts = [...(r.duplicate ?? []).map((f) => `duplicate field "${f}"`), ...r.unknown.map((f) => `unknown field "${f}"`)];
  return parts.length ? `strict decoding error: ${parts.join(', ')}` : undefined;
}

/** Warn-mode warning texts (one `Warning:` header each). */
export function warningsOf(r: { unknown: string[]; duplicate?: string[] }): string[] {
  return [...(r.duplicate ?? []).map((f) => `duplicate field "${f}"`), ...r.unknown.map((f) => `unknown field "${f}"`)];
}

/** Object keys that occur twice in the same JSON object, with their paths. Invalid JSON yields []. */
export function duplicateFields(raw: string): string[] {
  const out: string[] = [];
  let i = 0;
  const ws = () => {
    while (i < raw.length && /\s/.test(raw[i]!)) i++;
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < raw.length && raw[i] !== '"') i += raw[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(raw.slice(start, i)) as string;
  };
  const value = (path: string): void => {
    ws();
    const c = raw[i];
    if (c === '{') {
      i++;
      const seen = new Set<string>();
      ws();
      if (raw[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        const k = str();
        const p = path ? `${path}.${k}` : k;
        if (seen.has(k)) out.push(p);
        seen.add(k);
        ws();
        i++; // ':'
        value(p);
        ws();
        if (raw[i++] !== ',') return;
      }
    } else if (c === '[') {
      i++;
      ws();
      if (raw[i] === ']') {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        value(`${path}[${n}]`);
        ws();
        if (raw[i++] !== ',') return;
      }
    } else if (c === '"') {
      str();
    } else {
      while (i < raw.length && !/[,}\]\s]/.test(raw[i]!)) i++;
    }
  };
  try {
    value('');
  } catch {
    return [];
  }
  return out;
}

/** Go type name of a schema as encoding/json prints it (`int32`, `[]v1.Container`, `map[string]string`). */
function goType(s: Schema): string {
  if (s.$ref) {
    const name = s.$ref.slice(REF_PREFIX.length);
    const parts = name.split('.');
    return `${parts[parts.length - 2]}.${parts[parts.length - 1]}`;
  }
  if (s.type === 'array') return `[]${s.items ? goType(s.items) : 'interface {}'}`;
  if (s.type === 'object') return `map[string]${s.additionalProperties ? goType(s.additionalProperties) : 'interface {}'}`;
  if (s.type === 'integer') return s.format ?? 'int64';
  if (s.type === 'number') return 'float64';
  if (s.type === 'boolean') return 'bool';
  return 'string';
}

const jsonKind = (v: unknown) => (typeof v === 'string' ? 'string' : typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'bool' : Array.isArray(v) ? 'array' : 'object');

/**
 * The first value whose JSON type the Go types cannot take, as encoding/json reports it:
 * `json: cannot unmarshal string into Go struct field StatefulSetSpec.spec.replicas of type int32`.
 */
export function typeError(kind: string, obj: unknown): string | undefined {
  const root = rootSchema(kind);
  if (!root) return undefined;
  let found: string | undefined;
  const fail = (v: unknown, struct: string, path: string, s: Schema) => {
    const what = typeof v === 'number' && !Number.isInteger(v) && s.type === 'integer' ? `number ${v}` : jsonKind(v);
    found ??= `json: cannot unmarshal ${what} into Go struct field ${struct}.${path} of type ${goType(s)}`;
  };
  const walk = (v: unknown, s: Schema, struct: string, path: string): void => {
    if (found || v === null) return;
    const { name, schema } = resolve(s);
    if (name === 'io.k8s.apimachinery.pkg.util.intstr.IntOrString' || name === 'io.k8s.apimachinery.pkg.api.resource.Quantity') {
      if (typeof v !== 'string' && typeof v !== 'number') fail(v, struct, path, s);
      return;
    }
    if (schema.properties) {
      if (!isObject(v)) return fail(v, struct, path, s);
      const own = name ? name.slice(name.lastIndexOf('.') + 1) : struct;
      for (const [k, x] of Object.entries(v)) {
        const sub = schema.properties[k];
        if (sub) walk(x, sub, own, path ? `${path}.${k}` : k);
      }
      return;
    }
    switch (schema.type) {
      case 'string':
        if (typeof v !== 'string') fail(v, struct, path, s);
        return;
      case 'integer':
        if (typeof v !== 'number' || !Number.isInteger(v)) fail(v, struct, path, s);
        return;
      case 'number':
        if (typeof v !== 'number') fail(v, struct, path, s);
        return;
      case 'boolean':
        if (typeof v !== 'boolean') fail(v, struct, path, s);
        return;
      case 'array':
        if (!Array.isArray(v)) return fail(v, struct, path, s);
        for (const x of v) walk(x, schema.items ?? {}, struct, path);
        return;
      case 'object':
        if (!schema.additionalProperties) return;
        if (!isObject(v)) return fail(v, struct, path, s);
        for (const x of Object.values(v)) walk(x, schema.additionalProperties, struct, path);
        return;
      default:
        return;
    }
  };
  walk(obj, root.schema, kind, '');
  return found;
}

/**
 * The 400 a real server answers a body with a wrongly typed field with:
 * `StatefulSet in version "v1" cannot be handled as a StatefulSet: json: cannot unmarshal ...`.
 */
export function decodeError(kind: string, apiVersion: string, obj: unknown): ApiError | undefined {
  const e = typeError(kind, obj);
  const version = apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion;
  return e ? badRequest(`${kind} in version "${version}" cannot be handled as a ${kind}: ${e}`) : undefined;
}
