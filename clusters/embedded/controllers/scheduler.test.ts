import t from 'tap';
import { waitFor } from '../../../lib/wait.js';
import { clusterProfile } from '../profiles.js';
import { resourcesFor } from '../apiserver/resources.js';
import { Store, type KObject } from '../apiserver/store.js';
import { createAdmission } from '../apiserver/admission.js';
import { EventRecorder, type ControllerContext } from './framework.js';
import { Scheduler, schedulingMessages, tolerates, termMatches } from './scheduler.js';

function env(t: Tap, version: string) {
  const profile = clusterProfile(version);
  const store = new Store({ types: resourcesFor(profile), admission: createAdmission(profile) });
  store.create('core/namespaces', { metadata: { name: 'default' } });
  const ctx: ControllerContext = { store, profile, events: new EventRecorder(store), log: () => undefined };
  const s = new Scheduler();
  s.start(ctx);
  t.teardown(() => s.stop());
  return { store, ctx, s };
}
type Tap = { teardown(fn: () => void): void };

const node = (name: string, extra: { labels?: Record<string, string>; ready?: boolean; spec?: Record<string, unknown> } = {}): KObject => ({
  metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(extra.labels ?? {}) } },
  spec: extra.spec ?? {},
  status: { conditions: [{ type: 'Ready', status: extra.ready === false ? 'False' : 'True' }] },
});
function addNode(store: Store, n: KObject) {
  const o = store.create('core/nodes', n).object;
  o.status = n.status;
  store.update('core/nodes', o, { sub: 'status' });
}
const pod = (name: string, spec: Record<string, unknown> = {}, owner?: string): KObject => ({
  metadata: { name, namespace: 'default', ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: owner, controller: true }] } : {}) },
  spec: { containers: [{ name: 'c', image: 'x' }], ...spec },
});
const nodeOf = (store: Store, name: string) => (store.get('core/pods', 'default', name)?.spec as { nodeName?: string } | undefined)?.nodeName;
const cond = (store: Store, name: string) => ((store.get('core/pods', 'default', name)?.status as { conditions?: { type: string; status: string; reason?: string; message?: string }[] }).conditions ?? []).find((c) => c.type === 'PodScheduled');

t.test('spreads an owner across ready nodes and records Scheduled', async (t) => {
  const { store, ctx } = env(t, 'v1.32');
  addNode(store, node('n1'));
  addNode(store, node('n2'));
  for (const i of [0, 1, 2]) store.create('core/pods', pod(`web-${i}`, {}, 'uid-1'));
  const nodes = await waitFor('all bound', async () => {
    const ns = [0, 1, 2].map((i) => nodeOf(store, `web-${i}`));
    return ns.every(Boolean) ? ns : undefined;
  });
  t.same(new Set(nodes), new Set(['n1', 'n2']), 'both nodes used');
  t.equal(cond(store, 'web-0')?.status, 'True');
  const ev = ctx.events.about({ name: 'web-0', namespace: 'default' });
  t.equal(ev[0]?.reason, 'Scheduled');
  t.equal(ev[0]?.message, `Successfully assigned default/web-0 to ${nodes[0]}`);
});

t.test('unbound immediate claims keep the pod pending until bound', async (t) => {
  const { store, ctx } = env(t, 'v1.20');
  addNode(store, node('n1'));
  addNode(store, node('n2'));
  store.create('core/persistentvolumeclaims', { metadata: { name: 'data', namespace: 'default' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
  store.create('core/pods', pod('p', { volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }] }));
  const c = await waitFor('unschedulable', async () => (cond(store, 'p')?.status === 'False' ? cond(store, 'p') : undefined));
  t.equal(c.reason, 'Unschedulable');
  t.equal(c.message, '0/2 nodes are available: 2 pod has unbound immediate PersistentVolumeClaims.');
  t.equal(ctx.events.about({ name: 'p', namespace: 'default' })[0]?.reason, 'FailedScheduling');
  t.equal(nodeOf(store, 'p'), undefined);
  // The PV controller binds it: the scheduler retries on the claim change, honouring the PV's node affinity.
  store.create('core/persistentvolumes', { metadata: { name: 'pv1' }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], flexVolume: { driver: 'd' }, nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n2'] }] }] } } } });
  store.mutate('core/persistentvolumeclaims', 'default', 'data', (o) => void ((o.spec as Record<string, unknown>).volumeName = 'pv1'));
  store.mutate('core/persistentvolumeclaims', 'default', 'data', (o) => void (o.status = { phase: 'Bound' }), 'status');
  t.equal(await waitFor('bound', async () => nodeOf(store, 'p')), 'n2');
});

t.test('messages per release', async (t) => {
  for (const [v, want] of [
    ['v1.10', 'pod has unbound PersistentVolumeClaims (repeated 1 times)'],
    ['v1.27', '0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling..'],
    ['v1.35', '0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.'],
  ] as const) {
    const { store } = env(t, v);
    addNode(store, node('n1'));
    store.create('core/persistentvolumeclaims', { metadata: { name: 'data', namespace: 'default' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
    store.create('core/pods', pod('p', { volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }] }));
    t.equal((await waitFor('unschedulable', async () => cond(store, 'p'))).message, want, v);
  }
  // 1.6 did not look at claims at all.
  const { store } = env(t, 'v1.6');
  addNode(store, node('n1'));
  store.create('core/pods', pod('p', { volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'missing' } }] }));
  t.equal(await waitFor('bound', async () => nodeOf(store, 'p')), 'n1');
  const m = schedulingMessages(clusterProfile('v1.20'));
  t.equal(m.fit(0, new Map()), 'no nodes available to schedule pods');
  t.equal(m.assigned(pod('x'), 'n'), 'Successfully assigned default/x to n');
  t.equal(schedulingMessages(clusterProfile('v1.10')).assigned(pod('x'), 'n'), 'Successfully assigned x to n');
});

t.test('node filters: readiness, cordon, selector, affinity, taints', async (t) => {
  const { store } = env(t, 'v1.20');
  addNode(store, node('down', { ready: false }));
  addNode(store, node('cordoned', { spec: { unschedulable: true } }));
  addNode(store, node('tainted', { labels: { disk: 'ssd' }, spec: { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] } }));
  addNode(store, node('plain'));
  store.create('core/pods', pod('sel', { nodeSelector: { disk: 'ssd' } }));
  const c = await waitFor('unschedulable', async () => cond(store, 'sel'));
  t.equal(c.message, "0/4 nodes are available: 1 node(s) didn't match node selector, 1 node(s) had taint {dedicated: db}, that the pod didn't tolerate, 1 node(s) had taint {node.kubernetes.io/not-ready: }, that the pod didn't tolerate, 1 node(s) were unschedulable.");
  store.create('core/pods', pod('tol', { nodeSelector: { disk: 'ssd' }, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }] }));
  t.equal(await waitFor('bound', async () => nodeOf(store, 'tol')), 'tainted');
  store.create('core/pods', pod('aff', { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'NotIn', values: ['tainted'] }] }] } } } }));
  t.equal(await waitFor('bound', async () => nodeOf(store, 'aff')), 'plain');
  // Other schedulers' pods are left alone.
  store.create('core/pods', pod('other', { schedulerName: 'custom' }));
  store.create('core/pods', pod('late'));
  await waitFor('late bound', async () => nodeOf(store, 'late'));
  t.equal(nodeOf(store, 'other'), undefined);
  t.ok(tolerates([{ operator: 'Exists' }], { key: 'a', effect: 'NoSchedule' }));
  t.notOk(tolerates([{ key: 'a', operator: 'Exists', effect: 'NoExecute' }], { key: 'a', effect: 'NoSchedule' }));
  const n = node('z', { labels: { n: '5' } });
  t.ok(termMatches({ matchExpressions: [{ key: 'n', operator: 'Gt', values: ['3'] }, { key: 'x', operator: 'DoesNotExist' }] }, n));
  t.ok(termMatches({ matchExpressions: [{ key: 'n', operator: 'Lt', values: ['9'] }, { key: 'n', operator: 'Exists' }] }, n));
  t.ok(termMatches({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['z'] }] }, n));
  t.notOk(termMatches({}, n));
  t.notOk(termMatches({ matchExpressions: [{ key: 'n', operator: 'Bogus' }] }, n));
});

t.test('missing and deleting claims', async (t) => {
  const { store } = env(t, 'v1.32');
  addNode(store, node('n1'));
  store.create('core/pods', pod('p', { volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'nope' } }] }));
  t.match((await waitFor('unschedulable', async () => cond(store, 'p'))).message, 'persistentvolumeclaim "nope" not found');
  store.create('core/persistentvolumeclaims', { metadata: { name: 'gone', namespace: 'default', finalizers: ['x/y'] }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
  store.delete('core/persistentvolumeclaims', 'default', 'gone');
  store.create('core/pods', pod('q', { volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'gone' } }] }));
  t.match((await waitFor('unschedulable', async () => cond(store, 'q'))).message, 'persistentvolumeclaim "gone" is being deleted');
});
