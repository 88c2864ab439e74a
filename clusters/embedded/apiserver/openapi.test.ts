import t from 'tap';
import { clusterProfile } from '../profiles.js';
import { encodeDocument, groupVersionPaths, OPENAPI_V2_PROTOBUF, openapiV2, openapiV3, swaggerDocument, type SwaggerDocument } from './openapi.js';

const p20 = clusterProfile('v1.20');
const p32 = clusterProfile('v1.32');
const p10 = clusterProfile('v1.10');

/** Minimal protobuf reader: field number -> raw values (Buffers for length-delimited, numbers for varints). */
function fields(buf: Buffer): Map<number, (Buffer | number)[]> {
  const out = new Map<number, (Buffer | number)[]>();
  let i = 0;
  const varint = () => {
    let n = 0;
    let mul = 1;
    for (;;) {
      const b = buf[i++]!;
      n += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) return n;
    }
  };
  while (i < buf.length) {
    const key = varint();
    const f = Math.floor(key / 8);
    const wire = key & 7;
    let v: Buffer | number;
    if (wire === 0) v = varint();
    else if (wire === 2) {
      const len = varint();
      v = buf.subarray(i, i + len);
      i += len;
    } else throw new Error(`unexpected wire type ${wire}`);
    if (!out.has(f)) out.set(f, []);
    out.get(f)!.push(v);
  }
  return out;
}
const one = (m: Map<number, (Buffer | number)[]>, f: number) => m.get(f)?.[0] as Buffer;
const strs = (m: Map<number, (Buffer | number)[]>, f: number) => (m.get(f) ?? []).map((b) => (b as Buffer).toString());
/** NamedX{name=1,value=2} list -> Map name -> value bytes. */
const named = (list: (Buffer | number)[] | undefined) => new Map((list ?? []).map((b) => { const m = fields(b as Buffer); return [one(m, 1).toString(), one(m, 2)]; }));

t.test('v2 JSON', async (t) => {
  const r = openapiV2(p32, 'application/json');
  t.equal(r.contentType, 'application/json');
  const doc = JSON.parse(r.body.toString()) as SwaggerDocument;
  t.equal(doc.swagger, '2.0');
  t.equal(doc.info.version, 'v1.32.9');
  t.ok(doc.definitions['io.k8s.api.apps.v1.StatefulSet']);
  t.same(openapiV2(p32, undefined).body, r.body, 'JSON by default, cached');
  const patch = doc.paths['/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}']!.patch!;
  t.same(patch['x-kubernetes-group-version-kind'], { group: 'apps', version: 'v1', kind: 'StatefulSet' });
  t.equal(patch['x-kubernetes-action'], 'patch');
  t.equal(patch.operationId, 'patchAppsV1NamespacedStatefulSet');
  t.ok(patch.parameters!.some((p) => p.name === 'fieldValidation' && p.in === 'query'));
  t.ok(patch.parameters!.some((p) => p.name === 'force'));
  const scale = doc.paths['/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}/scale']!.patch!;
  t.same(scale['x-kubernetes-group-version-kind'], { group: 'autoscaling', version: 'v1', kind: 'Scale' });
  t.equal(scale.operationId, 'patchAppsV1NamespacedStatefulSetScale');
  t.ok(doc.paths['/api/v1/nodes/{name}']!.get, 'cluster-scoped path');
  t.equal(doc.paths['/api/v1/nodes']!.get!.operationId, 'listCoreV1Node');
  t.notOk(doc.paths['/api/v1/namespaces/{namespace}/services']!.delete, 'services have no deletecollection');
  t.equal(doc.paths['/apis/storage.k8s.io/v1/storageclasses']!.post!.operationId, 'createStorageV1StorageClass');

  const old = swaggerDocument(p20);
  const oldPatch = old.paths['/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}']!.patch!;
  t.notOk(oldPatch.parameters!.some((p) => p.name === 'fieldValidation'), 'no fieldValidation before 1.25');
  t.ok(swaggerDocument(p10).paths['/apis/apps/v1beta1/namespaces/{namespace}/statefulsets']);
  t.same(swaggerDocument(p10).definitions['io.k8s.api.apps.v1beta1.StatefulSet']!['x-kubernetes-group-version-kind'], [{ group: 'apps', version: 'v1beta1', kind: 'StatefulSet' }]);
});

t.test('v2 protobuf (gnostic openapi_v2.Document)', async (t) => {
  const r = openapiV2(p32, 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf');
  t.equal(r.contentType, OPENAPI_V2_PROTOBUF);
  t.equal(openapiV2(p32, 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf').body, r.body, 'encoded once');
  const doc = fields(r.body);
  t.equal(one(doc, 1).toString(), '2.0');
  const info = fields(one(doc, 2));
  t.same([one(info, 1).toString(), one(info, 2).toString()], ['Kubernetes', 'v1.32.9']);
  const json = swaggerDocument(p32);
  const defs = named(fields(one(doc, 9)).get(1));
  t.equal(defs.size, Object.keys(json.definitions).length, 'every definition encoded');
  // StatefulSetSpec: required, properties.replicas {type integer, format int32}, selector $ref
  const spec = fields(defs.get('io.k8s.api.apps.v1.StatefulSetSpec')!);
  t.same(strs(spec, 19), ['selector', 'template']);
  const props = named(fields(one(spec, 25)).get(1));
  const replicas = fields(props.get('replicas')!);
  t.equal(one(replicas, 2).toString(), 'int32');
  t.same(strs(fields(one(replicas, 22)), 1), ['integer']);
  t.equal(one(fields(props.get('selector')!), 1).toString(), '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector');
  // GVK vendor extension: NamedAny{name, Any{yaml}}
  const sts = fields(defs.get('io.k8s.api.apps.v1.StatefulSet')!);
  const ext = named(sts.get(31));
  t.same(JSON.parse(one(fields(ext.get('x-kubernetes-group-version-kind')!), 2).toString()), [{ group: 'apps', version: 'v1', kind: 'StatefulSet' }]);
  // containers: array with items, merge key extension
  const podSpec = named(fields(one(fields(defs.get('io.k8s.api.core.v1.PodSpec')!), 25)).get(1));
  const containers = fields(podSpec.get('containers')!);
  t.same(strs(fields(one(containers, 22)), 1), ['array']);
  t.equal(one(fields(fields(one(containers, 23)).get(1)![0] as Buffer), 1).toString(), '#/definitions/io.k8s.api.core.v1.Container');
  const cext = named(containers.get(31));
  t.equal(one(fields(cext.get('x-kubernetes-patch-merge-key')!), 2).toString(), '"name"\n');
  // maps: additionalProperties{schema}
  const labels = fields(named(fields(one(fields(defs.get('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta')!), 25)).get(1)).get('labels')!);
  t.same(strs(fields(one(fields(one(fields(one(labels, 21)), 1)), 22)), 1), ['string']);
  // paths: the PATCH operation carries the GVK and a fieldValidation query parameter
  const paths = named(fields(one(doc, 8)).get(2));
  const item = fields(paths.get('/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}')!);
  const patch = fields(one(item, 8));
  t.equal(one(patch, 5).toString(), 'patchAppsV1NamespacedStatefulSet');
  const params = (patch.get(8) ?? []).map((b) => fields(one(fields(b as Buffer), 1)));
  const query = params.filter((p) => p.has(2)).map((p) => fields(one(fields(one(p, 2)), 3)));
  t.ok(query.some((q) => one(q, 4).toString() === 'fieldValidation' && one(q, 2).toString() === 'query'));
  const body = params.find((p) => p.has(1))!;
  t.equal(one(fields(one(body, 1)), 2).toString(), 'body');
  const opExt = named(patch.get(13));
  t.same(JSON.parse(one(fields(opExt.get('x-kubernetes-group-version-kind')!), 2).toString()), { group: 'apps', version: 'v1', kind: 'StatefulSet' });
  const pathParams = (item.get(9) ?? []).map((b) => fields(one(fields(one(fields(b as Buffer), 1)), 2)));
  t.ok(pathParams.some((p) => p.has(4)), 'path parameter encoded as path_parameter_sub_schema');
  const responses = named(fields(one(patch, 9)).get(1));
  t.ok(responses.has('200'));
});

t.test('encodeDocument handles large varints and empty docs', async (t) => {
  const big = 'x'.repeat(20000);
  const b = encodeDocument({ swagger: '2.0', info: { title: big, version: '' }, paths: {}, definitions: {} });
  const f = fields(b);
  t.equal(fields(one(f, 2)).get(1)![0]!.toString().length, 20000);
});

t.test('v3', async (t) => {
  t.equal(openapiV3(p20, '/openapi/v3'), undefined, 'no /openapi/v3 before 1.24');
  const idx = openapiV3(p32, '/openapi/v3')!;
  t.equal(idx.contentType, 'application/json');
  const index = JSON.parse(idx.body.toString()) as { paths: Record<string, { serverRelativeURL: string }> };
  t.same(Object.keys(index.paths), groupVersionPaths(p32));
  t.same(Object.keys(index.paths), ['api/v1', 'apis/apps/v1', 'apis/storage.k8s.io/v1']);
  const url = index.paths['apis/apps/v1']!.serverRelativeURL;
  t.match(url, /^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{128}$/);
  const apps = openapiV3(p32, url)!;
  const doc = JSON.parse(apps.body.toString()) as {
    openapi: string;
    paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; requestBody?: unknown; 'x-kubernetes-group-version-kind'?: unknown }>>;
    components: { schemas: Record<string, { properties?: Record<string, { $ref?: string }> }> };
  };
  t.equal(doc.openapi, '3.0.0');
  t.ok(Object.keys(doc.paths).every((p) => p.startsWith('/apis/apps/v1/')));
  const patch = doc.paths['/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}']!.patch!;
  t.ok(patch.parameters!.some((p) => p.name === 'fieldValidation' && p.in === 'query'));
  t.same(patch['x-kubernetes-group-version-kind'], { group: 'apps', version: 'v1', kind: 'StatefulSet' });
  t.ok(patch.requestBody);
  t.equal(doc.components.schemas['io.k8s.api.apps.v1.StatefulSetSpec']!.properties!.selector!.$ref, '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector');
  t.ok(openapiV3(p32, '/openapi/v3/api/v1/'), 'trailing slash');
  t.equal(openapiV3(p32, '/openapi/v3/apis/batch/v1'), undefined);
  const p24 = { ...clusterProfile('v1.27'), version: 'v1.24-test', minor: 24, fieldValidation: false };
  const d24 = JSON.parse(openapiV3(p24, 'openapi/v3/apis/apps/v1')!.body.toString()) as typeof doc;
  t.notOk(d24.paths['/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}']!.patch!.parameters!.some((p) => p.name === 'fieldValidation'), 'not advertised without the feature');
});
