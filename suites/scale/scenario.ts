// scale: a MariaDB StatefulSet (OrderedReady) on a dynamic Datera StorageClass scaled up 3 -> 5 (one pod at a time in
// ordinal order, new claims data-mysql-3/4 with their own backend volumes), down to 2 (highest ordinal first, claims
// and backend volumes kept), up again to 3 (mysql-2 reattaches its old claim and reads back its rows); and, where the
// version has it, persistentVolumeClaimRetentionPolicy whenScaled: Delete on a small Parallel StatefulSet: the
// scaled-down claim goes, and with the class's Delete reclaim its PV and backend volume go too.
import type * as k8s from '@kubernetes/client-node';
import { scenario, MySql, podReady, podSummary, type Scenario, type KObj } from '../../harness/index.js';

const ROWS = 20;
const RET = 'ret';

await scenario(
  'scale',
  async (s) => {
    const sc = await s.storageClass({ fsType: 'xfs' }, 'Delete');
    const db = new MySql(s, { replicas: 3, storageClass: sc, podManagementPolicy: 'OrderedReady' });
    await db.create();

    // The retention StatefulSet starts now, beside MariaDB, where the version can have the policy at all.
    let retentionSkip: string | false = false;
    if (s.minor < 23) retentionSkip = `v1.${s.minor} has no StatefulSet PVC retention policy (StatefulSetAutoDeletePVC arrived as alpha in v1.23, on by default from v1.27)`;
    else {
      const [set] = s.manifest('retention.yaml', { name: RET, image: s.images.busybox, storageClass: sc });
      const made = (await s.create(set!)) as KObj & { spec?: { persistentVolumeClaimRetentionPolicy?: { whenScaled?: string } } };
      // Alpha (v1.23-v1.26) is off unless the cluster enabled StatefulSetAutoDeletePVC; the apiserver then drops the field.
      if (made.spec?.persistentVolumeClaimRetentionPolicy?.whenScaled !== 'Delete') retentionSkip = `the apiserver dropped persistentVolumeClaimRetentionPolicy: StatefulSetAutoDeletePVC is ${s.minor < 27 ? `alpha and off by default on v1.${s.minor}` : 'disabled on this cluster'}`;
    }

    // The retention checks first: their busybox pods are Ready in seconds, while MariaDB initialises beside them.
    const retClaim = `data-${RET}-1`;
    let retained: { uid: string; volumeName: string; volumeID: string } | undefined;
    const token = `dkc-${Date.now()}`;
    const retDone = await s.check(
      'retention whenScaled: Delete: scaling 2 -> 1 hands data-ret-1 to Pod ret-1 and deletes it, its PV and its backend volume; data-ret-0 stays',
      async (t) => {
        await watch(s, RET, `${RET}-0 and ${RET}-1 Ready`, (pods) => readyNames(pods).length === 2);
        retained = await claimInfo(s, retClaim);
        await s.kube.sh(s.ns, `${RET}-1`, 'c', `echo ${token} > /data/marker && sync`);
        const c = (await s.kube.pvc(s.ns, retClaim))!;
        t.same(podOwnersOf(c), [], `${retClaim} has no Pod owner while ${RET}-1 is in range`);
        const podUid = (await s.kube.pod(s.ns, `${RET}-1`))!.metadata!.uid!;
        await s.kube.scale(s.ns, RET, 1);
        // Watch the claim closely: the controller makes the condemned pod its owner, then the GC deletes it.
        const owners = new Set<string>();
        await s.kube.until(`claim ${retClaim} deleted`, async () => {
          const x = await s.kube.pvc(s.ns, retClaim);
          for (const o of x ? podOwnersOf(x) : []) owners.add(o);
          return x ? undefined : true;
        }, { timeoutMs: 120_000, intervalMs: 200, describe: async () => `owners seen: ${[...owners].join(', ') || 'none'}; claim: ${JSON.stringify((await s.kube.pvc(s.ns, retClaim))?.metadata?.ownerReferences ?? 'gone')}` });
        t.same([...owners], [`Pod/${RET}-1/${podUid}`], `${retClaim} was owned by the condemned Pod ${RET}-1 before it went`);
        await s.kube.until(`PV ${retained.volumeName} deleted by its Delete reclaim policy`, async () => ((await s.kube.pv(retained!.volumeName)) ? undefined : true), { timeoutMs: 120_000, describe: async () => `phase ${(await s.kube.pv(retained!.volumeName))?.status?.phase}` });
        await s.kube.until(`backend volume ${retained.volumeID} deleted`, async () => ((await s.backend!.volume(retained!.volumeID)) ? undefined : true), { timeoutMs: 120_000 });
        t.pass(`PV ${retained.volumeName} and backend volume ${retained.volumeID} are gone`);
        const c0 = await s.kube.pvc(s.ns, `data-${RET}-0`);
        t.equal(c0?.status?.phase, 'Bound', `data-${RET}-0 (in range) is kept and Bound`);
        t.same(c0 ? podOwnersOf(c0) : ['gone'], [], `data-${RET}-0 has no Pod owner`);
      },
      { skip: retentionSkip },
    );

    await s.check(
      'retention whenScaled: Delete: scaling 1 -> 2 gives ret-1 a fresh claim on a new, empty backend volume',
      async (t) => {
        await s.kube.scale(s.ns, RET, 2);
        await watch(s, RET, `${RET}-0 and ${RET}-1 Ready`, (pods) => readyNames(pods).length === 2);
        const now = await claimInfo(s, retClaim);
        t.not(now.uid, retained!.uid, `${retClaim} is a new claim`);
        t.not(now.volumeID, retained!.volumeID, `${retClaim} has a new backend volume`);
        const r = await s.kube.exec(s.ns, `${RET}-1`, 'c', ['cat', '/data/marker']);
        t.not(r.stdout.trim(), token, `the new volume does not carry the marker written on the deleted one`);
      },
      { skip: retentionSkip || (retDone ? false : 'the scale-down with whenScaled: Delete did not complete') },
    );

    const before = new Map<string, { uid: string; volumeName: string; volumeID: string }>();
    let rows: string[] = [];
    const up = await s.check('the 3-replica StatefulSet is Ready and mysql-2 takes rows with checksums', async (t) => {
      t.comment(timeline(await watch(s, db.name, 'mysql-0..2 Ready', (pods) => readyNames(pods).join() === 'mysql-0,mysql-1,mysql-2')));
      rows = await db.writeRows(db.pod(2), 't', ROWS);
      t.equal((await db.verifyRows(db.pod(2), 't', rows)).found, ROWS, `${db.pod(2)}: ${ROWS} rows read back`);
      for (const n of [0, 1, 2]) before.set(db.claim(n), await claimInfo(s, db.claim(n)));
    });
    const notUp = up ? false : 'the MariaDB StatefulSet did not become Ready (see that check)';

    let scaledUp = false;
    await s.check(
      'scale 3 -> 5: mysql-3 is created only once mysql-2 is Ready, mysql-4 only once mysql-3 is Ready',
      async (t) => {
        await s.kube.scale(s.ns, db.name, 5);
        const snaps = await watch(s, db.name, 'mysql-0..4 Ready', (pods) => readyNames(pods).length === 5);
        t.comment(timeline(snaps));
        scaledUp = true;
        for (const n of [3, 4]) {
          const i = snaps.findIndex((x) => x.pods.has(db.pod(n)));
          const prev = snaps[i]?.pods.get(db.pod(n - 1));
          t.ok(i >= 0, `${db.pod(n)} was created`);
          t.ok(prev?.ready, `when ${db.pod(n)} first appeared, ${db.pod(n - 1)} was Ready (it was ${prev ? prev.summary : 'absent'})`);
        }
        // The API's own record: creation timestamps against the predecessor's Ready transition (second precision).
        const pods = await podMap(s, db.name);
        for (const n of [3, 4]) {
          const created = new Date(pods.get(db.pod(n))?.metadata?.creationTimestamp as unknown as string).getTime();
          const readyAt = new Date((pods.get(db.pod(n - 1))?.status?.conditions ?? []).find((c) => c.type === 'Ready')?.lastTransitionTime as unknown as string).getTime();
          t.ok(created >= readyAt, `${db.pod(n)} created at ${new Date(created).toISOString()}, not before ${db.pod(n - 1)} became Ready at ${new Date(readyAt).toISOString()}`);
        }
      },
      { skip: notUp },
    );

    await s.check(
      'scale 3 -> 5: new claims data-mysql-3 and data-mysql-4 are Bound to datera/iscsi PVs, one backend volume each',
      async (t) => {
        const vols = await s.backend!.volumes();
        for (const n of [3, 4]) {
          const c = await s.kube.waitBound(s.ns, db.claim(n));
          const pv = (await s.kube.pv(c.spec!.volumeName!))!;
          t.equal(pv.spec?.flexVolume?.driver, s.ctx.driver, `${db.claim(n)}: PV ${pv.metadata!.name} is a ${s.ctx.driver} flexVolume`);
          t.equal(pv.spec?.storageClassName, sc, `${db.claim(n)}: PV from the class`);
          const vid = String(pv.spec?.flexVolume?.options?.volumeID ?? '');
          t.same(vols.filter((v) => v.name.includes(c.metadata!.uid!)).map((v) => v.name), [vid], `${db.claim(n)}: exactly one backend volume for claim uid ${c.metadata!.uid}, the one its PV names`);
          before.set(db.claim(n), await claimInfo(s, db.claim(n)));
        }
        for (const n of [0, 1, 2]) t.equal((await s.kube.pvc(s.ns, db.claim(n)))?.metadata?.uid, before.get(db.claim(n))?.uid, `${db.claim(n)} is the same claim as before`);
        t.equal(new Set([...before.values()].map((x) => x.volumeID)).size, 5, 'five claims, five distinct backend volumes');
      },
      { skip: notUp || (scaledUp ? false : 'the scale-up did not complete') },
    );

    let scaledDown = false;
    await s.check(
      'scale 5 -> 2: mysql-4 goes before mysql-3 before mysql-2, each only once the higher one is gone',
      async (t) => {
        await s.kube.scale(s.ns, db.name, 2);
        const snaps = await watch(s, db.name, 'only mysql-0 and mysql-1 left', (pods) => [...pods.keys()].sort().join() === 'mysql-0,mysql-1' && readyNames(pods).length === 2);
        scaledDown = true;
        for (const n of [3, 2]) {
          const i = snaps.findIndex((x) => x.pods.get(db.pod(n))?.terminating !== false);
          const higher = [4, 3].filter((h) => h > n).filter((h) => snaps[i]?.pods.has(db.pod(h)));
          t.same(higher.map((h) => `${db.pod(h)}: ${snaps[i]!.pods.get(db.pod(h))!.summary}`), [], `when ${db.pod(n)} began terminating, every higher ordinal was already gone`);
        }
        const first = snaps.findIndex((x) => [2, 3, 4].some((n) => x.pods.get(db.pod(n))?.terminating !== false));
        t.ok(first >= 0 && snaps[first]!.pods.get(db.pod(4))?.terminating !== false, `${db.pod(4)} was the first to go`);
      },
      { skip: notUp || (scaledUp ? false : 'the scale-up did not complete') },
    );

    await s.check(
      'scale 5 -> 2: claims data-mysql-2..4 are kept, still Bound to the same PVs, and their backend volumes kept',
      async (t) => {
        for (const n of [2, 3, 4]) {
          const c = await s.kube.pvc(s.ns, db.claim(n));
          const was = before.get(db.claim(n))!;
          t.ok(c && !c.metadata?.deletionTimestamp, `${db.claim(n)} exists and is not being deleted`);
          t.equal(c?.metadata?.uid, was.uid, `${db.claim(n)} is the same claim`);
          t.equal(c?.status?.phase, 'Bound', `${db.claim(n)} still Bound`);
          t.equal(c?.spec?.volumeName, was.volumeName, `${db.claim(n)} still on PV ${was.volumeName}`);
          const podOwners = (c?.metadata?.ownerReferences ?? []).filter((o) => o.kind === 'Pod').map((o) => o.name);
          t.same(podOwners, [], `${db.claim(n)} has no Pod owner that would have it garbage-collected`);
          t.equal((await s.kube.pv(was.volumeName))?.status?.phase, 'Bound', `PV ${was.volumeName} still Bound`);
          t.ok(await s.backend!.volume(was.volumeID), `backend volume ${was.volumeID} kept`);
        }
      },
      { skip: notUp || (scaledDown ? false : 'the scale-down did not complete') },
    );

    await s.check(
      'scale 2 -> 3: mysql-2 reattaches data-mysql-2 and reads back the rows written before the scale-down',
      async (t) => {
        await s.kube.scale(s.ns, db.name, 3);
        await watch(s, db.name, 'mysql-0..2 Ready', (pods) => readyNames(pods).join() === 'mysql-0,mysql-1,mysql-2');
        const pod = (await s.kube.pod(s.ns, db.pod(2)))!;
        t.equal(pod.spec?.volumes?.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName, db.claim(2), `${db.pod(2)} mounts ${db.claim(2)}`);
        t.equal((await s.kube.pvc(s.ns, db.claim(2)))?.metadata?.uid, before.get(db.claim(2))?.uid, `${db.claim(2)} is still the claim made at the start`);
        await db.expectRows(t, db.pod(2), 't', rows);
      },
      { skip: notUp || (scaledDown ? false : 'the scale-down did not complete') },
    );
  },
  { needs: ['backend', 'provisioner', 'writable'] },
);

interface Seen {
  ready: boolean;
  terminating: boolean;
  summary: string;
}
interface Snapshot {
  at: number;
  pods: Map<string, Seen>;
}

/** `mysql-0 seen +0.3 s, Ready +8.1 s; ...` relative to the first snapshot: where the wall time went. */
function timeline(snaps: Snapshot[]): string {
  const t0 = snaps[0]?.at ?? 0;
  const names = [...new Set(snaps.flatMap((x) => [...x.pods.keys()]))].sort();
  const at = (f: (x: Snapshot) => boolean) => {
    const x = snaps.find(f);
    return x ? `+${((x.at - t0) / 1000).toFixed(1)} s` : 'never';
  };
  return names.map((n) => `${n} seen ${at((x) => x.pods.has(n))}, Ready ${at((x) => !!x.pods.get(n)?.ready)}`).join('; ');
}

async function podMap(s: Scenario, app: string): Promise<Map<string, k8s.V1Pod>> {
  const pods = (await s.kube.core.listNamespacedPod({ namespace: s.ns, labelSelector: `app=${app}` })).items;
  return new Map(pods.map((p) => [p.metadata!.name!, p]));
}

function readyNames(pods: Map<string, Seen>): string[] {
  return [...pods].filter(([, p]) => p.ready && !p.terminating).map(([n]) => n).sort();
}

/**
 * Poll the StatefulSet's pods (every 250 ms, so ordering is observed, not inferred) until `done`; returns every
 * snapshot. A container that keeps crashing ends the wait at once with its last log lines.
 */
async function watch(s: Scenario, app: string, what: string, done: (pods: Map<string, Seen>) => boolean): Promise<Snapshot[]> {
  const snaps: Snapshot[] = [];
  const r = await s.kube.until(
    `StatefulSet ${s.ns}/${app}: ${what}`,
    async () => {
      const pods = await podMap(s, app);
      const seen = new Map([...pods].map(([n, p]) => [n, { ready: podReady(p), terminating: !!p.metadata?.deletionTimestamp, summary: podSummary(p) }]));
      snaps.push({ at: Date.now(), pods: seen });
      const crash = await s.kube.crashLooping(s.ns, [...pods.values()]);
      if (crash) return crash;
      return done(seen) ? '' : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 250, describe: async () => [...(await podMap(s, app))].map(([n, p]) => `${n}: ${podSummary(p)}`).join('; ') || 'no pods' },
  );
  if (r) throw new Error(r);
  return snaps;
}

async function claimInfo(s: Scenario, name: string): Promise<{ uid: string; volumeName: string; volumeID: string }> {
  const c = await s.kube.waitBound(s.ns, name);
  const pv = (await s.kube.pv(c.spec!.volumeName!))!;
  return { uid: c.metadata!.uid!, volumeName: pv.metadata!.name!, volumeID: String(pv.spec?.flexVolume?.options?.volumeID ?? '') };
}

function podOwnersOf(c: k8s.V1PersistentVolumeClaim): string[] {
  return (c.metadata?.ownerReferences ?? []).filter((o) => o.kind === 'Pod').map((o) => `Pod/${o.name}/${o.uid}`);
}

