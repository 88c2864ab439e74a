// reclaim: what becomes of a PV, its data and its Datera volume once the claim is deleted, for the guide's manual
// (static) PVs and for dynamically provisioned ones, under Retain, Delete and Recycle. The Datera guide promises four
// lifecycles (datera-k8s-guide.md); this asserts what the cluster really does (kubernetes-semantics.md §1):
//   manual  Retain  -> Released, claimRef kept, Datera volume and data kept
//   manual  Delete  -> Failed + VolumeFailedDelete (no deleter for a flexVolume; the guide hoped for deletion)
//   manual  Recycle -> Failed + VolumeFailedRecycle (only NFS and hostPath recycle); apiserver warning from 1.30
//   dynamic Retain  -> Released (an external provisioner's PV gets no controller event), volume and data kept
//   dynamic Delete  -> the provisioner deletes the Datera volume and the PV
//   dynamic Recycle -> a StorageClass cannot say Recycle: validation rejects it (since reclaimPolicy exists, 1.8)
// The six cases run concurrently (each a chain of waits started up front); the checks then read their outcomes.
import type * as k8s from '@kubernetes/client-node';
import { scenario, notFound, podSummary, type Scenario, type KObj } from '../../harness/index.js';

type Policy = 'Retain' | 'Delete' | 'Recycle';

/** What the first half of a case saw: the volume through a pod, then the claim deleted. */
interface Released {
  pv: string;
  volumeID: string;
  token: string;
  /** The PV when it settled (undefined: the PV object is gone). */
  after: k8s.V1PersistentVolume | undefined;
  claimUidBefore: string;
  /** Events about the PV (PV events live in namespace default). */
  events: k8s.CoreV1Event[];
  backendAfter: boolean;
  notes: string[];
}

/** What re-using a retained volume through a new PV saw. */
interface Reused {
  backendAfterPvDelete: boolean;
  newPv: string;
  token: string;
  md5: string;
  node: string;
  notes: string[];
}

type Outcome<T> = { ok: true; v: T } | { ok: false; e: unknown };

const settle = <T>(p: Promise<T>): Promise<Outcome<T>> =>
  p.then(
    (v) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e }),
  );

/** The value, or the case's failure rethrown so the check fails with it. */
async function outcome<T>(what: string, p: Promise<Outcome<T>>): Promise<T> {
  const r = await p;
  if (r.ok) return r.v;
  const m = r.e instanceof Error ? r.e.message : String(r.e);
  throw new Error(m.startsWith(`${what}:`) ? m : `${what}: ${m}`);
}

/** Run one step; a failure says which step of which case broke. */
async function step<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const phaseOf = (pv: k8s.V1PersistentVolume | undefined) => (pv ? (pv.status?.phase ?? '(none)') : 'deleted');
const describePV = (pv: k8s.V1PersistentVolume | undefined) =>
  pv ? `phase ${phaseOf(pv)}${pv.status?.message ? ` (${pv.status.message})` : ''}, claimRef ${pv.spec?.claimRef ? `${pv.spec.claimRef.namespace}/${pv.spec.claimRef.name} uid ${pv.spec.claimRef.uid ?? '-'}` : 'none'}` : 'PV object gone';
const eventsLine = (evs: k8s.CoreV1Event[]) => evs.map((e) => `${e.type} ${e.reason}: ${e.message ?? ''}`).join(' | ') || 'none';
const warningsAbout = (evs: k8s.CoreV1Event[]) => evs.filter((e) => /^VolumeFailed|^VolumeUnknownReclaimPolicy$/.test(e.reason ?? ''));

/** Manual PVs are the guide's xfs; dynamic ones ask for ext4, so a driver that ignores fsType shows. */
const DYNAMIC_FS = 'ext4';
/** What busybox `stat -f -c %T` calls each filesystem. */
const STAT_FS: Record<string, string> = { xfs: 'xfs', ext4: 'ext2/ext3' };

/** The recycle deprecation warning the apiserver adds from 1.30 (kubernetes#122339). */
const RECYCLE_WARNING = /Recycle reclaim policy is deprecated/;

/**
 * VolumeFailedDelete for a static flexVolume PV: "<E|e>rror getting deleter volume plugin for volume "<pv>": ...".
 * The prefix is capitalised before ~1.20 (the reference's boundary, unverified); the suffix is "no deletable volume
 * plugin matched" when the controller knows the flex plugin and "no volume plugin matched" when the driver is not
 * installed where kube-controller-manager runs, which is a deployment choice under the guide (controller attach off).
 */
function noDeleterMessage(minor: number, pv: string): RegExp {
  const e = minor >= 20 ? 'e' : 'E';
  return new RegExp(`^${e}rror getting deleter volume plugin for volume "${pv.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}": no (deletable )?volume plugin matched$`);
}

await scenario(
  'reclaim',
  async (s) => {
    const dynamic = !!s.ctx.provisioner;
    const noProvisioner = 'no dynamic provisioner in this context';
    const k = s.kube;
    const ns = s.ns;

    const claim = (name: string, o: { sc?: string; volumeName?: string }): KObj => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name },
      // "" keeps static claims away from any default class; volumeName keeps them off other scenarios' PVs.
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: o.sc ?? '', ...(o.volumeName ? { volumeName: o.volumeName } : {}), resources: { requests: { storage: '1Gi' } } },
    });
    const pod = (name: string, claimName: string): KObj => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'c', image: s.images.busybox, command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"], volumeMounts: [{ name: 'd', mountPath: '/data' }] }],
        volumes: [{ name: 'd', persistentVolumeClaim: { claimName } }],
      },
    });

    /** A PV made through the typed client so the apiserver's Warning header can be read; tracked like s.create. */
    const createPV = async (pv: KObj): Promise<string> => {
      pv.metadata = { ...pv.metadata, labels: { 'dkc.datera.io/scenario': s.id, ...(pv.metadata?.labels ?? {}) } };
      const res = await k.core.createPersistentVolumeWithHttpInfo({ body: pv as k8s.V1PersistentVolume });
      s.trackPV(pv.metadata.name!);
      return res.headers['warning'] ?? '';
    };

    /** Pod up on the claim, then write a token and 1 MiB of random data with its checksum; returns the token. */
    const writeThroughPod = async (label: string, podName: string, claimName: string, fsType: string): Promise<{ token: string; node: string }> => {
      await s.create(pod(podName, claimName));
      const p = await step(`${label}: writer pod`, () => k.waitPodReady(ns, podName));
      // The data must land on the Datera volume, not in a directory the kubelet bind-mounted instead of it.
      // The type alone cannot tell a 1 GiB ext4 volume from a node directory on an ext4 root: the size can.
      const [fs = '', blocks = '0', bsize = '0'] = (await step(`${label}: filesystem under /data in ${podName}`, () => k.sh(ns, podName, 'c', 'stat -f -c "%T %b %S" /data'))).trim().split(/\s+/);
      const gib = (Number(blocks) * Number(bsize)) / 2 ** 30;
      if (fs !== STAT_FS[fsType] || !(gib > 0.75 && gib <= 1.05))
        throw new Error(`${label}: /data in pod ${podName} is a ${gib.toFixed(2)} GiB ${fs} filesystem, not the 1 GiB ${fsType} volume the PV asks for: the Datera volume is not mounted there as asked`);
      const token = `${ns}/${label}/${Date.now()}`;
      await step(`${label}: writing through pod ${podName}`, () =>
        k.sh(ns, podName, 'c', `echo '${token}' > /data/token && dd if=/dev/urandom of=/data/blob bs=64k count=16 2>/dev/null && (cd /data && md5sum blob > blob.md5) && sync`),
      );
      return { token, node: p.spec?.nodeName ?? '' };
    };

    const deletePodAndClaim = async (label: string, podName: string, claimName: string) => {
      await k.core.deleteNamespacedPod({ name: podName, namespace: ns }).catch(notFound);
      await step(`${label}: pod ${podName} gone`, () => k.waitGone(`pod ${ns}/${podName} gone`, async () => ((await k.pod(ns, podName)) ? [podName] : []), 120_000));
      await k.core.deleteNamespacedPersistentVolumeClaim({ name: claimName, namespace: ns }).catch(notFound);
      await step(`${label}: claim ${claimName} gone`, () => k.waitGone(`claim ${ns}/${claimName} gone`, async () => ((await k.pvc(ns, claimName)) ? [claimName] : []), 60_000));
    };

    /** Wait until the PV settles in one of `phases` ('deleted' = the object is gone); returns it (undefined if gone). */
    const settlePV = (label: string, pv: string, phases: string[]) =>
      step(`${label}: PV ${pv} after the claim was deleted`, () =>
        k.until(
          `PV ${pv} ${phases.join(' or ')}`,
          async () => {
            const v = await k.pv(pv);
            return phases.includes(phaseOf(v)) ? { v } : undefined;
          },
          { timeoutMs: 90_000, describe: async () => describePV(await k.pv(pv)) },
        ),
      ).then((r) => r.v);

    /** Events about a PV; for the Failed outcomes wait until the controller's event is there (events lag status). */
    const pvEvents = async (pv: string, reason?: string): Promise<k8s.CoreV1Event[]> => {
      if (reason) await k.until(`event ${reason} about PV ${pv}`, async () => ((await k.events('default', pv)).some((e) => e.reason === reason) ? true : undefined), { timeoutMs: 30_000 }).catch(() => undefined);
      return k.events('default', pv).catch(() => []);
    };

    /** The Warning header the apiserver answered to each manual PV's creation, by reclaim policy. */
    const createWarnings = new Map<Policy, string>();

    const backendHas = async (vid: string) => !!(await s.backend!.volume(vid));

    // ---------- the cases ----------

    const manual = async (policy: Policy): Promise<Released> => {
      const label = `manual ${policy}`;
      const pvName = `${ns}-${policy.toLowerCase()}`;
      const claimName = `m-${policy.toLowerCase()}`;
      const volumeID = `${ns}-m${policy.toLowerCase()}`;
      // The driver creates the volume at the first attach; no manual case deletes it, so it is removed afterwards.
      s.keepBackendVolume(volumeID);
      createWarnings.set(policy, await step(`${label}: creating PV ${pvName}`, () => createPV(s.guidePV(pvName, { volumeID, reclaim: policy, claimRef: { namespace: ns, name: claimName } }))));
      await s.create(claim(claimName, { volumeName: pvName }));
      const bound = await step(`${label}: binding`, () => k.waitBound(ns, claimName));
      const { token, node } = await writeThroughPod(label, `m-${policy.toLowerCase()}-writer`, claimName, 'xfs');
      const notes = [`${label}: PV ${pvName} (volumeID ${volumeID}) bound to ${claimName}, written on ${node}`];
      await deletePodAndClaim(label, `m-${policy.toLowerCase()}-writer`, claimName);
      const settled = { Retain: ['Released', 'Available', 'Failed', 'deleted'], Delete: ['Failed', 'deleted', 'Available'], Recycle: ['Failed', 'Available', 'deleted'] }[policy];
      const after = await settlePV(label, pvName, settled);
      const events = await pvEvents(pvName, policy === 'Delete' ? 'VolumeFailedDelete' : policy === 'Recycle' ? 'VolumeFailedRecycle' : undefined);
      const backendAfter = await backendHas(volumeID);
      notes.push(`${label}: after the claim went: ${describePV(after)}; events: ${eventsLine(events)}; backend volume ${backendAfter ? 'present' : 'absent'}`);
      return { pv: pvName, volumeID, token, after, claimUidBefore: bound.metadata?.uid ?? '', events, backendAfter, notes };
    };

    const dynamicCase = async (policy: 'Retain' | 'Delete'): Promise<Released> => {
      const label = `dynamic ${policy}`;
      const claimName = `d-${policy.toLowerCase()}`;
      const sc = await step(`${label}: StorageClass`, () => s.storageClass({ fsType: DYNAMIC_FS }, policy));
      await s.create(claim(claimName, { sc }));
      const bound = await step(`${label}: provisioning and binding`, () => k.waitBound(ns, claimName, 120_000));
      const pvName = bound.spec!.volumeName!;
      s.trackPV(pvName);
      const pv = await k.pv(pvName);
      const volumeID = String(pv?.spec?.flexVolume?.options?.volumeID ?? '');
      if (!volumeID) throw new Error(`${label}: provisioned PV ${pvName} names no volumeID in its flexVolume options`);
      if (policy === 'Retain') s.keepBackendVolume(volumeID);
      const { token, node } = await writeThroughPod(label, `d-${policy.toLowerCase()}-writer`, claimName, DYNAMIC_FS);
      const notes = [`${label}: class ${sc}, PV ${pvName} (volumeID ${volumeID}), written on ${node}`];
      await deletePodAndClaim(label, `d-${policy.toLowerCase()}-writer`, claimName);
      const after = await settlePV(label, pvName, policy === 'Retain' ? ['Released', 'Available', 'Failed', 'deleted'] : ['deleted', 'Failed']);
      let backendAfter = await backendHas(volumeID);
      if (policy === 'Delete' && !after && backendAfter) {
        // A provisioner may drop the PV before the volume; give the volume the same chance to go.
        backendAfter = await k.until(`backend volume ${volumeID} deleted`, async () => ((await backendHas(volumeID)) ? undefined : false), { timeoutMs: 30_000 }).catch(() => true);
      }
      const events = await pvEvents(pvName);
      notes.push(`${label}: after the claim went: ${describePV(after)}; events: ${eventsLine(events)}; backend volume ${backendAfter ? 'present' : 'absent'}`);
      return { pv: pvName, volumeID, token, after, claimUidBefore: bound.metadata?.uid ?? '', events, backendAfter, notes };
    };

    /**
     * The admin's way back to retained data (the guide: Released is not bindable again): wait until no node holds
     * the volume, delete the Released PV, make a new PV on the same volumeID, bind it and read the data in a pod.
     */
    const reuse = async (label: string, prefix: string, r: Released, fsType: string): Promise<Reused> => {
      const notes: string[] = [];
      await step(`${label}: waiting for the writer's node to leave the ACL of ${r.volumeID} before re-using it`, () =>
        k.until(
          `no initiator in the ACL of ${r.volumeID}`,
          async () => {
            const v = await s.backend!.volume(r.volumeID);
            return v && v.initiators.length === 0 ? true : undefined;
          },
          { timeoutMs: 60_000, describe: async () => JSON.stringify((await s.backend!.volume(r.volumeID))?.initiators ?? 'volume absent') },
        ),
      );
      await k.core.deletePersistentVolume({ name: r.pv }).catch(notFound);
      await step(`${label}: deleting the Released PV ${r.pv}`, () => k.waitGone(`PV ${r.pv} gone`, async () => ((await k.pv(r.pv)) ? [r.pv] : []), 60_000));
      const backendAfterPvDelete = await backendHas(r.volumeID);
      const newPv = `${ns}-${prefix}-again`;
      const claimName = `${prefix}-again`;
      await step(`${label}: creating PV ${newPv} on volumeID ${r.volumeID}`, () => s.create(s.guidePV(newPv, { volumeID: r.volumeID, fsType, reclaim: 'Retain', claimRef: { namespace: ns, name: claimName } })));
      await s.create(claim(claimName, { volumeName: newPv }));
      await step(`${label}: binding the new PV`, () => k.waitBound(ns, claimName));
      const reader = `${prefix}-reader`;
      await s.create(pod(reader, claimName));
      const p = await step(`${label}: reader pod`, () => k.waitPodReady(ns, reader));
      const read = await k.exec(ns, reader, 'c', ['sh', '-c', 'cat /data/token; cd /data && md5sum -c blob.md5 2>&1']);
      const [token = '', ...rest] = read.stdout.split('\n');
      notes.push(`${label}: new PV ${newPv} on ${r.volumeID} read on ${p.spec?.nodeName}: exit ${read.exitCode}, ${JSON.stringify(read.stdout.slice(0, 300))} ${read.stderr.slice(0, 200)}; pod ${podSummary(p)}`);
      return { backendAfterPvDelete, newPv, token: token.trim(), md5: read.exitCode === 0 ? rest.join(' ').trim() : `exit ${read.exitCode}: ${(read.stdout + read.stderr).trim().slice(-200)}`, node: p.spec?.nodeName ?? '', notes };
    };

    // Start everything at once; the checks below read the outcomes in order.
    const mRetain = settle(manual('Retain'));
    const mDelete = settle(manual('Delete'));
    const mRecycle = settle(manual('Recycle'));
    const dRetain = dynamic ? settle(dynamicCase('Retain')) : undefined;
    const dDelete = dynamic ? settle(dynamicCase('Delete')) : undefined;
    const mReuse = settle(mRetain.then((r) => (r.ok ? reuse('manual Retain', 'm-retain', r.v, 'xfs') : Promise.reject(new Error('the release half of the case failed')))));
    const dReuse = dRetain ? settle(dRetain.then((r) => (r.ok ? reuse('dynamic Retain', 'd-retain', r.v, DYNAMIC_FS) : Promise.reject(new Error('the release half of the case failed'))))) : undefined;

    const noFailureEvents = (tt: Tap, r: Released) => tt.same(warningsAbout(r.events).map((e) => `${e.reason}: ${e.message}`), [], `no VolumeFailed* event about PV ${r.pv}`);

    await s.check('manual Retain: deleting the claim leaves the PV Released with its old claimRef, no reclaim event, and the Datera volume', async (tt) => {
      const r = await outcome('manual Retain', mRetain);
      s.evidence(r.notes.join('\n'));
      tt.equal(phaseOf(r.after), 'Released', `PV ${r.pv} is Released, not bindable again`);
      tt.equal(r.after?.spec?.claimRef?.uid, r.claimUidBefore, `PV ${r.pv} keeps the deleted claim's uid in claimRef`);
      noFailureEvents(tt, r);
      tt.ok(r.backendAfter, `Datera volume ${r.volumeID} still exists after the claim was deleted`);
    });

    await s.check('manual Retain: the data is still there when a new PV on the same volumeID is bound and mounted', async (tt) => {
      const r = await outcome('manual Retain', mRetain);
      const u = await outcome('manual Retain', mReuse);
      s.evidence(u.notes.join('\n'));
      tt.ok(u.backendAfterPvDelete, `Datera volume ${r.volumeID} survives deleting the Released PV ${r.pv} (the admin deletes it separately)`);
      tt.equal(u.token, r.token, `the token written before the claim was deleted reads back through PV ${u.newPv}`);
      tt.equal(u.md5, 'blob: OK', `the 1 MiB blob's checksum matches through PV ${u.newPv}`);
    });

    await s.check('manual Delete: no deleter for a static flexVolume PV, so it goes Failed with VolumeFailedDelete and the Datera volume stays', async (tt) => {
      const r = await outcome('manual Delete', mDelete);
      s.evidence(r.notes.join('\n'));
      // The guide expected the PV and the volume to be deleted; Kubernetes cannot: flexVolume has no deleter.
      tt.equal(phaseOf(r.after), 'Failed', `PV ${r.pv} is Failed (not deleted, not Available)`);
      const want = noDeleterMessage(s.minor, r.pv);
      tt.match(r.after?.status?.message ?? '', want, `PV ${r.pv} status.message is the v1.${s.minor} no-deleter message`);
      const ev = r.events.filter((e) => e.reason === 'VolumeFailedDelete');
      tt.ok(ev.length > 0, `a VolumeFailedDelete event about PV ${r.pv} (seen: ${eventsLine(r.events)})`);
      tt.equal(ev[0]?.type, 'Warning', 'VolumeFailedDelete is a Warning');
      tt.match(ev[0]?.message ?? '', want, 'the event carries the same message');
      tt.ok(r.backendAfter, `Datera volume ${r.volumeID} still exists (nothing deleted it)`);
    });

    await s.check('manual Recycle: no recycler for flexVolume, so the PV goes Failed with VolumeFailedRecycle and the Datera volume stays', async (tt) => {
      const r = await outcome('manual Recycle', mRecycle);
      s.evidence(r.notes.join('\n'));
      // Only NFS and hostPath recycle (a recycler-for-<pv> pod scrubs them and they become Available again).
      tt.equal(phaseOf(r.after), 'Failed', `PV ${r.pv} is Failed (not scrubbed back to Available)`);
      tt.equal(r.after?.status?.message, 'No recycler plugin found for the volume!', `PV ${r.pv} status.message`);
      const ev = r.events.filter((e) => e.reason === 'VolumeFailedRecycle');
      tt.ok(ev.length > 0, `a VolumeFailedRecycle event about PV ${r.pv} (seen: ${eventsLine(r.events)})`);
      tt.equal(ev[0]?.type, 'Warning', 'VolumeFailedRecycle is a Warning');
      tt.equal(ev[0]?.message, 'No recycler plugin found for the volume!', 'event message');
      tt.ok(r.backendAfter, `Datera volume ${r.volumeID} still exists`);
    });

    await s.check(
      'manual Recycle: the apiserver warns that the Recycle reclaim policy is deprecated, and only for Recycle',
      async (tt) => {
        await Promise.all([mRecycle, mRetain]);
        const rec = createWarnings.get('Recycle');
        const ret = createWarnings.get('Retain');
        s.evidence(`Warning header creating the Recycle PV: ${JSON.stringify(rec ?? '(PV not created)')}; the Retain PV: ${JSON.stringify(ret ?? '(PV not created)')}`);
        tt.ok(rec !== undefined && ret !== undefined, 'both manual PVs were created');
        tt.match(rec ?? '', RECYCLE_WARNING, `creating PV ${ns}-recycle (Recycle) answered a Warning header about the deprecation`);
        tt.notMatch(ret ?? '', RECYCLE_WARNING, `creating PV ${ns}-retain (Retain) drew no Recycle warning`);
      },
      { skip: s.minor < 30 ? `the apiserver warns about Recycle only from v1.30 (kubernetes#122339); this is v1.${s.minor}` : false },
    );

    await s.check(
      'dynamic Retain: deleting the claim leaves the provisioned PV Released with no reclaim event, and the Datera volume',
      async (tt) => {
        const r = await outcome('dynamic Retain', dRetain!);
        s.evidence(r.notes.join('\n'));
        tt.equal(phaseOf(r.after), 'Released', `PV ${r.pv} is Released (the provisioner must not delete a Retain volume)`);
        tt.equal(r.after?.spec?.claimRef?.uid, r.claimUidBefore, `PV ${r.pv} keeps the deleted claim's uid`);
        tt.equal(r.after?.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'], s.ctx.provisioner, 'the PV names its provisioner');
        noFailureEvents(tt, r);
        tt.ok(r.backendAfter, `Datera volume ${r.volumeID} still exists after the claim was deleted`);
      },
      { skip: dynamic ? false : noProvisioner },
    );

    await s.check(
      'dynamic Retain: the data is still there when a new PV on the same volumeID is bound and mounted',
      async (tt) => {
        const r = await outcome('dynamic Retain', dRetain!);
        const u = await outcome('dynamic Retain', dReuse!);
        s.evidence(u.notes.join('\n'));
        tt.ok(u.backendAfterPvDelete, `Datera volume ${r.volumeID} survives deleting the Released PV ${r.pv}`);
        tt.equal(u.token, r.token, `the token written before the claim was deleted reads back through PV ${u.newPv}`);
        tt.equal(u.md5, 'blob: OK', `the 1 MiB blob's checksum matches through PV ${u.newPv}`);
      },
      { skip: dynamic ? false : noProvisioner },
    );

    await s.check(
      'dynamic Delete: the provisioner deletes the Datera volume and the PV',
      async (tt) => {
        const r = await outcome('dynamic Delete', dDelete!);
        s.evidence(r.notes.join('\n'));
        tt.equal(phaseOf(r.after), 'deleted', `PV ${r.pv} is deleted (${describePV(r.after)})`);
        noFailureEvents(tt, r);
        if (!tt.notOk(r.backendAfter, `Datera volume ${r.volumeID} is deleted`)) s.keepBackendVolume(r.volumeID);
      },
      { skip: dynamic ? false : noProvisioner },
    );

    await s.check(
      'dynamic Recycle: a StorageClass with reclaimPolicy Recycle is rejected by validation',
      async (tt) => {
        // Only Delete and Retain are valid for a class (storage validation supportedReclaimPolicy), the guide's two.
        const name = `${ns}-recycle`;
        let accepted = false;
        let err: unknown;
        try {
          await s.create({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name }, provisioner: s.ctx.provisioner ?? 'datera.io/provisioner-datera', reclaimPolicy: 'Recycle' });
          accepted = true;
        } catch (e) {
          err = e;
        }
        const st = statusOf(err);
        s.evidence(accepted ? `StorageClass ${name} with reclaimPolicy Recycle was created` : `create answered ${st.code}: ${st.message}`);
        tt.notOk(accepted, `the apiserver refuses StorageClass ${name} with reclaimPolicy Recycle (Kubernetes accepts only Delete and Retain in a class)`);
        if (accepted) return;
        tt.equal(st.code, 422, 'refused as Invalid (422)');
        tt.equal(st.reason, 'Invalid', 'status reason');
        tt.match(st.message, /reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"/, 'the message names the field and the supported values');
      },
      { skip: s.minor < 8 ? `StorageClass has no reclaimPolicy before v1.8; this is v1.${s.minor}` : false },
    );

    // Nothing is left running when a check failed early: the chains settle before the teardown removes their objects.
    await Promise.all([mRetain, mDelete, mRecycle, dRetain, dDelete, mReuse, dReuse]);
  },
  { needs: ['backend', 'writable'] },
);

type Tap = Parameters<Parameters<Scenario['check']>[1]>[0];

/** code, reason and message of an API error (client-node's ApiException carries the Status as JSON text or object). */
function statusOf(err: unknown): { code: number; reason: string; message: string } {
  if (!err) return { code: 0, reason: '', message: '' };
  const e = err as { code?: number; body?: unknown; message?: string };
  let body: { reason?: string; message?: string; code?: number } = {};
  if (typeof e.body === 'string') {
    try {
      body = JSON.parse(e.body) as typeof body;
    } catch {
      body = { message: e.body };
    }
  } else if (e.body && typeof e.body === 'object') body = e.body as typeof body;
  return { code: e.code ?? body.code ?? 0, reason: body.reason ?? '', message: body.message ?? e.message ?? String(err) };
}
