import t from 'tap';
import { clusterProfile } from '../profiles.js';
import { resourcesFor } from './resources.js';
import { Store, type KObject } from './store.js';
import { ApiError } from './status.js';
import { createAdmission, defaultStorageClass, parseQuantity, qosClass, statefulSetForbidden, PVC_PROTECTION, PV_PROTECTION } from './admission.js';

function mk(version: string) {
  const profile = clusterProfile(version);
  const admission = createAdmission(profile);
  const store = new Store({ types: resourcesFor(profile), admission });
  store.create('core/namespaces', { metadata: { name: 'default' } });
  return { store, admission, profile };
}

const pod = (name: string, extra: Record<string, unknown> = {}): KObject => ({ metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }], ...extra } });
const pv = (name: string, spec: Record<string, unknown> = {}): KObject => ({ metadata: { name }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], flexVolume: { driver: 'datera/iscsi' }, ...spec } });
const pvc = (name: string, spec: Record<string, unknown> = {}): KObject => ({ metadata: { name, namespace: 'default' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...spec } });
const sts = (name: string, spec: Record<string, unknown> = {}): KObject => ({
  metadata: { name, namespace: 'default' },
  spec: { serviceName: 'svc', selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } }, ...spec },
});

function errOf(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected an ApiError');
}

t.test('parseQuantity', async (t) => {
  t.equal(parseQuantity('1Gi'), 1073741824n);
  t.equal(parseQuantity('1.5Gi'), 1610612736n);
  t.equal(parseQuantity('10M'), 10_000_000n);
  t.equal(parseQuantity('1e3'), 1000n);
  t.equal(parseQuantity('1E-3'), 1n, 'rounds up like Quantity.Value()');
  t.equal(parseQuantity('500m'), 1n);
  t.equal(parseQuantity('2k'), 2000n);
  t.equal(parseQuantity('-1Ki'), -1024n);
  t.equal(parseQuantity('+3'), 3n);
  t.equal(parseQuantity('1Ti'), 1099511627776n);
  for (const bad of ['abc', '1GB', '1..2', '', '1Gix']) t.throws(() => parseQuantity(bad), { reason: 'BadRequest' } as unknown as Error, bad);
});

t.test('pod defaults (v1.32) and QoS', async (t) => {
  const { store } = mk('v1.32');
  const p = store.create('core/pods', pod('p', { containers: [{ name: 'c', image: 'nginx:1.25', ports: [{ containerPort: 80 }], readinessProbe: { httpGet: { port: 80 } }, env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }, { name: 'd', image: 'busybox' }], volumes: [{ name: 's', secret: { secretName: 'x' } }, { name: 'h', hostPath: { path: '/x' } }] })).object;
  const spec = p.spec as Record<string, any>;
  t.match(spec, { restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', terminationGracePeriodSeconds: 30, schedulerName: 'default-scheduler', securityContext: {}, serviceAccountName: 'default', serviceAccount: 'default', enableServiceLinks: true, priority: 0, preemptionPolicy: 'PreemptLowerPriority' });
  t.equal(spec.containers[0].imagePullPolicy, 'IfNotPresent');
  t.equal(spec.containers[1].imagePullPolicy, 'Always', 'no tag is latest');
  t.equal(spec.containers[0].terminationMessagePath, '/dev/termination-log');
  t.equal(spec.containers[0].terminationMessagePolicy, 'File');
  t.same(spec.containers[0].resources, {});
  t.equal(spec.containers[0].ports[0].protocol, 'TCP');
  t.match(spec.containers[0].readinessProbe, { timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3, httpGet: { path: '/', scheme: 'HTTP' } });
  t.equal(spec.containers[0].env[0].valueFrom.fieldRef.apiVersion, 'v1');
  t.equal(spec.volumes[0].secret.defaultMode, 420);
  t.equal(spec.volumes[1].hostPath.type, '');
  t.equal(spec.tolerations.length, 2, 'DefaultTolerationSeconds');
  t.same(p.status, { phase: 'Pending', qosClass: 'BestEffort' });
  t.equal(qosClass({ containers: [{ resources: { limits: { cpu: '1', memory: '1Gi' } } }] }), 'Guaranteed');
  t.equal(qosClass({ containers: [{ resources: { requests: { cpu: '1' } } }] }), 'Burstable');
  t.equal(qosClass({ containers: [{ resources: { requests: { cpu: '1' }, limits: { cpu: '2', memory: '1Gi' } } }] }), 'Burstable');
  const latest = store.create('core/pods', pod('q', { containers: [{ name: 'c', image: 'reg:5000/nginx:latest' }, { name: 'd', image: 'reg:5000/nginx' }, { name: 'e', image: 'nginx@sha256:abc' }] })).object;
  t.same((latest.spec as any).containers.map((c: any) => c.imagePullPolicy), ['Always', 'Always', 'IfNotPresent']);
});

t.test('pod defaults differ on old releases', async (t) => {
  const { store } = mk('v1.6');
  const spec = store.create('core/pods', pod('p')).object.spec as Record<string, any>;
  t.equal(spec.enableServiceLinks, undefined);
  t.equal(spec.priority, undefined);
  t.equal(spec.tolerations, undefined);
  t.equal(spec.containers[0].terminationMessagePolicy, undefined);
});

t.test('pod validation and updates', async (t) => {
  const { store } = mk('v1.20');
  let e = errOf(() => store.create('core/pods', { metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: '', image: '' }] } }));
  t.equal(e.code, 422);
  t.match(e.message, 'spec.containers[0].name: Required value');
  t.match(e.message, 'spec.containers[0].image: Required value');
  e = errOf(() => store.create('core/pods', pod('p', { containers: [{ name: 'c', image: 'x', volumeMounts: [{ name: 'nope', mountPath: '/d' }] }] })));
  t.equal(e.message, 'Pod "p" is invalid: spec.containers[0].volumeMounts[0].name: Not found: "nope"');
  e = errOf(() => store.create('core/pods', { metadata: { name: 'p', namespace: 'default' }, spec: {} }));
  t.match(e.message, 'spec.containers: Required value');
  const p = store.create('core/pods', pod('p')).object;
  // Binding (nodeName from unset) and image changes are allowed; other spec changes are not.
  (p.spec as any).nodeName = 'n1';
  (p.spec as any).containers[0].image = 'busybox:2';
  const bound = store.update('core/pods', p).object;
  t.equal((bound.spec as any).nodeName, 'n1');
  (bound.spec as any).restartPolicy = 'Never';
  e = errOf(() => store.update('core/pods', bound));
  t.match(e.message, 'spec: Forbidden: pod updates may not change fields');
});

t.test('service account admission is switchable', async (t) => {
  const { store, admission } = mk('v1.32');
  admission.enforceServiceAccounts = true;
  const e = errOf(() => store.create('core/pods', pod('p')));
  t.equal(e.code, 403);
  t.equal(e.message, 'pods "p" is forbidden: error looking up service account default/default: serviceaccount "default" not found');
  store.create('core/serviceaccounts', { metadata: { name: 'default', namespace: 'default' } });
  t.ok(store.create('core/pods', pod('p')).object);
});

t.test('services', async (t) => {
  const { store } = mk('v1.32');
  const k = store.create('core/services', { metadata: { name: 'kubernetes', namespace: 'default' }, spec: { ports: [{ port: 443, targetPort: 6443 }] } }).object;
  t.equal((k.spec as any).clusterIP, '10.96.0.1');
  const s = store.create('core/services', { metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'a' }, ports: [{ port: 80 }] } }).object;
  const spec = s.spec as Record<string, any>;
  t.match(spec, { type: 'ClusterIP', sessionAffinity: 'None', ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', internalTrafficPolicy: 'Cluster' });
  t.match(spec.clusterIP, /^10\.(9[6-9]|10[0-9]|11[01])\./);
  t.not(spec.clusterIP, '10.96.0.1');
  t.same(spec.clusterIPs, [spec.clusterIP]);
  t.same(spec.ports[0], { port: 80, protocol: 'TCP', targetPort: 80 });
  t.same(s.status, { loadBalancer: {} });
  const h = store.create('core/services', { metadata: { name: 'hl', namespace: 'default' }, spec: { clusterIP: 'None', selector: { app: 'a' } } }).object;
  t.same((h.spec as any).clusterIPs, ['None']);
  // Updates keep the allocated IP when the client leaves it out, and refuse a change.
  const upd = structuredClone(s);
  delete (upd.spec as any).clusterIP;
  delete (upd.spec as any).clusterIPs;
  t.equal((store.update('core/services', upd).object.spec as any).clusterIP, spec.clusterIP);
  const chg = store.get('core/services', 'default', 'web')!;
  (chg.spec as any).clusterIP = '10.96.0.77';
  t.match(errOf(() => store.update('core/services', chg)).message, 'spec.clusterIP: Invalid value: "10.96.0.77": field is immutable');
  t.match(errOf(() => store.create('core/services', { metadata: { name: 'x', namespace: 'default' }, spec: { clusterIP: spec.clusterIP, ports: [{ port: 1 }] } })).message, 'provided IP is already allocated');
  t.match(errOf(() => store.create('core/services', { metadata: { name: 'y', namespace: 'default' }, spec: { clusterIP: '192.168.0.1', ports: [{ port: 1 }] } })).message, 'not in the valid range');
  t.match(errOf(() => store.create('core/services', { metadata: { name: 'z', namespace: 'default' }, spec: {} })).message, 'spec.ports: Required value');
  const old = mk('v1.10').store.create('core/services', { metadata: { name: 'web', namespace: 'default' }, spec: { ports: [{ port: 80 }] } }).object;
  t.equal((old.spec as any).ipFamilies, undefined, 'no dual-stack fields before 1.20');
});

t.test('persistent volumes', async (t) => {
  const { store } = mk('v1.32');
  const r = store.create('core/persistentvolumes', pv('pv1'));
  t.match(r.object.spec, { persistentVolumeReclaimPolicy: 'Retain', volumeMode: 'Filesystem' });
  t.same(r.object.status, { phase: 'Pending' });
  t.same(r.object.metadata.finalizers, [PV_PROTECTION]);
  t.same(r.warnings, []);
  const rec = store.create('core/persistentvolumes', pv('pv2', { persistentVolumeReclaimPolicy: 'Recycle' }));
  t.same(rec.warnings, ['spec.persistentVolumeReclaimPolicy: The Recycle reclaim policy is deprecated. Instead, the recommended approach is to use dynamic provisioning.']);
  t.same(mk('v1.27').store.create('core/persistentvolumes', pv('pv2', { persistentVolumeReclaimPolicy: 'Recycle' })).warnings, [], 'no warning before 1.30');
  let e = errOf(() => store.create('core/persistentvolumes', { metadata: { name: 'bad' }, spec: {} }));
  t.equal(e.message, 'PersistentVolume "bad" is invalid: [spec.accessModes: Required value, spec.capacity: Required value, spec: Required value: must specify a volume type]');
  e = errOf(() => store.create('core/persistentvolumes', pv('two', { nfs: { server: 'x', path: '/' }, accessModes: ['Bogus'] })));
  t.match(e.message, 'spec.flexVolume: Forbidden: may not specify more than 1 volume type');
  t.match(e.message, 'spec.accessModes: Unsupported value: "Bogus"');
  e = errOf(() => store.create('core/persistentvolumes', pv('cap', { capacity: { cpu: '1' }, persistentVolumeReclaimPolicy: 'Keep', flexVolume: {} })));
  t.match(e.message, 'spec.capacity: Unsupported value');
  t.match(e.message, 'spec.persistentVolumeReclaimPolicy: Unsupported value: "Keep"');
  t.match(e.message, 'spec.flexVolume.driver: Required value');
  e = errOf(() => store.create('core/persistentvolumes', pv('q', { capacity: { storage: 'abc' } })));
  t.equal(e.code, 400);
  t.match(e.message, 'PersistentVolume in version "v1" cannot be handled as a PersistentVolume: quantities must match the regular expression');
  const cur = store.get('core/persistentvolumes', undefined, 'pv1')!;
  (cur.spec as any).flexVolume = { driver: 'other/x' };
  t.match(errOf(() => store.update('core/persistentvolumes', cur)).message, 'spec.persistentVolumeSource: Forbidden: spec.persistentVolumeSource is immutable after creation');
  const c2 = store.get('core/persistentvolumes', undefined, 'pv1')!;
  (c2.spec as any).persistentVolumeReclaimPolicy = 'Delete';
  t.equal((store.update('core/persistentvolumes', c2).object.spec as any).persistentVolumeReclaimPolicy, 'Delete', 'reclaim policy is mutable');
  const v6 = mk('v1.6').store.create('core/persistentvolumes', pv('old')).object;
  t.equal(v6.metadata.finalizers, undefined, 'no pv-protection on 1.6');
  t.equal((v6.spec as any).volumeMode, undefined);
});

t.test('persistent volume claims', async (t) => {
  const { store } = mk('v1.32');
  const c = store.create('core/persistentvolumeclaims', pvc('c1')).object;
  t.same(c.metadata.finalizers, [PVC_PROTECTION]);
  t.equal((c.spec as any).volumeMode, 'Filesystem');
  t.equal((c.spec as any).storageClassName, undefined, 'no default class yet');
  t.same(c.status, { phase: 'Pending' });
  let e = errOf(() => store.create('core/persistentvolumeclaims', { metadata: { name: 'b', namespace: 'default' }, spec: {} }));
  t.equal(e.message, 'PersistentVolumeClaim "b" is invalid: [spec.accessModes: Required value: at least 1 access mode is required, spec.resources[storage]: Required value]');
  e = errOf(() => store.create('core/persistentvolumeclaims', pvc('q', { resources: { requests: { storage: 'abc' } } })));
  t.equal(e.reason, 'BadRequest');
  e = errOf(() => store.create('core/persistentvolumeclaims', pvc('z', { resources: { requests: { storage: '0' } } })));
  t.match(e.message, 'spec.resources[storage]: Invalid value: "0": must be greater than zero');
  // Unbound: nothing in spec may change except the PV controller filling volumeName.
  const u = store.get('core/persistentvolumeclaims', 'default', 'c1')!;
  (u.spec as any).resources.requests.storage = '2Gi';
  e = errOf(() => store.update('core/persistentvolumeclaims', u));
  t.equal(e.message, 'PersistentVolumeClaim "c1" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests for bound claims');
  const b = store.get('core/persistentvolumeclaims', 'default', 'c1')!;
  (b.spec as any).volumeName = 'pv1';
  store.update('core/persistentvolumeclaims', b);
  const st = store.get('core/persistentvolumeclaims', 'default', 'c1')!;
  st.status = { phase: 'Bound' };
  store.update('core/persistentvolumeclaims', st, { sub: 'status' });
  const grow = store.get('core/persistentvolumeclaims', 'default', 'c1')!;
  (grow.spec as any).resources.requests.storage = '2Gi';
  t.equal((store.update('core/persistentvolumeclaims', grow).object.spec as any).resources.requests.storage, '2Gi', 'bound claims may grow');
  const shrink = store.get('core/persistentvolumeclaims', 'default', 'c1')!;
  (shrink.spec as any).resources.requests.storage = '1Gi';
  t.match(errOf(() => store.update('core/persistentvolumeclaims', shrink)).message, 'spec.resources.requests.storage: Forbidden: field can not be less than previous value');
  const mode = store.get('core/persistentvolumeclaims', 'default', 'c1')!;
  (mode.spec as any).accessModes = ['ReadWriteMany'];
  t.match(errOf(() => store.update('core/persistentvolumeclaims', mode)).message, 'spec: Forbidden');
  // Per-release texts.
  for (const [v, text] of [
    ['v1.10', 'spec: Forbidden: field is immutable after creation'],
    ['v1.35', 'spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims'],
  ] as const) {
    const m = mk(v).store;
    m.create('core/persistentvolumeclaims', pvc('c'));
    const x = m.get('core/persistentvolumeclaims', 'default', 'c')!;
    (x.spec as any).accessModes = ['ReadOnlyMany'];
    t.match(errOf(() => m.update('core/persistentvolumeclaims', x)).message, text, v);
  }
  t.equal(mk('v1.6').store.create('core/persistentvolumeclaims', pvc('c')).object.metadata.finalizers, undefined, 'no pvc-protection on 1.6');
});

t.test('default storage class', async (t) => {
  const { store, profile } = mk('v1.32');
  store.create('storage.k8s.io/storageclasses', { metadata: { name: 'plain' }, provisioner: 'x' });
  t.equal(defaultStorageClass(store, profile), undefined);
  const sc = store.create('storage.k8s.io/storageclasses', { metadata: { name: 'gold', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }, provisioner: 'x' }).object;
  t.match(sc, { reclaimPolicy: 'Delete', volumeBindingMode: 'Immediate' });
  t.match(errOf(() => store.create('storage.k8s.io/storageclasses', { metadata: { name: 'rec' }, provisioner: 'x', reclaimPolicy: 'Recycle' })).message, 'reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"', 'a class cannot Recycle');
  t.match(store.create('storage.k8s.io/storageclasses', { metadata: { name: 'ret' }, provisioner: 'x', reclaimPolicy: 'Retain' }).object, { reclaimPolicy: 'Retain' });
  t.equal((store.create('core/persistentvolumeclaims', pvc('a')).object.spec as any).storageClassName, 'gold');
  t.equal((store.create('core/persistentvolumeclaims', pvc('b', { storageClassName: '' })).object.spec as any).storageClassName, '', '"" is left alone');
  t.equal((store.create('core/persistentvolumeclaims', pvc('c', { storageClassName: 'plain' })).object.spec as any).storageClassName, 'plain');
  // Several defaults: the newest wins (1.26+); before that admission refuses.
  const later = new Date(Date.now() + 5000);
  const s2 = new Store({ types: resourcesFor(profile), admission: createAdmission(profile), now: () => later });
  void s2;
  store.create('storage.k8s.io/storageclasses', { metadata: { name: 'silver', annotations: { 'storageclass.beta.kubernetes.io/is-default-class': 'true' } }, provisioner: 'x' });
  const picked = defaultStorageClass(store, profile)!.metadata.name;
  t.ok(picked === 'silver' || picked === 'gold');
  const old = mk('v1.20');
  for (const n of ['a', 'b']) old.store.create('storage.k8s.io/storageclasses', { metadata: { name: n, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }, provisioner: 'x' });
  t.match(errOf(() => old.store.create('core/persistentvolumeclaims', pvc('c'))).message, '2 default StorageClasses were found');
  const upd = store.get('storage.k8s.io/storageclasses', undefined, 'gold')!;
  upd.provisioner = 'y';
  t.match(errOf(() => store.update('storage.k8s.io/storageclasses', upd)).message, 'provisioner: Forbidden');
  t.match(errOf(() => store.create('storage.k8s.io/storageclasses', { metadata: { name: 'np' } })).message, 'provisioner: Required value');
});

t.test('statefulsets', async (t) => {
  const { store } = mk('v1.32');
  const s = store.create('apps/statefulsets', sts('web', { volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }] })).object;
  const spec = s.spec as Record<string, any>;
  t.match(spec, { replicas: 1, podManagementPolicy: 'OrderedReady', revisionHistoryLimit: 10, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } }, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' } });
  t.equal(spec.template.spec.restartPolicy, 'Always');
  t.equal(spec.template.metadata.creationTimestamp, null);
  t.match(spec.volumeClaimTemplates[0], { apiVersion: 'v1', kind: 'PersistentVolumeClaim', spec: { volumeMode: 'Filesystem' }, status: { phase: 'Pending' } });
  // Scaling and template changes are allowed; other fields are not.
  const up = store.get('apps/statefulsets', 'default', 'web')!;
  (up.spec as any).replicas = 3;
  (up.spec as any).template.spec.containers[0].image = 'nginx:1.26';
  t.equal((store.update('apps/statefulsets', up).object.spec as any).replicas, 3);
  const bad = store.get('apps/statefulsets', 'default', 'web')!;
  (bad.spec as any).volumeClaimTemplates[0].spec.resources.requests.storage = '5Gi';
  t.equal(
    errOf(() => store.update('apps/statefulsets', bad)).message,
    "StatefulSet.apps \"web\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
  );
  // Containers may mount the claim templates' volumes; a mount of anything else is refused.
  const mounting = (name: string, vol: string) =>
    sts(name, {
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      template: { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.25', volumeMounts: [{ name: vol, mountPath: '/d' }] }] } },
    });
  t.ok(store.create('apps/statefulsets', mounting('claims', 'data')).object.metadata.uid, 'a mount of a claim template is valid');
  t.match(errOf(() => store.create('apps/statefulsets', mounting('nowhere', 'nope'))).message, 'spec.template.spec.containers[0].volumeMounts[0].name: Not found: "nope"');
  let e = errOf(() => store.create('apps/statefulsets', sts('mis', { selector: { matchLabels: { app: 'b' } } })));
  t.equal(e.message, 'StatefulSet.apps "mis" is invalid: spec.template.metadata.labels: Invalid value: {"app":"a"}: `selector` does not match template `labels`');
  e = errOf(() => store.create('apps/statefulsets', sts('nosel', { selector: undefined, serviceName: '' })));
  t.match(e.message, 'spec.selector: Required value');
  e = errOf(() => store.create('apps/statefulsets', sts('empty', { selector: {}, replicas: -1 })));
  t.match(e.message, 'empty selector is invalid for statefulset');
  t.match(e.message, 'spec.replicas: Invalid value: -1');
  e = errOf(() => store.create('apps/statefulsets', sts('never', { template: { metadata: { labels: { app: 'a' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] } } })));
  t.match(e.message, 'spec.template.spec.restartPolicy: Unsupported value: "Never"');
  const v20 = mk('v1.20').store;
  t.match(errOf(() => v20.create('apps/statefulsets', sts('ns', { serviceName: '' }))).message, 'spec.serviceName: Required value');
  const r20 = v20.create('apps/statefulsets', sts('web', { persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete' }, ordinals: { start: 2 } })).object;
  t.equal((r20.spec as any).persistentVolumeClaimRetentionPolicy, undefined, 'dropped without the gate');
  t.equal((r20.spec as any).ordinals, undefined);
  const u20 = v20.get('apps/statefulsets', 'default', 'web')!;
  (u20.spec as any).podManagementPolicy = 'Parallel';
  t.match(errOf(() => v20.update('apps/statefulsets', u20)).message, "'replicas', 'template', and 'updateStrategy' are forbidden");
  t.match(statefulSetForbidden(clusterProfile('v1.35')), "'revisionHistoryLimit'");
  t.match(statefulSetForbidden(clusterProfile('v1.6')), "'replicas' and 'containers'");
  // apps/v1beta1 (1.6 serves only that): OnDelete and the selector taken from the template labels.
  const v6 = mk('v1.6').store;
  const b = v6.create('apps/statefulsets', { metadata: { name: 'old', namespace: 'default' }, spec: { serviceName: 's', template: { metadata: { labels: { app: 'z' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } }).object;
  t.same((b.spec as any).selector, { matchLabels: { app: 'z' } });
  t.same(b.metadata.labels, { app: 'z' });
  t.equal((b.spec as any).updateStrategy, undefined, 'no update strategies in 1.6');
  const v10 = mk('v1.10');
  const beta = v10.store.type('apps/statefulsets');
  const o: KObject = { metadata: { name: 'b1', namespace: 'default' }, spec: { serviceName: 's', template: { metadata: { labels: { app: 'z' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } };
  v10.admission.admit('create', { ...beta, version: 'v1beta1' }, o, undefined, v10.store);
  t.equal((o.spec as any).updateStrategy.type, 'OnDelete');
});

t.test('deployments, namespaces, secrets', async (t) => {
  const { store } = mk('v1.27');
  const d = store.create('apps/deployments', { metadata: { name: 'd', namespace: 'default' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x:1' }] } } } }).object;
  t.match(d.spec, { replicas: 1, revisionHistoryLimit: 10, progressDeadlineSeconds: 600, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } } });
  const ns = store.create('core/namespaces', { metadata: { name: 'n' } }).object;
  t.same(ns.spec, { finalizers: ['kubernetes'] });
  t.same(ns.status, { phase: 'Active' });
  t.equal(store.create('core/secrets', { metadata: { name: 's', namespace: 'default' } }).object.type, 'Opaque');
  t.equal(store.create('core/secrets', { metadata: { name: 't', namespace: 'default' }, type: 'kubernetes.io/tls' }).object.type, 'kubernetes.io/tls');
});

t.test('secrets: stringData is merged into data and never stored', async (t) => {
  const { store } = mk('v1.32');
  const s = store.create('core/secrets', { metadata: { name: 's', namespace: 'default' }, data: { a: 'eA==', b: 'eA==' }, stringData: { b: 'pw', c: 'ü' } } as KObject).object as any;
  t.same(s.data, { a: 'eA==', b: Buffer.from('pw').toString('base64'), c: Buffer.from('ü').toString('base64') }, 'stringData wins over data');
  t.notOk('stringData' in s, 'stringData is write-only');
  t.equal(s.type, 'Opaque');
  const up = store.update('core/secrets', { ...s, stringData: { a: 'new' } }).object as any;
  t.equal(Buffer.from(up.data.a, 'base64').toString(), 'new', 'on update too');
});

t.test('namespaces carry kubernetes.io/metadata.name from 1.21', async (t) => {
  t.equal((mk('v1.32').store.create('core/namespaces', { metadata: { name: 'n1' } }).object.metadata.labels as any)?.['kubernetes.io/metadata.name'], 'n1');
  t.notOk(mk('v1.20').store.create('core/namespaces', { metadata: { name: 'n1' } }).object.metadata.labels?.['kubernetes.io/metadata.name']);
});
