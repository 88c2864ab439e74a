// The embedded cluster end to end through @kubernetes/client-node only: a 3-replica MariaDB StatefulSet whose
// volumeClaimTemplates are provisioned on datera/iscsi (mock Datera API, real tgt targets, real iSCSI, XFS) becomes
// Ready on two nodes; rows written in each pod survive deleting the pod and its rescheduling onto the other node;
// the Datera guide's static PV binds to a selector claim while a claim with no match stays Pending; and once
// everything is deleted no iSCSI session or mount is left. Needs root.
import t from 'tap';
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { waitFor } from '../../lib/wait.js';
import { readMounts, under } from '../../lib/mounts.js';
import { EmbeddedCluster, stopClustersOnSignals } from './cluster.js';
import { clusterProfile } from './profiles.js';
import { missingFacility } from './node/runtime/root-test-env.js';

const skip = await missingFacility(['busybox', 'mariadbd', 'tgtd', 'qemu-storage-daemon', 'mkfs.xfs', 'losetup']);
if (skip) t.comment(`skipping the MariaDB StatefulSet on the embedded cluster: ${skip}`);


if (!skip) {
  const version = process.env.DKC_E2E_K8S ?? 'v1.32';
  const t0 = performance.now();
  stopClustersOnSignals();
  const cluster = await EmbeddedCluster.start({ profile: clusterProfile(version), nodes: 2 });
  const readyMs = performance.now() - t0;
  t.comment(`cluster ${cluster.version} ready in ${(readyMs / 1000).toFixed(1)} s`);
  t.teardown(async () => {
    const left = await cluster.stop();
    if (left.length) throw new Error(`cluster cleanup left: ${left.join('; ')}`);
  });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const storage = kc.makeApiClient(k8s.StorageV1Api);
  const exec = new k8s.Exec(kc);
  const ns = 'db';
  const password = 'mysql-root-pw';

  /** Run a shell command in a pod through the exec subresource; resolves with stdout, rejects on non-zero exit. */
  const sh = (pod: string, script: string) =>
    new Promise<string>((resolve, reject) => {
      const out = new PassThrough();
      const err = new PassThrough();
      let stdout = '';
      let stderr = '';
      out.on('data', (d: Buffer) => (stdout += d.toString()));
      err.on('data', (d: Buffer) => (stderr += d.toString()));
      void exec
        .exec(ns, pod, 'mariadb', ['sh', '-c', script], out, err, null, false, (status: any) => {
          if (status?.status === 'Success') resolve(stdout);
          else reject(new Error(`exec in ${pod} failed: ${status?.message ?? 'unknown'}: ${stderr}`));
        })
        .catch(reject);
    });
  const sql = (pod: string, q: string) => sh(pod, `mariadb -uroot -p"$MYSQL_ROOT_PASSWORD" -N -B -e ${JSON.stringify(q)}`);
  const pod = (name: string) => core.readNamespacedPod({ name, namespace: ns });
  const podReady = (p: any) => p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');

  await t.test('a 3-replica MariaDB StatefulSet on datera/iscsi becomes Ready on two nodes', async (t) => {
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'mysql-root' }, stringData: { password } } });
    await core.createNamespacedService({ namespace: ns, body: { metadata: { name: 'mysql' }, spec: { clusterIP: 'None', selector: { app: 'mysql' }, ports: [{ name: 'mysql', port: 3306 }] } } });
    await storage.createStorageClass({
      body: {
        metadata: { name: 'datera' },
        provisioner: 'datera.io/provisioner-datera',
        reclaimPolicy: 'Delete',
        parameters: { replica: '3', fsType: 'xfs', secretName: 'datera-secret', secretNamespace: 'datera' },
      },
    });
    const started = performance.now();
    await apps.createNamespacedStatefulSet({
      namespace: ns,
      body: {
        metadata: { name: 'mysql' },
        spec: {
          serviceName: 'mysql',
          replicas: 3,
          selector: { matchLabels: { app: 'mysql' } },
          template: {
            metadata: { labels: { app: 'mysql' } },
            spec: {
              terminationGracePeriodSeconds: 20,
              containers: [
                {
                  name: 'mariadb',
                  image: 'mariadb:10.11',
                  env: [
                    { name: 'MYSQL_ROOT_PASSWORD', valueFrom: { secretKeyRef: { name: 'mysql-root', key: 'password' } } },
                    { name: 'MYSQL_DATABASE', value: 'app' },
                  ],
                  ports: [{ name: 'mysql', containerPort: 3306 }],
                  readinessProbe: { exec: { command: ['sh', '-c', 'mariadb-admin -uroot -p"$MYSQL_ROOT_PASSWORD" --protocol=tcp -h 127.0.0.1 ping'] }, periodSeconds: 2, timeoutSeconds: 5 },
                  volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }],
                },
              ],
            },
          },
          volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'datera', resources: { requests: { storage: '1Gi' } } } }],
        },
      },
    });
    let firstRunningMs = 0;
    await waitFor(
      'mysql StatefulSet: 3 ready replicas',
      async () => {
        if (!firstRunningMs && podReady(await pod('mysql-0').catch(() => undefined))) firstRunningMs = performance.now() - started;
        const s = await apps.readNamespacedStatefulSet({ name: 'mysql', namespace: ns });
        return s.status?.readyReplicas === 3 ? true : undefined;
      },
      { timeoutMs: 480_000, intervalMs: 1000 },
    );
    t.comment(`first MariaDB pod with its Datera volume Ready after ${(firstRunningMs / 1000).toFixed(1)} s; all 3 after ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=mysql' });
    t.same(pods.items.map((p) => p.metadata!.name).sort(), ['mysql-0', 'mysql-1', 'mysql-2'], 'ordinal names');
    t.equal(new Set(pods.items.map((p) => p.spec!.nodeName)).size, 2, 'pods are spread over both nodes');
    for (const p of pods.items) t.equal(p.spec!.hostname, p.metadata!.name, `${p.metadata!.name}: stable hostname`);
    const pvcs = await core.listNamespacedPersistentVolumeClaim({ namespace: ns });
    t.same(pvcs.items.map((c) => c.metadata!.name).sort(), ['data-mysql-0', 'data-mysql-1', 'data-mysql-2'], 'PVCs named <template>-<sts>-<ordinal>');
    for (const c of pvcs.items) {
      t.equal(c.status?.phase, 'Bound', `${c.metadata!.name} Bound`);
      const pv = await core.readPersistentVolume({ name: c.spec!.volumeName! });
      t.equal(pv.spec?.flexVolume?.driver, 'datera/iscsi', `${pv.metadata!.name} is a datera/iscsi flexVolume`);
      t.equal(pv.spec?.flexVolume?.fsType, 'xfs');
    }
    const state = (await cluster.mock!.snapshot()) as any;
    const ais = JSON.stringify(state);
    for (const c of pvcs.items) t.match(ais, new RegExp(`k8s-pvc-${c.metadata!.uid}`), `backend app_instance for ${c.metadata!.name}`);
    t.equal((await sh('mysql-0', 'stat -f -c %T /var/lib/mysql')).trim(), 'xfs', 'the datadir is the XFS filesystem on the Datera volume');
  });

  const checksum = (s: string) => createHash('sha256').update(s).digest('hex');
  const rows = new Map<string, string[]>();

  await t.test('rows with checksums written in each pod', async (t) => {
    for (const p of ['mysql-0', 'mysql-1', 'mysql-2']) {
      const vals = Array.from({ length: 20 }, (_, i) => `${p}-row-${i}-${Math.random().toString(36).slice(2)}`);
      rows.set(p, vals);
      await sql(p, `CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(80), c CHAR(64)) ENGINE=InnoDB; INSERT INTO app.t VALUES ${vals.map((v, i) => `(${i}, '${v}', '${checksum(v)}')`).join(',')}`);
      t.equal((await sql(p, 'SELECT COUNT(*) FROM app.t')).trim(), '20', `${p}: 20 rows`);
    }
  });

  await t.test('deleting a pod reschedules it onto the other node with its data', async (t) => {
    for (const name of ['mysql-0', 'mysql-1']) {
      const before = await pod(name);
      const from = before.spec!.nodeName!;
      await core.patchNode({ name: from, body: { spec: { unschedulable: true } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
      try {
        const t1 = performance.now();
        await core.deleteNamespacedPod({ name, namespace: ns });
        const after = await waitFor(
          `${name} recreated and Ready`,
          async () => {
            const p = await pod(name).catch(() => undefined);
            return p && p.metadata!.uid !== before.metadata!.uid && podReady(p) ? p : undefined;
          },
          { timeoutMs: 240_000, intervalMs: 1000 },
        );
        t.comment(`${name}: deleted on ${from}, Ready on ${after.spec!.nodeName} after ${((performance.now() - t1) / 1000).toFixed(1)} s`);
        t.not(after.spec!.nodeName, from, `${name} moved to the other node`);
        const got = (await sql(name, 'SELECT v, c FROM app.t ORDER BY id')).trim().split('\n');
        const want = rows.get(name)!;
        t.equal(got.length, want.length, `${name}: every row is back`);
        t.ok(
          got.every((line, i) => {
            const [v, c] = line.split('\t');
            return v === want[i] && c === checksum(v!);
          }),
          `${name}: values and checksums intact`,
        );
      } finally {
        await core.patchNode({ name: from, body: { spec: { unschedulable: false } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
      }
    }
  });

  await t.test("the Datera guide's static PV binds a selector claim; a claim with no match stays Pending", async (t) => {
    const b = cluster.backend!;
    await core.createPersistentVolume({
      body: {
        metadata: { name: 'mysql-data-vol-datera-0', labels: { volumeId: 'demo-vol-0' } },
        spec: {
          capacity: { storage: '10Gi' },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          flexVolume: { driver: 'datera/iscsi', fsType: 'xfs', options: { volumeID: 'demo-pv-datera-0', size: '10', replica: '3', backstoreServer: b.server, serverUser: b.user, serverPasswd: b.password } },
        },
      },
    });
    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: { metadata: { name: 'mysql-vol-datera-0' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: '', resources: { requests: { storage: '10Gi' } }, selector: { matchLabels: { volumeId: 'demo-vol-0' } } } },
    });
    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: { metadata: { name: 'no-match' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: '', resources: { requests: { storage: '10Gi' } }, selector: { matchLabels: { volumeId: 'nowhere' } } } },
    });
    const bound = await waitFor('selector claim bound', async () => {
      const c = await core.readNamespacedPersistentVolumeClaim({ name: 'mysql-vol-datera-0', namespace: ns });
      return c.status?.phase === 'Bound' ? c : undefined;
    }, { timeoutMs: 30_000 });
    t.equal(bound.spec?.volumeName, 'mysql-data-vol-datera-0', 'bound to the labelled PV');
    const pv = await core.readPersistentVolume({ name: 'mysql-data-vol-datera-0' });
    t.equal(pv.status?.phase, 'Bound');
    t.equal(pv.spec?.claimRef?.name, 'mysql-vol-datera-0');
    // The binder has looked at the unmatched claim once it says so in an event; it must still be Pending then.
    await waitFor('FailedBinding event on the unmatched claim', async () => {
      const evs = await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=no-match' });
      return evs.items.some((e) => e.reason === 'FailedBinding') ? true : undefined;
    }, { timeoutMs: 30_000 });
    const pending = await core.readNamespacedPersistentVolumeClaim({ name: 'no-match', namespace: ns });
    t.equal(pending.status?.phase, 'Pending', 'a claim whose selector matches nothing stays Pending');
    t.notOk(pending.spec?.volumeName, 'and names no volume');
  });

  await t.test('deleting everything leaves no iSCSI session and no mount', async (t) => {
    await apps.deleteNamespacedStatefulSet({ name: 'mysql', namespace: ns });
    await waitFor('mysql pods gone', async () => ((await core.listNamespacedPod({ namespace: ns })).items.length === 0 ? true : undefined), { timeoutMs: 180_000, intervalMs: 1000 });
    const sessions = await waitFor('no iSCSI sessions', async () => {
      const targets = ((await cluster.mock!.snapshot()) as any).targets ?? [];
      const open = targets.flatMap((x: any) => x.sessions ?? []);
      return open.length === 0 ? open : undefined;
    }, { timeoutMs: 60_000, intervalMs: 1000 });
    t.same(sessions, [], 'every session logged out');
    const mounts = (await readMounts()).filter((m) => under(m.target, cluster.workDir) && /kubelet/.test(m.target));
    t.same(mounts.map((m) => m.target), [], 'no kubelet mount left on any node');
  });
}
