import t from 'tap';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExistingCluster, existingProvider, minorOf } from './provider.js';

/** A stand-in API server answering /version and the node list, recording the Authorization headers it got. */
async function fakeApi(version: object, status = 200): Promise<{ server: Server; url: string; auth: string[] }> {
  const auth: string[] = [];
  const server = createServer((req, res) => {
    auth.push(String(req.headers.authorization));
    res.setHeader('content-type', 'application/json');
    if (status !== 200) {
      res.statusCode = status;
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: status }));
    } else if (req.url === '/version') res.end(JSON.stringify(version));
    else if (req.url?.startsWith('/api/v1/nodes'))
      res.end(
        JSON.stringify({
          kind: 'NodeList',
          apiVersion: 'v1',
          metadata: {},
          items: [
            { metadata: { name: 'w1' }, status: { addresses: [{ type: 'Hostname', address: 'w1' }, { type: 'InternalIP', address: '10.0.0.11' }], nodeInfo: { kubeletVersion: 'v1.33.4' } } },
            { metadata: { name: 'w2' }, status: { addresses: [{ type: 'Hostname', address: 'w2' }] } },
          ],
        }),
      );
    else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, auth };
}

const kubeconfig = (url: string) => `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: '${url}', insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: planted-token}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`;

t.test('reads the version and nodes; makes nothing and removes nothing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-existing-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const api = await fakeApi({ major: '1', minor: '33+', gitVersion: 'v1.33.4-eks-1', platform: 'linux/amd64' });
  t.teardown(() => api.server.close());
  await writeFile(join(dir, 'kc'), kubeconfig(api.url));
  const backend = { kind: 'datera' as const, server: 'dsp:7717', url: 'http://dsp:7717', user: 'u', password: 'p', portals: [] };
  const c = await existingProvider.start({ kubeconfig: join(dir, 'kc'), backend });
  t.equal(c.provider, 'existing');
  t.equal(c.version, 'v1.33.4-eks-1');
  t.equal((c as ExistingCluster).minor, 33);
  t.equal(c.kubeconfigPath, join(dir, 'kc'));
  t.same(c.backend, backend);
  t.same(c.nodes(), [
    { name: 'w1', address: '10.0.0.11', root: '/' },
    { name: 'w2', address: 'w2', root: '/' },
  ]);
  t.same(c.nodeAccess(), [], 'no node access');
  await t.rejects(c.nodeExec('w1', ['true']), { code: 'BAD_INPUT', message: /no node access/ });
  t.ok(api.auth.every((a) => a === 'Bearer planted-token'), 'the kubeconfig token was used');
  await c.collectArtifacts(join(dir, 'art'));
  const art = JSON.parse(await readFile(join(dir, 'art', 'cluster.json'), 'utf8'));
  t.equal(art.version, 'v1.33.4-eks-1');
  t.same(art.nodes.map((n: any) => n.kubeletVersion), ['v1.33.4', '']);
  t.same(await c.stop(), []);
});

t.test('an unreachable or refusing cluster, a bad kubeconfig and a non-1.x version are clear errors', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-existing-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await t.rejects(ExistingCluster.start({ kubeconfig: join(dir, 'missing') }), { code: 'BAD_CONFIG', message: /cannot load the kubeconfig/ });
  const refusing = await fakeApi({}, 401);
  t.teardown(() => refusing.server.close());
  await writeFile(join(dir, 'kc'), kubeconfig(refusing.url));
  await t.rejects(ExistingCluster.start({ kubeconfig: join(dir, 'kc') }), { code: 'COMMAND_FAILED', message: new RegExp(`existing cluster at ${refusing.url}.*did not answer`) });
  const odd = await fakeApi({ major: '2', minor: '0', gitVersion: 'v2.0.0' });
  t.teardown(() => odd.server.close());
  await writeFile(join(dir, 'kc2'), kubeconfig(odd.url));
  await t.rejects(ExistingCluster.start({ kubeconfig: join(dir, 'kc2') }), { message: /names no Kubernetes 1\.x minor/ });
});

t.test('minorOf reads the fields, then the gitVersion', async (t) => {
  t.equal(minorOf({ major: '1', minor: '32' }), 32);
  t.equal(minorOf({ major: '1', minor: '27+', gitVersion: 'v1.27.3+k3s1' }), 27);
  t.equal(minorOf({ major: '', minor: '', gitVersion: 'v1.30.1' }), 30);
  t.equal(minorOf({ gitVersion: 'v1.9' }), 9);
  t.equal(minorOf({ gitVersion: 'v2.1.0' }), undefined);
  t.equal(minorOf({}), undefined);
});
