// statefulset-mysql: a 3-replica MariaDB StatefulSet (OrderedReady) on a dynamic Datera StorageClass. Pods
// mysql-0..2 carry their ordinals and stable hostnames through the headless Service; claims data-mysql-<n> are Bound
// to datera/iscsi PVs, one backend volume each; rows with checksums survive deleting a pod and rescheduling it onto
// another node; the volumes carry the class's fsType (xfs, and ext4 through a second class) and are writable.
//
// data-mysql-1 is made beforehand on the Datera guide's static PV (credentials inline, as the guide's StatefulSet
// example pre-creates its PVs), and the StatefulSet adopts it by name. Provisioned PVs carry a secretRef, which the
// driver only receives at mount time, so they attach when mounting; the inline PV goes through attach and
// mountdevice with its device. One StatefulSet thus exercises both paths of the driver, at no extra time.
import type { Test } from 'tap';
import type * as k8s from '@kubernetes/client-node';
import { scenario, MySql, MYSQL_CONTAINER, podReady, podSummary, notFound, type Scenario } from '../../harness/index.js';

const REPLICAS = 3;
const ROWS = 20;
const DATADIR = '/var/lib/mysql';
/** The ordinal whose claim is the guide's static PV with inline credentials. */
const GUIDE = 1;

await scenario(
  'statefulset-mysql',
  async (s) => {
    const xfsClass = await s.storageClass({ fsType: 'xfs' }, 'Delete');
    const ext4Class = await s.storageClass({ fsType: 'ext4' }, 'Delete');
    const db = new MySql(s, { replicas: REPLICAS, storageClass: xfsClass, podManagementPolicy: 'OrderedReady' });
    const guidePV = `${s.ns}-${db.claim(GUIDE)}`;
    await s.create(s.guidePV(guidePV, { volumeID: guidePV, fsType: 'xfs', reclaim: 'Retain', claimRef: { namespace: s.ns, name: db.claim(GUIDE) } }));
    await s.create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: db.claim(GUIDE), labels: { app: db.name } }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: '', volumeName: guidePV, resources: { requests: { storage: '1Gi' } } } });
    await db.create();
    // The ext4 volume is a plain pod on a claim from the second class, started while MariaDB initialises.
    await s.create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'ext4-data' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: ext4Class, resources: { requests: { storage: '1Gi' } } } });
    await s.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'ext4-probe' },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: s.images.busybox, command: ['sh', '-c', 'sleep 3600'], volumeMounts: [{ name: 'd', mountPath: '/data' }] }], volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'ext4-data' } }] },
    });
    const ordinals = [...Array(REPLICAS).keys()];

    const up = await s.check(`${REPLICAS} MariaDB replicas on datera/iscsi volumes become Ready`, async (t) => {
      t.comment(await waitReady(s, db.name, REPLICAS));
      const pods = await listPods(s, db.name);
      t.same(pods.map((p) => p.metadata!.name).sort(), ordinals.map((n) => db.pod(n)), 'exactly the pods mysql-0..2');
    });
    const notUp = up ? false : 'the StatefulSet did not become Ready (see the first check)';

    await s.check(
      'pods mysql-0..2 carry their ordinal in name and labels',
      async (t) => {
        const labels = [...(s.minor >= 9 ? ['statefulset.kubernetes.io/pod-name'] : []), ...(s.minor >= 28 ? ['apps.kubernetes.io/pod-index'] : [])];
        t.comment(`labels checked on v1.${s.minor}: ${labels.join(', ') || 'none (the version has no ordinal labels)'}`);
        for (const n of ordinals) {
          const p = await s.kube.pod(s.ns, db.pod(n));
          t.ok(p, `pod ${db.pod(n)} exists`);
          if (!p) continue;
          const l = p.metadata?.labels ?? {};
          if (s.minor >= 9) t.equal(l['statefulset.kubernetes.io/pod-name'], db.pod(n), `${db.pod(n)}: label statefulset.kubernetes.io/pod-name`);
          if (s.minor >= 28) t.equal(l['apps.kubernetes.io/pod-index'], String(n), `${db.pod(n)}: label apps.kubernetes.io/pod-index`);
          const owner = (p.metadata?.ownerReferences ?? []).find((o) => o.controller);
          t.equal(`${owner?.kind}/${owner?.name}`, `StatefulSet/${db.name}`, `${db.pod(n)} is controlled by StatefulSet ${db.name}`);
        }
      },
      { skip: notUp },
    );

    // Cluster DNS when the cluster runs one (kube-system/kube-dns with endpoints), else the API-side identity.
    const dns = await clusterDns(s);
    await s.check(
      dns ? 'stable hostnames: mysql-1.mysql resolves through cluster DNS from mysql-0 to mysql-1' : 'stable hostnames: spec.hostname/subdomain and the headless Service Endpoints list each pod (no cluster DNS)',
      async (t) => {
        for (const n of ordinals) {
          const name = db.pod(n);
          const p = (await s.kube.pod(s.ns, name))!;
          t.equal(p.spec?.hostname, name, `${name}: spec.hostname is the pod name`);
          t.equal(p.spec?.subdomain, db.name, `${name}: spec.subdomain is the governing Service ${db.name}`);
          t.equal((await s.kube.sh(s.ns, name, MYSQL_CONTAINER, 'hostname')).trim(), name, `${name}: the pod's own hostname`);
        }
        const ep = await s.kube.until(`Endpoints ${s.ns}/${db.name} listing ${REPLICAS} ready pods`, async () => {
          const e = await s.kube.core.readNamespacedEndpoints({ namespace: s.ns, name: db.name }).catch(notFound);
          const addrs = (e?.subsets ?? []).flatMap((x) => x.addresses ?? []);
          return addrs.length === REPLICAS ? addrs : undefined;
        }, { timeoutMs: 60_000, describe: async () => JSON.stringify((await s.kube.core.readNamespacedEndpoints({ namespace: s.ns, name: db.name }).catch(notFound))?.subsets ?? 'no Endpoints') });
        for (const n of ordinals) {
          const p = (await s.kube.pod(s.ns, db.pod(n)))!;
          const a = ep.find((x) => x.targetRef?.name === db.pod(n));
          t.ok(a, `Endpoints ${db.name} list pod ${db.pod(n)}`);
          t.equal(a?.hostname, db.pod(n), `Endpoints ${db.name}: address of ${db.pod(n)} carries hostname ${db.pod(n)}`);
          t.equal(a?.ip, p.status?.podIP, `Endpoints ${db.name}: address of ${db.pod(n)} is its pod IP`);
        }
        if (dns) {
          const target = (await s.kube.pod(s.ns, db.pod(1)))!.status?.podIP;
          const got = await s.kube.until(`mysql-1.${db.name} resolving from ${db.pod(0)}`, async () => {
            const r = await s.kube.exec(s.ns, db.pod(0), MYSQL_CONTAINER, ['getent', 'hosts', `${db.pod(1)}.${db.name}`]);
            return r.exitCode === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
          }, { timeoutMs: 60_000 });
          t.equal(got.split(/\s+/)[0], target, `${db.pod(1)}.${db.name} resolves to the IP of ${db.pod(1)} (${got})`);
        }
      },
      { skip: notUp },
    );

    const volumeOf = new Map<string, string>();
    await s.check(
      'claims data-mysql-0..2 are Bound to datera/iscsi PVs with fsType xfs (data-mysql-1 to the guide\'s static PV)',
      async (t) => {
        const claims = (await s.kube.core.listNamespacedPersistentVolumeClaim({ namespace: s.ns })).items.filter((c) => c.metadata?.name?.startsWith(`data-${db.name}-`));
        t.same(claims.map((c) => c.metadata!.name).sort(), ordinals.map((n) => db.claim(n)), 'one claim per ordinal, named data-mysql-<n>');
        for (const n of ordinals) {
          const c = await s.kube.waitBound(s.ns, db.claim(n));
          const pv = (await s.kube.pv(c.spec!.volumeName!))!;
          t.equal(pv.spec?.flexVolume?.driver, s.ctx.driver, `${db.claim(n)}: PV ${pv.metadata!.name} is a ${s.ctx.driver} flexVolume`);
          t.equal(pv.spec?.flexVolume?.fsType, 'xfs', `${db.claim(n)}: PV fsType from the class`);
          if (n === GUIDE) t.equal(pv.metadata?.name, guidePV, `${db.claim(n)}: adopted with the guide's PV ${guidePV}`);
          else t.equal(pv.spec?.storageClassName, xfsClass, `${db.claim(n)}: PV provisioned from class ${xfsClass}`);
          t.equal(`${pv.spec?.claimRef?.namespace}/${pv.spec?.claimRef?.name}`, `${s.ns}/${db.claim(n)}`, `PV ${pv.metadata!.name} is bound back to ${db.claim(n)}`);
          const pod = (await s.kube.pod(s.ns, db.pod(n)))!;
          const vol = (pod.spec?.volumes ?? []).find((v) => v.name === 'data');
          t.equal(vol?.persistentVolumeClaim?.claimName, db.claim(n), `${db.pod(n)} mounts ${db.claim(n)}`);
          volumeOf.set(db.claim(n), String(pv.spec?.flexVolume?.options?.volumeID ?? ''));
        }
      },
      { skip: notUp },
    );

    await s.check(
      'the backend holds exactly one volume per claim',
      async (t) => {
        const vols = await s.backend!.volumes();
        for (const n of ordinals) {
          const c = (await s.kube.pvc(s.ns, db.claim(n)))!;
          const vid = volumeOf.get(db.claim(n)) ?? '';
          t.ok(vid, `${db.claim(n)}: its PV names a backend volume (volumeID)`);
          // Provisioned volumes are named after the claim's uid; the guide's volume is its volumeID.
          const mine = vols.filter((v) => (n === GUIDE ? v.name === vid : v.name.includes(c.metadata!.uid!)));
          t.same(mine.map((v) => v.name), [vid], n === GUIDE ? `${db.claim(n)}: the driver made backend volume ${vid} on attach` : `${db.claim(n)}: exactly one backend volume for claim uid ${c.metadata!.uid}, the one its PV names`);
        }
        t.equal(new Set(volumeOf.values()).size, REPLICAS, 'the claims have distinct backend volumes');
        s.evidence(`backend volumes: ${vols.map((v) => v.name).join(', ')}`);
      },
      { skip: notUp },
    );

    await s.check(
      'the datadirs are the xfs filesystem the class asks for',
      async (t) => {
        for (const n of ordinals) {
          const m = await podMount(s, db.pod(n), MYSQL_CONTAINER, DATADIR);
          t.equal(m?.fstype, 'xfs', `${db.pod(n)}: ${DATADIR} filesystem (${m ? `${m.source} ${m.options}` : 'not a mount point'})`);
        }
      },
      { skip: notUp },
    );

    await s.check('a claim from an ext4 class is mounted as ext4', async (t) => {
      await s.kube.waitPodReady(s.ns, 'ext4-probe', 120_000);
      const c = (await s.kube.pvc(s.ns, 'ext4-data'))!;
      const pv = (await s.kube.pv(c.spec!.volumeName!))!;
      t.equal(pv.spec?.flexVolume?.fsType, 'ext4', `PV ${pv.metadata!.name} asks for ext4`);
      const m = await podMount(s, 'ext4-probe', 'c', '/data');
      t.equal(m?.fstype, 'ext4', `ext4-probe: /data filesystem (${m ? `${m.source} ${m.options}` : 'not a mount point'})`);
    });

    await s.check('the volumes are writable: mounted rw, and a synced write reads back', async (t) => {
      const targets = [{ pod: 'ext4-probe', container: 'c', dir: '/data' }, ...ordinals.map((n) => ({ pod: db.pod(n), container: MYSQL_CONTAINER, dir: DATADIR }))];
      for (const x of targets) {
        const p = await s.kube.pod(s.ns, x.pod);
        if (!p || !podReady(p)) {
          t.fail(`${x.pod} is not running, so its volume could not be written: ${p ? podSummary(p) : 'absent'}`);
          continue;
        }
        const m = await podMount(s, x.pod, x.container, x.dir);
        t.equal(m?.options.split(',')[0], 'rw', `${x.pod}: ${x.dir} mounted read-write (${m?.options ?? 'not a mount point'})`);
        const token = `dkc-${Date.now()}-${x.pod}`;
        const r = await s.kube.exec(s.ns, x.pod, x.container, ['sh', '-c', `echo ${token} > ${x.dir}/.dkc-write && sync && cat ${x.dir}/.dkc-write && rm -f ${x.dir}/.dkc-write`]);
        t.equal(r.exitCode, 0, `${x.pod}: writing ${x.dir}/.dkc-write succeeds${r.exitCode ? `: ${r.stderr.trim()}` : ''}`);
        t.equal(r.stdout.trim(), token, `${x.pod}: the write reads back`);
      }
    });

    const rows = new Map<string, string[]>();
    const wrote = await s.check(
      `rows with checksums written in each pod (${ROWS} per pod)`,
      async (t) => {
        for (const n of ordinals) {
          const vals = await db.writeRows(db.pod(n), 't', ROWS);
          rows.set(db.pod(n), vals);
          const v = await db.verifyRows(db.pod(n), 't', vals);
          t.equal(v.found, ROWS, `${db.pod(n)}: ${ROWS} rows read back`);
        }
      },
      { skip: notUp },
    );
    const noRows = notUp || (wrote ? false : 'the rows could not be written');

    await s.check(
      'rows survive deleting mysql-1 (recreated with the same claim, same node allowed; the guide\'s static PV)',
      async (t) => {
        const name = db.pod(1);
        const before = (await s.kube.pod(s.ns, name))!;
        await s.kube.core.deleteNamespacedPod({ namespace: s.ns, name });
        const after = await waitRecreated(s, name, before.metadata!.uid!);
        t.comment(`${name}: was on ${before.spec?.nodeName}, back on ${after.spec?.nodeName}`);
        await db.expectRows(t, name, 't', rows.get(name)!);
        await sameClaim(t, s, db, 1, volumeOf);
      },
      { skip: noRows },
    );

    const schedulable = await s.kube.workerNodes();
    await s.check(
      'rows survive rescheduling mysql-2 to another node (its node cordoned, pod deleted; a provisioned PV)',
      async (t) => {
        const name = db.pod(2);
        const before = (await s.kube.pod(s.ns, name))!;
        const from = before.spec!.nodeName!;
        let cordoned = true;
        const uncordon = async () => {
          if (!cordoned) return;
          await s.kube.patchNode(from, { spec: { unschedulable: null } });
          cordoned = false;
        };
        s.cleanup(`uncordoning node ${from}`, uncordon);
        await s.kube.patchNode(from, { spec: { unschedulable: true } });
        try {
          await s.kube.core.deleteNamespacedPod({ namespace: s.ns, name });
          const after = await waitRecreated(s, name, before.metadata!.uid!);
          t.not(after.spec?.nodeName, from, `${name} moved off cordoned node ${from} (now on ${after.spec?.nodeName})`);
        } finally {
          await uncordon();
        }
        await db.expectRows(t, name, 't', rows.get(name)!);
        await sameClaim(t, s, db, 2, volumeOf);
        // The pod nobody touched still has its rows too.
        await db.expectRows(t, db.pod(0), 't', rows.get(db.pod(0))!);
      },
      { skip: noRows || (schedulable.length < 2 ? `needs two schedulable nodes, the cluster has ${schedulable.length} (${schedulable.join(', ') || 'none'})` : false) },
    );
  },
  { needs: ['backend', 'provisioner', 'writable'] },
);

async function listPods(s: Scenario, app: string): Promise<k8s.V1Pod[]> {
  return (await s.kube.core.listNamespacedPod({ namespace: s.ns, labelSelector: `app=${app}` })).items;
}

/** Wait for `replicas` ready pods; stop early (failing) when a container crash-loops instead of waiting it out. */
async function waitReady(s: Scenario, app: string, replicas: number): Promise<string> {
  const t0 = Date.now();
  const seen = new Map<string, { seen: number; ready?: number }>();
  const r = await s.kube.until(
    `StatefulSet ${s.ns}/${app}: ${replicas} ready replicas`,
    async () => {
      const pods = await listPods(s, app);
      for (const p of pods) {
        const x = seen.get(p.metadata!.name!) ?? { seen: Date.now() - t0 };
        if (x.ready === undefined && podReady(p)) x.ready = Date.now() - t0;
        seen.set(p.metadata!.name!, x);
      }
      const crash = await s.kube.crashLooping(s.ns, pods);
      if (crash) return { crash };
      const set = await s.kube.apps.readNamespacedStatefulSet({ namespace: s.ns, name: app });
      return (set.status?.readyReplicas ?? 0) === replicas && pods.filter((p) => podReady(p) && !p.metadata?.deletionTimestamp).length === replicas ? { crash: '' } : undefined;
    },
    { timeoutMs: 480_000, intervalMs: 500, describe: async () => (await listPods(s, app)).map((p) => `${p.metadata!.name}: ${podSummary(p)}`).join('; ') || 'no pods' },
  );
  if (r.crash) throw new Error(r.crash);
  // Where the wall time went, for the log: each pod's first sighting and Ready, from the start of the wait.
  return [...seen].sort().map(([n, x]) => `${n} seen +${(x.seen / 1000).toFixed(1)} s, Ready +${((x.ready ?? 0) / 1000).toFixed(1)} s`).join('; ');
}

/** Wait until the StatefulSet has recreated `name` (a new uid) and it is Ready; crash loops fail early. */
async function waitRecreated(s: Scenario, name: string, oldUid: string): Promise<k8s.V1Pod> {
  const r = await s.kube.until(
    `pod ${s.ns}/${name} recreated (new uid) and Ready`,
    async () => {
      const p = await s.kube.pod(s.ns, name);
      if (!p || p.metadata?.uid === oldUid) return undefined;
      const crash = await s.kube.crashLooping(s.ns, [p]);
      if (crash) return { crash, p };
      return podReady(p) ? { crash: '', p } : undefined;
    },
    { timeoutMs: 300_000, describe: () => s.kube.describePod(s.ns, name) },
  );
  if (r.crash) throw new Error(`${r.crash} (after the pod was recreated: was the volume formatted again?)`);
  return r.p;
}


/** The recreated pod still uses the same claim, bound to the same PV and backend volume. */
async function sameClaim(t: Test, s: Scenario, db: MySql, n: number, volumeOf: Map<string, string>): Promise<void> {
  const c = (await s.kube.pvc(s.ns, db.claim(n)))!;
  const pv = c.spec?.volumeName ? await s.kube.pv(c.spec.volumeName) : undefined;
  t.equal(String(pv?.spec?.flexVolume?.options?.volumeID ?? ''), volumeOf.get(db.claim(n)), `${db.claim(n)} still maps to the same backend volume`);
}

interface Mount {
  source: string;
  fstype: string;
  options: string;
}

/** The mount at `dir` as the container sees it (its /proc/mounts), or undefined when `dir` is no mount point. */
async function podMount(s: Scenario, pod: string, container: string, dir: string): Promise<Mount | undefined> {
  const out = await s.kube.sh(s.ns, pod, container, 'cat /proc/mounts');
  const m = out
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[1] === dir)
    .pop();
  return m ? { source: m[0]!, fstype: m[2]!, options: m[3]! } : undefined;
}

async function clusterDns(s: Scenario): Promise<boolean> {
  const ep = await s.kube.core.readNamespacedEndpoints({ namespace: 'kube-system', name: 'kube-dns' }).catch(() => undefined);
  return (ep?.subsets ?? []).some((x) => (x.addresses ?? []).length > 0);
}
