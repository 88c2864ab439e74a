import t, { type Test } from 'tap';
import { Store, type KObject, type OwnerReference } from '../apiserver/store.js';
import { resourcesFor } from '../apiserver/resources.js';
import { createAdmission } from '../apiserver/admission.js';
import { clusterProfile } from '../profiles.js';
import { waitFor } from '../../../lib/wait.js';
import { EventRecorder } from './framework.js';
import { StatefulSetController, statefulClaimName, _revisionHash, isRunningAndReady, type StatefulSet, type StatefulSetControllerOptions } from './statefulset.js';

const PODS = 'core/pods';
const PVCS = 'core/persistentvolumeclaims';
const SETS = 'apps/statefulsets';
const REVS = 'apps/controllerrevisions';

interface Pod extends KObject {
  spec: { nodeName?: string; hostname?: string; subdomain?: string; volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[]; containers: { image: string }[] };
  status?: { phase?: string; conditions?: { type: string; status: string; lastTransitionTime?: string }[] };
}

/**
 * A store with the embedded admission (defaults, pod phase Pending, pvc-protection finalizers) and one controller.
 * The test plays the kubelet: `run` binds a pod to a node and reports it Running (and Ready), `gone` finishes a
 * graceful deletion. Pods are bound to a node so deletions are graceful, as in a cluster.
 */
function setup(t: Test, version: string, opts: StatefulSetControllerOptions = {}) {
  const profile = clusterProfile(version);
  const store = new Store({ types: resourcesFor(profile), admission: createAdmission(profile) });
  store.create('core/namespaces', { metadata: { name: 'default' } });
  const events = new EventRecorder(store);
  const ctl = new StatefulSetController(opts);
  ctl.start({ store, profile, events, log: () => undefined });
  t.teardown(() => ctl.stop());
  // Creation order by resourceVersion (global and increasing), recorded from watches on pods and claims.
  const created: { name: string; rv: number }[] = [];
  for (const key of [PODS, PVCS]) {
    const w = store.watch(key, undefined, undefined, (ev) => {
      if (ev.type === 'ADDED') created.push({ name: `${ev.object.kind}/${ev.object.metadata.name}`, rv: Number(ev.object.metadata.resourceVersion) });
    });
    t.teardown(() => w.stop());
  }
  const settle = async () => {
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setImmediate(r));
      await ctl.idle();
    }
  };
  const pod = (name: string) => store.get(PODS, 'default', name) as Pod | undefined;
  const pvc = (name: string) => store.get(PVCS, 'default', name);
  const sts = (name = 'web') => store.get(SETS, 'default', name) as StatefulSet;
  const revisions = () => (store.keys().includes(REVS) ? store.list(REVS, 'default').items : []) as (KObject & { revision: number; data: { spec: { template: Record<string, unknown> } } })[];
  const until = <T>(what: string, f: () => T | undefined | false, timeoutMs = 10_000) =>
    waitFor(
      what,
      async () => {
        const v = f();
        return v === false || v === undefined ? undefined : v;
      },
      { timeoutMs },
    );
  const run = (name: string, ready = true) => {
    store.mutate(PODS, 'default', name, (o) => {
      const p = o as Pod;
      if (p.spec.nodeName) return false;
      p.spec.nodeName = 'node-1';
    });
    store.mutate(
      PODS,
      'default',
      name,
      (o) => {
        const p = o as Pod;
        p.status = { ...(p.status ?? {}), phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: store.timestamp() }] };
      },
      'status',
    );
  };
  const gone = (name: string) => store.delete(PODS, 'default', name, { gracePeriodSeconds: 0 });
  const mkSet = (spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) =>
    store.create(SETS, {
      metadata: { name: 'web', namespace: 'default', ...meta },
      spec: {
        replicas: 3,
        serviceName: 'web-svc',
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web', extra: 'x' } }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } },
        volumeClaimTemplates: [{ metadata: { name: 'data', labels: { disk: 'fast' } }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: '' } }],
        ...spec,
      },
    }).object as StatefulSet;
  const scale = (replicas: number) =>
    store.mutate(SETS, 'default', 'web', (o) => {
      (o as StatefulSet).spec.replicas = replicas;
    });
  const evs = () => events.about({ name: 'web', namespace: 'default' }).map((e) => `${e.type} ${e.reason} ${e.message}`);
  const component = () => (events.about({ name: 'web', namespace: 'default' })[0] as unknown as { source: { component: string } }).source.component;
  const names = () => (store.list(PODS, 'default').items as Pod[]).map((p) => p.metadata.name!).sort();
  const terminating = (name: string) => !!pod(name)?.metadata.deletionTimestamp;
  return { store, events, ctl, profile, settle, pod, pvc, sts, revisions, until, run, gone, mkSet, scale, evs, component, names, terminating, created };
}

const ALL = ['v1.6', 'v1.10', 'v1.20', 'v1.27', 'v1.32', 'v1.35'];

t.test('ordered creation, identity, claims, revisions and status', async (t) => {
  for (const version of ALL) {
    await t.test(version, async (t) => {
      const { mkSet, pod, pvc, sts, revisions, until, settle, run, evs, component, created, profile, names } = setup(t, version);
      const set = mkSet();
      await until('web-0 created', () => pod('web-0'));
      await settle();
      t.same(names(), ['web-0'], 'web-1 waits for web-0');
      // The claim is created before its pod.
      const rv = (n: string) => created.find((c) => c.name === n)?.rv ?? Infinity;
      t.ok(rv('PersistentVolumeClaim/data-web-0') < rv('Pod/web-0'), 'claim before pod');
      run('web-0', false);
      await settle();
      t.same(names(), ['web-0'], 'Running but not Ready is not enough');
      run('web-0');
      await until('web-1 created', () => pod('web-1'));
      await settle();
      t.same(names(), ['web-0', 'web-1'], 'web-2 waits for web-1');
      if (profile.minor < 7) {
        // 1.6: status.replicas counted running and ready pods.
        await until('1.6 replicas = ready', () => sts().status?.replicas === 1);
        t.same(sts().status, { replicas: 1 });
      } else {
        await until('replicas and ready', () => sts().status?.replicas === 2 && sts().status?.readyReplicas === 1);
      }
      run('web-1');
      await until('web-2 created', () => pod('web-2'));
      run('web-2');
      await until('all ready', () => (profile.minor < 7 ? sts().status?.replicas === 3 : sts().status?.readyReplicas === 3));
      await settle();

      // Pods: owner, labels, identity, storage.
      const ownerVersion = profile.minor < 9 ? 'apps/v1beta1' : 'apps/v1';
      const revs = revisions();
      for (const i of [0, 1, 2]) {
        const p = pod(`web-${i}`)!;
        t.same(p.metadata.ownerReferences, [{ apiVersion: ownerVersion, kind: 'StatefulSet', name: 'web', uid: set.metadata.uid, controller: true, blockOwnerDeletion: true }]);
        const labels: Record<string, string> = { app: 'web', extra: 'x' };
        if (profile.minor >= 7) labels['controller-revision-hash'] = revs[0]!.metadata.name!;
        if (profile.minor >= 9) labels['statefulset.kubernetes.io/pod-name'] = `web-${i}`;
        if (profile.minor >= 28) labels['apps.kubernetes.io/pod-index'] = String(i);
        t.same(p.metadata.labels, labels, `web-${i} labels`);
        if (profile.minor >= 7) {
          t.equal(p.spec.hostname, `web-${i}`);
          t.equal(p.spec.subdomain, 'web-svc');
        } else {
          t.same(p.metadata.annotations, { 'pod.beta.kubernetes.io/hostname': `web-${i}`, 'pod.beta.kubernetes.io/subdomain': 'web-svc' });
          t.equal(p.spec.hostname, undefined);
        }
        t.same(p.spec.volumes, [{ name: 'data', persistentVolumeClaim: { claimName: statefulClaimName('data', 'web', i) } }]);
        const c = pvc(`data-web-${i}`)!;
        // Template labels survive beside the selector's from 1.15 (PR #74941).
        t.same(c.metadata.labels, profile.minor >= 15 ? { disk: 'fast', app: 'web' } : { app: 'web' }, 'claim labels');
        t.equal(c.metadata.ownerReferences, undefined, 'a retained claim has no owner');
        t.same((c.spec as { resources: unknown }).resources, { requests: { storage: '1Gi' } });
      }

      // Revisions and status.
      if (profile.minor < 7) {
        t.same(revs, [], 'no ControllerRevisions before 1.7');
        t.same(sts().status, { replicas: 3 });
      } else {
        t.equal(revs.length, 1);
        const r = revs[0]!;
        const hash = r.metadata.name!.slice('web-'.length);
        t.match(r.metadata.name, /^web-[bcdfghjklmnpqrstvwxz2456789]+$/);
        t.same(r.metadata.labels, { app: 'web', extra: 'x', 'controller.kubernetes.io/hash': hash });
        t.equal(r.revision, 1);
        t.same(r.metadata.ownerReferences, [{ apiVersion: ownerVersion, kind: 'StatefulSet', name: 'web', uid: set.metadata.uid, controller: true, blockOwnerDeletion: true }]);
        t.equal(r.data.spec.template.$patch, 'replace');
        const status: Record<string, unknown> = {
          observedGeneration: 1,
          replicas: 3,
          readyReplicas: 3,
          currentReplicas: 3,
          updatedReplicas: 3,
          currentRevision: r.metadata.name,
          updateRevision: r.metadata.name,
          collisionCount: 0,
        };
        if (profile.minor >= 23) status.availableReplicas = 3;
        t.same(sts().status, status);
      }

      // Events, with the component of the emulated release.
      const want = [0, 1, 2].flatMap((i) => [`Normal SuccessfulCreate create Claim data-web-${i} Pod web-${i} in StatefulSet web success`, `Normal SuccessfulCreate create Pod web-${i} in StatefulSet web successful`]);
      t.same(new Set(evs()), new Set(want));
      t.equal(component(), profile.minor < 7 ? 'statefulset' : 'statefulset-controller');
    });
  }
});

t.test('Parallel creates and deletes all at once (1.7+; 1.6 stays ordered)', async (t) => {
  for (const version of ['v1.6', 'v1.20', 'v1.35']) {
    await t.test(version, async (t) => {
      const { mkSet, until, settle, names, run, scale, terminating, gone, profile } = setup(t, version);
      mkSet({ podManagementPolicy: 'Parallel' });
      if (profile.minor < 7) {
        await until('web-0', () => names().length === 1);
        await settle();
        t.same(names(), ['web-0'], 'no podManagementPolicy in 1.6');
        return;
      }
      await until('all three without readiness', () => names().length === 3);
      t.same(names(), ['web-0', 'web-1', 'web-2']);
      for (const n of names()) run(n, n !== 'web-0');
      scale(0);
      // Even with web-0 unready, every condemned pod goes at once.
      await until('all terminating', () => ['web-0', 'web-1', 'web-2'].every(terminating));
      for (const n of names()) gone(n);
      await until('none left', () => names().length === 0);
    });
  }
});

t.test('scale down: highest ordinal first, one at a time, halting on an unhealthy pod; claims kept', async (t) => {
  for (const version of ['v1.10', 'v1.35']) {
    await t.test(version, async (t) => {
      const { mkSet, until, settle, pod, pvc, run, scale, terminating, gone, names, sts, evs, created } = setup(t, version);
      mkSet();
      for (const n of ['web-0', 'web-1', 'web-2']) {
        await until(n, () => pod(n));
        run(n);
      }
      await until('ready', () => sts().status?.readyReplicas === 3);
      scale(1);
      await until('web-2 terminating', () => terminating('web-2'));
      await settle();
      t.notOk(terminating('web-1'), 'web-1 waits until web-2 is gone');
      gone('web-2');
      await until('web-1 terminating', () => terminating('web-1'));
      t.notOk(terminating('web-0'));
      gone('web-1');
      await until('one left', () => names().length === 1 && sts().status?.replicas === 1);
      await settle();
      t.notOk(terminating('web-0'));
      for (const c of ['data-web-0', 'data-web-1', 'data-web-2']) {
        t.ok(pvc(c), `${c} kept`);
        t.equal(pvc(c)?.metadata.ownerReferences, undefined);
      }
      t.ok(evs().includes('Normal SuccessfulDelete delete Pod web-2 in StatefulSet web successful'));

      // Scale up again: the old claims are reused, no new ones.
      const uid1 = pvc('data-web-1')!.metadata.uid;
      const claimsBefore = created.filter((c) => c.name.startsWith('PersistentVolumeClaim/')).length;
      scale(3);
      await until('web-1 back', () => pod('web-1'));
      run('web-1');
      await until('web-2 back', () => pod('web-2'));
      run('web-2');
      t.equal(pvc('data-web-1')!.metadata.uid, uid1, 'same claim');
      t.equal(created.filter((c) => c.name.startsWith('PersistentVolumeClaim/')).length, claimsBefore, 'no claim created');
      t.same(pod('web-1')!.spec.volumes?.[0]?.persistentVolumeClaim, { claimName: 'data-web-1' });
      await until('ready again', () => sts().status?.readyReplicas === 3);

      // An unhealthy predecessor halts scale down until it recovers.
      run('web-0', false);
      scale(2);
      await settle();
      t.notOk(terminating('web-2'), 'halted while web-0 is unready');
      run('web-0');
      await until('web-2 terminating after recovery', () => terminating('web-2'));
    });
  }
});

t.test('existing claims are adopted as they are', async (t) => {
  const { store, mkSet, until, pvc, pod, evs, settle } = setup(t, 'v1.32');
  const pre = store.create(PVCS, {
    metadata: { name: 'data-web-1', namespace: 'default', labels: { keep: 'me' } },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } }, storageClassName: '' },
  }).object;
  mkSet({ replicas: 2, podManagementPolicy: 'Parallel' });
  await until('both pods', () => pod('web-0') && pod('web-1'));
  await settle();
  t.equal(pvc('data-web-1')!.metadata.uid, pre.metadata.uid);
  t.same(pvc('data-web-1')!.metadata.labels, { keep: 'me' });
  t.notOk(evs().some((e) => e.includes('Claim data-web-1')), 'no create event for an existing claim');
  t.ok(evs().includes('Normal SuccessfulCreate create Claim data-web-0 Pod web-0 in StatefulSet web success'));
});

t.test('claim problems stop pod creation', async (t) => {
  const { store, mkSet, until, pod, evs, settle, pvc } = setup(t, 'v1.35');
  // A claim that is being deleted (held by its protection finalizer) cannot serve a new pod.
  store.create(PVCS, { metadata: { name: 'data-web-0', namespace: 'default' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
  store.delete(PVCS, 'default', 'data-web-0');
  mkSet({ replicas: 1 });
  await until('failure event', () => evs().find((e) => e.startsWith('Warning FailedCreate')));
  await settle();
  t.notOk(pod('web-0'));
  t.same(evs(), ['Warning FailedCreate create Pod web-0 in StatefulSet web failed error: pvc data-web-0 is being deleted']);
  // The claim goes away: the next look creates both.
  store.mutate(PVCS, 'default', 'data-web-0', (o) => {
    delete o.metadata.finalizers;
  });
  await until('claim gone', () => !pvc('data-web-0'));
  store.mutate(SETS, 'default', 'web', (o) => {
    o.metadata.annotations = { touch: '1' };
  });
  await until('pod created', () => pod('web-0'));
  t.ok(pvc('data-web-0'));

  // A template the apiserver refuses: both the claim and the pod report it.
  const bad = setup(t, 'v1.20');
  bad.mkSet({ replicas: 1, volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: {} } } }] });
  await bad.until('failure events', () => bad.evs().length >= 2);
  await bad.settle();
  const e = bad.evs();
  t.match(e.find((x) => x.includes('create Claim'))!, /^Warning FailedCreate create Claim data-web-0 for Pod web-0 in StatefulSet web failed error: .*spec\.resources\[storage\]: Required value/);
  t.match(e.find((x) => x.includes('create Pod'))!, /^Warning FailedCreate create Pod web-0 in StatefulSet web failed error: failed to create PVC data-web-0: /);
  t.notOk(bad.pod('web-0'));
});

t.test('PVC retention policy per version', async (t) => {
  const setRef = (uid: string, controller: boolean): OwnerReference =>
    controller ? { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid, controller: true, blockOwnerDeletion: true } : { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid };
  const podRef = (name: string, uid: string, controller: boolean): OwnerReference =>
    controller ? { apiVersion: 'v1', kind: 'Pod', name, uid, controller: true, blockOwnerDeletion: true } : { apiVersion: 'v1', kind: 'Pod', name, uid };

  await t.test('v1.20: the field does not exist; claims never get owners', async (t) => {
    const { mkSet, until, pod, pvc, run, sts, scale, gone, settle } = setup(t, 'v1.20');
    mkSet({ replicas: 2, podManagementPolicy: 'Parallel', persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Delete' } });
    t.equal((sts().spec as Record<string, unknown>).persistentVolumeClaimRetentionPolicy, undefined, 'dropped by the apiserver');
    await until('pods', () => pod('web-0') && pod('web-1'));
    run('web-0');
    run('web-1');
    scale(1);
    await until('web-1 terminating', () => pod('web-1')?.metadata.deletionTimestamp);
    gone('web-1');
    await settle();
    t.equal(pvc('data-web-0')!.metadata.ownerReferences, undefined);
    t.equal(pvc('data-web-1')!.metadata.ownerReferences, undefined);
  });

  for (const [version, controller] of [['v1.27', false], ['v1.32', true]] as const) {
    await t.test(`${version}: Delete/Delete, ${controller ? 'controller' : 'plain'} references`, async (t) => {
      const { store, mkSet, until, pod, pvc, run, scale, gone, settle, names, sts } = setup(t, version);
      const set = mkSet({ persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Delete' } });
      for (const n of ['web-0', 'web-1', 'web-2']) {
        await until(n, () => pod(n));
        run(n);
      }
      await until('owned by the set', () => [0, 1, 2].every((i) => pvc(`data-web-${i}`)?.metadata.ownerReferences?.length));
      for (const i of [0, 1, 2]) t.same(pvc(`data-web-${i}`)!.metadata.ownerReferences, [setRef(set.metadata.uid!, controller)], `data-web-${i} owned by the set`);
      const web2 = pod('web-2')!.metadata.uid!;
      scale(2);
      // The condemned pod becomes the owner of its claim (the garbage collector deletes the claim after the pod).
      await until('claim handed to the pod', () => pvc('data-web-2')?.metadata.ownerReferences?.[0]?.kind === 'Pod');
      t.same(pvc('data-web-2')!.metadata.ownerReferences, [podRef('web-2', web2, controller)]);
      t.same(pvc('data-web-1')!.metadata.ownerReferences, [setRef(set.metadata.uid!, controller)]);
      await until('web-2 terminating', () => pod('web-2')?.metadata.deletionTimestamp);
      gone('web-2');
      await until('two left', () => names().length === 2);
      // No garbage collector here: the claim still names the old pod, so a new web-2 must wait for it to go.
      scale(3);
      await settle();
      t.notOk(pod('web-2'), 'a stale claim blocks the pod');
      store.delete(PVCS, 'default', 'data-web-2');
      store.mutate(PVCS, 'default', 'data-web-2', (o) => {
        delete o.metadata.finalizers;
      });
      store.mutate(SETS, 'default', 'web', (o) => {
        o.metadata.annotations = { touch: '1' };
      });
      await until('web-2 recreated', () => pod('web-2'));
      await until('fresh claim owned by the set', () => pvc('data-web-2')?.metadata.ownerReferences?.length);
      t.same(pvc('data-web-2')!.metadata.ownerReferences, [setRef(set.metadata.uid!, controller)]);
      t.equal(sts().spec.persistentVolumeClaimRetentionPolicy?.whenScaled, 'Delete');
    });
  }

  await t.test('v1.27: whenScaled Delete only', async (t) => {
    const { mkSet, until, pod, pvc, run, scale, settle } = setup(t, 'v1.27');
    mkSet({ replicas: 2, podManagementPolicy: 'Parallel', persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' } });
    await until('pods', () => pod('web-0') && pod('web-1'));
    run('web-0');
    run('web-1');
    await settle();
    t.equal(pvc('data-web-0')!.metadata.ownerReferences, undefined, 'in range: no owner');
    const uid = pod('web-1')!.metadata.uid!;
    scale(1);
    await until('pod owns the condemned claim', () => pvc('data-web-1')?.metadata.ownerReferences?.length);
    t.same(pvc('data-web-1')!.metadata.ownerReferences, [podRef('web-1', uid, false)]);
    t.equal(pvc('data-web-0')!.metadata.ownerReferences, undefined);
  });

  await t.test('v1.35: Retain/Retain removes our references; another controller keeps the claim', async (t) => {
    const { store, mkSet, until, pod, pvc, run, settle, sts } = setup(t, 'v1.35');
    // Another controller already owns data-web-1.
    const other: OwnerReference = { apiVersion: 'example.com/v1', kind: 'Keeper', name: 'k', uid: 'keeper-uid', controller: true };
    store.create(PVCS, { metadata: { name: 'data-web-1', namespace: 'default', ownerReferences: [other] }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
    const set = mkSet({ replicas: 2, podManagementPolicy: 'Parallel', persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' } });
    await until('pods', () => pod('web-0') && pod('web-1'));
    run('web-0');
    run('web-1');
    await until('set owns data-web-0', () => pvc('data-web-0')?.metadata.ownerReferences?.length);
    await settle();
    t.same(pvc('data-web-0')!.metadata.ownerReferences, [setRef(set.metadata.uid!, true)]);
    t.same(pvc('data-web-1')!.metadata.ownerReferences, [other], 'left to its controller');
    // Back to Retain: the set's reference is removed again.
    store.mutate(SETS, 'default', 'web', (o) => {
      (o as StatefulSet).spec.persistentVolumeClaimRetentionPolicy = { whenDeleted: 'Retain', whenScaled: 'Retain' };
    });
    await until('reference removed', () => pvc('data-web-0')?.metadata.ownerReferences === undefined);
    t.same(pvc('data-web-1')!.metadata.ownerReferences, [other]);
    t.same(sts().spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Retain', whenScaled: 'Retain' });
  });

  await t.test('v1.35: a plain reference from an older controller becomes a controller reference', async (t) => {
    const { store, mkSet, until, pod, pvc, run, evs } = setup(t, 'v1.35');
    const set = mkSet({ replicas: 1, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' } });
    await until('web-0', () => pod('web-0'));
    run('web-0');
    await until('owned', () => pvc('data-web-0')?.metadata.ownerReferences?.length);
    store.mutate(PVCS, 'default', 'data-web-0', (o) => {
      o.metadata.ownerReferences = [setRef(set.metadata.uid!, false)];
    });
    await until('controller reference back', () => pvc('data-web-0')?.metadata.ownerReferences?.[0]?.controller === true);
    t.same(pvc('data-web-0')!.metadata.ownerReferences, [setRef(set.metadata.uid!, true)]);
    t.ok(evs().includes('Normal SuccessfulUpdate update Pod web-0 in StatefulSet web successful'), 'the fix is reported as a pod update');
  });

  await t.test('v1.32: a reference to an earlier set of the same name leaves the claim alone', async (t) => {
    const { store, mkSet, until, pod, pvc, settle } = setup(t, 'v1.32');
    const stale = setRef('old-set-uid', true);
    store.create(PVCS, { metadata: { name: 'data-web-0', namespace: 'default', ownerReferences: [stale] }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
    mkSet({ replicas: 1, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' } });
    await until('web-0', () => pod('web-0'));
    await settle();
    t.same(pvc('data-web-0')!.metadata.ownerReferences, [stale]);
  });
});

t.test('rolling update, partition, OnDelete and revision history', async (t) => {
  for (const version of ['v1.20', 'v1.35']) {
    await t.test(version, async (t) => {
      const { store, mkSet, until, pod, run, gone, sts, revisions, settle, terminating } = setup(t, version);
      mkSet({ replicas: 2 });
      await until('web-0', () => pod('web-0'));
      run('web-0');
      await until('web-1', () => pod('web-1'));
      run('web-1');
      await until('ready', () => sts().status?.readyReplicas === 2);
      const r1 = sts().status!.currentRevision as string;
      const setImage = (image: string) =>
        store.mutate(SETS, 'default', 'web', (o) => {
          (o as StatefulSet).spec.template.spec!.containers = [{ name: 'c', image }];
        });
      setImage('busybox:1.37');
      await until('web-1 replaced first', () => terminating('web-1'));
      t.notOk(terminating('web-0'));
      const r2 = sts().status!.updateRevision as string;
      t.not(r2, r1);
      t.equal(sts().status!.currentRevision, r1, 'current stays until the update completes');
      t.equal(sts().status!.observedGeneration, 2);
      gone('web-1');
      await until('web-1 at the new revision', () => pod('web-1')?.metadata.labels?.['controller-revision-hash'] === r2);
      t.equal(pod('web-1')!.spec.containers[0]!.image, 'busybox:1.37');
      await settle();
      t.notOk(terminating('web-0'), 'web-0 waits for web-1 to be ready');
      run('web-1');
      await until('web-0 replaced', () => terminating('web-0'));
      gone('web-0');
      await until('web-0 new', () => pod('web-0')?.metadata.labels?.['controller-revision-hash'] === r2);
      run('web-0');
      await until('update complete', () => sts().status?.currentRevision === r2 && sts().status?.currentReplicas === 2);
      t.same(
        revisions().map((r) => [r.metadata.name, r.revision]).sort(),
        [
          [r1, 1],
          [r2, 2],
        ].sort(),
      );

      // A partition keeps the ordinals below it on the current revision.
      store.mutate(SETS, 'default', 'web', (o) => {
        const s = o as StatefulSet;
        s.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 1 } };
        s.spec.template.spec!.containers = [{ name: 'c', image: 'busybox:1.38' }];
      });
      await until('web-1 replaced', () => terminating('web-1'));
      gone('web-1');
      const r3: string = await until('web-1 at r3', () => {
        const h = pod('web-1')?.metadata.labels?.['controller-revision-hash'];
        return h && h !== r2 ? h : undefined;
      });
      run('web-1');
      await settle();
      t.notOk(terminating('web-0'), 'below the partition');
      t.equal(sts().status!.currentRevision, r2);
      t.equal(sts().status!.updateRevision, r3);
      t.equal(sts().status!.updatedReplicas, 1);
      t.equal(sts().status!.currentReplicas, 1);
      // A deleted pod below the partition comes back at the current revision.
      store.delete(PODS, 'default', 'web-0');
      gone('web-0');
      await until('web-0 back at r2', () => pod('web-0')?.metadata.labels?.['controller-revision-hash'] === r2);
      run('web-0');

      // OnDelete: a new template changes nothing until pods are deleted by hand.
      store.mutate(SETS, 'default', 'web', (o) => {
        const s = o as StatefulSet;
        s.spec.updateStrategy = { type: 'OnDelete' };
        s.spec.template.spec!.containers = [{ name: 'c', image: 'busybox:1.39' }];
      });
      await until('r4', () => revisions().length === 4);
      await settle();
      t.notOk(terminating('web-0') || terminating('web-1'), 'OnDelete deletes nothing');
      store.delete(PODS, 'default', 'web-1');
      gone('web-1');
      await until('web-1 recreated at the update revision', () => pod('web-1')?.spec.containers[0]?.image === 'busybox:1.39');
    });
  }
});

t.test('revision history limit and rollback', async (t) => {
  // revisionHistoryLimit is mutable from 1.33.
  const { store, mkSet, until, sts, revisions, settle } = setup(t, 'v1.35');
  mkSet({ replicas: 0, revisionHistoryLimit: 1 });
  await until('first revision', () => sts().status?.updateRevision);
  const images = ['busybox:2', 'busybox:3', 'busybox:1.36'];
  const seen: string[] = [sts().status!.updateRevision as string];
  for (const image of images) {
    store.mutate(SETS, 'default', 'web', (o) => {
      (o as StatefulSet).spec.template.spec!.containers = [{ name: 'c', image }];
    });
    await until(`revision for ${image}`, () => sts().status?.updateRevision !== seen[seen.length - 1] && sts().status?.updateRevision);
    seen.push(sts().status!.updateRevision as string);
  }
  await settle();
  // Rolling back to the first template would reuse its revision, but the limit (1 besides the live one) pruned it.
  const names = revisions().map((r) => r.metadata.name).sort();
  t.equal(names.length, 2, 'live revision plus one of history');
  t.ok(names.includes(seen[3]!) && names.includes(seen[2]!), 'the oldest are pruned first');
  t.same(sts().status!.currentRevision, seen[3]);

  // With room in the history, going back to an earlier template reuses that revision with a new number.
  store.mutate(SETS, 'default', 'web', (o) => {
    (o as StatefulSet).spec.revisionHistoryLimit = 5;
    (o as StatefulSet).spec.template.spec!.containers = [{ name: 'c', image: 'busybox:3' }];
  });
  await until('rolled back', () => sts().status?.updateRevision === seen[2]);
  const back = revisions().find((r) => r.metadata.name === seen[2])!;
  t.equal(back.revision, 5, 'old revision renumbered');
});

t.test('failed pods are recreated, with the events of the release', async (t) => {
  for (const [version, phase, event] of [
    ['v1.6', 'Failed', undefined],
    ['v1.10', 'Failed', 'Warning RecreatingFailedPod StatefulSet default/web is recreating failed Pod web-0'],
    ['v1.27', 'Succeeded', 'Normal RecreatingTerminatedPod StatefulSet default/web is recreating terminated Pod web-0'],
    ['v1.35', 'Failed', undefined],
  ] as const) {
    await t.test(`${version} ${phase}`, async (t) => {
      const { store, mkSet, until, pod, evs, settle } = setup(t, version);
      mkSet({ replicas: 1 });
      const first = await until('web-0', () => pod('web-0'));
      store.mutate(
        PODS,
        'default',
        'web-0',
        (o) => {
          (o as Pod).status = { phase };
        },
        'status',
      );
      await until('replaced', () => pod('web-0') && pod('web-0')!.metadata.uid !== first.metadata.uid);
      await settle();
      t.equal(pod('web-0')!.status?.phase, 'Pending');
      const recreate = evs().filter((e) => e.includes('Recreating'));
      t.same(recreate, event ? [event] : []);
      t.ok(evs().includes('Normal SuccessfulDelete delete Pod web-0 in StatefulSet web successful'));
    });
  }
  await t.test('v1.20 Succeeded is not a replica to replace yet', async (t) => {
    const { store, mkSet, until, pod, settle } = setup(t, 'v1.20');
    mkSet({ replicas: 1 });
    const first = await until('web-0', () => pod('web-0'));
    store.mutate(PODS, 'default', 'web-0', (o) => void ((o as Pod).status = { phase: 'Succeeded' }), 'status');
    await settle();
    t.equal(pod('web-0')!.metadata.uid, first.metadata.uid);
  });
});

t.test('adoption and release through controller references', async (t) => {
  const { store, mkSet, until, pod, sts, evs, settle } = setup(t, 'v1.32');
  // An orphan with the right name and labels (left behind by an orphaning delete) is adopted and its identity fixed.
  store.create(PODS, { metadata: { name: 'web-0', namespace: 'default', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } });
  store.create(PODS, { metadata: { name: 'other-0', namespace: 'default', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } });
  const set = mkSet({ replicas: 1 });
  await until('adopted', () => pod('web-0')?.metadata.ownerReferences?.[0]?.uid === set.metadata.uid);
  t.equal(pod('other-0')!.metadata.ownerReferences, undefined, 'a pod not named like a member stays an orphan');
  store.mutate(PODS, 'default', 'web-0', (o) => {
    const p = o as Pod;
    p.spec.nodeName = 'node-1';
  });
  store.mutate(PODS, 'default', 'web-0', (o) => void ((o as Pod).status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] }), 'status');
  await until('identity fixed', () => pod('web-0')?.metadata.labels?.['statefulset.kubernetes.io/pod-name'] === 'web-0');
  t.equal(pod('web-0')!.metadata.labels?.['apps.kubernetes.io/pod-index'], '0');
  t.ok(evs().includes('Normal SuccessfulUpdate update Pod web-0 in StatefulSet web successful'));
  await until('status', () => sts().status?.readyReplicas === 1);
  // Labels that stop matching release the pod.
  store.mutate(PODS, 'default', 'web-0', (o) => {
    o.metadata.labels = { app: 'moved' };
  });
  await until('released', () => pod('web-0')?.metadata.ownerReferences === undefined);
  await settle();
  t.equal(sts().status?.replicas, 0);
});

t.test('a StatefulSet being deleted is left to the garbage collector', async (t) => {
  const { store, mkSet, until, pod, run, gone, sts, settle, names } = setup(t, 'v1.35');
  mkSet({ replicas: 2, podManagementPolicy: 'Parallel' });
  await until('pods', () => pod('web-0') && pod('web-1'));
  run('web-0');
  run('web-1');
  await until('ready', () => sts().status?.readyReplicas === 2);
  store.delete(SETS, 'default', 'web', { propagationPolicy: 'Foreground' });
  store.delete(PODS, 'default', 'web-1');
  gone('web-1');
  await until('status follows', () => sts().status?.replicas === 1);
  await settle();
  t.same(names(), ['web-0'], 'nothing recreated');
});

t.test('minReadySeconds (1.23+)', async (t) => {
  for (const version of ['v1.20', 'v1.27']) {
    await t.test(version, async (t) => {
      const { mkSet, until, pod, run, settle, sts, profile } = setup(t, version);
      // 3 s leaves the checks below a wide margin on a slow machine.
      mkSet({ replicas: 2, minReadySeconds: 3 });
      await until('web-0', () => pod('web-0'));
      run('web-0');
      if (profile.minor >= 23) {
        await settle();
        t.notOk(pod('web-1'), 'web-1 waits for web-0 to be available');
        await until('status ready but not available', () => sts().status?.readyReplicas === 1);
        t.equal(sts().status?.availableReplicas, 0);
        await until('web-1 after minReadySeconds', () => pod('web-1'), 10_000);
        await until('available', () => sts().status?.availableReplicas === 1, 10_000);
      } else {
        await until('web-1 at once', () => pod('web-1'));
        t.equal(sts().status?.availableReplicas, undefined);
      }
    });
  }
});

t.test('spec.ordinals.start (1.27+)', async (t) => {
  for (const [version, want] of [
    ['v1.20', ['web-0', 'web-1']],
    ['v1.27', ['web-5', 'web-6']],
  ] as const) {
    await t.test(version, async (t) => {
      const { mkSet, until, names, run, pvc } = setup(t, version);
      mkSet({ replicas: 2, podManagementPolicy: 'Parallel', ordinals: { start: 5 } });
      await until('pods', () => names().length === 2);
      t.same(names(), want);
      for (const n of want) run(n);
      t.ok(pvc(`data-${want[1]}`));
    });
  }
});

t.test('periodic resync and helpers', async (t) => {
  const { store, mkSet, until, pod, pvc, ctl, settle } = setup(t, 'v1.32', { resyncMs: 50 });
  // A claim still owned by an earlier web-0 (whenScaled Delete) blocks the pod. Claims are not watched: only the
  // periodic resync notices that it went away.
  store.create(PVCS, {
    metadata: { name: 'data-web-0', namespace: 'default', ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'web-0', uid: 'earlier-web-0', controller: true }] },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  mkSet({ replicas: 1, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' } });
  await settle();
  await new Promise((r) => setTimeout(r, 150));
  t.notOk(pod('web-0'), 'blocked by the stale claim across resyncs');
  store.delete(PVCS, 'default', 'data-web-0');
  store.mutate(PVCS, 'default', 'data-web-0', (o) => {
    delete o.metadata.finalizers;
  });
  await until('created by a resync', () => pod('web-0'));
  t.same(pvc('data-web-0')!.metadata.ownerReferences, undefined, 'fresh claim, in range, whenDeleted Retain');
  ctl.sync('default/nothing-here');
  ctl.stop();
  store.delete(PODS, 'default', 'web-0');
  await new Promise((r) => setTimeout(r, 200));
  t.notOk(pod('web-0'), 'a stopped controller does nothing');

  t.equal(_revisionHash({ a: 1 }), _revisionHash({ a: 1 }), 'stable');
  t.not(_revisionHash({ a: 1 }, 0), _revisionHash({ a: 1 }, 1), 'the collision count changes the name');
  t.match(_revisionHash({ b: 2 }), /^[bcdfghjklmnpqrstvwxz2456789]+$/);
  type P = Parameters<typeof isRunningAndReady>[0];
  t.ok(isRunningAndReady({ metadata: {}, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } } as P));
  t.notOk(isRunningAndReady({ metadata: {}, status: { phase: 'Pending' } } as P));
});
