// network: the Kubernetes network model the Datera deployment relies on (seed documents 003/004: all pods reach
// one another, and nodes and pods reach each other, WITHOUT NAT). One busybox pod on each of two workers serves
// a CGI page that answers with the address it saw the request come from, so the receiving side records the peer
// and the check compares it with the sender's own address: a NATing network shows the node's address instead.
import type * as k8s from '@kubernetes/client-node';
import { scenario } from '../../harness/index.js';

const PORT = 8080;
const PEER_PATH = '/cgi-bin/peer';

// The pod's server: busybox httpd with a CGI script printing REMOTE_ADDR (the peer as the pod's kernel saw it).
const SERVER = [
  'mkdir -p /www/cgi-bin',
  `printf '#!/bin/sh\\necho "Content-Type: text/plain"\\necho\\necho "$REMOTE_ADDR"\\n' > /www${PEER_PATH}`,
  `chmod 755 /www${PEER_PATH}`,
  `exec httpd -f -vv -p ${PORT} -h /www`,
].join(' && ');

// In a pod: fetch the peer page (timeout rather than wget -T, which crashes some busybox builds) from $1 (retrying while the other pod's server starts); prints what it saw.
const POD_FETCH = `for i in 1 2 3 4 5 6 7 8 9 10; do timeout 5 wget -qO- "http://$1:${PORT}${PEER_PATH}" && exit 0; sleep 1; done; exit 1`;

// In a pod: send a token to a node's one-shot listener at $1:$2, retrying while the listener starts.
const POD_SEND = 'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do echo "$3" | nc -w 3 "$1" "$2" && exit 0; sleep 1; done; exit 1';

// On a node: an HTTP GET of http://$1:$2$3 with whatever client the node has.
const NODE_FETCH = `ip=$1; port=$2; path=$3
if command -v curl >/dev/null 2>&1; then exec curl -sS --max-time 5 "http://$ip:$port$path"; fi
if command -v wget >/dev/null 2>&1; then exec timeout 5 wget -qO- "http://$ip:$port$path"; fi
if command -v busybox >/dev/null 2>&1; then exec timeout 5 busybox wget -qO- "http://$ip:$port$path"; fi
if command -v bash >/dev/null 2>&1; then exec timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "GET %s HTTP/1.0\\r\\n\\r\\n" "$2" >&3 && sed "1,/^\\r\\{0,1\\}$/d" <&3' "$ip" "$port" "$path"; fi
echo "no HTTP client (curl, wget, busybox, bash) on this node" >&2; exit 127`;

// On a node: accept one TCP connection on port $1 within $2 seconds and print what it sent. nc's stdin is a FIFO
// nobody writes to (opened read-write, so it never ends): with an empty stdin nc half-closes the connection at
// once, and a client that sees that FIN may exit before it has sent anything.
const NODE_LISTEN = `port=$1; secs=$2
d=$(mktemp -d) && mkfifo "$d/in" && exec 3<>"$d/in" && rm -rf "$d" || exit 1
if command -v busybox >/dev/null 2>&1; then exec timeout "$secs" busybox nc -l -p "$port" <&3; fi
if command -v socat >/dev/null 2>&1; then exec timeout "$secs" socat -u "TCP-LISTEN:$port,reuseaddr" -; fi
if command -v python3 >/dev/null 2>&1; then exec timeout "$secs" python3 -c 'import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("", int(sys.argv[1]))); s.listen(1)
c, a = s.accept(); print(c.recv(256).decode(errors="replace").strip())' "$port"; fi
if command -v nc >/dev/null 2>&1; then exec timeout "$secs" nc -l -p "$port" <&3; fi
echo "no TCP listener (busybox, socat, python3, nc) on this node" >&2; exit 127`;

interface Peer {
  pod: string;
  node: string;
  ip: string;
  nodeIP: string;
}

/** busybox httpd reports peers as `[::ffff:a.b.c.d]` on a dual-stack socket, `a.b.c.d` otherwise. */
const plainIp = (s: string) => s.trim().replace(/^\[(.*)\]$/, '$1').replace(/^::ffff:(?=\d+\.)/i, '');

const internalIP = (n: k8s.V1Node | undefined) => n?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '';

await scenario('network', async (s) => {
  const workers = await s.kube.workerNodes();
  const nodeObjs = new Map((await s.kube.core.listNode()).items.map((n) => [n.metadata!.name!, n]));
  const pair = workers.slice(0, 2);
  const noPair = pair.length < 2 ? `needs two schedulable workers, the cluster has ${workers.length} (${workers.join(', ') || 'none'})` : false;
  const noNodes = s.nodes.available ? false : 'no node access in this context (the provider gave none)';
  const missingAccess = pair.filter((n) => !s.nodes.nodes.some((a) => a.name === n));
  const noPairAccess = noPair || noNodes || (missingAccess.length ? `no node access to ${missingAccess.join(', ')}` : false);

  const peers: Peer[] = [];
  if (!noPair) {
    for (const [i, node] of pair.entries()) {
      await s.create({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `peer-${i}`, labels: { app: 'dkc-network' } },
        spec: {
          nodeName: node,
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'c', image: s.images.busybox, command: ['sh', '-c', SERVER], ports: [{ containerPort: PORT }], volumeMounts: [{ name: 'www', mountPath: '/www' }] }],
          volumes: [{ name: 'www', emptyDir: {} }],
        },
      });
    }
  }

  await s.check(
    'a pod runs on each of two workers with its own pod IP',
    async (t) => {
      for (const [i, node] of pair.entries()) {
        const p = await s.kube.waitPodReady(s.ns, `peer-${i}`, 120_000);
        const ip = p.status?.podIP ?? '';
        const nodeIP = internalIP(nodeObjs.get(node));
        t.equal(p.spec?.nodeName, node, `peer-${i} runs on ${node}`);
        t.ok(ip, `peer-${i} has a pod IP`);
        t.not(ip, nodeIP, `peer-${i}'s IP ${ip} is not its node's InternalIP (a pod network, not the host's)`);
        peers.push({ pod: `peer-${i}`, node, ip, nodeIP });
      }
      t.not(peers[0]?.ip, peers[1]?.ip, 'the two pods have different IPs');
    },
    { skip: noPair },
  );

  const ready = peers.length === 2;
  const notReady = noPair || (ready ? false : 'the two pods did not start (see the check above)');

  await s.check(
    'pods on different workers reach each other and see the sender\'s pod IP (no NAT)',
    async (t) => {
      for (const [from, to] of [
        [peers[1]!, peers[0]!],
        [peers[0]!, peers[1]!],
      ] as const) {
        const r = await s.kube.exec(s.ns, from.pod, 'c', ['sh', '-c', POD_FETCH, 'sh', to.ip]);
        s.evidence(`${from.pod} (${from.ip} on ${from.node}) -> ${to.pod} (${to.ip} on ${to.node}): exit ${r.exitCode}, answer ${JSON.stringify(r.stdout.trim())}, stderr ${JSON.stringify(r.stderr.trim().slice(-300))}`);
        t.equal(r.exitCode, 0, `${from.pod} on ${from.node} connects to ${to.pod} at ${to.ip}:${PORT} on ${to.node}`);
        if (r.exitCode !== 0) continue;
        const seen = plainIp(r.stdout);
        t.equal(seen, from.ip, `${to.pod} saw the connection come from ${from.pod}'s pod IP ${from.ip}${seen === from.nodeIP ? ` (it saw ${from.node}'s InternalIP: the network NATs pod traffic)` : ''}`);
      }
    },
    { skip: notReady },
  );

  await s.check(
    'a pod reaches the other worker\'s InternalIP',
    async (t) => {
      for (const [from, to] of [
        [peers[0]!, peers[1]!],
        [peers[1]!, peers[0]!],
      ] as const) {
        t.ok(to.nodeIP, `${to.node} has an InternalIP`);
        const port = 20000 + Math.floor(Math.random() * 20000);
        const token = `dkc-${s.ns}-${from.pod}`;
        // A one-shot listener on the node itself (in its network namespace), so nothing but the node answers.
        const listener = s.nodes.exec(to.node, ['sh', '-c', NODE_LISTEN, 'sh', String(port), '40'], 60_000);
        const sent = await s.kube.exec(s.ns, from.pod, 'c', ['sh', '-c', POD_SEND, 'sh', to.nodeIP, String(port), token]);
        const heard = await listener;
        s.evidence(`${from.pod} -> ${to.node} ${to.nodeIP}:${port}: pod exit ${sent.exitCode} ${sent.stderr.trim().slice(-200)}; node listener exit ${heard.exitCode}, heard ${JSON.stringify(heard.stdout.trim())}, stderr ${JSON.stringify(heard.stderr.trim().slice(-200))}`);
        t.not(heard.exitCode, 127, `${to.node} has a tool to listen with (${heard.stderr.trim()})`);
        t.equal(sent.exitCode, 0, `${from.pod} on ${from.node} connects to ${to.node}'s InternalIP ${to.nodeIP}:${port}`);
        t.match(heard.stdout, token, `the listener on ${to.node} received ${from.pod}'s message`);
      }
    },
    { skip: notReady || noPairAccess },
  );

  await s.check(
    'every worker reaches both pods and is seen with one of its own addresses (no NAT)',
    async (t) => {
      for (const node of pair) {
        const addrs = await s.nodes.exec(node, ['ip', '-o', 'addr', 'show']);
        const own = [...addrs.stdout.matchAll(/\binet6?\s+([0-9a-f.:]+)\//gi)].map((m) => m[1]!);
        t.ok(own.length, `${node}: 'ip -o addr show' lists the node's addresses`);
        for (const to of peers) {
          const r = await s.nodes.exec(node, ['sh', '-c', NODE_FETCH, 'sh', to.ip, String(PORT), PEER_PATH], 30_000);
          s.evidence(`${node} (${own.join(' ')}) -> ${to.pod} ${to.ip}:${PORT}: exit ${r.exitCode}, answer ${JSON.stringify(r.stdout.trim())}, stderr ${JSON.stringify(r.stderr.trim().slice(-300))}`);
          t.equal(r.exitCode, 0, `${node} connects to ${to.pod} at ${to.ip}:${PORT} (on ${to.node})`);
          if (r.exitCode !== 0) continue;
          const seen = plainIp(r.stdout);
          t.ok(own.includes(seen), `${to.pod} saw ${node}'s connection come from ${seen}, one of ${node}'s own addresses (${own.join(', ')})`);
        }
      }
    },
    { skip: notReady || noPairAccess },
  );
});
