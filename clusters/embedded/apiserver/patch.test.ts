import t from 'tap';
import { parse } from 'yaml';
import { applyPatch, isPatchType, mergePatch, strategicMergePatch, type Json, type JsonObject } from './patch.js';
import { type Schema, type FieldMeta, hasStrategicSchema, schemaFor } from './patch-meta.js';
import { ApiError } from './status.js';

// The MergeItem test struct of apimachinery's strategicpatch patch_test.go, as a schema.
const mergeItem: Record<string, FieldMeta> = {};
const retainKeysItem: Schema = { mergingIntList: { strategy: 'merge' }, mergingList: { strategy: 'merge', key: 'name', schema: mergeItem } };
Object.assign(mergeItem, {
  mergingList: { strategy: 'merge', key: 'name', schema: mergeItem },
  nonMergingList: { schema: mergeItem },
  mergingIntList: { strategy: 'merge' },
  mergeItemPtr: { strategy: 'merge', key: 'name', schema: mergeItem },
  replacingItem: { strategy: 'replace' },
  retainKeysMap: { schema: retainKeysItem },
  retainKeysMergingList: { strategy: 'merge', key: 'name', schema: mergeItem },
} satisfies Record<string, FieldMeta>);

const y = (s: string) => (parse(s) ?? {}) as JsonObject;
const smp = (original: string, patch: string) => strategicMergePatch(y(original), y(patch), mergeItem);
const SMP = 'application/strategic-merge-patch+json';
const MERGE = 'application/merge-patch+json';
const JSONP = 'application/json-patch+json';

function errorOf(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected an ApiError');
}

// Cases from customStrategicMergePatchTestCaseData / customStrategicMergePatchRawTestCases / createStrategicMergePatchTestCaseData
// (original + twoWay patch -> modified, or current + threeWay patch -> result).
const upstream: [string, string, string, string][] = [
  ['unique scalars when merging lists', 'mergingIntList: [1, 2]', 'mergingIntList: [2, 3]', 'mergingIntList: [1, 2, 3]'],
  ['delete map from nested map', 'simpleMap: {key1: 1, key2: 1}', 'simpleMap: {$patch: delete}', 'simpleMap: {}'],
  ['delete all items from merging list', 'mergingList: [{name: 1}, {name: 2}]', 'mergingList: [{$patch: replace}]', 'mergingList: []'],
  ['merge empty merging lists', 'mergingList: []', 'mergingList: []', 'mergingList: []'],
  ['delete all keys from map', '{name: 1, value: 1}', '$patch: replace', '{}'],
  ['add key and delete all keys from map', '{name: 1, value: 1}', '{other: a, $patch: replace}', 'other: a'],
  [
    'delete all duplicate entries in a merging list',
    'mergingList: [{name: 1}, {name: 1}, {name: 2, value: a}, {name: 3}, {name: 3}]',
    'mergingList: [{name: 1, $patch: delete}, {name: 3, $patch: delete}]',
    'mergingList: [{name: 2, value: a}]',
  ],
  ['retainKeys map can add a field when no retainKeys directive present', 'retainKeysMap: {name: foo}', 'retainKeysMap: {value: bar}', 'retainKeysMap: {name: foo, value: bar}'],
  ['retainKeys map can delete a field when no retainKeys directive present', 'retainKeysMap: {name: foo, value: a}', 'retainKeysMap: {value: null}', 'retainKeysMap: {name: foo}'],
  ['retainKeys map merge an empty map', 'retainKeysMap: {name: foo, value: a}', 'retainKeysMap: {}', 'retainKeysMap: {name: foo, value: a}'],
  [
    'retainKeys list can change a field when no retainKeys directive present',
    'retainKeysMergingList: [{name: bar}, {name: foo, value: a}]',
    'retainKeysMergingList: [{name: foo, value: b}]',
    'retainKeysMergingList: [{name: bar}, {name: foo, value: b}]',
  ],
  [
    'preserve the order from the patch in a merging list',
    'mergingList: [{name: 1}, {name: 2, value: b}, {name: 3}]',
    'mergingList: [{name: 3, value: c}, {name: 1, value: a}, {name: 2, other: x}]',
    'mergingList: [{name: 3, value: c}, {name: 1, value: a}, {name: 2, value: b, other: x}]',
  ],
  [
    'preserve the order from the patch in a merging list 2',
    'mergingList: [{name: 1}, {name: 2, value: b}, {name: 3}]',
    'mergingList: [{name: 3, value: c}, {name: 1, value: a}]',
    'mergingList: [{name: 2, value: b}, {name: 3, value: c}, {name: 1, value: a}]',
  ],
  ['preserve the order from the patch in a merging int list', 'mergingIntList: [1, 2, 3]', 'mergingIntList: [3, 1, 2]', 'mergingIntList: [3, 1, 2]'],
  ['preserve the order from the patch in a merging int list 2', 'mergingIntList: [1, 2, 3]', 'mergingIntList: [3, 1]', 'mergingIntList: [2, 3, 1]'],
  [
    '$setElementOrder contains item that is not present in the list to be merged',
    'mergingList: [{name: 1}, {name: 3}]',
    '{$setElementOrder/mergingList: [{name: 3}, {name: 2}, {name: 1}], mergingList: [{name: 3, value: 3}, {name: 1, value: 1}]}',
    'mergingList: [{name: 3, value: 3}, {name: 1, value: 1}]',
  ],
  ['$setElementOrder contains item that is not present in the int list to be merged', 'mergingIntList: [1, 3]', '$setElementOrder/mergingIntList: [3, 2, 1]', 'mergingIntList: [3, 1]'],
  ['$deleteFromPrimitiveList of nonexistent item', 'mergingIntList: [1, 2]', '$deleteFromPrimitiveList/mergingIntList: [3]', 'mergingIntList: [1, 2]'],
  ['$deleteFromPrimitiveList on empty primitive list', 'mergingIntList: null', '$deleteFromPrimitiveList/mergingIntList: [3]', 'mergingIntList: null'],
  ['$deleteFromPrimitiveList on nonexistent primitive list', 'foo: [bar]', '$deleteFromPrimitiveList/mergingIntList: [3]', 'foo: [bar]'],
  ['$deleteFromPrimitiveList with merge strategy', 'mergingIntList: [1, 2, 3]', '$deleteFromPrimitiveList/mergingIntList: [2]', 'mergingIntList: [1, 3]'],
  ['$deleteFromPrimitiveList without merge strategy', 'nonMergingIntList: [1, 2, 3]', '$deleteFromPrimitiveList/nonMergingIntList: [2]', 'nonMergingIntList: [1, 3]'],
  ['nil original', '{}', '{name: 1, value: 1}', '{name: 1, value: 1}'],
  ['add field and delete field from map', '{name: 1, other: a}', '{name: null, value: 1}', '{value: 1, other: a}'],
  ['delete field from nested map', 'simpleMap: {key1: 1, key2: 1, other: a}', 'simpleMap: {key2: null}', 'simpleMap: {key1: 1, other: a}'],
  ['replace list of scalars', 'nonMergingIntList: [1, 4]', 'nonMergingIntList: [2, 3]', 'nonMergingIntList: [2, 3]'],
  [
    'delete all maps from merging list with conflict',
    'mergingList: [{name: 1, other: a}, {name: 2, other: b}]',
    'mergingList: [{name: 1, $patch: delete}, {name: 2, $patch: delete}]',
    'mergingList: []',
  ],
  ['delete all maps from empty merging list', 'mergingList: []', 'mergingList: [{name: 1, $patch: delete}, {name: 2, $patch: delete}]', 'mergingList: []'],
  ['defined null values should not be added', '{name: a, other: a}', '{name: 1, value: 1, other: null}', '{name: 1, value: 1}'],
  [
    'nested patch merge with empty list (two-way)',
    'name: hi',
    'mergingList: [{name: hello}, {$patch: delete, name: doesntexist}]',
    '{name: hi, mergingList: [{name: hello}]}',
  ],
  [
    'nested patch merge with empty list (three-way)',
    '{name: hi, mergingList: [{name: hello2}]}',
    '{$setElementOrder/mergingList: [{name: hello}, {name: doesntexist}], mergingList: [{name: hello}, {$patch: delete, name: doesntexist}]}',
    '{name: hi, mergingList: [{name: hello}, {name: hello2}]}',
  ],
  ['delete items in lists of scalars', 'mergingIntList: [1, 2, 3, 4]', '{$setElementOrder/mergingIntList: [1, 2], $deleteFromPrimitiveList/mergingIntList: [3]}', 'mergingIntList: [1, 2, 4]'],
  ['delete all duplicate items in lists of scalars', 'mergingIntList: [1, 2, 3, 3, 4]', '{$setElementOrder/mergingIntList: [1, 2], $deleteFromPrimitiveList/mergingIntList: [3]}', 'mergingIntList: [1, 2, 4]'],
  [
    'add and delete items in lists of scalars',
    'mergingIntList: [1, 2, 3]',
    '{$setElementOrder/mergingIntList: [1, 2, 4], $deleteFromPrimitiveList/mergingIntList: [3], mergingIntList: [4]}',
    'mergingIntList: [1, 2, 4]',
  ],
  [
    'merge lists of maps',
    'mergingList: [{name: 1, other: a}, {name: 2, value: 2, other: b}]',
    '{$setElementOrder/mergingList: [{name: 4}, {name: 1}, {name: 2}, {name: 3}], mergingList: [{name: 4, value: 4}, {name: 3, value: 3}]}',
    'mergingList: [{name: 4, value: 4}, {name: 1, other: a}, {name: 2, value: 2, other: b}, {name: 3, value: 3}]',
  ],
  [
    'merge lists of maps with conflict',
    'mergingList: [{name: 1, other: a}, {name: 2, value: 3, other: b}]',
    '{$setElementOrder/mergingList: [{name: 1}, {name: 2}, {name: 3}], mergingList: [{name: 2, value: 2}, {name: 3, value: 3}]}',
    'mergingList: [{name: 1, other: a}, {name: 2, value: 2, other: b}, {name: 3, value: 3}]',
  ],
  [
    'retainKeys clears keys not listed',
    'retainKeysMap: {name: foo, value: a, other: b}',
    'retainKeysMap: {$retainKeys: [name, other], other: c}',
    'retainKeysMap: {name: foo, other: c}',
  ],
  ['replace strategy on a map', 'replacingItem: {a: 1, b: 2}', 'replacingItem: {c: 3}', 'replacingItem: {c: 3}'],
  ['new list without merge strategy drops directive elements', '{}', 'nonMergingList: [{name: a, $patch: delete}, {name: b, x: null}]', 'nonMergingList: [{name: b}]'],
  ['type change replaces', 'simpleMap: [1]', 'simpleMap: {a: 1}', 'simpleMap: {a: 1}'],
  ['new nested map loses directives', '{}', 'mergeItemPtr: {$retainKeys: [a], a: 1, b: null, $setElementOrder/x: [], $deleteFromPrimitiveList/y: [1]}', 'mergeItemPtr: {a: 1}'],
  ['new map with $patch replace keeps its content', '{}', 'simpleMap: {$patch: replace, a: 1}', 'simpleMap: {a: 1}'],
  ['new map with $patch delete is dropped', '{}', 'simpleMap: {$patch: delete, a: 1}', '{}'],
  ['delete list wins over merge-list element', 'mergingIntList: [1, 2]', '$deleteFromPrimitiveList/mergingIntList: null', '{}'],
  [
    'setElementOrder without a patch list reorders',
    'mergingList: [{name: a}, {name: b}, {name: c}]',
    '$setElementOrder/mergingList: [{name: c}, {name: a}, {name: b}]',
    'mergingList: [{name: c}, {name: a}, {name: b}]',
  ],
  [
    'setElementOrder with new list',
    '{}',
    '{$setElementOrder/mergingList: [{name: b}, {name: a}], mergingList: [{name: b}, {name: c, $patch: delete}, {name: a, x: null}]}',
    'mergingList: [{name: b}, {name: a}]',
  ],
  ['setElementOrder on atomic list of maps', 'nonMergingList: [{name: a}]', '{$setElementOrder/nonMergingList: [{name: b}], nonMergingList: [{name: b}]}', 'nonMergingList: [{name: b}]'],
  ['setElementOrder on empty lists', 'mergingIntList: []', '$setElementOrder/mergingIntList: []', 'mergingIntList: []'],
  ['setElementOrder with nothing', '{a: 1}', '$setElementOrder/mergingIntList: [1]', '{a: 1}'],
  ['replace in a merging list keeps order of the replacement', 'mergingList: [{name: a}, {name: b}]', 'mergingList: [{name: c, x: 1}, {$patch: replace}, {name: d}]', 'mergingList: [{name: c, x: 1}, {name: d}]'],
];

t.test('strategic merge patch: upstream strategicpatch cases', async (t) => {
  for (const [name, original, patch, want] of upstream) t.same(smp(original, patch), y(want), name);
});

t.test('strategic merge patch errors', async (t) => {
  const cases: [string, string, string, number, RegExp][] = [
    ['order mismatch', 'mergingList: [{name: 1}, {name: 3}, {name: 2}]', '{$setElementOrder/mergingList: [{name: 1}, {name: 2}, {name: 3}], mergingList: [{name: 3, value: 3}, {name: 1, value: 1}]}', 500, /doesn't match/],
    ['int order mismatch', 'mergingIntList: [1, 3, 2]', '{$setElementOrder/mergingIntList: [1, 2, 3], mergingIntList: [3, 1]}', 500, /doesn't match/],
    ['missing merge key', 'mergingList: [{name: 1, value: a}]', 'mergingList: [{value: b}]', 500, /does not contain declared merge key: name/],
    ['missing merge key in delete', 'mergingList: [{name: 1}]', 'mergingList: [{$patch: delete}]', 500, /does not contain declared merge key/],
    ['missing merge key in setElementOrder', 'mergingList: [{name: 1}]', '{$setElementOrder/mergingList: [{x: 1}], mergingList: [{name: 1}]}', 500, /merge key/],
    ['$patch merge in list', 'mergingList: [{name: 1}]', 'mergingList: [{$patch: merge}]', 500, /merging lists cannot yet be specified/],
    ['bad $patch in list', 'mergingList: [{name: 1}]', 'mergingList: [{$patch: bogus}]', 500, /unknown patch type: bogus/],
    ['bad $patch in map', 'simpleMap: {a: 1}', 'simpleMap: {$patch: merge}', 500, /unknown patch type: merge in map: map\[\$patch:merge\]/],
    ['retainKeys not a list', 'retainKeysMap: {a: 1}', 'retainKeysMap: {$retainKeys: x}', 400, /invalid patch format of retainKeys/],
    ['retainKeys missing patched key', 'retainKeysMap: {a: 1}', 'retainKeysMap: {$retainKeys: [a], b: 2}', 400, /retainKeys/],
    ['setElementOrder not a list', 'mergingList: []', '$setElementOrder/mergingList: x', 400, /setElementOrder/],
    ['setElementOrder on a non-list', 'mergingList: x', '$setElementOrder/mergingList: [1]', 500, /expected a \[\]interface/],
    ['setElementOrder with non-list patch', 'mergingList: [1]', '{$setElementOrder/mergingList: [1], mergingList: x}', 500, /expected a \[\]interface/],
    ['lists of lists', 'mergingIntList: [[1]]', 'mergingIntList: [[2]]', 500, /lists of lists/],
    ['mixed element types', 'mergingIntList: [1]', 'mergingIntList: [a]', 500, /not identical/],
    ['non-map element in merging list', 'mergingList: [{name: 1}]', 'mergingList: [{name: 2}, 3]', 500, /not identical/],
  ];
  for (const [name, original, patch, code, message] of cases) {
    const e = errorOf(() => smp(original, patch));
    t.equal(e.code, code, `${name}: code`);
    t.match(e.message, message, `${name}: message`);
  }
  // A merge strategy without a key on a list of maps is a table error the Go code reports too.
  const e = errorOf(() => strategicMergePatch(y('l: [{a: 1}]'), y('l: [{a: 2}]'), { l: { strategy: 'merge' } }));
  t.match(e.message, /without merge key/);
});

const pod = () => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'x',
    namespace: 'default',
    labels: { app: 'x' },
    finalizers: ['a/b'],
    ownerReferences: [{ uid: 'u1', name: 'rs', kind: 'ReplicaSet', apiVersion: 'apps/v1' }],
  },
  spec: {
    containers: [
      {
        name: 'main',
        image: 'busybox:1',
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' },
        ],
        ports: [{ containerPort: 80, protocol: 'TCP' }],
        volumeMounts: [{ mountPath: '/data', name: 'data' }],
      },
      { name: 'side', image: 'nginx' },
    ],
    volumes: [{ name: 'data', emptyDir: {} }],
    tolerations: [{ key: 'k', operator: 'Exists' }],
  },
  status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }, { type: 'Initialized', status: 'True' }] },
});

t.test('what kubectl sends', async (t) => {
  const labelled = applyPatch('Pod', pod(), '{"metadata":{"labels":{"a":"b"}}}', MERGE) as ReturnType<typeof pod>;
  t.same(labelled.metadata.labels, { app: 'x', a: 'b' }, 'kubectl label: merge patch adds a label');
  const unlabelled = applyPatch('Pod', pod(), '{"metadata":{"labels":{"app":null}}}', MERGE) as ReturnType<typeof pod>;
  t.same(unlabelled.metadata.labels, {}, 'kubectl label app-: null deletes');
  const annotated = applyPatch('Pod', pod(), '{"metadata":{"annotations":{"n":"v"}}}', SMP) as { metadata: { annotations: unknown } };
  t.same(annotated.metadata.annotations, { n: 'v' }, 'kubectl annotate: SMP creates the map');

  const scale = { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: 'web' }, spec: { replicas: 1 }, status: { replicas: 1, selector: 'app=web' } };
  t.same(applyPatch('Scale', scale, '{"spec":{"replicas":5}}', MERGE), { ...scale, spec: { replicas: 5 } }, 'kubectl scale');
  t.equal(scale.spec.replicas, 1, 'the original is not modified');

  // Second kubectl apply: image change of one container, order kept by $setElementOrder.
  const deploy = { kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 1, template: { metadata: { labels: { app: 'web' } }, spec: pod().spec } } };
  const applied = applyPatch(
    'Deployment',
    deploy,
    JSON.stringify({
      metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
      spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'main' }, { name: 'side' }], containers: [{ name: 'main', image: 'busybox:2' }] } } },
    }),
    SMP,
  ) as typeof deploy;
  const containers = applied.spec.template.spec.containers;
  t.same(containers.map((c) => [c.name, c.image]), [['main', 'busybox:2'], ['side', 'nginx']], 'apply: image changed, order kept');
  t.same(containers[0]!.env, pod().spec.containers[0]!.env, 'apply: untouched env kept');
  t.notOk(JSON.stringify(applied).includes('$'), 'no directive survives');

  // Removing an env var the way kubectl apply does.
  const noB = applyPatch(
    'Pod',
    pod(),
    JSON.stringify({
      spec: {
        '$setElementOrder/containers': [{ name: 'main' }, { name: 'side' }],
        containers: [{ name: 'main', '$setElementOrder/env': [{ name: 'A' }], env: [{ name: 'B', $patch: 'delete' }] }],
      },
    }),
    SMP,
  ) as ReturnType<typeof pod>;
  t.same(noB.spec.containers[0]!.env, [{ name: 'A', value: '1' }], 'env var B deleted');
  t.equal(noB.spec.containers.length, 2);

  // kubectl patch adding a container: without $setElementOrder the new item goes first (as upstream; see the k8s docs).
  const added = applyPatch('Pod', pod(), '{"spec":{"containers":[{"name":"new","image":"redis"}]}}', SMP) as ReturnType<typeof pod>;
  t.same(added.spec.containers.map((c) => c.name), ['new', 'main', 'side']);

  // Atomic lists are replaced.
  const tol = applyPatch('Pod', pod(), '{"spec":{"tolerations":[{"key":"z","operator":"Exists"}]}}', SMP) as ReturnType<typeof pod>;
  t.same(tol.spec.tolerations, [{ key: 'z', operator: 'Exists' }], 'tolerations are atomic');

  // Status conditions merge by type; finalizers are a set; ownerReferences merge by uid.
  const st = applyPatch(
    'Pod',
    pod(),
    JSON.stringify({
      metadata: { finalizers: ['c/d', 'a/b'], ownerReferences: [{ uid: 'u1', controller: true }] },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    }),
    SMP,
  ) as ReturnType<typeof pod> & { metadata: { ownerReferences: { controller?: boolean }[] } };
  t.same(st.status.conditions, [{ type: 'Ready', status: 'True' }, { type: 'Initialized', status: 'True' }]);
  t.same(st.metadata.finalizers, ['c/d', 'a/b']);
  t.equal(st.metadata.ownerReferences.length, 1);
  t.equal(st.metadata.ownerReferences[0]!.controller, true);
  const nofin = applyPatch('Pod', pod(), '{"metadata":{"$deleteFromPrimitiveList/finalizers":["a/b"]}}', SMP) as ReturnType<typeof pod>;
  t.same(nofin.metadata.finalizers, []);

  // Ports by containerPort, volume mounts by mountPath, volumes by name (with $retainKeys as kubectl apply sends it).
  const vp = applyPatch(
    'Pod',
    pod(),
    JSON.stringify({
      spec: {
        containers: [{ name: 'main', ports: [{ containerPort: 80, name: 'http' }], volumeMounts: [{ mountPath: '/data', readOnly: true }] }],
        volumes: [{ name: 'data', $retainKeys: ['name', 'hostPath'], hostPath: { path: '/x' } }],
      },
    }),
    SMP,
  ) as { spec: { containers: { ports: unknown; volumeMounts: unknown }[]; volumes: unknown } };
  t.same(vp.spec.containers[0]!.ports, [{ containerPort: 80, protocol: 'TCP', name: 'http' }]);
  t.same(vp.spec.containers[0]!.volumeMounts, [{ mountPath: '/data', name: 'data', readOnly: true }]);
  t.same(vp.spec.volumes, [{ name: 'data', hostPath: { path: '/x' } }], 'retainKeys swaps the volume source');

  // kubectl edit: a full object as SMP; the lists it keeps merge, the ones it drops are deleted by kubectl's diff.
  const edited = pod();
  edited.spec.containers[1]!.image = 'nginx:2';
  const full = applyPatch('Pod', pod(), JSON.stringify(edited), SMP);
  t.same(full, edited, 'full-object SMP yields the object');

  const svc = { kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }, { port: 443, protocol: 'TCP' }] } };
  const svc2 = applyPatch('Service', svc, '{"spec":{"ports":[{"port":80,"targetPort":9090}]}}', SMP) as typeof svc;
  t.same(svc2.spec.ports, [{ port: 80, protocol: 'TCP', targetPort: 9090 }, { port: 443, protocol: 'TCP' }], 'Service ports merge by port');

  const node = { kind: 'Node', metadata: { name: 'n' }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }], conditions: [{ type: 'Ready', status: 'True' }] } };
  const node2 = applyPatch('Node', node, '{"status":{"addresses":[{"type":"Hostname","address":"n"}],"conditions":[{"type":"Ready","status":"False"}]}}', SMP) as typeof node;
  t.same(node2.status.addresses, [{ type: 'Hostname', address: 'n' }, { type: 'InternalIP', address: '10.0.0.1' }]);
  t.same(node2.status.conditions, [{ type: 'Ready', status: 'False' }]);

  const pvc = { kind: 'PersistentVolumeClaim', metadata: { name: 'c' }, spec: { accessModes: ['ReadWriteOnce'] } };
  t.same((applyPatch('PersistentVolumeClaim', pvc, '{"spec":{"accessModes":["ReadOnlyMany"]}}', SMP) as typeof pvc).spec.accessModes, ['ReadOnlyMany'], 'accessModes atomic');

  const cm = { kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } };
  t.same(applyPatch('ConfigMap', cm, '{"data":{"a":null,"b":"2"}}', 'application/strategic-merge-patch+json; charset=utf-8'), { ...cm, data: { b: '2' } });
  t.same(applyPatch('Pod', null, '{"a":1}', SMP), { a: 1 }, 'no original');
  t.same(applyPatch('Pod', 'not an object', '{"a":1}', SMP), { a: 1 }, 'non-object original');
});

t.test('patch tables', async (t) => {
  t.ok(hasStrategicSchema('StatefulSet'));
  t.notOk(hasStrategicSchema('Widget'));
  const sts = schemaFor('StatefulSet');
  t.equal(sts.spec?.schema?.template?.schema?.spec?.schema?.containers?.schema?.env?.key, 'name', 'StatefulSet template containers env by name');
  t.notOk(sts.spec?.schema?.volumeClaimTemplates, 'volumeClaimTemplates atomic');
  t.equal(schemaFor('CronJob').spec?.schema?.jobTemplate?.schema?.spec?.schema?.template?.schema?.spec?.schema?.initContainers?.key, 'name');
  t.equal(schemaFor('Widget').metadata?.schema?.ownerReferences?.key, 'uid');
  t.notOk(schemaFor('Pod').spec?.schema?.tolerations, 'tolerations atomic');
  t.notOk(schemaFor('Pod').status?.schema?.containerStatuses, 'containerStatuses atomic');
  t.notOk(schemaFor('Endpoints').subsets, 'Endpoints subsets atomic');
});

t.test('JSON merge patch (RFC 7386 appendix A)', async (t) => {
  const cases: [Json, Json, Json][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, want] of cases) t.same(mergePatch(structuredClone(target), patch), want, JSON.stringify(patch));
  t.equal(errorOf(() => applyPatch('Pod', {}, '[1]', MERGE)).code, 400, 'a non-object merge patch is refused');
  t.equal(errorOf(() => applyPatch('Pod', {}, '{', MERGE)).code, 400);
});

t.test('JSON patch (RFC 6902)', async (t) => {
  const doc = { metadata: { labels: { 'a/b': '1', 'c~d': '2' } }, list: [1, 2, 3] };
  const ok: [string, Json, Json][] = [
    ['add member', [{ op: 'add', path: '/metadata/labels/x', value: 'y' }], { ...doc, metadata: { labels: { ...doc.metadata.labels, x: 'y' } } }],
    ['escaped pointers', [{ op: 'replace', path: '/metadata/labels/a~1b', value: '9' }, { op: 'remove', path: '/metadata/labels/c~0d' }], { ...doc, metadata: { labels: { 'a/b': '9' } } }],
    ['append with -', [{ op: 'add', path: '/list/-', value: 4 }], { ...doc, list: [1, 2, 3, 4] }],
    ['insert', [{ op: 'add', path: '/list/0', value: 0 }], { ...doc, list: [0, 1, 2, 3] }],
    ['remove element', [{ op: 'remove', path: '/list/1' }], { ...doc, list: [1, 3] }],
    ['replace element', [{ op: 'replace', path: '/list/2', value: 9 }], { ...doc, list: [1, 2, 9] }],
    ['move', [{ op: 'move', from: '/list', path: '/moved' }], { metadata: doc.metadata, moved: [1, 2, 3] }],
    ['copy', [{ op: 'copy', from: '/list/0', path: '/first' }], { ...doc, first: 1 }],
    ['test passes', [{ op: 'test', path: '/list', value: [1, 2, 3] }, { op: 'test', path: '/metadata/labels/c~0d', value: '2' }], doc],
    ['replace whole document', [{ op: 'replace', path: '', value: { z: 1 } }], { z: 1 }],
    ['test of an absent member against null', [{ op: 'test', path: '/nope', value: null }], doc],
  ];
  for (const [name, ops, want] of ok) t.same(applyPatch('Pod', doc, JSON.stringify(ops), JSONP), want, name);

  const bad: [string, Json, number, RegExp][] = [
    ['failing test', [{ op: 'test', path: '/list/0', value: 5 }], 422, /testing value \/list\/0 failed/],
    ['test of missing path', [{ op: 'test', path: '/nope', value: 1 }], 422, /testing value/],
    ['remove missing', [{ op: 'remove', path: '/nope' }], 422, /missing/],
    ['replace missing', [{ op: 'replace', path: '/nope', value: 1 }], 422, /missing key/],
    ['add under missing parent', [{ op: 'add', path: '/a/b', value: 1 }], 422, /missing path/],
    ['add under a scalar', [{ op: 'add', path: '/list/0/x', value: 1 }], 422, /missing path/],
    ['index out of range', [{ op: 'add', path: '/list/9', value: 1 }], 422, /out of range/],
    ['bad index', [{ op: 'remove', path: '/list/x' }], 422, /invalid array index/],
    ['get from array out of range', [{ op: 'copy', from: '/list/3', path: '/x' }], 422, /out of range/],
    ['copy from missing', [{ op: 'copy', from: '/nope', path: '/x' }], 422, /missing/],
    ['remove whole doc', [{ op: 'remove', path: '' }], 422, /whole document/],
    ['bad pointer', [{ op: 'remove', path: 'list' }], 422, /invalid JSON pointer/],
    ['no value', [{ op: 'add', path: '/x' }], 422, /has no \\"value/],
    ['no from', [{ op: 'move', path: '/x' }], 422, /has no \\"from/],
    ['move into itself', [{ op: 'move', from: '/metadata', path: '/metadata/labels/x' }], 422, /prefix/],
    ['unknown op', [{ op: 'frob', path: '/x' }], 422, /Unexpected kind: frob/],
    ['no path', [{ op: 'remove' }], 400, /no valid "path"/],
    ['not a list', { op: 'add' }, 400, /cannot unmarshal object/],
    ['op not an object', [1], 400, /cannot unmarshal number/],
  ];
  for (const [name, ops, code, message] of bad) {
    const e = errorOf(() => applyPatch('Pod', doc, JSON.stringify(ops), JSONP));
    t.equal(e.code, code, `${name}: code`);
    t.match(e.message + JSON.stringify(e.details ?? {}), message, `${name}: message`);
  }
  const failed = errorOf(() => applyPatch('Pod', doc, '[{"op":"test","path":"/list/0","value":5}]', JSONP));
  t.equal(failed.reason, 'Invalid');
  t.same(failed.toStatus().details?.causes?.[0]?.reason, 'UnexpectedServerResponse');
  t.equal(errorOf(() => applyPatch('Pod', doc, 'nope', JSONP)).message.startsWith('error decoding patch: '), true);
});

t.test('content types', async (t) => {
  const ssa = errorOf(() => applyPatch('Pod', {}, 'apiVersion: v1', 'application/apply-patch+yaml'));
  t.equal(ssa.code, 415);
  t.equal(ssa.reason, 'UnsupportedMediaType');
  t.match(ssa.message, /server-side apply .* not supported/);
  const other = errorOf(() => applyPatch('Pod', {}, '{}', 'application/json'));
  t.equal(other.code, 415);
  t.match(other.message, /^the body of the request was in an unknown format - accepted media types include: application\/json-patch\+json, /);
  const smpBad = errorOf(() => applyPatch('Pod', {}, '[]', SMP));
  t.equal(smpBad.code, 400);
  t.match(smpBad.message, /cannot unmarshal array into Go value of type map/);
  t.ok(isPatchType('application/merge-patch+json; charset=utf-8'));
  t.notOk(isPatchType('application/json'));
});
