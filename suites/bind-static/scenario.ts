// bind-static: the Datera guide's static PV (flexVolume datera/iscsi with volumeID, size, replica and the management
// address and credentials inline) binds to a claim that selects it with matchLabels, and a pod using that claim
// gets the volume mounted and writable (the backend volume named volumeID appears with the PV's size and replica);
// a PV pre-bound with spec.claimRef binds only to the claim it names; a claim with spec.volumeName binds to that
// PV; storageClassName "" on both sides; claims that match nothing, ask for more than the PV has, ask for an access
// mode it lacks or for no class against a PV with one stay Pending.
//
// Binding is the control plane's job, so the negative checks wait for the binder's verdict (its event on the
// claim) before they call Pending an answer: a Pending claim the binder has not looked at yet proves nothing.
import type { Test } from 'tap';
import type * as k8s from '@kubernetes/client-node';
import { scenario, podSummary, type Scenario, type KObj } from '../../harness/index.js';

/** The guide labels its PV `volumeId: <name>` and the claim selects that label. */
const LABEL = 'volumeId';

await scenario(
  'bind-static',
  async (s) => {
    const ns = s.ns;
    const pvName = (x: string) => `${ns}-${x}`;
    const label = (x: string) => ({ [LABEL]: `${ns}-${x}` });

    // A guide PV with storageClassName "" said explicitly (the guide leaves it unset, which is the same on a PV).
    const staticPV = (x: string, o: { sizeGi?: number; accessModes?: string[]; claimRef?: { namespace: string; name: string }; storageClassName?: string } = {}): KObj => {
      const pv = s.guidePV(pvName(x), { volumeID: pvName(x), labels: label(x), ...o });
      return { ...pv, spec: { ...(pv.spec as object), storageClassName: o.storageClassName ?? '' } };
    };
    // The guide's claim: no class in the guide; "" here so a default StorageClass on the cluster cannot take it.
    const claim = (name: string, o: { select?: string; volumeName?: string; sizeGi?: number; accessModes?: string[] } = {}): KObj => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name },
      spec: {
        accessModes: o.accessModes ?? ['ReadWriteOnce'],
        storageClassName: '',
        resources: { requests: { storage: `${o.sizeGi ?? 1}Gi` } },
        ...(o.select ? { selector: { matchLabels: label(o.select) } } : {}),
        ...(o.volumeName ? { volumeName: o.volumeName } : {}),
      },
    });

    // PVs first, and only once the binder has seen them all (Available) the claims, so its first look at each
    // claim already sees every PV.
    const pvs = [
      staticPV('guide'),
      staticPV('reserved', { claimRef: { namespace: ns, name: 'reserved' } }),
      staticPV('named', { sizeGi: 2 }),
      // Smaller than `named`: a binder that ignored volumeName would pick it (smallest match wins).
      staticPV('decoy'),
      staticPV('small'),
      staticPV('rwo'),
      staticPV('classy', { storageClassName: `${ns}-gold` }),
    ];
    for (const pv of pvs) await s.create(pv);
    for (const pv of pvs) await waitPVPhase(s, pv.metadata!.name!, 'Available');

    await s.create(claim('mysql-vol-datera-0', { select: 'guide' }));
    await s.create(claim('intruder', { select: 'reserved' }));
    await s.create(claim('by-name', { volumeName: pvName('named') }));
    await s.create(claim('no-match', { select: 'nothing' }));
    await s.create(claim('too-big', { select: 'small', sizeGi: 2 }));
    await s.create(claim('too-big-by-name', { volumeName: pvName('small'), sizeGi: 2 }));
    await s.create(claim('rwx', { select: 'rwo', accessModes: ['ReadWriteMany'] }));
    await s.create(claim('no-class', { select: 'classy' }));

    // The guide: the Datera volume is made when a pod using the claim is set up, not when the PV is created.
    const volumeBeforePod = await s.backend!.volume(pvName('guide'));
    await s.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'guide-pod' },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'c', image: s.images.busybox, command: ['sh', '-c', 'sleep 3600'], volumeMounts: [{ name: 'd', mountPath: '/data' }] }],
        volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'mysql-vol-datera-0' } }],
      },
    });

    await s.check("the guide's PV and a claim selecting it with matchLabels bind to each other", async (t) => {
      const c = await s.kube.waitBound(ns, 'mysql-vol-datera-0');
      const pv = (await s.kube.pv(pvName('guide')))!;
      s.evidence(`claim: ${claimLine(c)}; PV: ${pvLine(pv)}`);
      t.equal(c.spec?.volumeName, pvName('guide'), 'the claim names the labelled PV');
      t.equal(pv.status?.phase, 'Bound', 'the PV is Bound');
      t.same(refOf(pv), { namespace: ns, name: 'mysql-vol-datera-0', uid: c.metadata?.uid }, 'the PV\'s claimRef is the claim (uid included)');
      t.equal(c.spec?.storageClassName, '', 'the claim kept storageClassName "" (no default class put on it)');
      t.notOk(pv.spec?.storageClassName, 'the PV has no class');
      t.equal(c.status?.capacity?.storage, '1Gi', 'the claim reports the PV\'s capacity');
      t.same(c.status?.accessModes, ['ReadWriteOnce'], 'the claim reports the PV\'s access modes');
      t.equal(c.metadata?.annotations?.['pv.kubernetes.io/bind-completed'], 'yes', 'claim annotated bind-completed');
      t.equal(pv.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes', 'PV annotated bound-by-controller (the binder filled its claimRef)');
    });

    await s.check('a PV pre-bound with spec.claimRef binds only to the claim it names', async (t) => {
      // The intruder selects the reserved PV by its label; the binder must refuse it.
      await waitEvent(s, 'intruder', ['FailedBinding']);
      let intruder = await s.kube.pvc(ns, 'intruder');
      let pv = (await s.kube.pv(pvName('reserved')))!;
      s.evidence(`before the named claim exists: intruder ${claimLine(intruder)}; PV ${pvLine(pv)}`);
      t.equal(intruder?.status?.phase, 'Pending', 'a claim that selects a PV reserved for another claim stays Pending');
      t.notOk(intruder?.spec?.volumeName, 'and names no volume');
      t.equal(pv.status?.phase, 'Available', 'the reserved PV is not bound while its claim does not exist');
      t.same(refOf(pv), { namespace: ns, name: 'reserved', uid: undefined }, 'its claimRef is untouched');
      // The claim the PV names has no selector: only the reservation ties them.
      await s.create(claim('reserved'));
      const c = await s.kube.waitBound(ns, 'reserved');
      pv = (await s.kube.pv(pvName('reserved')))!;
      intruder = await s.kube.pvc(ns, 'intruder');
      s.evidence(`after: reserved ${claimLine(c)}; intruder ${claimLine(intruder)}; PV ${pvLine(pv)}`);
      t.equal(c.spec?.volumeName, pvName('reserved'), 'the named claim binds to the reserved PV');
      t.same(refOf(pv), { namespace: ns, name: 'reserved', uid: c.metadata?.uid }, 'the PV\'s claimRef gained the claim\'s uid');
      t.equal(intruder?.status?.phase, 'Pending', 'the intruder is still Pending');
      t.notOk(pv.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], 'the PV is not marked bound-by-controller (the user pre-bound it)');
    });

    await s.check('a claim with spec.volumeName binds to that PV', async (t) => {
      const c = await s.kube.waitBound(ns, 'by-name');
      const pv = (await s.kube.pv(pvName('named')))!;
      const decoy = (await s.kube.pv(pvName('decoy')))!;
      s.evidence(`claim ${claimLine(c)}; named PV ${pvLine(pv)}; smaller PV ${pvLine(decoy)}`);
      t.equal(c.spec?.volumeName, pvName('named'), 'bound to the PV it names, not the smaller one that also fits');
      t.same(refOf(pv), { namespace: ns, name: 'by-name', uid: c.metadata?.uid }, 'the PV\'s claimRef is the claim');
      t.equal(c.status?.capacity?.storage, '2Gi', 'the claim reports the named PV\'s 2Gi');
      t.equal(decoy.status?.phase, 'Available', 'the smaller PV stays Available');
      t.notOk(decoy.spec?.claimRef, 'and unclaimed');
    });

    await s.check('a claim whose selector matches no PV stays Pending', async (t) => {
      await staysPending(s, t, 'no-match', ['FailedBinding']);
      const evs = await s.kube.events(ns, 'no-match');
      t.notOk(evs.some((e) => e.reason === 'ExternalProvisioning' || e.reason === 'Provisioning'), 'storageClassName "" is never handed to a provisioner');
    });

    await s.check('a claim bigger than the PV does not bind to it', async (t) => {
      await staysPending(s, t, 'too-big', ['FailedBinding'], pvName('small'));
      // Asked for by name, the binder says why (VolumeMismatch since 1.7; before, it bound whatever was named).
      if (s.minor >= 7) await staysPending(s, t, 'too-big-by-name', ['VolumeMismatch'], pvName('small'), pvName('small'));
    });

    await s.check('a ReadWriteMany claim does not bind to a ReadWriteOnce PV', async (t) => {
      await staysPending(s, t, 'rwx', ['FailedBinding'], pvName('rwo'));
    });

    await s.check('a claim with storageClassName "" does not bind to a PV that has a class', async (t) => {
      await staysPending(s, t, 'no-class', ['FailedBinding'], pvName('classy'));
    });

    await s.check("a pod using the guide's claim gets the volume mounted and writable; the backend volume has the PV's size and replica count", async (t) => {
      t.notOk(volumeBeforePod, `no backend volume ${pvName('guide')} before a pod used the claim (the guide: the driver makes it at attach)`);
      const p = await s.kube.waitPodReady(ns, 'guide-pod');
      s.evidence(`pod: ${podSummary(p)}`);
      const out = await s.kube.sh(ns, 'guide-pod', 'c', 'echo datera > /data/probe && sync && cat /data/probe && stat -f -c %T /data');
      const [content, fstype] = out.trim().split('\n');
      t.equal(content, 'datera', 'a file written to /data reads back');
      t.equal(fstype, 'xfs', 'the volume carries the PV\'s fsType (xfs)');
      const v = await s.backend!.volume(pvName('guide'));
      s.evidence(`backend volume: ${JSON.stringify(v)}`);
      t.ok(v, `backend volume ${pvName('guide')} (the PV's volumeID) exists`);
      t.equal(v?.size, 1, 'its size is the PV\'s size option (GiB)');
      t.equal(v?.replica, 3, 'its replica count is the PV\'s replica option');
      if (!s.nodes.available) {
        t.comment('no node access in this context: the node side (session, mount, ACL) is not checked');
        return;
      }
      const node = p.spec!.nodeName!;
      const sessions = await s.nodes.sessions(node);
      const mounts = (await s.nodes.dateraMounts(node)).filter((m) => m.target.includes(pvName('guide')));
      const iqn = await s.nodes.initiatorName(node);
      s.evidence(`node ${node}: sessions ${JSON.stringify(sessions)}; mounts ${JSON.stringify(mounts)}; initiator ${iqn}`);
      t.ok(sessions.some((x) => v?.iqns.includes(x.target)), `node ${node} has an iSCSI session to the volume's target`);
      t.ok(mounts.length > 0 && mounts.every((m) => m.fstype === 'xfs'), `node ${node} mounts the volume as xfs`);
      t.ok(iqn && v?.initiators.includes(iqn), `the volume's ACL lets node ${node}'s initiator in`);
    });

    // The guide's lifecycle goes on: pod deleted, volume unmounted, and the node lets go of it (the Retain PV and
    // its Datera volume stay for the next pod). Checked here, while the volume exists: deleting it would hide an ACL.
    await s.check(
      "deleting the pod unmounts the guide's volume, logs the node out and takes it out of the volume's ACL",
      async (t) => {
        const node = s.nodes.available ? ((await s.kube.pod(ns, 'guide-pod'))?.spec?.nodeName ?? '') : '';
        await s.kube.core.deleteNamespacedPod({ name: 'guide-pod', namespace: ns, gracePeriodSeconds: 1 });
        await s.kube.waitGone(`pod ${ns}/guide-pod gone`, async () => ((await s.kube.pod(ns, 'guide-pod')) ? ['guide-pod'] : []), 120_000);
        const state = async () => {
          const v = await s.backend!.volume(pvName('guide'));
          const iqns = v?.iqns ?? [];
          const sessions = node ? (await s.nodes.sessions(node)).filter((x) => iqns.includes(x.target)) : [];
          const mounts = node ? (await s.nodes.dateraMounts(node)).filter((m) => m.target.includes(pvName('guide'))) : [];
          const targetSide = ((await s.backend!.sessions()) ?? []).filter((x) => iqns.includes(x.target));
          return { exists: !!v, acl: v?.initiators ?? [], sessions, mounts, targetSide };
        };
        let last = await state();
        await s.kube
          .until('the node to let go of the volume', async () => {
            last = await state();
            return last.acl.length + last.sessions.length + last.mounts.length + last.targetSide.length === 0 ? true : undefined;
          }, { timeoutMs: 60_000, intervalMs: 500 })
          .catch(() => undefined);
        s.evidence(`after the pod was gone: ${JSON.stringify(last)}`);
        t.ok(last.exists, `backend volume ${pvName('guide')} stays (reclaim policy Retain, the claim still exists)`);
        t.same(last.mounts.map((m) => m.target), [], `node ${node} has no mount of ${pvName('guide')} left`);
        t.same(last.sessions.map((x) => x.target), [], `node ${node} has no iSCSI session to the volume left`);
        t.same(last.targetSide.map((x) => x.initiator), [], 'the target shows no session to the volume');
        t.same(last.acl, [], "no initiator left in the volume's ACL");
        if (!node) t.comment('no node access in this context (or the pod was never scheduled): node mounts and sessions are not checked');
      },
    );
  },
  { needs: ['backend', 'writable'] },
);

/** Wait until the binder has set the PV's phase (a PV has no phase until the binder saw it). */
async function waitPVPhase(s: Scenario, name: string, phase: string): Promise<void> {
  await s.kube.until(`PV ${name} ${phase}`, async () => ((await s.kube.pv(name))?.status?.phase === phase ? true : undefined), {
    timeoutMs: 60_000,
    intervalMs: 250,
    describe: async () => pvLine(await s.kube.pv(name)),
  });
}

/** Wait until the binder has said something with one of `reasons` about the claim. */
async function waitEvent(s: Scenario, claimName: string, reasons: string[]): Promise<k8s.CoreV1Event> {
  return s.kube.until(
    `a ${reasons.join(' or ')} event on claim ${s.ns}/${claimName}`,
    async () => (await s.kube.events(s.ns, claimName)).find((e) => reasons.includes(e.reason ?? '')),
    { timeoutMs: 60_000, intervalMs: 250, describe: async () => `${claimLine(await s.kube.pvc(s.ns, claimName))}; events: ${await s.kube.eventLine(s.ns, claimName)}` },
  );
}

/** After the binder's verdict the claim is Pending with no volume, and the PV it wanted is still Available. */
async function staysPending(s: Scenario, t: Test, claimName: string, reasons: string[], pv?: string, named?: string): Promise<void> {
  const ev = await waitEvent(s, claimName, reasons);
  const c = await s.kube.pvc(s.ns, claimName);
  const v = pv ? await s.kube.pv(pv) : undefined;
  s.evidence(`claim ${claimName}: ${claimLine(c)}; ${ev.reason}: ${ev.message ?? ''}${pv ? `; PV ${pvLine(v)}` : ''}`);
  t.equal(c?.status?.phase, 'Pending', `claim ${claimName} stays Pending after the binder's ${ev.reason} event`);
  // A claim that named its PV keeps the name; one that selected must not have gained one.
  if (c?.metadata?.annotations?.['pv.kubernetes.io/bind-completed']) t.fail(`claim ${claimName} is marked bind-completed`);
  if (named) t.equal(c?.spec?.volumeName, named, `claim ${claimName} still names ${named} and nothing else`);
  else t.notOk(c?.spec?.volumeName, `claim ${claimName} names no volume`);
  if (pv) {
    t.equal(v?.status?.phase, 'Available', `PV ${pv} stays Available`);
    t.notOk(v?.spec?.claimRef, `PV ${pv} has no claimRef`);
  }
}

function refOf(pv: k8s.V1PersistentVolume): { namespace?: string; name?: string; uid?: string } {
  const r = pv.spec?.claimRef;
  return { namespace: r?.namespace, name: r?.name, uid: r?.uid };
}

function claimLine(c: k8s.V1PersistentVolumeClaim | undefined): string {
  if (!c) return 'absent';
  return `${c.metadata?.name} ${c.status?.phase ?? 'no phase'}${c.spec?.volumeName ? ` -> ${c.spec.volumeName}` : ''}`;
}

function pvLine(pv: k8s.V1PersistentVolume | undefined): string {
  if (!pv) return 'absent';
  const r = pv.spec?.claimRef;
  return `${pv.metadata?.name} ${pv.status?.phase ?? 'no phase'}${r ? ` claimRef ${r.namespace}/${r.name}${r.uid ? ` (uid ${r.uid})` : ' (no uid)'}` : ''}`;
}
