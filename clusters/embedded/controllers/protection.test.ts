import t from 'tap';
import { waitFor } from '../../../lib/wait.js';
import { clusterProfile } from '../profiles.js';
import { resourcesFor } from '../apiserver/resources.js';
import { Store, type KObject } from '../apiserver/store.js';
import { createAdmission, PV_PROTECTION, PVC_PROTECTION } from '../apiserver/admission.js';
import { EventRecorder, type ControllerContext } from './framework.js';
import { PVCProtectionController, PVProtectionController, podIsTerminated, podUsesClaim } from './protection.js';

function env(t: { teardown(fn: () => void): void }, version = 'v1.32') {
  const profile = clusterProfile(version);
  const store = new Store({ types: resourcesFor(profile), admission: createAdmission(profile) });
  store.create('core/namespaces', { metadata: { name: 'default' } });
  const ctx: ControllerContext = { store, profile, events: new EventRecorder(store), log: () => undefined };
  const a = new PVCProtectionController();
  const b = new PVProtectionController();
  a.start(ctx);
  b.start(ctx);
  t.teardown(() => (a.stop(), b.stop()));
  return { store, a, b };
}
const pvc = (name: string): KObject => ({ metadata: { name, namespace: 'default' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
const pod = (name: string, claim: string, nodeName?: string): KObject => ({ metadata: { name, namespace: 'default' }, spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'x' }], volumes: [{ name: 'd', persistentVolumeClaim: { claimName: claim } }] } });

/** Let queued watch events reach the controller, then wait for its queue to drain. */
async function settle(c: { idle(): Promise<void> }): Promise<void> {
  await new Promise((res) => setImmediate(res));
  await c.idle();
  await new Promise((res) => setTimeout(res, 20));
  await c.idle();
}
const running = { phase: 'Running', containerStatuses: [{ name: 'c', ready: true, state: { running: { startedAt: '2020-01-01T00:00:00Z' } } }] };
const stopped = { phase: 'Running', containerStatuses: [{ name: 'c', ready: false, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] };
const setStatus = (store: Store, name: string, status: object) => store.mutate('core/pods', 'default', name, (p) => void (p.status = status), 'status');
const claimed = (store: Store) => store.get('core/persistentvolumeclaims', 'default', 'data');

for (const version of ['v1.10', 'v1.32']) {
  t.test(`pvc-protection keeps a claim in use Terminating (${version})`, async (t) => {
    const { store, a } = env(t, version);
    store.create('core/persistentvolumeclaims', pvc('data'));
    store.create('core/pods', pod('user', 'data', 'n1'));
    setStatus(store, 'user', running);
    store.create('core/pods', pod('unscheduled', 'data'));
    // A finished pod whose object still exists.
    store.create('core/pods', pod('done', 'data', 'n1'));
    setStatus(store, 'done', { phase: 'Succeeded' });
    const r = store.delete('core/persistentvolumeclaims', 'default', 'data');
    t.notOk(r.deleted);
    await settle(a);
    t.ok(claimed(store)?.metadata.deletionTimestamp, 'still Terminating while a scheduled pod runs with it');
    // Graceful deletion: the kubelet has not stopped the containers yet, so the claim stays in every version.
    store.delete('core/pods', 'default', 'user', { gracePeriodSeconds: 30 });
    await settle(a);
    t.ok(store.get('core/pods', 'default', 'user')?.metadata.deletionTimestamp, 'the pod is Terminating');
    t.ok(claimed(store), 'kept while the terminating pod still runs');
    // The containers stop; the pod object stays until the kubelet deletes it.
    setStatus(store, 'user', stopped);
    if (version === 'v1.10') {
      // Before 1.12 a terminated pod no longer counts, and neither does the finished one.
      await waitFor('claim gone', async () => (claimed(store) ? undefined : true));
      t.ok(store.get('core/pods', 'default', 'user'), 'released while the terminated pod object still exists');
      t.ok(store.get('core/pods', 'default', 'done'), 'and while the finished one exists');
      return;
    }
    await settle(a);
    t.ok(claimed(store), 'kept while the pod object exists (1.12+)');
    store.delete('core/pods', 'default', 'user', { gracePeriodSeconds: 0 });
    t.notOk(store.get('core/pods', 'default', 'user'), 'the kubelet removed the pod');
    await settle(a);
    t.ok(claimed(store), 'a finished pod still counts while its object exists (upstream podUsesPVC ignores phase)');
    // Deleting a finished pod is immediate (pod strategy CheckGracefulDelete).
    t.ok(store.delete('core/pods', 'default', 'done').deleted);
    await waitFor('claim gone', async () => (claimed(store) ? undefined : true));
    t.ok(store.get('core/pods', 'default', 'unscheduled'), 'the unscheduled pod never counted');
  });
}

t.test('pvc-protection releases an unused claim at once and ignores other namespaces', async (t) => {
  const { store } = env(t);
  store.create('core/namespaces', { metadata: { name: 'other' } });
  store.create('core/pods', { ...pod('user', 'data', 'n1'), metadata: { name: 'user', namespace: 'other' } });
  store.create('core/persistentvolumeclaims', pvc('data'));
  t.same(claimed(store)?.metadata.finalizers, [PVC_PROTECTION], 'admission added the finalizer');
  store.delete('core/persistentvolumeclaims', 'default', 'data');
  await waitFor('claim gone', async () => (claimed(store) ? undefined : true));
  t.pass('a pod using a claim of the same name elsewhere does not hold it');
});

t.test('pv-protection waits while Bound', async (t) => {
  const { store } = env(t);
  store.create('core/persistentvolumes', { metadata: { name: 'pv1' }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], flexVolume: { driver: 'd' } } });
  store.mutate('core/persistentvolumes', undefined, 'pv1', (o) => void (o.status = { phase: 'Bound' }), 'status');
  store.delete('core/persistentvolumes', undefined, 'pv1');
  await new Promise((res) => setTimeout(res, 100));
  t.same(store.get('core/persistentvolumes', undefined, 'pv1')?.metadata.finalizers, [PV_PROTECTION], 'Bound PV stays Terminating');
  store.mutate('core/persistentvolumes', undefined, 'pv1', (o) => void (o.status = { phase: 'Released' }), 'status');
  await waitFor('pv gone', async () => (store.get('core/persistentvolumes', undefined, 'pv1') ? undefined : true));
  t.pass('gone once released');
});

const claim = (name: string, ownerUid?: string): KObject => ({ metadata: { name, namespace: 'default', ...(ownerUid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'p', uid: ownerUid, controller: true }] } : {}) } });

t.test('podUsesClaim', async (t) => {
  t.ok(podUsesClaim(pod('p', 'c', 'n'), claim('c')));
  t.notOk(podUsesClaim(pod('p', 'c'), claim('c')), 'unscheduled pods do not count');
  t.notOk(podUsesClaim(pod('p', 'c', 'n'), claim('d')));
  const finished = { ...pod('p', 'c', 'n'), status: { phase: 'Failed' } };
  t.ok(podUsesClaim(finished, claim('c')), '1.12+: a finished pod counts');
  t.notOk(podUsesClaim(finished, claim('c'), false), 'before 1.12: a finished pod does not');
  const eph: KObject = { metadata: { name: 'p', uid: 'u1' }, spec: { nodeName: 'n', volumes: [{ name: 'scratch', ephemeral: {} }] } };
  t.ok(podUsesClaim(eph, claim('p-scratch', 'u1')), 'the pod\'s own ephemeral claim');
  t.notOk(podUsesClaim(eph, claim('p-scratch', 'someone-else')), 'a claim of that name the pod does not control');
  t.notOk(podUsesClaim({ ...eph, metadata: { ...eph.metadata, deletionTimestamp: '2020-01-01T00:00:00Z', deletionGracePeriodSeconds: 0 } }, claim('p-scratch', 'u1')), 'released once the pod is shut down');
  t.ok(podUsesClaim({ ...eph, metadata: { ...eph.metadata, deletionTimestamp: '2020-01-01T00:00:00Z', deletionGracePeriodSeconds: 30 } }, claim('p-scratch', 'u1')), 'kept while the pod shuts down');
});

t.test('podIsTerminated (pre-1.12 volumeutil.IsPodTerminated)', async (t) => {
  const p = pod('p', 'c', 'n');
  t.notOk(podIsTerminated(p), 'a live pod');
  t.ok(podIsTerminated({ ...p, status: { phase: 'Succeeded' } }));
  t.ok(podIsTerminated({ ...p, status: { phase: 'Failed' } }));
  const deleting = { ...p, metadata: { ...p.metadata, deletionTimestamp: '2020-01-01T00:00:00Z' } };
  t.ok(podIsTerminated(deleting), 'deleting with no container status');
  t.notOk(podIsTerminated({ ...deleting, status: running }), 'deleting with a running container');
  t.ok(podIsTerminated({ ...deleting, status: stopped }), 'deleting with every container terminated');
  t.ok(podIsTerminated({ ...deleting, status: { containerStatuses: [{ name: 'c', state: { waiting: { reason: 'ContainerCreating' } } }] } }), 'deleting with containers waiting');
});

t.test('stop and idle before start', async (t) => {
  const a = new PVCProtectionController();
  const b = new PVProtectionController();
  await a.idle();
  await b.idle();
  a.stop();
  b.stop();
  t.pass('no queues yet');
});
