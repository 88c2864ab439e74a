import t from 'tap';
import { waitFor } from '../../../lib/wait.js';
import { clusterProfile } from '../profiles.js';
import { resourcesFor } from '../apiserver/resources.js';
import { Store, type KObject } from '../apiserver/store.js';
import { createAdmission } from '../apiserver/admission.js';
import { EventRecorder, type ControllerContext } from './framework.js';
import { bootstrap, bootstrapNamespaces, NamespaceController, ROOT_CA_CONFIGMAP } from './namespace.js';

type Tap = { teardown(fn: () => void): void };

function env(t: Tap, version: string, opts: { caPem?: string; start?: boolean } = {}) {
  const profile = clusterProfile(version);
  const clock = { ms: Date.parse('2030-01-01T00:00:00Z') };
  const store = new Store({ types: resourcesFor(profile), admission: createAdmission(profile), now: () => new Date(clock.ms) });
  store.create('core/namespaces', { metadata: { name: 'default' } });
  const logs: string[] = [];
  const ctx: ControllerContext = { store, profile, events: new EventRecorder(store), log: (msg, fields) => logs.push(`${msg} ${JSON.stringify(fields)}`) };
  const c = new NamespaceController({ retryMs: 20, ...(opts.caPem ? { caPem: opts.caPem } : {}) });
  if (opts.start !== false) c.start(ctx);
  t.teardown(() => c.stop());
  return { store, profile, ctx, c, clock, logs };
}

async function settle(c: { idle(): Promise<void> }): Promise<void> {
  await new Promise((res) => setImmediate(res));
  await c.idle();
  await new Promise((res) => setTimeout(res, 30));
  await c.idle();
}

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
}
const nsOf = (store: Store, name: string) => store.get('core/namespaces', undefined, name) as (KObject & { spec?: { finalizers?: string[] }; status?: { phase?: string; conditions?: Condition[] } }) | undefined;
const cond = (store: Store, ns: string, type: string) => nsOf(store, ns)?.status?.conditions?.find((c) => c.type === type);
const names = (store: Store, key: string, ns: string) => store.list(key, ns).items.map((o) => o.metadata.name);
const pod = (ns: string, name: string, extra: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KObject => ({ metadata: { name, namespace: ns, ...meta }, spec: { containers: [{ name: 'c', image: 'x' }], ...extra } });
const OK: Record<string, [string, string]> = {
  NamespaceDeletionDiscoveryFailure: ['ResourcesDiscovered', 'All resources successfully discovered'],
  NamespaceDeletionGroupVersionParsingFailure: ['ParsedGroupVersions', 'All legacy kube types successfully parsed'],
  NamespaceDeletionContentFailure: ['ContentDeleted', 'All content successfully deleted, may be waiting on finalization'],
  NamespaceContentRemaining: ['ContentRemoved', 'All content successfully removed'],
  NamespaceFinalizersRemaining: ['ContentHasNoFinalizers', 'All content-preserving finalizers finished'],
};
/** The five conditions as [type, status, reason, message], in upstream's order. */
const summary = (store: Store, ns: string) => (nsOf(store, ns)?.status?.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message]);
const allOk = Object.entries(OK).map(([type, [reason, message]]) => [type, 'False', reason, message]);
const withFailing = (failing: Record<string, [string, string]>) => Object.entries(OK).map(([type, [reason, message]]) => (failing[type] ? [type, 'True', ...failing[type]] : [type, 'False', reason, message]));

t.test('bootstrap namespaces per version, idempotent', async (t) => {
  t.same(bootstrapNamespaces(clusterProfile('v1.6')), ['default', 'kube-system', 'kube-public']);
  t.same(bootstrapNamespaces(clusterProfile('v1.10')), ['default', 'kube-system', 'kube-public'], 'kube-node-lease arrived in 1.14');
  t.same(bootstrapNamespaces(clusterProfile('v1.20')), ['default', 'kube-system', 'kube-public', 'kube-node-lease']);
  for (const [version, labelled] of [
    ['v1.20', false],
    ['v1.27', true],
  ] as const) {
    const profile = clusterProfile(version);
    const store = new Store({ types: resourcesFor(profile), admission: createAdmission(profile) });
    // An existing namespace is left as it is.
    store.create('core/namespaces', { metadata: { name: 'default', labels: { mine: 'yes' } } });
    bootstrap(store, profile);
    t.same(store.list('core/namespaces').items.map((n) => n.metadata.name).sort(), ['default', 'kube-node-lease', 'kube-public', 'kube-system']);
    // Untouched by bootstrap (admission adds the name label to every namespace from 1.21, as the apiserver does).
    t.same(store.get('core/namespaces', undefined, 'default')!.metadata.labels, labelled ? { mine: 'yes', 'kubernetes.io/metadata.name': 'default' } : { mine: 'yes' }, 'existing default untouched');
    t.same(store.get('core/namespaces', undefined, 'kube-system')!.metadata.labels, labelled ? { 'kubernetes.io/metadata.name': 'kube-system' } : undefined, `${version}: name label from 1.21`);
    const rv = store.resourceVersion;
    bootstrap(store, profile);
    t.equal(store.resourceVersion, rv, 'a second bootstrap writes nothing');
  }
});

for (const version of ['v1.6', 'v1.20', 'v1.32', 'v1.35']) {
  t.test(`deleting a namespace empties it, then finalizes it (${version})`, async (t) => {
    const { store, profile, ctx, clock } = env(t, version);
    const ordered = profile.minor >= 33;
    const conditions = profile.minor >= 17;
    store.create('core/namespaces', { metadata: { name: 'team' } });
    store.create('core/configmaps', { metadata: { name: 'cfg', namespace: 'team' } });
    store.create('core/configmaps', { metadata: { name: 'held', namespace: 'team', finalizers: ['example.com/hold'] } });
    store.create('core/secrets', { metadata: { name: 's', namespace: 'team' } });
    store.create('core/services', { metadata: { name: 'svc', namespace: 'team' }, spec: { ports: [{ port: 80 }] } });
    // A StatefulSet whose pod outlives it for a while: in 1.6 (apps/v1beta1) a plain delete of an owner with
    // dependents orphans, leaving a finalizer for a garbage collector; the namespace deleter asks for background
    // propagation instead, so the StatefulSet goes at once.
    const sts = store.create('apps/statefulsets', {
      metadata: { name: 'db', namespace: 'team' },
      spec: { replicas: 1, serviceName: 'svc', selector: { matchLabels: { app: 'db' } }, template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
    }).object;
    const owner = { ownerReferences: [{ apiVersion: sts.apiVersion!, kind: 'StatefulSet', name: 'db', uid: sts.metadata.uid!, controller: true }] };
    const running = store.create('core/pods', pod('team', 'run', { nodeName: 'n1' }, owner)).object;
    store.create('core/pods', pod('team', 'pending'));
    ctx.events.record(running, 'Normal', 'Scheduled', 'assigned', { component: 'default-scheduler' });
    t.same(names(store, 'core/events', 'team').length, 1, 'an event exists before');

    store.delete('core/namespaces', undefined, 'team');
    const ns = nsOf(store, 'team')!;
    t.equal(ns.status?.phase, 'Terminating');
    t.ok(ns.metadata.deletionTimestamp);
    t.same(ns.spec?.finalizers, ['kubernetes']);
    t.throws(() => store.create('core/configmaps', { metadata: { name: 'late', namespace: 'team' } }), { code: 403 }, 'no new content');

    // Pods that never ran go at once; a running one waits for its kubelet.
    await waitFor('pending pods gone', async () => (names(store, 'core/pods', 'team').join() === 'run' ? true : undefined));
    t.ok(store.get('core/pods', 'team', 'run')!.metadata.deletionTimestamp, 'the running pod is Terminating');
    if (ordered) {
      // OrderedNamespaceDeletion: everything else waits for the pods.
      await waitFor('conditions written', async () => (summary(store, 'team').length === 5 ? true : undefined));
      t.same(names(store, 'core/configmaps', 'team'), ['cfg', 'held'], 'configmaps kept while a pod remains');
      t.same(names(store, 'core/secrets', 'team'), ['s']);
      t.same(names(store, 'apps/statefulsets', 'team'), ['db']);
      t.notOk(store.get('core/configmaps', 'team', 'held')!.metadata.deletionTimestamp, 'not even marked for deletion');
      // Upstream's early return writes the conditions without the remaining totals (kubernetes #138208).
      t.same(summary(store, 'team'), allOk);
    } else {
      await waitFor('unheld content gone', async () => (names(store, 'core/configmaps', 'team').join() === 'held' && !names(store, 'apps/statefulsets', 'team').length ? true : undefined), { timeoutMs: 5000 });
      t.same(names(store, 'core/secrets', 'team'), []);
      t.same(names(store, 'core/services', 'team'), []);
      t.same(names(store, 'core/events', 'team'), [], 'events go too');
      t.ok(store.get('core/configmaps', 'team', 'held')!.metadata.deletionTimestamp, 'the held configmap is Terminating');
      if (conditions) {
        await waitFor('conditions', async () => (cond(store, 'team', 'NamespaceContentRemaining')?.status === 'True' ? true : undefined));
        t.same(
          summary(store, 'team'),
          withFailing({
            NamespaceContentRemaining: ['SomeResourcesRemain', 'Some resources are remaining: configmaps. has 1 resource instances, pods. has 1 resource instances'],
            NamespaceFinalizersRemaining: ['SomeFinalizersRemain', 'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances'],
          }),
        );
      } else t.notOk(nsOf(store, 'team')!.status?.conditions, 'no deletion conditions before 1.17');
    }
    const firstTransition = cond(store, 'team', 'NamespaceContentRemaining')?.lastTransitionTime;

    // The kubelet finishes the pod.
    clock.ms += 10_000;
    store.delete('core/pods', 'team', 'run', { gracePeriodSeconds: 0 });
    await waitFor('only the held configmap left', async () => (names(store, 'core/configmaps', 'team').join() === 'held' && !names(store, 'core/pods', 'team').length && !names(store, 'apps/statefulsets', 'team').length ? true : undefined), { timeoutMs: 5000 });
    t.same(names(store, 'core/secrets', 'team'), []);
    if (conditions) {
      await waitFor('pods no longer counted', async () => (cond(store, 'team', 'NamespaceContentRemaining')?.message === 'Some resources are remaining: configmaps. has 1 resource instances' ? true : undefined));
      const remaining = cond(store, 'team', 'NamespaceContentRemaining')!;
      if (ordered) t.not(remaining.lastTransitionTime, firstTransition, 'False -> True moves lastTransitionTime');
      else t.equal(remaining.lastTransitionTime, firstTransition, 'a new message with the same status keeps lastTransitionTime');
      t.equal(cond(store, 'team', 'NamespaceFinalizersRemaining')?.status, 'True');
    }
    t.ok(nsOf(store, 'team'), 'still there while a finalizer holds content');

    store.mutate('core/configmaps', 'team', 'held', (o) => void (o.metadata.finalizers = []));
    await waitFor('namespace gone', async () => (nsOf(store, 'team') ? undefined : true), { timeoutMs: 5000 });
    t.ok(nsOf(store, 'default'), 'other namespaces untouched');
  });
}

t.test('a pod stuck past its grace period is reported as a content failure', async (t) => {
  for (const version of ['v1.20', 'v1.35']) {
    const { store, clock } = env(t, version);
    store.create('core/namespaces', { metadata: { name: 'stuck' } });
    store.create('core/pods', pod('stuck', 'p', { nodeName: 'gone-node', terminationGracePeriodSeconds: 5 }));
    store.delete('core/namespaces', undefined, 'stuck');
    await waitFor('conditions', async () => (summary(store, 'stuck').length === 5 ? true : undefined));
    t.equal(cond(store, 'stuck', 'NamespaceDeletionContentFailure')?.status, 'False', `${version}: within the grace period all is well`);
    const before = cond(store, 'stuck', 'NamespaceDeletionContentFailure')!.lastTransitionTime;
    clock.ms += 6_000;
    const failed = await waitFor('content failure', async () => {
      const c = cond(store, 'stuck', 'NamespaceDeletionContentFailure');
      return c?.status === 'True' ? c : undefined;
    });
    t.same([failed.reason, failed.message], ['ContentDeletionFailed', 'Failed to delete all resource types, 1 remaining: unexpected items still remain in namespace: stuck for gvr: /v1, Resource=pods']);
    t.not(failed.lastTransitionTime, before, 'the flip is timestamped');
    t.equal(failed.lastTransitionTime, new Date(clock.ms).toISOString().replace(/\.\d+Z$/, 'Z'));
    // Before ordered deletion the totals are reported too; with it, the early return leaves them out.
    t.equal(cond(store, 'stuck', 'NamespaceContentRemaining')?.status, version === 'v1.20' ? 'True' : 'False');
    t.same(nsOf(store, 'stuck')!.spec?.finalizers, ['kubernetes'], 'not finalized');
  }
});

t.test('final conditions stay on a namespace another finalizer holds; only kubernetes is removed', async (t) => {
  const { store, c } = env(t, 'v1.27');
  store.create('core/namespaces', { metadata: { name: 'kept', finalizers: ['example.com/keep'] } });
  store.create('core/configmaps', { metadata: { name: 'cfg', namespace: 'kept' } });
  store.delete('core/namespaces', undefined, 'kept');
  await waitFor('finalized', async () => (nsOf(store, 'kept')?.spec?.finalizers?.length === 0 ? true : undefined));
  t.same(summary(store, 'kept'), allOk, 'every condition in its good state');
  t.same(names(store, 'core/configmaps', 'kept'), []);
  const rv = nsOf(store, 'kept')!.metadata.resourceVersion;
  await settle(c);
  t.equal(nsOf(store, 'kept')!.metadata.resourceVersion, rv, 'no further writes: the controller does not spin');

  // A namespace whose only spec finalizer is someone else's is still emptied, and left for that finalizer.
  store.create('core/namespaces', { metadata: { name: 'foreign' }, spec: { finalizers: ['example.com/ns'] } });
  store.create('core/configmaps', { metadata: { name: 'cfg', namespace: 'foreign' } });
  store.delete('core/namespaces', undefined, 'foreign');
  await waitFor('emptied', async () => (names(store, 'core/configmaps', 'foreign').length ? undefined : true));
  await settle(c);
  t.same(nsOf(store, 'foreign')?.spec?.finalizers, ['example.com/ns'], 'its finalizer is not ours to remove');
  t.same(summary(store, 'foreign'), allOk);
});

t.test('root CA ConfigMap per version', async (t) => {
  for (const [version, published, described] of [
    ['v1.10', false, false],
    ['v1.20', true, false],
    ['v1.27', true, true],
  ] as const) {
    const { store, c } = env(t, version, { caPem: 'PEM' });
    store.create('core/namespaces', { metadata: { name: 'team' } });
    await settle(c);
    const cm = () => store.get('core/configmaps', 'team', ROOT_CA_CONFIGMAP);
    if (!published) {
      t.notOk(cm(), `${version}: no root CA publisher before 1.20`);
      continue;
    }
    await waitFor('published', async () => cm());
    t.same(cm()!.data, { 'ca.crt': 'PEM' });
    t.ok(store.get('core/configmaps', 'default', ROOT_CA_CONFIGMAP), 'in every namespace');
    t.equal(cm()!.metadata.annotations?.['kubernetes.io/description']?.startsWith('Contains a CA bundle'), described ? true : undefined, `${version}: description`);
    store.delete('core/configmaps', 'team', ROOT_CA_CONFIGMAP);
    await waitFor('recreated', async () => cm());
    store.mutate('core/configmaps', 'team', ROOT_CA_CONFIGMAP, (o) => void (o.data = { 'ca.crt': 'forged' }));
    await waitFor('restored', async () => (cm()!.data as Record<string, string>)['ca.crt'] === 'PEM' || undefined);
    if (described) {
      store.mutate('core/configmaps', 'team', ROOT_CA_CONFIGMAP, (o) => void delete o.metadata.annotations);
      await waitFor('description restored', async () => cm()!.metadata.annotations?.['kubernetes.io/description'] || undefined);
      store.mutate('core/configmaps', 'team', ROOT_CA_CONFIGMAP, (o) => void (o.metadata.annotations = { 'kubernetes.io/description': 'ours' }));
      await settle(c);
      t.equal(cm()!.metadata.annotations?.['kubernetes.io/description'], 'ours', 'any description will do, as upstream');
    }
  }
  const { store, c } = env(t, 'v1.27');
  await settle(c);
  t.notOk(store.get('core/configmaps', 'default', ROOT_CA_CONFIGMAP), 'nothing without a CA');
});

t.test('stop and idle', async (t) => {
  t.equal(await new NamespaceController().idle(), undefined, 'idle before start');
  const { store, c } = env(t, 'v1.32');
  store.create('core/namespaces', { metadata: { name: 'team' } });
  store.create('core/configmaps', { metadata: { name: 'cfg', namespace: 'team' } });
  await settle(c);
  c.stop();
  store.delete('core/namespaces', undefined, 'team');
  await settle(c);
  t.same(names(store, 'core/configmaps', 'team'), ['cfg'], 'a stopped controller deletes nothing');
});
