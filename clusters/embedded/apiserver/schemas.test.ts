import t from 'tap';
import { clusterProfile } from '../profiles.js';
import { resourcesFor } from './resources.js';
import { buildDefinitions, cachedSchemas, definitionName, modelClassOf, packageOfGroupVersion, schemasFor } from './schemas.js';

t.test('definition names are the Go ones', async (t) => {
  t.equal(definitionName('V1Pod'), 'io.k8s.api.core.v1.Pod');
  t.equal(definitionName('V1StatefulSetSpec'), 'io.k8s.api.apps.v1.StatefulSetSpec');
  t.equal(definitionName('V1ObjectMeta'), 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
  t.equal(definitionName('V1StorageClass'), 'io.k8s.api.storage.v1.StorageClass');
  t.equal(definitionName('V1Scale'), 'io.k8s.api.autoscaling.v1.Scale');
  t.equal(definitionName('V1ScaleIOVolumeSource'), 'io.k8s.api.core.v1.ScaleIOVolumeSource');
  t.equal(definitionName('V1Eviction'), 'io.k8s.api.policy.v1.Eviction');
  t.equal(definitionName('CoreV1EventSeries'), 'io.k8s.api.core.v1.EventSeries');
  t.equal(modelClassOf('Event'), 'CoreV1Event');
  t.equal(modelClassOf('Pod'), 'V1Pod');
  t.equal(packageOfGroupVersion('', 'v1'), 'io.k8s.api.core.v1');
  t.equal(packageOfGroupVersion('storage.k8s.io', 'v1beta1'), 'io.k8s.api.storage.v1beta1');
});

t.test('definitions from the client-node models', async (t) => {
  const d = buildDefinitions(['V1StatefulSet', 'V1PersistentVolume', 'CoreV1Event']);
  t.match(d['io.k8s.api.apps.v1.StatefulSetSpec'], { type: 'object', required: ['selector', 'template'], properties: { replicas: { type: 'integer', format: 'int32' }, serviceName: { type: 'string' } } });
  t.same(d['io.k8s.api.apps.v1.StatefulSetSpec']!.properties!.volumeClaimTemplates, { type: 'array', items: { $ref: '#/definitions/io.k8s.api.core.v1.PersistentVolumeClaim' } });
  t.match(d['io.k8s.api.core.v1.Container'], { required: ['name'] });
  t.match(d['io.k8s.api.core.v1.PodSpec']!.properties!.containers, { 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge' });
  t.match(d['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']!.properties!.finalizers, { 'x-kubernetes-patch-strategy': 'merge' });
  t.notOk(d['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']!.properties!.finalizers!['x-kubernetes-patch-merge-key']);
  t.same(d['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']!.properties!.labels, { type: 'object', additionalProperties: { type: 'string' } });
  t.same(d['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']!.properties!.creationTimestamp, { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Time' });
  t.same(d['io.k8s.apimachinery.pkg.apis.meta.v1.Time'], { type: 'string', format: 'date-time' });
  t.same(d['io.k8s.api.core.v1.PersistentVolumeSpec']!.properties!.capacity, { type: 'object', additionalProperties: { $ref: '#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity' } });
  t.same(d['io.k8s.apimachinery.pkg.api.resource.Quantity'], { type: 'string' });
  t.same(d['io.k8s.apimachinery.pkg.util.intstr.IntOrString'], { type: 'string', format: 'int-or-string' });
  t.same(d['io.k8s.api.core.v1.EmptyDirVolumeSource']!.properties!.sizeLimit, { $ref: '#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity' });
  t.same(d['io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry']!.properties!.fieldsV1, { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1' });
  t.same(d['io.k8s.api.core.v1.Event']!.properties!.eventTime, { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime' });
  t.match(d['io.k8s.api.core.v1.HTTPGetAction']!.properties!.port, { $ref: '#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString' });
  t.same(d['io.k8s.api.core.v1.PodSpec']!.properties!.hostNetwork, { type: 'boolean' });
  t.same(d['io.k8s.api.core.v1.PodSpec']!.properties!.activeDeadlineSeconds, { type: 'integer', format: 'int64' });
  // every $ref resolves
  const refs = JSON.stringify(d).match(/#\/definitions\/[^"]+/g) ?? [];
  t.ok(refs.length > 100);
  t.same(refs.filter((r) => !d[r.slice('#/definitions/'.length)]), [], 'no dangling $ref');
  t.throws(() => buildDefinitions(['V1NoSuchThing']), /no model class V1NoSuchThing/);
});

t.test('schemas for a profile: every kind and group version with its GVK', async (t) => {
  const p = clusterProfile('v1.10');
  const s = schemasFor(resourcesFor(p));
  t.same(s.definitions['io.k8s.api.apps.v1.StatefulSet']!['x-kubernetes-group-version-kind'], [{ group: 'apps', version: 'v1', kind: 'StatefulSet' }]);
  t.same(s.definitions['io.k8s.api.apps.v1beta1.StatefulSet']!['x-kubernetes-group-version-kind'], [{ group: 'apps', version: 'v1beta1', kind: 'StatefulSet' }]);
  t.same(s.definitions['io.k8s.api.apps.v1beta1.StatefulSet']!.properties, s.definitions['io.k8s.api.apps.v1.StatefulSet']!.properties, 'old versions reuse the v1 shape');
  t.same(s.definitions['io.k8s.api.storage.v1beta1.StorageClass']!['x-kubernetes-group-version-kind'], [{ group: 'storage.k8s.io', version: 'v1beta1', kind: 'StorageClass' }]);
  t.same(s.definitions['io.k8s.api.core.v1.Pod']!['x-kubernetes-group-version-kind'], [{ group: '', version: 'v1', kind: 'Pod' }]);
  t.equal(s.byGVK.get('apps/v1beta2/Deployment'), 'io.k8s.api.apps.v1beta2.Deployment');
  t.equal(s.byGVK.get('autoscaling/v1/Scale'), 'io.k8s.api.autoscaling.v1.Scale');
  for (const r of resourcesFor(p)) t.ok(s.byGVK.get(`${r.group}/${r.version}/${r.kind}`), `${r.kind} ${r.version} has a schema`);
  const a = cachedSchemas('test-key', resourcesFor(p));
  t.equal(cachedSchemas('test-key', resourcesFor(p)), a, 'cached');
});
