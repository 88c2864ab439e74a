import t from 'tap';
import { checkFields, decodeError, duplicateFields, strictMessage, typeError, warningsOf } from './field-validation.js';

const sts = (spec: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'web', labels: { a: 'b' } },
  spec: {
    replicas: 3,
    serviceName: 'web',
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox', ports: [{ containerPort: 80 }], resources: { requests: { cpu: '100m', memory: 1024 } } }] } },
    ...spec,
  },
  ...extra,
});

t.test('unknown fields with the paths real servers print', async (t) => {
  t.same(checkFields('StatefulSet', 'apps/v1', sts({})), { unknown: [] });
  t.same(checkFields('StatefulSet', 'apps/v1', sts({ replica: 3 })).unknown, ['spec.replica']);
  const nested = sts({
    template: { metadata: { labelz: {} }, spec: { containers: [{ name: 'c', image: 'x' }, { name: 'd', imagee: 'x', env: [{ name: 'A', valu: '1' }] }] } },
  });
  t.same(checkFields('StatefulSet', 'apps/v1', nested).unknown, ['spec.template.metadata.labelz', 'spec.template.spec.containers[1].imagee', 'spec.template.spec.containers[1].env[0].valu']);
  t.same(checkFields('StatefulSet', 'apps/v1', sts({}, { metadata: { name: 'x', nam: 'y' }, status2: 1 })).unknown, ['metadata.nam', 'status2']);
  // map values of object type are checked too, free-form fields (RawExtension) are not
  t.same(checkFields('ControllerRevision', 'apps/v1', { metadata: { name: 'r' }, data: { anything: { goes: 1 } }, revision: 1 }).unknown, []);
  t.same(checkFields('Service', 'v1', { spec: { selector: { a: 'b' }, ports: [{ port: 80, targetPort: 'http', nodeport: 1 }] } }).unknown, ['spec.ports[0].nodeport']);
  t.same(checkFields('Pod', 'v1', { spec: { overhead: { cpu: '1' } } }).unknown, []);
  t.same(checkFields('NoSuchKind', 'v1', { whatever: 1 }), { unknown: [] }, 'kinds without schema pass');
  t.same(checkFields('Secret', 'v1', 'not an object'), { unknown: [] });
});

t.test('duplicate fields from the raw body', async (t) => {
  const raw = '{"apiVersion":"apps/v1","kind":"StatefulSet","spec":{"replicas":1,"replicas":2,"template":{"spec":{"containers":[{"name":"a","name":"b"}]}}},"metadata":{},"a":[1,"x\\"y",true,null,[]]}';
  t.same(duplicateFields(raw), ['spec.replicas', 'spec.template.spec.containers[0].name']);
  const r = checkFields('StatefulSet', 'apps/v1', JSON.parse(raw), raw);
  t.same(r.duplicate, ['spec.replicas', 'spec.template.spec.containers[0].name']);
  t.same(r.unknown, ['a']);
  t.equal(strictMessage(r), 'strict decoding error: duplicate field "spec.replicas", duplicate field "spec.template.spec.containers[0].name", unknown field "a"');
  t.same(warningsOf(r), ['duplicate field "spec.replicas"', 'duplicate field "spec.template.spec.containers[0].name"', 'unknown field "a"']);
  t.equal(strictMessage({ unknown: [] }), undefined);
  t.same(warningsOf({ unknown: ['spec.replica'] }), ['unknown field "spec.replica"']);
  t.notOk('duplicate' in checkFields('StatefulSet', 'apps/v1', {}, '{}'));
  t.same(duplicateFields('{"a":'), []);
  t.same(duplicateFields('{"a": {}, "b": [ ], "a": 1}'), ['a']);
});

t.test('type errors as encoding/json reports them', async (t) => {
  t.equal(typeError('StatefulSet', sts({})), undefined);
  t.equal(typeError('StatefulSet', sts({ replicas: 'three' })), 'json: cannot unmarshal string into Go struct field StatefulSetSpec.spec.replicas of type int32');
  t.equal(typeError('StatefulSet', sts({ replicas: 1.5 })), 'json: cannot unmarshal number 1.5 into Go struct field StatefulSetSpec.spec.replicas of type int32');
  t.equal(typeError('StatefulSet', sts({ serviceName: 5 })), 'json: cannot unmarshal number into Go struct field StatefulSetSpec.spec.serviceName of type string');
  t.equal(typeError('StatefulSet', sts({ template: { spec: { containers: { name: 'c' } } } })), 'json: cannot unmarshal object into Go struct field PodSpec.spec.template.spec.containers of type []v1.Container');
  t.equal(typeError('StatefulSet', sts({ selector: 'app=web' })), 'json: cannot unmarshal string into Go struct field StatefulSetSpec.spec.selector of type v1.LabelSelector');
  t.equal(typeError('StatefulSet', sts({}, { metadata: { labels: { a: 1 } } })), 'json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string');
  t.equal(typeError('StatefulSet', sts({}, { metadata: { labels: [] } })), 'json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type map[string]string');
  t.equal(typeError('Pod', { spec: { hostNetwork: 'yes' } }), 'json: cannot unmarshal string into Go struct field PodSpec.spec.hostNetwork of type bool');
  t.equal(typeError('Pod', { spec: { containers: [{ name: 'c', livenessProbe: { httpGet: { port: {} } } }] } }), 'json: cannot unmarshal object into Go struct field HTTPGetAction.spec.containers.livenessProbe.httpGet.port of type intstr.IntOrString');
  t.equal(typeError('Pod', { spec: { containers: [{ name: 'c', livenessProbe: { httpGet: { port: 'http' } } }] } }), undefined, 'IntOrString takes strings');
  t.equal(typeError('Pod', { metadata: null, spec: { containers: [{ name: 'c', resources: { limits: { cpu: 1 } } }] } }), undefined, 'Quantity takes numbers; null is fine');
  t.equal(typeError('Pod', { metadata: 'x' }), 'json: cannot unmarshal string into Go struct field Pod.metadata of type v1.ObjectMeta');
  t.equal(typeError('Pod', { spec: { containers: [{ args: 'x' }] } }), 'json: cannot unmarshal string into Go struct field Container.spec.containers.args of type []string');
  t.equal(typeError('ControllerRevision', { data: 'x', revision: 1 }), undefined, 'RawExtension is free-form');
  t.equal(typeError('NoSuchKind', { a: 1 }), undefined);
  t.equal(typeError('Node', { status: { capacity: { cpu: {} } } }), 'json: cannot unmarshal object into Go struct field NodeStatus.status.capacity of type resource.Quantity');
});

t.test('decodeError: the 400 a real server sends', async (t) => {
  const e = decodeError('StatefulSet', 'apps/v1', sts({ replicas: 'three' }))!;
  t.equal(e.code, 400);
  t.equal(e.reason, 'BadRequest');
  t.equal(e.message, 'StatefulSet in version "v1" cannot be handled as a StatefulSet: json: cannot unmarshal string into Go struct field StatefulSetSpec.spec.replicas of type int32');
  t.match(decodeError('Pod', 'v1', { spec: { nodeName: 1 } })!.message, /^Pod in version "v1" cannot be handled as a Pod: /);
  t.equal(decodeError('Pod', 'v1', { spec: {} }), undefined);
});
