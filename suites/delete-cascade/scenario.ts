// delete-cascade: deleting a MariaDB StatefulSet with Background and then Foreground propagation removes its pods and
// keeps its claims, PVs and Datera volumes; every iSCSI session is logged out (nodes and target side), no node stays in
// a volume's ACL and no datera mount or device is left while the claims still exist; a new StatefulSet with the same
// name and claims brings the rows back. Where the version has it (1.27+), retention whenDeleted: Delete makes the
// claims go with the StatefulSet, and the class's Delete reclaim takes the PVs and backend volumes with them.
import type { Test } from 'tap';
import type * as k8s from '@kubernetes/client-node';
import { scenario, MySql, notFound, podSummary, type Scenario } from '../../harness/index.js';

const REPLICAS = 2;

/** One claim of the StatefulSet, followed down to the backend. */
interface Vol {
  claim: string;
  claimUid: string;
  pv: string;
  volumeID: string;
  /** Target IQNs of the backend volume (what nodes log in to). */
  iqns: string[];
}

await scenario(
  'delete-cascade',
  async (s) => {
    const sc = await s.storageClass({}, 'Delete');
    const mysql = new MySql(s, { replicas: REPLICAS, storageClass: sc, podManagementPolicy: 'Parallel' });
    const ordinals = Array.from({ length: REPLICAS }, (_, i) => i);
    const rows = new Map<number, string[]>();
    let vols: Vol[] = [];

    await s.check('the StatefulSet comes up and each pod is logged in to its own volume', async (t) => {
      await mysql.create();
      await s.kube.waitStatefulSetReady(s.ns, mysql.name, REPLICAS);
      vols = await volumesOf(s, mysql, ordinals);
      for (const i of ordinals) rows.set(i, await mysql.writeRows(mysql.pod(i), 'before_delete', 3));
      if (!s.nodes.available) return void t.comment('no node access: the session view is checked on the target side only');
      // Proves the session checks below look at the right thing: the sessions exist before the deletion.
      for (const i of ordinals) {
        const pod = (await s.kube.pod(s.ns, mysql.pod(i)))!;
        const node = pod.spec!.nodeName!;
        const sessions = await s.nodes.sessions(node);
        const v = vols[i]!;
        s.evidence(`${node} sessions: ${JSON.stringify(sessions)}`);
        t.ok(sessions.some((x) => v.iqns.includes(x.target)), `${node} (running ${pod.metadata!.name}) has an iSCSI session to ${v.volumeID} (${v.iqns.join(', ')})`);
      }
    });
    if (!vols.length) return;

    // --- Background -------------------------------------------------------------------------------------------
    await s.check('background: the StatefulSet goes at once and its pods follow', async (t) => {
      await s.kube.apps.deleteNamespacedStatefulSet({ name: mysql.name, namespace: s.ns, propagationPolicy: 'Background' });
      await s.kube.waitGone(`StatefulSet ${s.ns}/${mysql.name} gone`, async () => ((await stsOf(s, mysql.name)) ? [mysql.name] : []), 30_000);
      await waitPodsGone(s, mysql.name);
      t.pass(`StatefulSet ${mysql.name} and its ${REPLICAS} pods are gone`);
    });
    await afterPodsGone(s, 'background', vols);

    await s.check('background: a new StatefulSet with the same name and claims reattaches the volumes with their rows', async (t) => {
      await reattach(s, t, mysql, vols, ordinals, rows);
    });

    // --- Foreground -------------------------------------------------------------------------------------------
    await s.check('foreground: the StatefulSet stays with the foregroundDeletion finalizer until its pods are gone, then goes', async (t) => {
      await s.kube.apps.deleteNamespacedStatefulSet({ name: mysql.name, namespace: s.ns, propagationPolicy: 'Foreground' });
      // The delete returned: the GC has not had time to delete the pods yet, so both must still be there.
      const first = await stsOf(s, mysql.name);
      const podsFirst = await podsOf(s, mysql.name);
      s.evidence(`right after the delete: StatefulSet ${first ? `finalizers ${JSON.stringify(first.metadata?.finalizers)}, deletionTimestamp ${String(first.metadata?.deletionTimestamp)}` : 'absent'}; pods ${podsFirst.map((p) => `${p.metadata?.name} ${podSummary(p)}`).join('; ') || 'none'}`);
      t.ok(first, `StatefulSet ${mysql.name} still exists right after a Foreground delete`);
      t.ok(first?.metadata?.deletionTimestamp, 'it carries a deletionTimestamp');
      t.ok(first?.metadata?.finalizers?.includes('foregroundDeletion'), 'it carries the foregroundDeletion finalizer');
      t.ok(podsFirst.length > 0, 'its pods still exist at that moment');
      // Read the owner first, then the pods: a pod seen after the owner vanished was there when it vanished.
      const violations: string[] = [];
      await s.kube.until(
        `StatefulSet ${s.ns}/${mysql.name} gone after its pods`,
        async () => {
          const sts = await stsOf(s, mysql.name);
          const pods = await podsOf(s, mysql.name);
          if (sts && pods.length && !sts.metadata?.finalizers?.includes('foregroundDeletion')) violations.push(`StatefulSet lost foregroundDeletion while ${pods.length} pod(s) remained`);
          if (sts) return undefined;
          if (pods.length) violations.push(`StatefulSet gone while pods remained: ${pods.map((p) => `${p.metadata?.name} ${podSummary(p)}`).join('; ')}`);
          return true;
        },
        { timeoutMs: 180_000, intervalMs: 250, describe: async () => `StatefulSet ${(await stsOf(s, mysql.name)) ? 'present' : 'absent'}; pods: ${(await podsOf(s, mysql.name)).map((p) => `${p.metadata?.name} ${podSummary(p)}`).join('; ') || 'none'}` },
      );
      t.same(violations, [], 'the StatefulSet outlived its pods and kept the finalizer while they existed');
    });
    await afterPodsGone(s, 'foreground', vols);

    // --- Retention policy whenDeleted: Delete -----------------------------------------------------------------
    const noRetention = s.minor < 27 ? `persistentVolumeClaimRetentionPolicy is on by default only from v1.27 (alpha behind StatefulSetAutoDeletePVC in 1.23-1.26, absent before); on v1.${s.minor} deleting a StatefulSet never deletes its claims` : false;
    let uid = '';
    await s.check(
      'retention whenDeleted: Delete makes the StatefulSet the owner of its claims',
      async (t) => {
        const set = new MySql(s, { replicas: REPLICAS, storageClass: sc, podManagementPolicy: 'Parallel', retention: { whenDeleted: 'Delete', whenScaled: 'Retain' } });
        // Same Secret (the datadirs were initialised with its password), so only the StatefulSet is new.
        const made = await s.create({ ...set.objects().statefulSet });
        uid = made.metadata!.uid!;
        const policy = (made as k8s.V1StatefulSet).spec?.persistentVolumeClaimRetentionPolicy;
        t.equal(policy?.whenDeleted, 'Delete', 'the API server kept spec.persistentVolumeClaimRetentionPolicy.whenDeleted');
        await s.kube.waitStatefulSetReady(s.ns, mysql.name, REPLICAS);
        for (const v of vols) {
          const c = await s.kube.until(`claim ${v.claim} owned by StatefulSet ${mysql.name} (uid ${uid})`, async () => {
            const c = await s.kube.pvc(s.ns, v.claim);
            return c?.metadata?.ownerReferences?.some((o) => o.uid === uid) ? c : undefined;
          }, { timeoutMs: 60_000, describe: async () => `ownerReferences ${JSON.stringify((await s.kube.pvc(s.ns, v.claim))?.metadata?.ownerReferences ?? [])}` });
          const ref = c.metadata!.ownerReferences!.find((o) => o.uid === uid)!;
          t.equal(ref.kind, 'StatefulSet', `${v.claim}'s owner is a StatefulSet`);
          t.equal(ref.name, mysql.name, `${v.claim}'s owner is ${mysql.name}`);
          t.equal(c.metadata?.uid, v.claimUid, `${v.claim} is the same claim as before (not re-created)`);
        }
      },
      { skip: noRetention },
    );
    await s.check('retention whenDeleted: Delete: the claims go with the StatefulSet, and the class\'s Delete reclaim removes the PVs and backend volumes', async (t) => {
      await s.kube.apps.deleteNamespacedStatefulSet({ name: mysql.name, namespace: s.ns, propagationPolicy: 'Background' });
      await waitPodsGone(s, mysql.name);
      await s.kube.waitGone('the claims deleted by the garbage collector', async () => (await Promise.all(vols.map(async (v) => ((await s.kube.pvc(s.ns, v.claim)) ? v.claim : undefined)))).filter(Boolean), 120_000);
      await s.kube.waitGone('the PVs deleted by their Delete reclaim policy', async () => (await Promise.all(vols.map(async (v) => ((await s.kube.pv(v.pv)) ? v.pv : undefined)))).filter(Boolean), 180_000);
      await s.kube.waitGone('the backend volumes deleted', async () => (await Promise.all(vols.map(async (v) => ((await s.backend!.volume(v.volumeID)) ? v.volumeID : undefined)))).filter(Boolean), 180_000);
      t.pass(`claims ${vols.map((v) => v.claim).join(', ')}, their PVs and backend volumes are gone`);
    }, { skip: noRetention || (uid ? false : 'the StatefulSet with the retention policy was not created (see the check before)') });
  },
  { needs: ['backend', 'provisioner', 'writable'] },
);

/** The checks that follow a cascading deletion: what must stay, and what the nodes and the backend must let go. */
async function afterPodsGone(s: Scenario, how: string, vols: Vol[]): Promise<void> {
  await s.check(`${how}: the claims, PVs and backend volumes stay`, async (t) => {
    for (const v of vols) {
      const c = await s.kube.pvc(s.ns, v.claim);
      t.ok(c, `claim ${v.claim} still exists`);
      t.notOk(c?.metadata?.deletionTimestamp, `claim ${v.claim} is not being deleted`);
      t.equal(c?.metadata?.uid, v.claimUid, `claim ${v.claim} is the same object`);
      t.equal(c?.status?.phase, 'Bound', `claim ${v.claim} is still Bound`);
      t.equal(c?.spec?.volumeName, v.pv, `claim ${v.claim} still names PV ${v.pv}`);
      const pv = await s.kube.pv(v.pv);
      t.ok(pv, `PV ${v.pv} still exists`);
      t.equal(pv?.status?.phase, 'Bound', `PV ${v.pv} is still Bound`);
      t.equal(pv?.spec?.claimRef?.uid, v.claimUid, `PV ${v.pv} is still bound to ${v.claim}`);
      t.ok(await s.backend!.volume(v.volumeID), `backend volume ${v.volumeID} still exists`);
    }
  });

  // The nodes and the backend let go on their own schedule (kubelet unmount, driver logout, ACL removal): one poll
  // watches all three until everything is released or the deadline passes, so a driver that never lets go costs
  // one wait, not three; each check then reports its own part of what was seen last.
  const left = await settle(s, vols);

  await s.check(
    `${how}: every iSCSI session to the volumes is logged out, on every node and on the target side`,
    async (t) => {
      if (!left.targetSide) t.comment('the backend does not show target-side sessions (a real Datera): checked on the nodes only');
      if (left.sessions.length) s.evidence(left.sessions.join('\n'));
      t.same(left.sessions, [], `no session to ${[...new Set(vols.flatMap((v) => v.iqns))].join(', ')} is left after the pods are gone`);
    },
    { skip: s.nodes.available ? false : 'no node access in this context' },
  );

  await s.check(`${how}: no node is left in the backend volumes' ACLs`, async (t) => {
    t.same(left.acl, [], 'every initiator removed from the ACL once the pods are gone');
  });

  await s.check(
    `${how}: no datera mount or iSCSI device of the volumes is left on any node while the claims still exist`,
    async (t) => {
      t.same(left.onNodes, [], 'nothing mounted or attached on the nodes');
      for (const v of vols) t.ok(await s.kube.pvc(s.ns, v.claim), `claim ${v.claim} still exists (unmounting did not need the claim to go)`);
    },
    { skip: s.nodes.available ? false : 'no node access in this context' },
  );
}

interface Released {
  /** Sessions to the volumes still open, on nodes and (from the mock) on the target side. */
  sessions: string[];
  /** Whether the backend showed target-side sessions at all (the mock does, a real Datera does not). */
  targetSide: boolean;
  /** Initiators still in the volumes' ACLs. */
  acl: string[];
  /** Datera mounts and iSCSI devices of the volumes still on nodes. */
  onNodes: string[];
}

/** Poll sessions, ACLs and node mounts/devices together until all are released or 60 s (scaled) pass; the last look. */
async function settle(s: Scenario, vols: Vol[]): Promise<Released> {
  const iqns = new Set(vols.flatMap((v) => v.iqns));
  let last: Released = { sessions: [], targetSide: true, acl: [], onNodes: [] };
  const look = async (): Promise<Released> => {
    const r: Released = { sessions: [], targetSide: true, acl: [], onNodes: [] };
    if (s.nodes.available) {
      for (const n of s.nodes.nodes) {
        for (const x of await s.nodes.sessions(n.name)) if (iqns.has(x.target)) r.sessions.push(`node ${n.name}: session to ${x.target} via ${x.portal}`);
        for (const m of await s.nodes.dateraMounts(n.name)) r.onNodes.push(`node ${n.name}: mount ${m.target} (${m.fstype} from ${m.source})`);
        for (const d of await s.nodes.iscsiDevices(n.name)) if ([...iqns].some((q) => d.includes(q))) r.onNodes.push(`node ${n.name}: device ${d}`);
      }
      const ts = await s.backend!.sessions();
      if (ts === undefined) r.targetSide = false;
      for (const x of ts ?? []) if (iqns.has(x.target)) r.sessions.push(`target ${x.target}: session from ${x.initiator}`);
    }
    for (const v of vols) for (const i of (await s.backend!.volume(v.volumeID))?.initiators ?? []) r.acl.push(`${v.volumeID}: ${i}`);
    return r;
  };
  await s.kube
    .until(
      'sessions logged out, ACLs emptied, nothing mounted or attached on the nodes',
      async () => {
        last = await look();
        return last.sessions.length + last.acl.length + last.onNodes.length ? undefined : true;
      },
      { timeoutMs: 60_000, describe: async () => [...last.sessions, ...last.acl, ...last.onNodes].join('; ') },
    )
    .catch(() => undefined);
  return last;
}

/** Same name and claims again: the controller reuses data-<sts>-<n>, and MariaDB finds the rows. */
async function reattach(s: Scenario, t: Test, mysql: MySql, vols: Vol[], ordinals: number[], rows: Map<number, string[]>): Promise<void> {
  await s.create({ ...mysql.objects().statefulSet });
  await s.kube.waitStatefulSetReady(s.ns, mysql.name, ordinals.length);
  for (const i of ordinals) {
    const v = vols[i]!;
    const c = await s.kube.pvc(s.ns, v.claim);
    t.equal(c?.metadata?.uid, v.claimUid, `${mysql.pod(i)} uses the same claim ${v.claim}, not a new one`);
    t.equal(c?.spec?.volumeName, v.pv, `${v.claim} still bound to ${v.pv}`);
    const r = await mysql.verifyRows(mysql.pod(i), 'before_delete', rows.get(i)!);
    t.same(r.missing, [], `${mysql.pod(i)}: every row written before the deletion is there`);
    t.same(r.corrupt, [], `${mysql.pod(i)}: every row matches its checksum`);
  }
}

async function volumesOf(s: Scenario, mysql: MySql, ordinals: number[]): Promise<Vol[]> {
  const out: Vol[] = [];
  for (const i of ordinals) {
    const c = await s.kube.waitBound(s.ns, mysql.claim(i));
    const pv = (await s.kube.pv(c.spec!.volumeName!))!;
    const volumeID = String(pv.spec?.flexVolume?.options?.volumeID ?? '');
    const bv = await s.backend!.volume(volumeID);
    if (!bv) throw new Error(`backend volume ${volumeID} of PV ${pv.metadata?.name} (claim ${mysql.claim(i)}) does not exist`);
    out.push({ claim: mysql.claim(i), claimUid: c.metadata!.uid!, pv: pv.metadata!.name!, volumeID, iqns: bv.iqns });
  }
  return out;
}

function stsOf(s: Scenario, name: string): Promise<k8s.V1StatefulSet | undefined> {
  return s.kube.apps.readNamespacedStatefulSet({ name, namespace: s.ns }).catch(notFound);
}

async function podsOf(s: Scenario, app: string): Promise<k8s.V1Pod[]> {
  return (await s.kube.core.listNamespacedPod({ namespace: s.ns, labelSelector: `app=${app}` })).items;
}

function waitPodsGone(s: Scenario, app: string): Promise<void> {
  return s.kube.waitGone(`pods of ${s.ns}/${app} gone`, async () => (await podsOf(s, app)).map((p) => `${p.metadata?.name} ${podSummary(p)}`), 180_000);
}
