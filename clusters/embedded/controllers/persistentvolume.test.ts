import t, { type Test } from 'tap';
import { Store, type KObject } from '../apiserver/store.js';
import { resourcesFor } from '../apiserver/resources.js';
import { clusterProfile } from '../profiles.js';
import { waitFor } from '../../../lib/wait.js';
import { EventRecorder } from './framework.js';
import {
  PersistentVolumeController,
  quantityMillis,
  findBestMatch,
  volumeMismatch,
  claimClass,
  isNotFound,
  type PersistentVolume,
  type PersistentVolumeClaim,
} from './persistentvolume.js';

function setup(t: Test, version = 'v1.32', opts: { resyncMs?: number } = {}) {
  const profile = clusterProfile(version);
  const store = new Store({ types: resourcesFor(profile) });
  store.create('core/namespaces', { metadata: { name: 'default' } });
  const events = new EventRecorder(store);
  const ctl = new PersistentVolumeController(opts);
  ctl.start({ store, profile, events, log: () => undefined });
  t.teardown(() => ctl.stop());
  const settle = async () => {
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setImmediate(r));
      await ctl.idle();
    }
  };
  const pv = (name: string) => store.get('core/persistentvolumes', undefined, name) as PersistentVolume;
  const pvc = (name: string) => store.get('core/persistentvolumeclaims', 'default', name) as PersistentVolumeClaim;
  const evs = (name: string, ns?: string) => events.about({ name, namespace: ns }).map((e) => `${e.type} ${e.reason} ${e.message}`);
  const mkPV = (name: string, size: string, extra: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) =>
    store.create('core/persistentvolumes', {
      metadata: { name, ...meta },
      spec: { capacity: { storage: size }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', flexVolume: { driver: 'datera/iscsi' }, ...extra },
    }).object as PersistentVolume;
  const mkPVC = (name: string, size: string, extra: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) =>
    store.create('core/persistentvolumeclaims', {
      metadata: { name, namespace: 'default', ...meta },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } }, ...extra },
    }).object as PersistentVolumeClaim;
  const until = <T>(what: string, f: () => T | undefined | false) =>
    waitFor(what, async () => {
      const v = f();
      return v === false ? undefined : v;
    }, { timeoutMs: 10_000 });
  return { store, events, ctl, settle, pv, pvc, evs, mkPV, mkPVC, until, profile };
}

t.test('quantities', async (t) => {
  t.equal(quantityMillis('1Gi'), quantityMillis('1024Mi'));
  t.ok(quantityMillis('1G') < quantityMillis('1Gi'));
  t.equal(quantityMillis('500m'), 500n);
  t.equal(quantityMillis('1.5Gi'), 1536n * 1024n * 1024n * 1000n);
  t.equal(quantityMillis('1e3'), 1_000_000n);
  t.equal(quantityMillis('2'), 2000n);
  t.equal(quantityMillis('-1k'), -1_000_000n);
  t.equal(quantityMillis('1e-3'), 1n);
  t.throws(() => quantityMillis('1Xi'));
  t.throws(() => quantityMillis(''));
});

t.test('pure matching helpers', async (t) => {
  const v = (name: string, size: string, modes = ['ReadWriteOnce'], extra: Record<string, unknown> = {}): PersistentVolume => ({ metadata: { name }, spec: { capacity: { storage: size }, accessModes: modes, ...extra } });
  const c: PersistentVolumeClaim = { metadata: { name: 'c', namespace: 'default', uid: 'u1' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } };
  // The smallest access-mode set that covers the claim wins before size.
  t.equal(findBestMatch([v('big-rwo', '10Gi'), v('small-rwx', '1Gi', ['ReadWriteOnce', 'ReadWriteMany'])], c)?.metadata.name, 'big-rwo');
  t.equal(findBestMatch([v('a', '2Gi'), v('b', '1024Mi'), v('c', '1G')], c)?.metadata.name, 'b', '1G is smaller than 1Gi, 1024Mi fits exactly');
  t.equal(findBestMatch([v('d', '5Gi', ['ReadWriteOnce'], { claimRef: { namespace: 'default', name: 'c' } })], c, true)?.metadata.name, 'd', 'pre-bound volumes match with delayed binding');
  t.equal(findBestMatch([v('e', '5Gi')], c, true), undefined, 'delayed binding leaves unbound volumes to the scheduler');
  t.equal(findBestMatch([v('f', '5Gi', ['ReadWriteOnce'], { volumeMode: 'Block' })], c), undefined);
  t.equal(findBestMatch([{ ...v('g', '5Gi'), metadata: { name: 'g', deletionTimestamp: 'x' } }], c), undefined);
  t.equal(volumeMismatch(v('h', '512Mi'), c), 'requested PV is too small');
  t.equal(volumeMismatch(v('h', '2Gi', ['ReadWriteOnce'], { storageClassName: 'x' }), c), 'storageClassName does not match');
  t.equal(volumeMismatch(v('h', '2Gi', ['ReadWriteOnce'], { volumeMode: 'Block' }), c), 'incompatible volumeMode');
  t.equal(volumeMismatch(v('h', '2Gi', ['ReadOnlyMany']), c), 'incompatible accessMode');
  t.equal(volumeMismatch(v('h', '2Gi'), c), undefined);
  t.equal(claimClass({ metadata: { name: 'x', annotations: { 'volume.beta.kubernetes.io/storage-class': 'beta' } }, spec: { storageClassName: 'field' } }), 'beta', 'annotation wins');
  t.ok(isNotFound({ code: 404 }) === false, 'only ApiErrors count');
});

for (const version of ['v1.6', 'v1.20', 'v1.32']) {
  t.test(`${version}: smallest matching volume binds both sides`, async (t) => {
    const { mkPV, mkPVC, pv, pvc, until, settle, profile } = setup(t, version);
    mkPV('pv-5g', '5Gi');
    mkPV('pv-2g', '2Gi');
    mkPV('pv-1g', '1G');
    mkPV('pv-class', '2Gi', { storageClassName: 'fast' });
    const c = mkPVC('data', '1Gi', { storageClassName: '' });
    await until('bound', () => pvc('data').status?.phase === 'Bound' && pv('pv-2g').status?.phase === 'Bound');
    const v = pv('pv-2g');
    t.same(v.spec.claimRef, { kind: 'PersistentVolumeClaim', namespace: 'default', name: 'data', uid: c.metadata.uid, apiVersion: 'v1', resourceVersion: c.metadata.resourceVersion });
    t.equal(v.metadata.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
    const claim = pvc('data');
    t.equal(claim.spec.volumeName, 'pv-2g');
    t.equal(claim.metadata.annotations?.['pv.kubernetes.io/bind-completed'], 'yes');
    t.equal(claim.metadata.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
    t.same(claim.status?.capacity, { storage: '2Gi' });
    t.same(claim.status?.accessModes, ['ReadWriteOnce']);
    await settle();
    t.equal(pv('pv-1g').status?.phase, 'Available');
    t.equal(pv('pv-class').status?.phase, 'Available');
    t.equal(pv('pv-5g').spec.claimRef, undefined);
    if (profile.lastPhaseTransitionTime) t.ok(v.status?.lastPhaseTransitionTime, 'lastPhaseTransitionTime written');
    else t.equal(v.status?.lastPhaseTransitionTime, undefined, 'no lastPhaseTransitionTime before 1.29');
  });
}

t.test('selector, class and mismatches', async (t) => {
  const { mkPV, mkPVC, pv, pvc, until, settle, evs } = setup(t);
  mkPV('plain', '1Gi');
  mkPV('labelled', '5Gi', {}, { labels: { tier: 'gold' } });
  mkPV('rox', '10Gi', { accessModes: ['ReadOnlyMany'] });
  mkPVC('sel', '1Gi', { storageClassName: '', selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['gold'] }] } });
  await until('selector claim bound', () => pvc('sel').spec.volumeName === 'labelled');
  mkPVC('toobig', '20Gi', { storageClassName: '' });
  mkPVC('badmode', '1Gi', { storageClassName: '', accessModes: ['ReadWriteMany'] });
  mkPVC('block', '1Gi', { storageClassName: '', volumeMode: 'Block' });
  await settle();
  for (const n of ['toobig', 'badmode', 'block']) {
    t.equal(pvc(n).status?.phase, 'Pending', `${n} stays Pending`);
    t.equal(pvc(n).spec.volumeName, undefined);
    t.same(evs(n), ['Normal FailedBinding no persistent volumes available for this claim and no storage class is set']);
  }
  t.equal(pv('plain').status?.phase, 'Available');
  t.equal(pv('rox').status?.phase, 'Available');
});

t.test('pre-binding from both sides and VolumeMismatch', async (t) => {
  const { mkPV, mkPVC, pv, pvc, until, settle, evs, store, ctl } = setup(t);
  mkPV('reserved', '1Gi', { claimRef: { namespace: 'default', name: 'wanted' } });
  mkPV('bigger', '5Gi');
  // Another claim cannot take the reserved volume even though it is the smallest.
  mkPVC('other', '1Gi', { storageClassName: '' });
  await until('other bound', () => pvc('other').spec.volumeName === 'bigger');
  t.equal(pv('reserved').status?.phase, 'Available', 'reserved volume is Available');
  const w = mkPVC('wanted', '1Gi', { storageClassName: '' });
  await until('wanted bound', () => pvc('wanted').status?.phase === 'Bound');
  t.equal(pv('reserved').spec.claimRef?.uid, w.metadata.uid);
  t.equal(pv('reserved').metadata.annotations?.['pv.kubernetes.io/bound-by-controller'], undefined, 'user filled claimRef');
  t.equal(pvc('wanted').metadata.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');

  mkPV('named', '3Gi');
  mkPVC('byname', '1Gi', { storageClassName: '', volumeName: 'named' });
  await until('byname bound', () => pvc('byname').status?.phase === 'Bound');
  t.equal(pvc('byname').metadata.annotations?.['pv.kubernetes.io/bound-by-controller'], undefined, 'user set volumeName');
  t.equal(pv('named').metadata.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');

  mkPV('small', '1Gi');
  mkPVC('mismatch', '2Gi', { storageClassName: '', volumeName: 'small' });
  mkPVC('nosuch', '2Gi', { storageClassName: '', volumeName: 'ghost' });
  mkPVC('taken', '1Gi', { storageClassName: '', volumeName: 'bigger' });
  await settle();
  t.equal(pvc('mismatch').status?.phase, 'Pending');
  t.same(evs('mismatch'), ['Warning VolumeMismatch Cannot bind to requested volume "small": requested PV is too small']);
  t.equal(pv('small').spec.claimRef, undefined);
  t.equal(pvc('nosuch').status?.phase, 'Pending');
  t.equal(pvc('taken').status?.phase, 'Pending');
  t.same(evs('taken'), ['Warning FailedBinding volume "bigger" already bound to a different claim.']);
  t.equal(pv('bigger').spec.claimRef?.name, 'other', 'a volume held by another claim is not stolen');
  // The requested volume appears later. A volume event syncs only the volume (pv_controller syncVolume: unused volume
  // -> Available); the waiting claim is looked at again by the periodic resync, as in the real controller.
  store.create('core/persistentvolumes', { metadata: { name: 'ghost' }, spec: { capacity: { storage: '2Gi' }, accessModes: ['ReadWriteOnce'], flexVolume: { driver: 'd' } } });
  await until('late volume Available', () => pv('ghost').status?.phase === 'Available');
  await settle();
  t.equal(pvc('nosuch').status?.phase, 'Pending', 'no binding before the resync');
  ctl.enqueueAll();
  await until('late volume binds at the resync', () => pvc('nosuch').status?.phase === 'Bound' && pv('ghost').status?.phase === 'Bound');
  t.equal(pvc('nosuch').metadata.annotations?.['pv.kubernetes.io/bound-by-controller'], undefined, 'user set volumeName');
});

t.test('pre-bound claim and volume per version', async (t) => {
  // 1.6 has no checkVolumeSatisfyClaim (PR #42992, 1.7): a too-small requested volume is bound. No FailedBinding
  // event for a taken volume before 1.19.
  for (const [version, bindsMismatch] of [['v1.6', true], ['v1.10', false], ['v1.20', false]] as const) {
    await t.test(version, async (t) => {
      const { mkPV, mkPVC, pv, pvc, until, settle, evs } = setup(t, version);
      mkPV('small', '1Gi');
      mkPV('held', '1Gi', { claimRef: { namespace: 'default', name: 'owner' } });
      mkPVC('big', '5Gi', { storageClassName: '', volumeName: 'small' });
      mkPVC('owner', '1Gi', { storageClassName: '' });
      await until('owner bound', () => pvc('owner').status?.phase === 'Bound');
      mkPVC('thief', '1Gi', { storageClassName: '', volumeName: 'held' });
      if (bindsMismatch) await until('mismatch bound', () => pvc('big').status?.phase === 'Bound' && pv('small').status?.phase === 'Bound');
      else await until('mismatch event', () => evs('big').length > 0);
      await settle();
      t.equal(pvc('big').status?.phase, bindsMismatch ? 'Bound' : 'Pending');
      t.same(evs('big'), bindsMismatch ? [] : ['Warning VolumeMismatch Cannot bind to requested volume "small": requested PV is too small']);
      t.equal(pvc('thief').status?.phase, 'Pending');
      t.same(evs('thief'), version === 'v1.20' ? ['Warning FailedBinding volume "held" already bound to a different claim.'] : []);
    });
  }
});

t.test('a requested volume being deleted is refused', async (t) => {
  const { store, mkPV, mkPVC, pvc, until, evs } = setup(t);
  mkPV('doomed', '1Gi', {}, { finalizers: ['example.com/hold'] });
  store.delete('core/persistentvolumes', undefined, 'doomed');
  mkPVC('c', '1Gi', { storageClassName: '', volumeName: 'doomed' });
  await until('refused', () => evs('c').length > 0);
  t.same(evs('c'), ['Warning VolumeMismatch Cannot bind to requested volume "doomed": the volume is marked for deletion "doomed"']);
  t.equal(pvc('c').status?.phase, 'Pending');
});

t.test('provisioning hand-off per version', async (t) => {
  for (const [version, newAnn, text] of [
    ['v1.20', false, 'waiting for a volume to be created, either by external provisioner "datera.io/provisioner-datera" or manually created by system administrator'],
    ['v1.27', true, 'waiting for a volume to be created, either by external provisioner "datera.io/provisioner-datera" or manually created by system administrator'],
    ['v1.35', true, "Waiting for a volume to be created either by the external provisioner 'datera.io/provisioner-datera' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered."],
  ] as const) {
    await t.test(version, async (t) => {
      const { store, mkPVC, pvc, until, settle, evs, pv } = setup(t, version);
      store.create('storage.k8s.io/storageclasses', { metadata: { name: 'datera' }, provisioner: 'datera.io/provisioner-datera' });
      store.create('storage.k8s.io/storageclasses', { metadata: { name: 'intree' }, provisioner: 'kubernetes.io/no-provisioner' });
      const c = mkPVC('dyn', '1Gi', { storageClassName: 'datera' });
      mkPVC('missing', '1Gi', { storageClassName: 'nope' });
      mkPVC('local', '1Gi', { storageClassName: 'intree' });
      await until('annotated', () => pvc('dyn').metadata.annotations?.['volume.beta.kubernetes.io/storage-provisioner'] === 'datera.io/provisioner-datera');
      await settle();
      t.equal(pvc('dyn').metadata.annotations?.['volume.kubernetes.io/storage-provisioner'], newAnn ? 'datera.io/provisioner-datera' : undefined);
      t.equal(pvc('dyn').status?.phase, 'Pending');
      t.same(new Set(evs('dyn')), new Set([`Normal ExternalProvisioning ${text}`]));
      t.same(new Set(evs('missing')), new Set(['Warning ProvisioningFailed storageclass.storage.k8s.io "nope" not found']));
      t.same(new Set(evs('local')), new Set(['Warning ProvisioningFailed no volume plugin matched name: kubernetes.io/no-provisioner']));
      t.equal(pvc('missing').metadata.annotations?.['volume.beta.kubernetes.io/storage-provisioner'], undefined);
      // The provisioner creates a pre-bound volume: it binds.
      store.create('core/persistentvolumes', {
        metadata: { name: 'pvc-1', annotations: { 'pv.kubernetes.io/provisioned-by': 'datera.io/provisioner-datera' } },
        spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], storageClassName: 'datera', persistentVolumeReclaimPolicy: 'Delete', claimRef: { namespace: 'default', name: 'dyn', uid: c.metadata.uid }, flexVolume: { driver: 'd' } },
      });
      await until('provisioned volume binds', () => pvc('dyn').status?.phase === 'Bound' && pv('pvc-1').status?.phase === 'Bound');
      t.equal(pvc('dyn').spec.volumeName, 'pvc-1');
      // Claim deleted: an external provisioner's volume is left Released for it to delete.
      store.delete('core/persistentvolumeclaims', 'default', 'dyn');
      await until('released', () => pv('pvc-1').status?.phase === 'Released');
      await settle();
      t.equal(pv('pvc-1').status?.phase, 'Released');
      t.same(evs('pvc-1'), [], 'no event for an externally deleted volume');
    });
  }
});

t.test('WaitForFirstConsumer waits for the selected node', async (t) => {
  const { store, mkPV, mkPVC, pvc, until, settle, evs } = setup(t);
  store.create('storage.k8s.io/storageclasses', { metadata: { name: 'wait' }, provisioner: 'datera.io/provisioner-datera', volumeBindingMode: 'WaitForFirstConsumer' });
  mkPV('local', '1Gi', { storageClassName: 'wait' });
  mkPVC('late', '1Gi', { storageClassName: 'wait' });
  await settle();
  t.equal(pvc('late').spec.volumeName, undefined);
  t.same(evs('late'), ['Normal WaitForFirstConsumer waiting for first consumer to be created before binding']);
  store.mutate('core/persistentvolumeclaims', 'default', 'late', (o) => {
    o.metadata.annotations = { 'volume.kubernetes.io/selected-node': 'node-1' };
  });
  await until('bound after node selection', () => pvc('late').spec.volumeName === 'local');
});

t.test('retroactive default class (1.26+ only)', async (t) => {
  for (const [version, expect] of [['v1.20', undefined], ['v1.32', 'std']] as const) {
    await t.test(version, async (t) => {
      const { store, mkPVC, pvc, settle, until } = setup(t, version);
      mkPVC('noclass', '1Gi');
      await settle();
      store.create('storage.k8s.io/storageclasses', { metadata: { name: 'std', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }, provisioner: 'datera.io/x' });
      if (expect) await until('class set', () => pvc('noclass').spec.storageClassName === expect);
      else await settle();
      t.equal(pvc('noclass').spec.storageClassName, expect);
    });
  }
});

t.test('reclaim policies', async (t) => {
  for (const version of ['v1.6', 'v1.20', 'v1.35']) {
    await t.test(version, async (t) => {
      const { store, mkPV, mkPVC, pv, pvc, until, settle, evs, profile, ctl, events } = setup(t, version);
      mkPV('retain', '1Gi', { persistentVolumeReclaimPolicy: 'Retain', storageClassName: 'r' });
      mkPV('delete', '1Gi', { persistentVolumeReclaimPolicy: 'Delete', storageClassName: 'd' });
      mkPV('recycle', '1Gi', { persistentVolumeReclaimPolicy: 'Recycle', storageClassName: 'c' });
      mkPV('intree', '1Gi', { persistentVolumeReclaimPolicy: 'Delete', storageClassName: 'i' }, { annotations: { 'pv.kubernetes.io/provisioned-by': 'kubernetes.io/cinder' } });
      for (const [c, cls] of [['c-retain', 'r'], ['c-delete', 'd'], ['c-recycle', 'c'], ['c-intree', 'i']]) mkPVC(c!, '1Gi', { storageClassName: cls });
      await until('all bound', () => ['retain', 'delete', 'recycle', 'intree'].every((n) => pv(n).status?.phase === 'Bound'));
      const retainUid = pv('retain').spec.claimRef?.uid;
      for (const c of ['c-retain', 'c-delete', 'c-recycle', 'c-intree']) store.delete('core/persistentvolumeclaims', 'default', c);
      await until('retain released', () => pv('retain').status?.phase === 'Released');
      await until('delete failed', () => pv('delete').status?.phase === 'Failed');
      await until('recycle failed', () => pv('recycle').status?.phase === 'Failed');
      await until('intree failed', () => pv('intree').status?.phase === 'Failed');
      await settle();
      t.equal(pv('retain').spec.claimRef?.uid, retainUid, 'Released keeps claimRef');
      t.same(evs('retain'), []);
      t.equal(pv('delete').status?.message, profile.noDeleterMessage('delete'));
      t.same(evs('delete'), [`Warning VolumeFailedDelete ${profile.noDeleterMessage('delete')}`]);
      t.same(evs('recycle'), ['Warning VolumeFailedRecycle No recycler plugin found for the volume!']);
      t.same(evs('intree'), ['Warning VolumeFailedDelete no volume plugin matched name: kubernetes.io/cinder']);
      // A resync keeps Failed and does not repeat the event.
      ctl.enqueueAll();
      await settle();
      t.equal(pv('delete').status?.phase, 'Failed');
      t.equal(events.about({ name: 'delete' })[0]?.count, 1);
      // A new claim with the same name does not rebind the Released volume.
      mkPVC('c-retain', '1Gi', { storageClassName: 'r' });
      await settle();
      t.equal(pvc('c-retain').status?.phase, 'Pending');
      t.equal(pv('retain').status?.phase, 'Released');
      // The admin removes claimRef: Available again, and then the waiting claim binds.
      store.mutate('core/persistentvolumes', undefined, 'retain', (o) => {
        delete (o as PersistentVolume).spec.claimRef;
      });
      await until('available', () => pv('retain').status?.phase === 'Available');
      await settle();
      // As in the real controller, the volume event syncs the volume only; the waiting claim binds at the resync.
      t.equal(pvc('c-retain').status?.phase, 'Pending', 'no binding before the resync');
      ctl.enqueueAll();
      await until('rebound', () => pvc('c-retain').status?.phase === 'Bound' && pv('retain').status?.phase === 'Bound');
    });
  }
});

t.test('Released to Available when only the uid is removed; unknown policy', async (t) => {
  const { store, mkPV, mkPVC, pv, until, evs } = setup(t);
  mkPV('v', '1Gi', { storageClassName: 'x' });
  mkPV('odd', '1Gi', { storageClassName: 'y', persistentVolumeReclaimPolicy: 'Shred' });
  mkPVC('c', '1Gi', { storageClassName: 'x' });
  mkPVC('c2', '1Gi', { storageClassName: 'y' });
  await until('bound', () => pv('v').status?.phase === 'Bound' && pv('odd').status?.phase === 'Bound');
  store.delete('core/persistentvolumeclaims', 'default', 'c');
  store.delete('core/persistentvolumeclaims', 'default', 'c2');
  await until('released', () => pv('v').status?.phase === 'Released');
  await until('unknown policy fails', () => pv('odd').status?.phase === 'Failed');
  t.same(evs('odd'), ['Warning VolumeUnknownReclaimPolicy Volume has unrecognized PersistentVolumeReclaimPolicy']);
  store.mutate('core/persistentvolumes', undefined, 'v', (o) => {
    delete (o as PersistentVolume).spec.claimRef!.uid;
  });
  await until('available', () => pv('v').status?.phase === 'Available');
  t.equal(pv('v').spec.claimRef?.name, 'c', 'still reserved for the claim name');
});

t.test('Lost and misbound claims', async (t) => {
  const { store, mkPV, mkPVC, pvc, until, evs, pv } = setup(t);
  mkPV('v', '1Gi');
  mkPVC('c', '1Gi', { storageClassName: '' });
  await until('bound', () => pvc('c').status?.phase === 'Bound');
  store.delete('core/persistentvolumes', undefined, 'v');
  await until('lost', () => pvc('c').status?.phase === 'Lost');
  t.same(evs('c'), ['Warning ClaimLost Bound claim has lost its PersistentVolume. Data on the volume is lost!']);
  t.equal(pvc('c').status?.capacity, undefined);

  mkPV('w', '1Gi');
  mkPVC('d', '1Gi', { storageClassName: '' });
  await until('d bound', () => pvc('d').status?.phase === 'Bound');
  store.mutate('core/persistentvolumeclaims', 'default', 'd', (o) => {
    delete (o as PersistentVolumeClaim).spec.volumeName;
  });
  await until('d lost', () => pvc('d').status?.phase === 'Lost');
  t.same(evs('d'), ['Warning ClaimLost Bound claim has lost reference to PersistentVolume. Data on the volume is lost!']);

  mkPV('x', '1Gi');
  mkPVC('e', '1Gi', { storageClassName: '' });
  await until('e bound', () => pvc('e').status?.phase === 'Bound');
  store.mutate('core/persistentvolumes', undefined, 'x', (o) => {
    (o as PersistentVolume).spec.claimRef!.uid = 'someone-else';
  });
  await until('e misbound', () => pvc('e').status?.phase === 'Lost');
  t.same(evs('e'), ['Warning ClaimMisbound Two claims are bound to the same volume, this one is bound incorrectly']);
  await until('x released', () => pv('x').status?.phase === 'Released');
});

t.test('volume bound by the controller to a claim that went elsewhere is unbound', async (t) => {
  const { store, mkPV, pvc, until, pv } = setup(t);
  mkPV('a', '1Gi');
  mkPV('b', '1Gi');
  const c = store.create('core/persistentvolumeclaims', {
    metadata: { name: 'c', namespace: 'default' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: '', volumeName: 'b' },
  }).object as KObject;
  await until('c bound to b', () => pvc('c').status?.phase === 'Bound');
  // Simulate a half-done controller bind of `a` to the same claim (the race the real controller cleans up).
  store.mutate('core/persistentvolumes', undefined, 'a', (o) => {
    o.metadata.annotations = { 'pv.kubernetes.io/bound-by-controller': 'yes' };
    (o as PersistentVolume).spec.claimRef = { kind: 'PersistentVolumeClaim', namespace: 'default', name: 'c', uid: c.metadata.uid };
  });
  await until('a unbound', () => pv('a').spec.claimRef === undefined && pv('a').status?.phase === 'Available');
  t.equal(pv('a').metadata.annotations?.['pv.kubernetes.io/bound-by-controller'], undefined);
  // Same, but a user-made claimRef: only the uid goes.
  store.mutate('core/persistentvolumes', undefined, 'a', (o) => {
    (o as PersistentVolume).spec.claimRef = { kind: 'PersistentVolumeClaim', namespace: 'default', name: 'c', uid: c.metadata.uid };
  });
  await until('a uid cleared', () => pv('a').spec.claimRef?.name === 'c' && !pv('a').spec.claimRef?.uid && pv('a').status?.phase === 'Available');
  // A provisioned Delete volume whose claim went elsewhere is released (and left to its provisioner).
  store.create('core/persistentvolumes', {
    metadata: { name: 'prov', annotations: { 'pv.kubernetes.io/provisioned-by': 'datera.io/p' } },
    spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Delete', claimRef: { namespace: 'default', name: 'c', uid: c.metadata.uid }, flexVolume: { driver: 'd' } },
  });
  await until('prov released', () => pv('prov').status?.phase === 'Released');
});

t.test('periodic resync picks up what no event announced', async (t) => {
  const { store, mkPV, pv, until, ctl } = setup(t, 'v1.32', { resyncMs: 100 });
  mkPV('v', '1Gi');
  await until('available', () => pv('v').status?.phase === 'Available');
  // Write a wrong phase behind the controller's back with its watch stopped, then let only the timer notice.
  store.update('core/persistentvolumes', { ...pv('v'), status: { phase: 'Pending' } }, { sub: 'status' });
  await until('resync fixed it', () => pv('v').status?.phase === 'Available');
  ctl.stop();
  store.update('core/persistentvolumes', { ...pv('v'), status: { phase: 'Pending' } }, { sub: 'status' });
  await new Promise((r) => setTimeout(r, 300));
  t.equal(pv('v').status?.phase, 'Pending', 'stopped controller does nothing');
});

t.test('hostPath and NFS volumes are recycled by a recycler pod', async (t) => {
  for (const [version, image, scrub] of [
    ['v1.6', 'gcr.io/google_containers/busybox', 'rm -rf'],
    ['v1.20', 'k8s.gcr.io/busybox:1.27', 'rm -rf'],
    ['v1.35', 'registry.k8s.io/build-image/debian-base:bookworm-v1.0.2', 'find /scrub -mindepth 1 -delete'],
  ] as const) {
    await t.test(version, async (t) => {
      const { store, events, mkPV, mkPVC, pv, pvc, until, evs, ctl } = setup(t, version);
      mkPV('hp', '5Gi', { persistentVolumeReclaimPolicy: 'Recycle', storageClassName: 'hp', flexVolume: undefined, hostPath: { path: '/srv/hp' } });
      mkPVC('c', '1Gi', { storageClassName: 'hp' });
      await until('bound', () => pv('hp').status?.phase === 'Bound');
      store.delete('core/persistentvolumeclaims', 'default', 'c');
      const pod = await until('recycler pod', () => store.get('core/pods', 'default', 'recycler-for-hp'));
      t.equal(pv('hp').status?.phase, 'Released', 'Released while the scrub runs');
      const spec = pod.spec as { activeDeadlineSeconds: number; restartPolicy: string; volumes: unknown[]; containers: { name: string; image: string; command: string[]; args: string[]; volumeMounts: unknown[] }[] };
      t.equal(spec.activeDeadlineSeconds, 150, '30 s per GiB of 5Gi, at least 60');
      t.equal(spec.restartPolicy, 'Never');
      t.same(spec.volumes, [{ name: 'vol', hostPath: { path: '/srv/hp' } }]);
      const c = spec.containers[0]!;
      t.equal(c.name, 'pv-recycler');
      t.equal(c.image, image);
      t.same(c.command, ['/bin/sh']);
      t.equal(c.args[0], '-c');
      t.match(c.args[1], scrub);
      t.same(c.volumeMounts, [{ name: 'vol', mountPath: '/scrub' }]);
      // What the kubelet says about the pod is repeated on the volume.
      events.record(pod, 'Normal', 'Pulled', 'Container image already present on machine', { component: 'kubelet' });
      await until('forwarded', () => evs('hp').includes('Normal RecyclerPod Recycler pod: Container image already present on machine'));
      store.mutate('core/pods', 'default', 'recycler-for-hp', (o) => void (o.status = { phase: 'Succeeded' }), 'status');
      await until('Available', () => pv('hp').status?.phase === 'Available');
      t.equal(pv('hp').spec.claimRef, undefined, 'the controller-made binding is removed');
      t.equal(pv('hp').metadata.annotations?.['pv.kubernetes.io/bound-by-controller'], undefined);
      await until('recycler pod deleted', () => !store.get('core/pods', 'default', 'recycler-for-hp'));
      t.ok(evs('hp').includes('Normal VolumeRecycled Volume recycled'));
      // A new claim gets the scrubbed volume (at the resync).
      mkPVC('again', '1Gi', { storageClassName: 'hp' });
      ctl.enqueueAll();
      await until('rebound', () => pvc('again').status?.phase === 'Bound');
    });
  }
});

t.test('recycler failures', async (t) => {
  const { store, mkPV, mkPVC, pv, until, evs, settle } = setup(t, 'v1.32');
  const recycler = () => store.get('core/pods', 'default', 'recycler-for-nfs');
  // A user pre-binding keeps its name after recycling; NFS has a 300 s minimum deadline.
  mkPV('nfs', '2Gi', { persistentVolumeReclaimPolicy: 'Recycle', storageClassName: 'n', flexVolume: undefined, nfs: { server: '10.0.0.1', path: '/exports/a' }, claimRef: { namespace: 'default', name: 'c' } });
  mkPVC('c', '1Gi', { storageClassName: 'n' });
  await until('bound', () => pv('nfs').status?.phase === 'Bound');
  store.delete('core/persistentvolumeclaims', 'default', 'c');
  const first = await until('recycler pod', recycler);
  t.equal((first.spec as { activeDeadlineSeconds: number }).activeDeadlineSeconds, 300);
  t.same((first.spec as { volumes: unknown[] }).volumes, [{ name: 'vol', nfs: { server: '10.0.0.1', path: '/exports/a' } }]);
  store.mutate('core/pods', 'default', 'recycler-for-nfs', (o) => void (o.status = { phase: 'Failed', message: 'scrub exited 1' }), 'status');
  await until('Failed', () => pv('nfs').status?.phase === 'Failed');
  t.equal(pv('nfs').status?.message, 'Recycle failed: failed to recycle volume: scrub exited 1');
  t.ok(evs('nfs').includes('Warning VolumeFailedRecycle Recycle failed: failed to recycle volume: scrub exited 1'));
  // The Failed volume is retried (its phase change is a volume event): a new recycler pod, and this time it works.
  await until('retry pod', () => {
    const p = recycler();
    return p && p.metadata.uid !== first.metadata.uid ? p : undefined;
  });
  store.mutate('core/pods', 'default', 'recycler-for-nfs', (o) => void (o.status = { phase: 'Succeeded' }), 'status');
  await until('Available', () => pv('nfs').status?.phase === 'Available');
  t.match(pv('nfs').spec.claimRef, { namespace: 'default', name: 'c', kind: 'PersistentVolumeClaim' }, 'pre-bound by the user: the reference stays');
  t.equal(pv('nfs').spec.claimRef?.uid, undefined, 'only the uid goes');
  t.equal(pv('nfs').status?.message, undefined);
  await settle();
  t.notOk(recycler(), 'pod removed');

  // Someone deletes the recycler pod under the controller.
  mkPV('hp3', '1Gi', { persistentVolumeReclaimPolicy: 'Recycle', storageClassName: 'h3', flexVolume: undefined, hostPath: { path: '/srv/h3' } });
  mkPVC('c3', '1Gi', { storageClassName: 'h3' });
  await until('hp3 bound', () => pv('hp3').status?.phase === 'Bound');
  store.delete('core/persistentvolumeclaims', 'default', 'c3');
  const gone = await until('hp3 recycler', () => store.get('core/pods', 'default', 'recycler-for-hp3'));
  store.delete('core/pods', 'default', 'recycler-for-hp3');
  await until('hp3 Failed', () => pv('hp3').status?.phase === 'Failed');
  t.same(evs('hp3'), ['Warning VolumeFailedRecycle Recycle failed: failed to recycle volume: recycler pod was deleted']);
  await until('retried', () => {
    const p = store.get('core/pods', 'default', 'recycler-for-hp3');
    return p && p.metadata.uid !== gone.metadata.uid ? p : undefined;
  });

  // A pod of that name that is not ours is deleted, and the scrub waits for it to be gone.
  mkPV('hp2', '1Gi', { persistentVolumeReclaimPolicy: 'Recycle', storageClassName: 'h2', flexVolume: undefined, hostPath: { path: '/srv/h2' } });
  mkPVC('c2', '1Gi', { storageClassName: 'h2' });
  await until('hp2 bound', () => pv('hp2').status?.phase === 'Bound');
  const forged = store.create('core/pods', {
    metadata: { name: 'recycler-for-hp2', namespace: 'default', finalizers: ['example.com/hold'] },
    spec: { containers: [{ name: 'x', image: 'busybox' }] },
  }).object;
  store.delete('core/persistentvolumeclaims', 'default', 'c2');
  await until('refused', () => pv('hp2').status?.phase === 'Failed');
  t.equal(pv('hp2').status?.message, 'Recycle failed: old recycler pod found, will retry later');
  t.ok(store.get('core/pods', 'default', 'recycler-for-hp2')?.metadata.deletionTimestamp, 'the foreign pod is being deleted');
  store.mutate('core/pods', 'default', 'recycler-for-hp2', (o) => void delete o.metadata.finalizers);
  await until('our own pod', () => {
    const p = store.get('core/pods', 'default', 'recycler-for-hp2');
    return p && p.metadata.uid !== forged.metadata.uid ? p : undefined;
  });
});

t.test('a recycler pod that cannot be created fails the volume', async (t) => {
  const { store, mkPV, mkPVC, pv, until } = setup(t, 'v1.27');
  store.create('core/namespaces', { metadata: { name: 'apps' } });
  mkPV('hp', '1Gi', { persistentVolumeReclaimPolicy: 'Recycle', storageClassName: 'h', flexVolume: undefined, hostPath: { path: '/srv/x' } });
  store.create('core/persistentvolumeclaims', { metadata: { name: 'c', namespace: 'apps' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: 'h' } });
  await until('bound', () => pv('hp').status?.phase === 'Bound');
  // No `default` namespace, no recycler pod.
  store.delete('core/namespaces', undefined, 'default');
  store.delete('core/persistentvolumeclaims', 'apps', 'c');
  await until('Failed', () => pv('hp').status?.phase === 'Failed');
  t.equal(pv('hp').status?.message, 'Recycle failed: unexpected error creating recycler pod:  namespaces "default" not found');
  void mkPVC;
});
