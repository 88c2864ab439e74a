// The process entry end to end, without a cluster: main.ts as a child process, its kubeconfig pointing at a tiny
// fake Kubernetes API over HTTP, credentials pointing at the real mock Datera API. It provisions a claim, logs JSON
// lines on stderr without the password, and exits 0 on SIGTERM.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { MockDatera } from '../../mocks/datera/mock-datera.js';

const PASSWORD = 'pw-e2e-s3cret';

t.test('main.js provisions a claim and stops on SIGTERM', async (t) => {
  const mock = await new MockDatera({ httpPort: 0, httpsPort: null, targets: 'none', users: { admin: PASSWORD } }).start();
  t.teardown(() => mock.stop());
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const pvc = {
    metadata: { name: 'data', namespace: 'app', uid: '11111111-2222-4333-8444-555555555555', annotations: { 'volume.kubernetes.io/storage-provisioner': 'datera.io/provisioner-datera' } },
    spec: { storageClassName: 'datera', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } },
    status: { phase: 'Pending' },
  };
  const pvs: unknown[] = [];
  const events: { reason: string }[] = [];
  const watches: ServerResponse[] = [];
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url!;
      if (url.includes('watch=true')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        watches.push(res);
        return;
      }
      if (url.startsWith('/api/v1/persistentvolumeclaims')) return json(res, 200, { metadata: {}, items: [pvc] });
      if (req.method === 'GET' && url.startsWith('/api/v1/persistentvolumes')) return json(res, 200, { metadata: {}, items: pvs });
      if (req.method === 'POST' && url === '/api/v1/persistentvolumes') {
        const pv = JSON.parse(Buffer.concat(chunks).toString());
        pvs.push(pv);
        return json(res, 201, pv);
      }
      if (url === '/apis/storage.k8s.io/v1/storageclasses/datera')
        return json(res, 200, { metadata: { name: 'datera' }, provisioner: 'datera.io/provisioner-datera', reclaimPolicy: 'Delete', parameters: { secretName: 'datera-secret', replica: '1' } });
      if (url === '/api/v1/namespaces/datera/secrets/datera-secret')
        return json(res, 200, { metadata: { name: 'datera-secret', namespace: 'datera' }, type: 'datera/iscsi', data: { username: b64('admin'), password: b64(PASSWORD), server: b64(mock.server) } });
      if (req.method === 'POST' && url.endsWith('/events')) {
        const ev = JSON.parse(Buffer.concat(chunks).toString());
        events.push(ev);
        return json(res, 201, ev);
      }
      json(res, 404, { kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404, message: 'not found' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  const dir = await mkdtemp(join(tmpdir(), 'dkc-provisioner-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: "http://127.0.0.1:${(server.address() as AddressInfo).port}", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: fake-token}}]
contexts: [{name: c, context: {cluster: fake, user: u}}]
current-context: c
`,
  );

  // The built entry starts in a fraction of a second; loading main.ts through the TypeScript loader takes seconds
  // and, on a busy 2-core machine, longer than a short poll would wait.
  const built = fileURLToPath(new URL('../../dist/drivers/provisioner/main.js', import.meta.url));
  const argv = existsSync(built) ? [built] : [...process.execArgv, fileURLToPath(new URL('./main.ts', import.meta.url))];
  const child = spawn(process.execPath, [...argv, '--resync', '1'], { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  // A bound, not a speed check: the claim must be provisioned within a minute however loaded the machine is.
  for (const until = Date.now() + 60_000; Date.now() < until && !(pvs.length && events.length && watches.length >= 2); ) await new Promise((r) => setTimeout(r, 50));
  t.equal(pvs.length, 1, 'one PV created', { stderr: stderr.slice(-2000) });
  t.match(pvs[0], { metadata: { name: `pvc-${pvc.metadata.uid}` }, spec: { flexVolume: { driver: 'datera/iscsi', options: { volumeID: `k8s-pvc-${pvc.metadata.uid}` } } } });
  t.match(events, [{ reason: 'ProvisioningSucceeded' }]);
  t.ok(watches.length >= 2, 'PVC and PV watches open');
  const ai = (await mock.snapshot()).state.tenants['/root']!.app_instances[`k8s-pvc-${pvc.metadata.uid}`];
  t.equal(ai?.storage_instances[0]?.volumes[0]?.size, 2);

  const t0 = Date.now();
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'exit 0 on SIGTERM');
  t.comment(`stopped ${Date.now() - t0} ms after SIGTERM`);
  const lines = stderr.trim().split('\n');
  t.ok(
    lines.every((l) => {
      try {
        JSON.parse(l);
        return true;
      } catch {
        return false;
      }
    }),
    'stderr is JSON lines',
  );
  t.match(stderr, /"msg":"provisioned"/);
  t.match(stderr, /"msg":"started"/);
  t.match(stderr, /"msg":"stopping".*"signal":"SIGTERM"/);
  t.notMatch(stderr, PASSWORD, 'no password in the log');
  t.notMatch(stderr, 'fake-token', 'no token in the log');
});
