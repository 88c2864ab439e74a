// The same suites against an existing cluster: an embedded cluster started separately stands in for a vendor's lab
// cluster, reached only through its kubeconfig and the Datera API URL and credentials (here the cluster's own mock,
// given like a real system's: DATERA_USER / DATERA_PASSWORD). The existing provider has no node access and does not
// assume a provisioner, so node checks and dynamic scenarios skip with their reasons while the API-level scenarios
// run unchanged. Then the same cluster again with --read-only (a vendor's lab cluster someone else owns): a PV that
// was there before is linted and left alone, scenarios that write storage are skipped, and the API server's and the
// Datera mock's request logs show that the run changed no storage object and nothing on the backend. Needs root
// and the node tools.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { missingFacility } from '../../clusters/embedded/node/runtime/root-test-env.js';
import { EmbeddedCluster, stopClustersOnSignals } from '../../clusters/embedded/cluster.js';
import { clusterProfile } from '../../clusters/embedded/profiles.js';
import { loadRunConfig } from '../plan/config.js';
import { exitCodeFor, runConformance } from './run.js';
import { createProgress } from './progress.js';

const skip = (await missingFacility(['busybox', 'tgtd', 'qemu-storage-daemon', 'mkfs.xfs', 'losetup'])) ?? (existsSync('dist/suites/bind-static/scenario.js') ? undefined : 'dist/ is not built (npm run build)');
if (skip) t.comment(`skipping the existing-cluster run: ${skip}`);
else {
  stopClustersOnSignals();
  const cluster = await EmbeddedCluster.start({ profile: clusterProfile(process.env.DKC_E2E_K8S ?? 'v1.32'), nodes: 2 });
  t.teardown(async () => {
    const left = await cluster.stop();
    if (left.length) throw new Error(`cluster cleanup left: ${left.join('; ')}`);
  });
  const reportDir = await mkdtemp(join(tmpdir(), 'dkc-existing-'));
  t.teardown(() => rm(reportDir, { recursive: true, force: true }));
  const b = cluster.backend!;
  const sink = { write: () => true };
  const suites = ['node-preflight', 'network', 'bind-static', 'bind-dynamic', 'security-lint', 'hygiene'];
  const report = await runConformance(loadRunConfig({ cluster: 'existing', kubeconfig: cluster.kubeconfigPath, backend: b.url, suite: suites.join(','), reportDir }), {
    progress: createProgress({ live: false, stream: sink, out: sink }),
    env: { ...process.env, DATERA_USER: b.user, DATERA_PASSWORD: b.password },
  });
  const byId = new Map(report.results.map((r) => [r.id, r]));
  for (const r of report.results) t.comment(`${r.id}: ${r.status}${r.message ? ` (${r.message})` : ''}`);

  t.test('the cluster is reported with its real version string, not as emulated by the harness', async (t) => {
    t.match(report.environment.clusters[0]?.k8sVersion, /^v1\.\d+\.\d+/);
    t.equal(report.environment.provider, 'existing');
  });
  t.test('API-level scenarios run unchanged and pass', async (t) => {
    for (const id of ['network', 'bind-static', 'hygiene']) t.equal(byId.get(id)?.status, 'passed', `${id}: ${byId.get(id)?.message ?? ''}`);
    t.equal(byId.get('security-lint')?.status, 'failed', 'the lint still flags the inline-credential PV it made');
  });
  t.test('what needs node access or a provisioner is skipped with the reason, never passed', async (t) => {
    t.equal(byId.get('bind-dynamic')?.status, 'skipped', 'no provisioner is assumed on an existing cluster');
    t.match(byId.get('bind-dynamic')?.message, /provisioner/);
    const pre = byId.get('node-preflight');
    t.ok(pre?.checks.some((c) => c.status === 'skipped' && /node access/.test(c.message ?? '')), 'node checks skipped for lack of node access');
    t.ok(pre?.checks.some((c) => c.status === 'passed'), 'the API-only check ran');
  });
  t.test('the existing cluster is left as it was: the harness removed only what it made', async (t) => {
    const ns = cluster.store.list('core/namespaces').items.map((n) => n.metadata.name);
    t.notOk(ns.some((n) => String(n).startsWith('dkc-')), 'no scenario namespace left');
    t.same(cluster.nodes().length, 2, 'the nodes are still there');
  });

  t.test('--read-only: non-destructive checks only; storage and backend untouched, a PV that was there is linted and kept', async (t) => {
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    // The vendor's own PV, with credentials inline as the 1.5-era guide wrote them: not the harness's to touch.
    const vendorPassword = `vendor-${Date.now()}-pw`;
    await core.createPersistentVolume({
      body: {
        metadata: { name: 'vendor-pv' },
        spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', flexVolume: { driver: 'datera/iscsi', fsType: 'xfs', options: { volumeID: 'vendor-vol', size: '1', replica: '1', serverUser: 'vendor', serverPasswd: vendorPassword } } },
      },
    });
    t.teardown(() => core.deletePersistentVolume({ name: 'vendor-pv' }).catch(() => undefined));
    const deadline = Date.now() + 30_000;
    while ((await core.readPersistentVolume({ name: 'vendor-pv' })).status?.phase !== 'Available' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    // Baselines: what the first (writing) run did is before these marks.
    const apiMark = cluster.requestLog.length;
    const dateraMark = cluster.mock!.requests().at(-1)?.id ?? 0;
    const roDir = await mkdtemp(join(tmpdir(), 'dkc-existing-ro-'));
    t.teardown(() => rm(roDir, { recursive: true, force: true }));
    const ro = await runConformance(loadRunConfig({ cluster: 'existing', kubeconfig: cluster.kubeconfigPath, backend: b.url, suite: suites.join(','), reportDir: roDir, readOnly: true }), {
      progress: createProgress({ live: false, stream: sink, out: sink }),
      env: { ...process.env, DATERA_USER: b.user, DATERA_PASSWORD: b.password },
    });
    const roBy = new Map(ro.results.map((r) => [r.id, r]));
    for (const r of ro.results) t.comment(`read-only ${r.id}: ${r.status}${r.message ? ` (${r.message})` : ''}`);

    for (const id of ['bind-static', 'bind-dynamic']) {
      t.equal(roBy.get(id)?.status, 'skipped', `${id} writes storage: skipped`);
      t.match(roBy.get(id)?.message, /read-only run/, `${id}: the reason names the read-only run`);
    }
    for (const id of ['network', 'hygiene']) t.equal(roBy.get(id)?.status, 'passed', `${id}: ${roBy.get(id)?.message ?? ''}`);
    const lint = roBy.get('security-lint');
    t.equal(lint?.status, 'failed', 'the lint flags the PV that was already there');
    t.ok(lint?.checks.some((c) => c.name === 'credentials inline in PV vendor-pv' && c.status === 'failed'), 'finding on vendor-pv');
    t.ok(lint?.checks.some((c) => c.status === 'skipped' && /read-only run/.test(c.message ?? '')), 'the lint does not make its own PVs');
    t.equal(ro.environment.readOnly, true);
    t.equal(exitCodeFor(ro, false), 0, 'nothing required that ran failed (the lint is optional)');
    const files = ['report.json', 'report.md', 'report.html', 'junit.xml'].map((f) => readFileSync(join(roDir, f), 'utf8')).join('\n');
    t.notOk(files.includes(vendorPassword), "the vendor PV's password is in no report");

    // The logs: storage mutations are what a writing run makes, and the read-only run made none.
    const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
    const STORAGE = /\/(persistentvolumes|persistentvolumeclaims|storageclasses|volumeattachments)(\/|\?|$)/;
    const storageWrites = (log: { method: string; path: string }[]) => log.filter((e) => MUTATING.has(e.method) && STORAGE.test(e.path)).map((e) => `${e.method} ${e.path}`);
    t.ok(storageWrites(cluster.requestLog.slice(0, apiMark)).length > 0, 'the check can fail: the writing run before made storage requests');
    t.same(storageWrites(cluster.requestLog.slice(apiMark)), [], 'no PV, claim, class or attachment created, changed or deleted');
    const deletes = cluster.requestLog.slice(apiMark).filter((e) => e.method === 'DELETE' && !/\/namespaces\/dkc-[^/]+/.test(e.path));
    t.same(deletes.map((e) => e.path), [], 'nothing deleted outside the scenario namespaces it made');
    const dateraAll = cluster.mock!.requests();
    const dateraWrites = (rs: typeof dateraAll) => rs.filter((r) => r.method !== 'GET' && !/\/login$/.test(r.path)).map((r) => `${r.method} ${r.path}`);
    t.ok(dateraWrites(dateraAll.filter((r) => r.id <= dateraMark)).length > 0, 'the check can fail: the writing run changed the backend');
    t.same(dateraWrites(dateraAll.filter((r) => r.id > dateraMark)), [], 'the backend was only read (and logged in to)');
    t.ok(dateraAll.some((r) => r.id > dateraMark && r.method === 'GET'), 'the backend was read');
    const pv = await core.readPersistentVolume({ name: 'vendor-pv' });
    t.equal(pv.spec?.flexVolume?.options?.serverPasswd, vendorPassword, 'the vendor PV is still there, unchanged');
  });
}
