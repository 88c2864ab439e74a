import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { run } from '../../../../lib/exec.js';
import { ClusterNetwork, sweepNetworks } from './network.js';
import { tcpProbe } from './probes.js';
import { leftovers, missingFacility } from './root-test-env.js';

// A TCP server inside a namespace that prints the peer address of every connection (to prove no NAT).
const SERVER_JS = `
const net = require('net');
const srv = net.createServer((s) => { s.on('error', () => {}); console.log('peer ' + s.remoteAddress); s.end('hi'); });
srv.listen(Number(process.argv[1]), '0.0.0.0', () => console.log('listening'));
`;

function serve(netns: string, port: number): Promise<{ child: ChildProcess; peers: string[] }> {
  const child = spawn('nsenter', [`--net=/run/netns/${netns}`, '--', process.execPath, '-e', SERVER_JS, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const peers: string[] = [];
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.stdout!.on('data', (b: Buffer) => {
      for (const l of b.toString().split('\n')) {
        if (l === 'listening') resolve({ child, peers });
        if (l.startsWith('peer ')) peers.push(l.slice(5));
      }
    });
  });
}

async function ping(netns: string, ip: string): Promise<boolean> {
  const r = await run(['ip', 'netns', 'exec', netns, 'busybox', 'ping', '-c', '1', '-W', '2', ip], { nothrow: true });
  return r.exitCode === 0;
}

/**
 * The root namespace's links, minus what Docker makes and removes for containers and networks of tests running at
 * the same time (`veth<7 hex>` pairs, `br-<12 hex>` bridges). This network never adds a link to the root namespace;
 * one of its own (n<i>, vp<hash>, br0, cni0) would still show.
 */
async function rootLinks(): Promise<string> {
  return (await run(['ip', '-o', 'link'])).stdout
    .replace(/^\d+: /gm, '')
    .split('\n')
    .map((l) => l.split(':')[0]!)
    .filter((n) => !/^(veth[0-9a-f]{7}|br-[0-9a-f]{12})(@|$)/.test(n))
    .sort()
    .join(',');
}

const why = await missingFacility();
if (why) {
  t.comment(`skipping network root tests: ${why}`);
  t.skip(`network.root: ${why}`, () => undefined);
} else {
  const id = `nt${process.pid}`;
  const linksBefore = await rootLinks();

  t.test('2 nodes x 2 pods: pod-to-pod and pod-to-node without NAT; destroy removes everything', async (t) => {
    const t0 = performance.now();
    const net = await ClusterNetwork.create(id, ['node-a', 'node-b']);
    const servers: ChildProcess[] = [];
    t.teardown(async () => {
      for (const s of servers) s.kill('SIGKILL');
      await net.destroy();
    });
    t.comment(`network create: ${Math.round(performance.now() - t0)} ms`);
    t.match(net.node('node-a'), { address: '10.242.0.10', podCidr: '10.244.1.0/24', gateway: '10.244.1.1', netns: `dkc-${id}-node-a` });
    t.match(net.node('node-b'), { address: '10.242.0.11', podCidr: '10.244.2.0/24', netns: `dkc-${id}-node-b` });
    t.throws(() => net.node('nope'), /no node "nope"/);

    const a1 = await net.addPod('node-a', 'pod-a1');
    const a2 = await net.addPod('node-a', 'pod-a2');
    const b1 = await net.addPod('node-b', 'pod-b1');
    const b2 = await net.addPod('node-b', 'pod-b2');
    t.same([a1.ip, a2.ip, b1.ip, b2.ip], ['10.244.1.2', '10.244.1.3', '10.244.2.2', '10.244.2.3']);
    t.equal(await net.addPod('node-a', 'pod-a1'), a1, 'addPod is idempotent');
    await t.rejects(net.addPod('node-b', 'pod-a1'), /already on node node-a/);
    t.equal(await rootLinks(), linksBefore, 'nothing added to the root namespace');

    // Interface names inside the namespaces.
    const podLinks = (await run(['ip', '-n', a1.netns, '-o', 'link'])).stdout;
    t.match(podLinks, /: lo: <LOOPBACK,UP/);
    t.match(podLinks, /: eth0@/);
    t.match((await run(['ip', '-n', a1.netns, 'route'])).stdout, /default via 10\.244\.1\.1 dev eth0/);
    t.ok(a1.hostVeth.length <= 15);

    // pod (node A) -> pod (node B): TCP, and the server sees the client pod's own address.
    const sb = await serve(b2.netns, 7070);
    servers.push(sb.child);
    t.match(await tcpProbe(a1.netns, b2.ip, 7070, 3), { success: true });
    t.match(await tcpProbe(b1.netns, b2.ip, 7070, 3), { success: true }, 'same-node pod');
    // pod -> node B's address, source preserved too.
    const sn = await serve(net.node('node-b').netns, 7071);
    servers.push(sn.child);
    t.match(await tcpProbe(a2.netns, net.node('node-b').address, 7071, 3), { success: true });
    t.same(sb.peers, [a1.ip, b1.ip], 'pod server saw the client pod IPs (no NAT)');
    t.same(sn.peers, [a2.ip], 'node server saw the client pod IP (no NAT)');
    t.ok(await ping(a1.netns, b1.ip), 'ping pod across nodes');
    t.ok(await ping(b1.netns, net.node('node-a').address), 'ping other node');
    t.ok(await ping(net.node('node-a').netns, b2.ip), 'node reaches pods on other nodes');
    t.notOk(await ping(a1.netns, '10.244.9.9'), 'no route to addresses outside the cluster');

    // Release and reuse of a pod address.
    await net.removePod('pod-a1');
    await net.removePod('pod-a1');
    t.notOk((await run(['ip', 'netns', 'list'])).stdout.includes(a1.netns), 'pod netns removed');
    t.notOk((await run(['ip', '-n', net.node('node-a').netns, 'link'])).stdout.includes(a1.hostVeth), 'pod veth removed');
    t.equal((await net.addPod('node-a', 'pod-a3')).ip, '10.244.1.2', 'released address reused');

    for (const s of servers) s.kill('SIGKILL');
    await net.destroy();
    t.same(await leftovers(`dkc-${id}-`), [], 'no netns, mount or process left');
    t.equal(await rootLinks(), linksBefore, 'no veth left in the root namespace');
  });

  t.test('sweep removes a crashed cluster by prefix, and only that one', async (t) => {
    const crashed = await ClusterNetwork.create(`${id}x`, ['n1']);
    await crashed.addPod('n1', 'p');
    const other = await ClusterNetwork.create(`${id}y`, ['n1']);
    t.teardown(() => other.destroy());
    const gone = await sweepNetworks(`${id}x`);
    t.same(gone.sort(), [`dkc-${id}x-n1`, `dkc-${id}x-pod-${(await import('./network.js')).podShort('p')}`, `dkc-${id}x-rt`].sort());
    t.same(await leftovers(`dkc-${id}x-`), []);
    t.equal((await leftovers(`dkc-${id}y-`)).filter((l) => l.startsWith('netns')).length, 2, 'the other cluster is untouched');
    await t.rejects(ClusterNetwork.create('Bad-Id', ['n1']), /cluster id/);
    await t.rejects(ClusterNetwork.create(`${id}z`, ['rt']), /node name/);
    await t.rejects(ClusterNetwork.create(`${id}z`, ['a', 'a']), /duplicate/);
  });

  t.test('create fails cleanly when a namespace name is taken', async (t) => {
    await run(['ip', 'netns', 'add', `dkc-${id}w-n2`]);
    t.teardown(() => sweepNetworks(`${id}w`));
    await t.rejects(ClusterNetwork.create(`${id}w`, ['n1', 'n2']), /already exists/);
    t.same((await leftovers(`dkc-${id}w-`)).filter((l) => l.startsWith('netns')).map((l) => l.trim()), [`netns: dkc-${id}w-n2`], 'partial cluster rolled back');
  });
}
