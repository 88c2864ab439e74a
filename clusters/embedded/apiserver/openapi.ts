/**
 * /openapi/v2 (JSON, and the gnostic openapi_v2.Document protobuf kubectl <= 1.24 insists on) and /openapi/v3 (index
 * plus one JSON document per group version). kubectl validates manifests against these definitions and decides
 * from the PATCH operations' parameters whether the server does field validation itself (`fieldValidation`).
 * Documents are built once per profile and cached.
 */
import { createHash } from 'node:crypto';
import type { ClusterProfile } from '../profiles.js';
import { groupsOf, resourcesFor, type ResourceType } from './resources.js';
import { cachedSchemas, REF_PREFIX, type Definitions, type Schema } from './schemas.js';

export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'body';
  description?: string;
  required?: boolean;
  type?: string;
  uniqueItems?: boolean;
  schema?: Schema;
}

interface Operation {
  description: string;
  operationId: string;
  consumes?: string[];
  produces: string[];
  schemes: string[];
  tags: string[];
  parameters?: Parameter[];
  responses: Record<string, { description: string; schema?: Schema }>;
  'x-kubernetes-action': string;
  'x-kubernetes-group-version-kind': { group: string; version: string; kind: string };
}

type Method = 'get' | 'put' | 'post' | 'delete' | 'patch';
type PathItem = Partial<Record<Method, Operation>> & { parameters?: Parameter[] };

export interface SwaggerDocument {
  swagger: '2.0';
  info: { title: string; version: string };
  paths: Record<string, PathItem>;
  definitions: Definitions;
}

const JSON_TYPES = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];
const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'];

const query = (name: string, description: string, type = 'string'): Parameter => ({ name, in: 'query', description, type, uniqueItems: true });
const pathParam = (name: string, description: string): Parameter => ({ name, in: 'path', description, required: true, type: 'string', uniqueItems: true });

const titleCase = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
/** `apps/v1` -> `AppsV1`, core -> `CoreV1`, `storage.k8s.io` -> `StorageV1`. */
const opGroup = (r: ResourceType) => titleCase((r.group || 'core').replace(/\.k8s\.io$/, '').replace(/\.(\w)/g, (_, c: string) => c.toUpperCase())) + titleCase(r.version);

/** PATCH/PUT/POST query parameters; `fieldValidation` only where the profile's server has it. */
function writeParams(p: ClusterProfile, patch: boolean): Parameter[] {
  const out = [query('dryRun', 'When present, indicates that modifications should not be persisted.'), query('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes.')];
  if (p.fieldValidation) out.push(query('fieldValidation', 'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.'));
  if (patch) out.push(query('force', 'Force is going to "force" Apply requests.', 'boolean'));
  return out;
}

function pathsFor(p: ClusterProfile, resources: readonly ResourceType[], defName: (r: ResourceType) => string): Record<string, PathItem> {
  const paths: Record<string, PathItem> = {};
  for (const r of resources) {
    const prefix = r.group ? `/apis/${r.group}/${r.version}` : '/api/v1';
    const base = r.namespaced ? `${prefix}/namespaces/{namespace}/${r.plural}` : `${prefix}/${r.plural}`;
    const ref: Schema = { $ref: REF_PREFIX + defName(r) };
    const gvk = { group: r.group, version: r.version, kind: r.kind };
    const scope = r.namespaced ? 'Namespaced' : '';
    const op = (verb: string, action: string, description: string, extra: Partial<Operation> = {}, theGvk = gvk, schema = ref): Operation => ({
      description,
      operationId: `${verb}${opGroup(r)}${scope}${extra.operationId ?? r.kind}`,
      produces: JSON_TYPES,
      schemes: ['https'],
      tags: [`${(r.group || 'core').replace(/\.k8s\.io$/, '')}_${r.version}`],
      responses: { '200': { description: 'OK', schema }, '401': { description: 'Unauthorized' } },
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': theGvk,
      ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'operationId')),
    });
    const body = (schema: Schema): Parameter => ({ name: 'body', in: 'body', required: true, schema });
    const nsParam = r.namespaced ? [pathParam('namespace', 'object name and auth scope, such as for teams and projects')] : [];
    const coll: PathItem = { parameters: [...nsParam, query('pretty', "If 'true', then the output is pretty printed.")] };
    if (r.verbs.includes('list')) coll.get = op('list', 'list', `list or watch objects of kind ${r.kind}`);
    if (r.verbs.includes('create')) coll.post = op('create', 'post', `create a ${r.kind}`, { consumes: ['*/*'], parameters: [body(ref), ...writeParams(p, false)] });
    if (r.verbs.includes('deletecollection')) coll.delete = op('deleteCollection', 'deletecollection', `delete collection of ${r.kind}`);
    paths[base] = coll;
    const item: PathItem = { parameters: [pathParam('name', `name of the ${r.kind}`), ...nsParam, query('pretty', "If 'true', then the output is pretty printed.")] };
    item.get = op('read', 'get', `read the specified ${r.kind}`);
    item.put = op('replace', 'put', `replace the specified ${r.kind}`, { consumes: ['*/*'], parameters: [body(ref), ...writeParams(p, false)] });
    item.patch = op('patch', 'patch', `partially update the specified ${r.kind}`, { consumes: PATCH_TYPES, parameters: [body({ type: 'object' }), ...writeParams(p, true)] });
    item.delete = op('delete', 'delete', `delete a ${r.kind}`);
    paths[`${base}/{name}`] = item;
    for (const sub of ['status', 'scale']) {
      if (!r.subresources.includes(sub)) continue;
      const scale = sub === 'scale';
      const sGvk = scale ? { group: 'autoscaling', version: 'v1', kind: 'Scale' } : gvk;
      const sRef: Schema = scale ? { $ref: `${REF_PREFIX}io.k8s.api.autoscaling.v1.Scale` } : ref;
      const suffix = { operationId: `${r.kind}${titleCase(sub)}` };
      paths[`${base}/{name}/${sub}`] = {
        parameters: item.parameters,
        get: op('read', 'get', `read ${sub} of the specified ${r.kind}`, suffix, sGvk, sRef),
        put: op('replace', 'put', `replace ${sub} of the specified ${r.kind}`, { ...suffix, consumes: ['*/*'], parameters: [body(sRef), ...writeParams(p, false)] }, sGvk, sRef),
        patch: op('patch', 'patch', `partially update ${sub} of the specified ${r.kind}`, { ...suffix, consumes: PATCH_TYPES, parameters: [body({ type: 'object' }), ...writeParams(p, true)] }, sGvk, sRef),
      };
    }
  }
  return paths;
}

const defNameOf = (p: ClusterProfile) => {
  const { byGVK } = cachedSchemas(p.version, resourcesFor(p));
  return (r: ResourceType) => byGVK.get(`${r.group}/${r.version}/${r.kind}`)!;
};

const v2Cache = new Map<string, { doc: SwaggerDocument; json: Buffer; proto?: Buffer }>();

/** The swagger 2.0 document of a profile (cached). */
export function swaggerDocument(p: ClusterProfile): SwaggerDocument {
  return v2Entry(p).doc;
}

function v2Entry(p: ClusterProfile) {
  let e = v2Cache.get(p.version);
  if (!e) {
    const resources = resourcesFor(p);
    const { definitions } = cachedSchemas(p.version, resources);
    const doc: SwaggerDocument = { swagger: '2.0', info: { title: 'Kubernetes', version: p.release }, paths: pathsFor(p, resources, defNameOf(p)), definitions };
    e = { doc, json: Buffer.from(JSON.stringify(doc)) };
    v2Cache.set(p.version, e);
  }
  return e;
}

/** GET /openapi/v2: protobuf when the Accept header asks for it (kubectl), JSON otherwise. */
export function openapiV2(p: ClusterProfile, accept: string | undefined): { contentType: string; body: Buffer } {
  const e = v2Entry(p);
  if (accept && /protobuf/.test(accept) && /openapi/.test(accept)) {
    e.proto ??= encodeDocument(e.doc);
    return { contentType: OPENAPI_V2_PROTOBUF, body: e.proto };
  }
  return { contentType: 'application/json', body: e.json };
}

// ---------------------------------------------------------------------------------------------------------------
// gnostic openapi_v2 protobuf (github.com/google/gnostic openapiv2/OpenAPIv2.proto): only the fields we emit.

class Pb {
  private parts: Buffer[] = [];
  private static varint(n: number): Buffer {
    const out: number[] = [];
    while (n > 0x7f) {
      out.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    out.push(n);
    return Buffer.from(out);
  }
  bytes(field: number, b: Buffer): this {
    this.parts.push(Pb.varint((field << 3) | 2), Pb.varint(b.length), b);
    return this;
  }
  string(field: number, s: string | undefined): this {
    return s ? this.bytes(field, Buffer.from(s)) : this;
  }
  strings(field: number, ss: readonly string[] | undefined): this {
    for (const s of ss ?? []) this.bytes(field, Buffer.from(s));
    return this;
  }
  bool(field: number, v: boolean | undefined): this {
    if (v) this.parts.push(Pb.varint(field << 3), Buffer.from([1]));
    return this;
  }
  message(field: number, m: Pb | undefined): this {
    return m ? this.bytes(field, m.done()) : this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** NamedAny{name=1, value=Any{yaml=2}}; JSON is valid YAML, which is what kube-openapi parses these with. */
const namedAny = (name: string, value: unknown) => new Pb().string(1, name).message(2, new Pb().string(2, JSON.stringify(value) + '\n'));

function vendorExtensions(obj: object, field: number, into: Pb): Pb {
  for (const [k, v] of Object.entries(obj)) if (k.startsWith('x-')) into.message(field, namedAny(k, v));
  return into;
}

function encodeSchema(s: Schema): Pb {
  const m = new Pb().string(1, s.$ref).string(2, s.format).string(4, s.description).strings(19, s.required);
  if (s.additionalProperties) m.message(21, new Pb().message(1, encodeSchema(s.additionalProperties)));
  if (s.type) m.message(22, new Pb().strings(1, [s.type]));
  if (s.items) m.message(23, new Pb().message(1, encodeSchema(s.items)));
  if (s.properties) {
    const props = new Pb();
    for (const [k, v] of Object.entries(s.properties)) props.message(1, new Pb().string(1, k).message(2, encodeSchema(v)));
    m.message(25, props);
  }
  return vendorExtensions(s, 31, m);
}

function encodeParameter(p: Parameter): Pb {
  let param: Pb;
  if (p.in === 'body') {
    // Parameter.body_parameter = 1: BodyParameter{description=1, name=2, in=3, required=4, schema=5}
    param = new Pb().message(1, new Pb().string(1, p.description).string(2, p.name).string(3, p.in).bool(4, p.required).message(5, p.schema && encodeSchema(p.schema)));
  } else {
    // Parameter.non_body_parameter = 2: NonBodyParameter{query_parameter_sub_schema=3 | path_parameter_sub_schema=4}
    const sub =
      p.in === 'query'
        ? new Pb().bool(1, p.required).string(2, p.in).string(3, p.description).string(4, p.name).string(6, p.type).bool(20, p.uniqueItems)
        : new Pb().bool(1, p.required).string(2, p.in).string(3, p.description).string(4, p.name).string(5, p.type).bool(19, p.uniqueItems);
    param = new Pb().message(2, new Pb().message(p.in === 'query' ? 3 : 4, sub));
  }
  // ParametersItem.parameter = 1
  return new Pb().message(1, param);
}

function encodeOperation(o: Operation): Pb {
  const m = new Pb().strings(1, o.tags).string(3, o.description).string(5, o.operationId).strings(6, o.produces).strings(7, o.consumes);
  for (const p of o.parameters ?? []) m.message(8, encodeParameter(p));
  const responses = new Pb();
  for (const [code, r] of Object.entries(o.responses)) {
    // NamedResponseValue{name, ResponseValue{response=1: Response{description=1, schema=2: SchemaItem{schema=1}}}}
    const resp = new Pb().string(1, r.description).message(2, r.schema && new Pb().message(1, encodeSchema(r.schema)));
    responses.message(1, new Pb().string(1, code).message(2, new Pb().message(1, resp)));
  }
  m.message(9, responses).strings(10, o.schemes);
  return vendorExtensions(o, 13, m);
}

const METHOD_FIELDS: Record<Method, number> = { get: 2, put: 3, post: 4, delete: 5, patch: 8 };

/** openapi_v2.Document as protobuf bytes. */
export function encodeDocument(doc: SwaggerDocument): Buffer {
  const paths = new Pb();
  for (const [path, item] of Object.entries(doc.paths)) {
    const pi = new Pb();
    for (const [method, field] of Object.entries(METHOD_FIELDS) as [Method, number][]) {
      const o = item[method];
      if (o) pi.message(field, encodeOperation(o));
    }
    for (const p of item.parameters ?? []) pi.message(9, encodeParameter(p));
    paths.message(2, new Pb().string(1, path).message(2, pi));
  }
  const defs = new Pb();
  for (const [name, s] of Object.entries(doc.definitions)) defs.message(1, new Pb().string(1, name).message(2, encodeSchema(s)));
  return new Pb()
    .string(1, doc.swagger)
    .message(2, new Pb().string(1, doc.info.title).string(2, doc.info.version))
    .message(8, paths)
    .message(9, defs)
    .done();
}

// ---------------------------------------------------------------------------------------------------------------
// OpenAPI v3

/** swagger 2.0 schema -> OpenAPI 3 schema (refs move to #/components/schemas/). */
function toV3Schema(s: Schema): Schema {
  const out: Schema = { ...s };
  if (s.$ref) out.$ref = s.$ref.replace(REF_PREFIX, '#/components/schemas/');
  if (s.items) out.items = toV3Schema(s.items);
  if (s.additionalProperties) out.additionalProperties = toV3Schema(s.additionalProperties);
  if (s.properties) out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, toV3Schema(v)]));
  return out;
}

function toV3Parameter(p: Parameter): Record<string, unknown> {
  return { name: p.name, in: p.in, ...(p.description ? { description: p.description } : {}), ...(p.required ? { required: true } : {}), schema: { type: p.type ?? 'string', ...(p.uniqueItems ? { uniqueItems: true } : {}) } };
}

function toV3Operation(o: Operation): Record<string, unknown> {
  const body = o.parameters?.find((x) => x.in === 'body');
  const rest = o.parameters?.filter((x) => x.in !== 'body') ?? [];
  const { consumes, produces, schemes, parameters, responses, ...keep } = o;
  void schemes;
  void parameters;
  return {
    ...keep,
    ...(rest.length ? { parameters: rest.map(toV3Parameter) } : {}),
    ...(body?.schema ? { requestBody: { content: Object.fromEntries((consumes ?? ['*/*']).map((c) => [c, { schema: toV3Schema(body.schema!) }])), required: true } } : {}),
    responses: Object.fromEntries(
      Object.entries(responses).map(([code, r]) => [code, { description: r.description, ...(r.schema ? { content: Object.fromEntries(produces.map((c) => [c, { schema: toV3Schema(r.schema!) }])) } : {}) }]),
    ),
  };
}

/** `api/v1`, `apis/apps/v1`, ... served by the profile. */
export function groupVersionPaths(p: ClusterProfile): string[] {
  const resources = resourcesFor(p);
  return ['api/v1', ...groupsOf(resources).flatMap((g) => g.versions.map((v) => `apis/${g.group}/${v}`))];
}

const v3Cache = new Map<string, Map<string, Buffer>>();

function v3Documents(p: ClusterProfile): Map<string, Buffer> {
  let docs = v3Cache.get(p.version);
  if (docs) return docs;
  docs = new Map();
  const { doc } = v2Entry(p);
  const components = { schemas: Object.fromEntries(Object.entries(doc.definitions).map(([k, v]) => [k, toV3Schema(v)])) };
  for (const gvPath of groupVersionPaths(p)) {
    const prefix = `/${gvPath}/`;
    const paths: Record<string, unknown> = {};
    for (const [path, item] of Object.entries(doc.paths)) {
      if (!path.startsWith(prefix)) continue;
      const v3: Record<string, unknown> = {};
      for (const m of Object.keys(METHOD_FIELDS) as Method[]) if (item[m]) v3[m] = toV3Operation(item[m]);
      if (item.parameters) v3.parameters = item.parameters.map(toV3Parameter);
      paths[path] = v3;
    }
    const body = { openapi: '3.0.0', info: { title: 'Kubernetes', version: p.release }, paths, components };
    docs.set(gvPath, Buffer.from(JSON.stringify(body)));
  }
  const index = { paths: Object.fromEntries([...docs].map(([k, b]) => [k, { serverRelativeURL: `/openapi/v3/${k}?hash=${createHash('sha512').update(b).digest('hex').toUpperCase()}` }])) };
  docs.set('', Buffer.from(JSON.stringify(index)));
  v3Cache.set(p.version, docs);
  return docs;
}

/**
 * GET /openapi/v3[/<group-version path>] (query string ignored). undefined means 404: unknown path, or a server
 * older than 1.24 (no /openapi/v3 at all).
 */
export function openapiV3(p: ClusterProfile, path: string): { contentType: string; body: Buffer } | undefined {
  if (p.minor < 24) return undefined;
  const rel = path.split('?')[0]!.replace(/^\/?openapi\/v3\/?/, '').replace(/\/$/, '');
  const body = v3Documents(p).get(rel);
  return body ? { contentType: 'application/json', body } : undefined;
}
