import t from 'tap';
import { waitFor } from '../../../lib/wait.js';
import { clusterProfile } from '../profiles.js';
import { resourcesFor } from '../apiserver/resources.js';
import { Store, type KObject } from '../apiserver/store.js';
import { createAdmission } from '../apiserver/admission.js';
import { EventRecorder, type ControllerContext } from './framework.js';
import { GarbageCollector } from './garbage-collector.js';

function env(t: { teardown(fn: () => void): void }, version = 'v1.32') {
  const profile = clusterProfile(version);
  const store = new Store({ types: resourcesFor(profile), admission: createAdmission(profile) });
  store.create('core/namespaces', { metadata: { name: 'default' } });
  const ctx: ControllerContext = { store, profile, events: new EventRecorder(store), log: () => undefined };
  const gc = new GarbageCollector();
  gc.start(ctx);
  t.teardown(() => gc.stop());
  return { store, gc };
}

const cm = (name: string, owner?: KObject, block = false): KObject => ({
  metadata: { name, namespace: 'default', ...(owner ? { ownerReferences: [{ apiVersion: owner.apiVersion!, kind: owner.kind!, name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true, ...(block ? { blockOwnerDeletion: true } : {}) }] } : {}) },
  data: {},
});
const gone = (store: Store, key: string, name: string, ns: string | undefined = 'default') => waitFor(`${name} gone`, async () => (store.get(key, ns, name) ? undefined : true));

t.test('background: dependents of a deleted owner go, in every scope', async (t) => {
  const { store } = env(t);
  const owner = store.create('core/configmaps', cm('owner')).object;
  store.create('core/configmaps', cm('dep', owner));
  store.create('core/secrets', { ...cm('dep2', owner), data: undefined });
  const pvOwner = store.create('core/persistentvolumes', { metadata: { name: 'pvo' }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], flexVolume: { driver: 'd' } } }).object;
  store.create('core/configmaps', cm('cluster-dep', pvOwner));
  store.delete('core/configmaps', 'default', 'owner');
  await gone(store, 'core/configmaps', 'dep');
  await gone(store, 'core/secrets', 'dep2');
  t.ok(store.get('core/configmaps', 'default', 'cluster-dep'), 'a live cluster-scoped owner keeps its dependent');
  // A namespaced owner of a cluster-scoped object is invalid: treated as absent.
  store.create('core/nodes', { metadata: { name: 'n1', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'cluster-dep', uid: store.get('core/configmaps', 'default', 'cluster-dep')!.metadata.uid! }] } });
  await gone(store, 'core/nodes', 'n1', undefined);
  t.pass('collected');
});

t.test('dangling owner that never existed; partial owners are stripped', async (t) => {
  const { store } = env(t);
  store.create('core/configmaps', { metadata: { name: 'orphaned', namespace: 'default', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'ghost', uid: 'no-such-uid' }] } });
  await gone(store, 'core/configmaps', 'orphaned');
  const live = store.create('core/configmaps', cm('live')).object;
  store.create('core/configmaps', { metadata: { name: 'two', namespace: 'default', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'live', uid: live.metadata.uid! }, { apiVersion: 'v1', kind: 'ConfigMap', name: 'ghost', uid: 'ghost-uid' }] } });
  const refs = await waitFor('stripped', async () => {
    const o = store.get('core/configmaps', 'default', 'two');
    return o?.metadata.ownerReferences?.length === 1 ? o.metadata.ownerReferences : undefined;
  });
  t.equal(refs[0]!.uid, live.metadata.uid);
});

t.test('orphan: dependents lose the ownerReference and survive', async (t) => {
  const { store, gc } = env(t);
  const owner = store.create('core/configmaps', cm('owner')).object;
  store.create('core/configmaps', cm('dep', owner));
  store.create('core/configmaps', { metadata: { name: 'other', namespace: 'default', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: owner.metadata.uid! }, { apiVersion: 'v1', kind: 'ConfigMap', name: 'dep', uid: store.get('core/configmaps', 'default', 'dep')!.metadata.uid! }] } });
  const r = store.delete('core/configmaps', 'default', 'owner', { propagationPolicy: 'Orphan' });
  t.notOk(r.deleted, 'the orphan finalizer holds the owner');
  await gone(store, 'core/configmaps', 'owner');
  await gc.idle();
  t.equal(store.get('core/configmaps', 'default', 'dep')!.metadata.ownerReferences, undefined);
  t.equal(store.get('core/configmaps', 'default', 'other')!.metadata.ownerReferences?.length, 1);
});

t.test('foreground: owner stays until blocking dependents are gone', async (t) => {
  const { store } = env(t);
  store.create('core/nodes', { metadata: { name: 'n1' } });
  const owner = store.create('core/configmaps', cm('owner')).object;
  // A pod on a node waits for its kubelet, so the owner must wait too.
  store.create('core/pods', { metadata: { name: 'p', namespace: 'default', ownerReferences: cm('x', owner, true).metadata.ownerReferences }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] } });
  store.create('core/configmaps', cm('dep', owner, true));
  store.delete('core/configmaps', 'default', 'owner', { propagationPolicy: 'Foreground' });
  await gone(store, 'core/configmaps', 'dep');
  const pod = await waitFor('pod terminating', async () => store.get('core/pods', 'default', 'p')?.metadata.deletionTimestamp ? store.get('core/pods', 'default', 'p') : undefined);
  t.ok(pod.metadata.deletionTimestamp);
  t.same(store.get('core/configmaps', 'default', 'owner')?.metadata.finalizers, ['foregroundDeletion'], 'owner waits for the blocking pod');
  store.delete('core/pods', 'default', 'p', { gracePeriodSeconds: 0 });
  await gone(store, 'core/configmaps', 'owner');
  t.pass('owner gone after its dependents');
});

t.test('foreground: leaf dependents go in the background, a dependent with dependents in the foreground', async (t) => {
  const { store } = env(t);
  store.create('core/nodes', { metadata: { name: 'n1' } });
  const owner = store.create('core/configmaps', cm('owner')).object;
  const mid = store.create('core/configmaps', cm('mid', owner, true)).object;
  // A scheduled pod under `mid`: its kubelet holds it, so it blocks `mid`, which blocks `owner`.
  store.create('core/pods', { metadata: { name: 'p', namespace: 'default', ownerReferences: cm('x', mid, true).metadata.ownerReferences }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] } });
  store.delete('core/configmaps', 'default', 'owner', { propagationPolicy: 'Foreground' });
  const pod = await waitFor('pod terminating', async () => {
    const p = store.get('core/pods', 'default', 'p');
    return p?.metadata.deletionTimestamp ? p : undefined;
  });
  t.equal(pod.metadata.finalizers, undefined, 'a leaf is deleted in the background (no foregroundDeletion finalizer)');
  t.same(store.get('core/configmaps', 'default', 'mid')?.metadata.finalizers, ['foregroundDeletion'], 'mid is deleted in the foreground');
  t.ok(store.get('core/configmaps', 'default', 'mid')?.metadata.deletionTimestamp);
  t.same(store.get('core/configmaps', 'default', 'owner')?.metadata.finalizers, ['foregroundDeletion'], 'owner waits for mid');
  store.delete('core/pods', 'default', 'p', { gracePeriodSeconds: 0 });
  await gone(store, 'core/configmaps', 'mid');
  await gone(store, 'core/configmaps', 'owner');
  t.pass('the chain unwinds once the pod is gone');
});

t.test('foreground: a dependent with another live owner survives and loses the reference', async (t) => {
  const { store, gc } = env(t);
  const owner = store.create('core/configmaps', cm('owner')).object;
  const other = store.create('core/configmaps', cm('other')).object;
  const refs = [...cm('x', owner, true).metadata.ownerReferences!, { ...cm('x', other).metadata.ownerReferences![0]!, controller: false }];
  store.create('core/configmaps', { metadata: { name: 'shared', namespace: 'default', ownerReferences: refs } });
  store.delete('core/configmaps', 'default', 'owner', { propagationPolicy: 'Foreground' });
  await gone(store, 'core/configmaps', 'owner');
  await gc.idle();
  const shared = store.get('core/configmaps', 'default', 'shared');
  t.ok(shared, 'kept by its live owner');
  t.same(shared?.metadata.ownerReferences?.map((r) => r.uid), [other.metadata.uid]);
});

t.test('orphan: scheduled pods keep running without the reference', async (t) => {
  const { store } = env(t);
  store.create('core/nodes', { metadata: { name: 'n1' } });
  const owner = store.create('core/configmaps', cm('owner')).object;
  // Updating a scheduled pod's metadata must pass pod update validation (nodeName is unchanged).
  store.create('core/pods', { metadata: { name: 'p', namespace: 'default', labels: { app: 'a' }, ownerReferences: cm('x', owner, true).metadata.ownerReferences }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] } });
  store.delete('core/configmaps', 'default', 'owner', { propagationPolicy: 'Orphan' });
  await gone(store, 'core/configmaps', 'owner');
  const p = store.get('core/pods', 'default', 'p');
  t.equal(p?.metadata.ownerReferences, undefined);
  t.notOk(p?.metadata.deletionTimestamp, 'not deleted');
});

t.test('v1.6: dependents of a deleted owner go in the background', async (t) => {
  const { store } = env(t, 'v1.6');
  const owner = store.create('core/configmaps', cm('owner')).object;
  store.create('core/configmaps', cm('dep', owner));
  store.delete('core/configmaps', 'default', 'owner');
  await gone(store, 'core/configmaps', 'dep');
  t.notOk(store.get('core/configmaps', 'default', 'owner'));
});

t.test('stop is safe before start and idle resolves', async (t) => {
  const gc = new GarbageCollector();
  await gc.idle();
  gc.stop();
  t.pass('no queue yet');
});
