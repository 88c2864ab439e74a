// node-preflight: what Datera's Deployment Checking Tool (DDCT, github.com/Datera/ddct: src/checkers.py,
// src/multipath.py, src/mtu.py, src/plugins/check_k8s_flex.py) checks on each worker before the FlexVolume driver
// is used, plus the kubelet setting Datera's deployment guide requires. One check per DDCT concern, each failure
// names the node, what was found and the fix. Node checks run through the context's node access (the node's own
// network namespace and environment); without node access they are skipped, saying so, while the API check runs.
import type { Test } from 'tap';
import { scenario, type Scenario } from '../../harness/index.js';

type NodeAccess = Scenario['nodes']['nodes'][number];

const NO_NODES = 'no node access in this context (the provider gave none)';
const NO_BACKEND = 'no backend in this context: the management address and data portals are unknown';
const CMAD = 'volumes.kubernetes.io/controller-managed-attach-detach';

// RFC 3720 3.2.6.3: iqn.<yyyy-mm>.<reversed domain>[:<unique>] (lowercase after stringprep), eui.<16 hex>, naa.<16|32 hex>.
const IQN = /^iqn\.\d{4}-(0[1-9]|1[0-2])\.[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[a-z0-9.:-]+)?$/;
const EUI = /^eui\.[0-9A-F]{16}$/;
const NAA = /^naa\.[0-9A-F]{16}([0-9A-F]{16})?$/;

// On a node: connect to $1:$2 within 5 s with the first tool the node has; prints the tool used.
const TCP_CONNECT = `h=$1; p=$2
if command -v bash >/dev/null 2>&1; then echo bash; exec timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$h" "$p"; fi
if command -v nc >/dev/null 2>&1 && nc -h 2>&1 | grep -q -- ' -z'; then echo nc; exec nc -z -w 5 "$h" "$p"; fi
if command -v busybox >/dev/null 2>&1; then echo busybox-nc; exec timeout 5 busybox nc "$h" "$p" </dev/null; fi
echo "no TCP client (bash, nc, busybox) on this node" >&2; exit 127`;

const FIX = {
  iscsiadm: 'install open-iscsi (Debian/Ubuntu: apt-get install open-iscsi; RHEL/CentOS: yum install iscsi-initiator-utils) and start iscsid (systemctl enable --now iscsid)',
  initiator: 'write a fresh name: echo "InitiatorName=$(iscsi-iname)" > /etc/iscsi/initiatorname.iscsi; systemctl restart iscsid',
  unique: 'cloned node images share one name: give each clone its own (echo "InitiatorName=$(iscsi-iname)" > /etc/iscsi/initiatorname.iscsi; systemctl restart iscsid); nodes that share an IQN share every ACL entry on the Datera',
  xfs: 'install xfsprogs (apt-get install xfsprogs / yum install xfsprogs)',
  ext4: 'install e2fsprogs (apt-get install e2fsprogs / yum install e2fsprogs)',
  sg3: 'install sg3_utils (apt-get install sg3-utils / yum install sg3_utils): the udev helper reads the LUN serial with sg_inq',
  udev: "deploy the Datera installer DaemonSet (it writes them), or copy DDCT's assets: 99-iscsi-luns.rules to /etc/udev/rules.d/ and fetch_device_serial_no.sh to /sbin/ (chmod 755), then udevadm control --reload",
  multipath: "install multipath-tools / device-mapper-multipath, copy the multipath.conf for your OS from DDCT's assets (or the Datera deployment guide) to /etc/multipath.conf, and systemctl enable --now multipathd",
  driver: 'deploy the Datera installer DaemonSet (kubectl create -f datera-k8s-installer.yaml: namespace datera, datera-installer-agent) or copy the driver to <plugin dir>/datera~iscsi/iscsi (chmod 755)',
  reach: 'check the routes, VLANs and firewalls between the worker and the Datera access networks (TCP 3260 to each Access VIP, the REST port to the management address)',
  mtu: 'set the interface MTU on the worker to the Datera access network MTU (ip link set dev <dev> mtu <mtu>, and in the distribution network config), end to end through the switches',
  kubelet: 'run the kubelet with --enable-controller-attach-detach=false (KubeletConfiguration enableControllerAttachDetach: false) and restart it: it removes the annotation when it registers',
};

interface Endpoint {
  label: string;
  host: string;
  port: number;
}

const isLoopback = (host: string) => /^127\./.test(host) || host === '::1' || host === 'localhost';

function hostPort(s: string, defPort: number): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(s.trim());
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s.trim());
  if (v6) return { host: v6[1]!, port: v6[2] ? Number(v6[2]) : defPort };
  return { host: m?.[1] ?? s, port: m?.[2] ? Number(m[2]) : defPort };
}

/** One multipath.conf section: `name { key value ... sub { ... } }`. */
interface Section {
  name: string;
  entries: [string, string][];
  sections: Section[];
}

/** multipath.conf as sections (comments dropped, quotes removed): enough for DDCT's checks. */
function parseMultipathConf(text: string): Section[] {
  const root: Section = { name: '', entries: [], sections: [] };
  const stack: Section[] = [root];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/(^|\s)[#!].*$/, '').trim();
    if (!line) continue;
    const open = /^(\S+)\s*\{\s*$/.exec(line);
    if (open) {
      const s: Section = { name: open[1]!, entries: [], sections: [] };
      stack[stack.length - 1]!.sections.push(s);
      stack.push(s);
      continue;
    }
    if (line === '}') {
      if (stack.length > 1) stack.pop();
      continue;
    }
    const kv = /^(\S+)\s+(.*)$/.exec(line);
    if (kv) stack[stack.length - 1]!.entries.push([kv[1]!, kv[2]!.trim().replace(/^"(.*)"$/, '$1')]);
  }
  return root.sections;
}

const entry = (s: Section | undefined, key: string) => s?.entries.find(([k]) => k === key)?.[1];

/** DDCT's Multipath Conf findings for one file; empty when it is as Datera wants it. */
function multipathProblems(text: string): string[] {
  const conf = parseMultipathConf(text);
  const problems: string[] = [];
  const defaults = conf.find((s) => s.name === 'defaults');
  if (!defaults) problems.push('no defaults section');
  else if (!defaults.entries.some(([k]) => k === 'checker_timeout' || k === 'checker_timer')) problems.push("the defaults section has no 'checker_timeout'");
  const devices = conf.find((s) => s.name === 'devices');
  const dat = devices?.sections.find((d) => entry(d, 'vendor') === 'DATERA');
  if (!devices) problems.push('no devices section');
  else if (!dat) problems.push('no device section with vendor "DATERA"');
  else if (entry(dat, 'product') !== 'IBLOCK') problems.push(`the DATERA device's product is ${JSON.stringify(entry(dat, 'product') ?? '')}, not "IBLOCK"`);
  const be = conf.find((s) => s.name === 'blacklist_exceptions');
  const bd = be?.sections.find((d) => entry(d, 'vendor') === 'DATERA.*');
  if (!be) problems.push('no blacklist_exceptions section');
  else if (!bd) problems.push('no blacklist_exceptions device with vendor "DATERA.*"');
  else if (entry(bd, 'product') !== 'IBLOCK.*') problems.push(`the blacklist_exceptions DATERA device's product is ${JSON.stringify(entry(bd, 'product') ?? '')}, not "IBLOCK.*"`);
  return problems;
}

await scenario('node-preflight', async (s) => {
  const nodes = s.nodes.nodes;
  const noNodes = s.nodes.available ? false : NO_NODES;
  const b = s.backend;
  const sh = (n: NodeAccess, script: string, ...args: string[]) => s.nodes.exec(n.name, ['sh', '-c', script, 'sh', ...args], 30_000);
  const out = (r: { exitCode: number; stdout: string; stderr: string }) => `exit ${r.exitCode}${r.stdout.trim() ? `, stdout ${JSON.stringify(r.stdout.trim().slice(-300))}` : ''}${r.stderr.trim() ? `, stderr ${JSON.stringify(r.stderr.trim().slice(-300))}` : ''}`;
  const each = async (t: Test, fn: (n: NodeAccess) => Promise<void>) => {
    t.ok(nodes.length > 0, 'at least one worker to look at');
    for (const n of nodes) await fn(n);
  };

  /** A tool is on the node's PATH and answers its version flag. */
  const tool = async (t: Test, n: NodeAccess, name: string, versionArgs: string[], fix: string) => {
    const where = await sh(n, 'command -v "$1"', name);
    s.evidence(`${n.name}: command -v ${name}: ${out(where)}`);
    if (!t.equal(where.exitCode, 0, `${n.name}: ${name} is on the PATH; fix: ${fix}`)) return;
    const v = await s.nodes.exec(n.name, [name, ...versionArgs]);
    s.evidence(`${n.name}: ${name} ${versionArgs.join(' ')}: ${out(v)}`);
    t.equal(v.exitCode, 0, `${n.name}: ${where.stdout.trim()} ${versionArgs.join(' ')} runs (${(v.stderr || v.stdout).trim().split('\n')[0]}); fix: ${fix}`);
  };

  // Nodes are "real" iSCSI hosts (kernel initiator, devices in /dev managed by udev and dm-multipath) unless the
  // context gives them their own iSCSI root: a userspace initiator whose LUNs are loop devices under that root.
  const kernelNodes = nodes.filter((n) => !n.iscsiRoot || n.iscsiRoot === '/');
  const userspace = nodes.filter((n) => !kernelNodes.includes(n));
  const notKernel = (why: string) =>
    noNodes || (kernelNodes.length ? false : `${userspace.map((n) => n.name).join(', ')} use${userspace.length === 1 ? 's' : ''} a userspace iSCSI initiator whose LUNs are loop devices under ${userspace[0]!.iscsiRoot}/dev: ${why}`);

  await s.check('iscsiadm is installed and answers on every worker', (t) =>
    each(t, async (n) => {
      await tool(t, n, 'iscsiadm', ['--version'], FIX.iscsiadm);
      // 0: sessions listed; 21: none. 20 is "cannot connect to iscsid", 6 a broken node database.
      const r = await s.nodes.exec(n.name, ['iscsiadm', '-m', 'session']);
      s.evidence(`${n.name}: iscsiadm -m session: ${out(r)}`);
      t.ok([0, 21].includes(r.exitCode), `${n.name}: iscsiadm -m session works (exit ${r.exitCode}: ${(r.stderr || r.stdout).trim().split('\n')[0]}); fix: ${FIX.iscsiadm}`);
    }), { skip: noNodes });

  const names = new Map<string, string>();
  await s.check('every worker has an initiator name in IQN/EUI format (/etc/iscsi/initiatorname.iscsi)', (t) =>
    each(t, async (n) => {
      const file = `${n.iscsiRoot.replace(/\/+$/, '')}/etc/iscsi/initiatorname.iscsi`;
      const r = await s.nodes.exec(n.name, ['cat', file]);
      s.evidence(`${n.name}: cat ${file}: ${out(r)}`);
      if (!t.equal(r.exitCode, 0, `${n.name}: ${file} is readable; fix: ${FIX.initiator}`)) return;
      const lines = r.stdout.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
      const defs = lines.filter((l) => /^InitiatorName=/.test(l));
      if (!t.equal(defs.length, 1, `${n.name}: ${file} has exactly one InitiatorName= line (found ${defs.length}); fix: ${FIX.initiator}`)) return;
      const name = defs[0]!.slice('InitiatorName='.length).trim();
      names.set(n.name, name);
      t.ok(IQN.test(name) || EUI.test(name) || NAA.test(name), `${n.name}: initiator name ${JSON.stringify(name)} is an iqn.yyyy-mm.<reversed domain>[:id], eui. or naa. name; fix: ${FIX.initiator}`);
      t.ok(Buffer.byteLength(name) <= 223, `${n.name}: initiator name is at most 223 bytes (RFC 3720)`);
    }), { skip: noNodes });

  await s.check('initiator names are unique across workers', (t) => {
    const by = new Map<string, string[]>();
    for (const [node, name] of names) by.set(name, [...(by.get(name) ?? []), node]);
    s.evidence([...names].map(([n, v]) => `${n}: ${v}`).join('\n'));
    t.equal(names.size, nodes.length, `every worker's name was read (${names.size} of ${nodes.length}; see the check above)`);
    for (const [name, on] of by) t.equal(on.length, 1, `${name} is used by one worker only (used by ${on.join(', ')}); fix: ${FIX.unique}`);
  }, { skip: noNodes || (nodes.length < 2 ? `one worker (${nodes[0]!.name}): nothing to compare` : false) });

  await s.check('mkfs.xfs is installed on every worker (fsType xfs, the driver default)', (t) => each(t, (n) => tool(t, n, 'mkfs.xfs', ['-V'], FIX.xfs)), { skip: noNodes });
  await s.check('mkfs.ext4 is installed on every worker (fsType ext4)', (t) => each(t, (n) => tool(t, n, 'mkfs.ext4', ['-V'], FIX.ext4)), { skip: noNodes });
  // DDCT's flex plugin looks for iscsiadm under this heading (a slip); sg_inq is what the Datera udev helper runs.
  await s.check('sg3_utils is installed on every worker (sg_inq)', (t) => each(t, (n) => tool(t, n, 'sg_inq', ['-V'], FIX.sg3)), { skip: noNodes });

  await s.check('the Datera udev rule and its serial helper are installed', async (t) => {
    for (const n of userspace) t.comment(`${n.name}: not applicable (userspace initiator under ${n.iscsiRoot})`);
    t.ok(kernelNodes.length > 0, 'at least one worker with a kernel initiator to look at');
    for (const n of kernelNodes) {
      const r = await sh(n, 'ls -l /etc/udev/rules.d/99-iscsi-luns.rules /sbin/fetch_device_serial_no.sh; grep -h -v "^#" /etc/udev/rules.d/99-iscsi-luns.rules');
      s.evidence(`${n.name}: ${out(r)}`);
      const rule = await sh(n, 'test -s /etc/udev/rules.d/99-iscsi-luns.rules');
      t.equal(rule.exitCode, 0, `${n.name}: /etc/udev/rules.d/99-iscsi-luns.rules exists and is not empty; fix: ${FIX.udev}`);
      const helper = await sh(n, 'test -x /sbin/fetch_device_serial_no.sh');
      t.equal(helper.exitCode, 0, `${n.name}: /sbin/fetch_device_serial_no.sh exists and is executable; fix: ${FIX.udev}`);
      t.match(r.stdout, /by-uuid/, `${n.name}: the rule makes /dev/disk/by-uuid/<serial> links (the driver finds the LUN there); fix: ${FIX.udev}`);
    }
  }, { skip: notKernel('no udev events, and the initiator makes the /dev/disk/by-uuid/<serial> link the Datera rule would make itself') });

  await s.check('dm-multipath runs with a Datera device section (/etc/multipath.conf)', async (t) => {
    for (const n of userspace) t.comment(`${n.name}: not applicable (userspace initiator under ${n.iscsiRoot})`);
    t.ok(kernelNodes.length > 0, 'at least one worker with a kernel initiator to look at');
    for (const n of kernelNodes) {
      const bin = await sh(n, 'command -v multipath && command -v multipathd');
      t.equal(bin.exitCode, 0, `${n.name}: multipath and multipathd are installed; fix: ${FIX.multipath}`);
      const running = await sh(n, 'pidof multipathd || pgrep -x multipathd');
      t.equal(running.exitCode, 0, `${n.name}: multipathd is running; fix: ${FIX.multipath}`);
      const conf = await s.nodes.exec(n.name, ['cat', '/etc/multipath.conf']);
      s.evidence(`${n.name}: ${out(bin)}; multipathd: ${out(running)}; /etc/multipath.conf: ${out(conf)}`);
      if (!t.equal(conf.exitCode, 0, `${n.name}: /etc/multipath.conf exists; fix: ${FIX.multipath}`)) continue;
      t.same(multipathProblems(conf.stdout), [], `${n.name}: /etc/multipath.conf has DDCT's Datera settings; fix: ${FIX.multipath}`);
    }
  }, { skip: notKernel('loop devices are not SCSI paths dm-multipath could claim (the initiator opens one session per portal, as the driver asks)') });

  await s.check('the datera/iscsi driver is installed on every worker (what the installer agents do)', (t) =>
    each(t, async (n) => {
      const exe = `${n.pluginDir.replace(/\/+$/, '')}/${s.ctx.driver.replace('/', '~')}/${s.ctx.driver.split('/')[1]}`;
      const r = await s.nodes.exec(n.name, ['test', '-x', exe]);
      t.equal(r.exitCode, 0, `${n.name}: ${exe} exists and is executable; fix: ${FIX.driver}`);
    }), { skip: noNodes });

  // Reachability and MTU. A loopback address names whatever network namespace the command runs in: from a node in
  // its own namespace it is the node's loopback, not the address the driver uses, so such a node cannot be judged.
  const harnessNet = `/proc/${process.pid}/ns/net`;
  const netnsOf = new Map<string, boolean>();
  const sharesHarnessNet = async (n: NodeAccess) => {
    if (!netnsOf.has(n.name)) {
      const r = await sh(n, 'a=$(readlink /proc/self/ns/net) && b=$(readlink "$1") && test "$a" = "$b"', harnessNet);
      netnsOf.set(n.name, r.exitCode === 0);
    }
    return netnsOf.get(n.name)!;
  };
  const judgeable = async (ep: Endpoint) => {
    const yes: NodeAccess[] = [];
    const no: NodeAccess[] = [];
    for (const n of nodes) (!isLoopback(ep.host) || (await sharesHarnessNet(n)) ? yes : no).push(n);
    return { yes, no };
  };
  const cannotJudge = (ep: Endpoint, no: NodeAccess[]) =>
    `${ep.label} ${ep.host}:${ep.port} is a loopback address and ${no.map((n) => n.name).join(', ')} run${no.length === 1 ? 's' : ''} in ${no.length === 1 ? 'its' : 'their'} own network namespace (not the harness's), where that address is the node's own loopback: a connect from there says nothing about what the driver reaches`;

  const endpoints: (Endpoint | undefined)[] = [];
  if (b) {
    const u = new URL(b.access.url);
    endpoints.push({ label: 'the management address', host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)) });
    for (const i of [0, 1]) {
      const p = b.access.portals[i];
      endpoints.push(p ? { label: `data portal ${i + 1} (Access VIP ${i + 1})`, ...hostPort(p, 3260) } : undefined);
    }
  }
  const applicable = new Map<Endpoint, NodeAccess[]>();
  const skipFor = async (ep: Endpoint | undefined, i: number): Promise<string | false> => {
    if (noNodes) return noNodes;
    if (!b) return NO_BACKEND;
    if (!ep) return `the backend lists ${b.access.portals.length} data portal${b.access.portals.length === 1 ? '' : 's'}${i === 2 ? ' (a one-network system; DDCT warns and skips VIP2 too)' : ''}`;
    const { yes, no } = await judgeable(ep);
    applicable.set(ep, yes);
    return yes.length ? false : cannotJudge(ep, no);
  };

  for (const [i, name] of ['every worker reaches the management address (TCP)', 'every worker reaches data portal 1 (Access VIP 1, TCP 3260)', 'every worker reaches data portal 2 (Access VIP 2, TCP 3260)'].entries()) {
    const ep = endpoints[i];
    const skip = await skipFor(ep, i);
    await s.check(name, async (t) => {
      const yes = applicable.get(ep!)!;
      for (const n of nodes.filter((x) => !yes.includes(x))) t.comment(`${n.name}: not judged: ${cannotJudge(ep!, [n])}`);
      for (const n of yes) {
        const r = await sh(n, TCP_CONNECT, ep!.host, String(ep!.port));
        s.evidence(`${n.name} -> ${ep!.host}:${ep!.port}: ${out(r)}`);
        t.not(r.exitCode, 127, `${n.name}: has a TCP client (bash, nc or busybox)`);
        t.equal(r.exitCode, 0, `${n.name}: TCP connect to ${ep!.label} ${ep!.host}:${ep!.port} (with ${r.stdout.trim() || 'no tool'}: ${r.stderr.trim().split('\n').pop() ?? ''}); fix: ${FIX.reach}`);
      }
    }, { skip });
  }

  // MTU: the interface the node routes each portal through has the access network's MTU (DDCT: local interface MTU
  // equals the cluster's access_vip MTU), and a full-size packet with DF set gets through.
  const portals = endpoints.slice(1).filter((e): e is Endpoint => !!e);
  let mtuSkip: string | false = noNodes || (!b ? NO_BACKEND : false) || (portals.length ? false : 'the backend lists no data portals');
  if (!mtuSkip) {
    const skips = await Promise.all(portals.map((p, i) => skipFor(p, i + 1)));
    if (skips.every(Boolean)) mtuSkip = `no worker can be judged: ${portals.map((p) => `${p.host}`).join(' and ')} ${portals.length > 1 ? 'are loopback addresses' : 'is a loopback address'} and the workers run in their own network namespaces`;
  }
  const pathMtu = new Map<string, number>();
  await s.check('the interface towards each data portal has the access network MTU (ip route get)', async (t) => {
    const paths = await b!.accessNetwork();
    s.evidence(`backend access networks: ${JSON.stringify(paths)}`);
    for (const p of portals) {
      // By address, else by position as DDCT reads them (network_paths[0] is Access VIP 1).
      const want = (paths.find((x) => x.ip === p.host) ?? paths[portals.indexOf(p)])?.mtu ?? 0;
      t.ok(want > 0, `the backend reports the MTU of the access network of ${p.label} ${p.host} (GET /system/network/access_vip)`);
      for (const n of applicable.get(p) ?? []) {
        const route = await s.nodes.exec(n.name, ['ip', 'route', 'get', p.host]);
        const dev = /\bdev\s+(\S+)/.exec(route.stdout)?.[1];
        const routeMtu = /\bmtu\s+(?:lock\s+)?(\d+)/.exec(route.stdout)?.[1];
        const link = dev ? await s.nodes.exec(n.name, ['ip', '-o', 'link', 'show', 'dev', dev]) : undefined;
        const linkMtu = /\bmtu\s+(\d+)/.exec(link?.stdout ?? '')?.[1];
        const mtu = Number(routeMtu ?? linkMtu ?? 0);
        s.evidence(`${n.name}: ip route get ${p.host}: ${out(route)}; ${dev ? `ip link ${dev}: ${out(link!)}` : 'no device'}`);
        if (!t.ok(dev, `${n.name}: has a route to ${p.label} ${p.host}; fix: ${FIX.reach}`)) continue;
        pathMtu.set(`${n.name} ${p.host}`, mtu);
        if (want) t.equal(mtu, want, `${n.name}: ${dev}${routeMtu ? ' (route mtu)' : ''} MTU towards ${p.label} ${p.host} equals the access network MTU; fix: ${FIX.mtu}`);
      }
    }
  }, { skip: mtuSkip });

  // DF ping of the path MTU: only with iputils ping (busybox ping has no -M); DDCT pings 32000 bytes with
  // fragmentation allowed, which proves less.
  const pingers: NodeAccess[] = [];
  if (!mtuSkip) for (const n of nodes) if ((await sh(n, 'ping -V 2>&1 | grep -q iputils')).exitCode === 0) pingers.push(n);
  const pingSkip = mtuSkip || (pathMtu.size === 0 ? 'no path MTU was measured (see the MTU check)' : false) || (pingers.length ? false : 'no worker has an iputils ping (needed for -M do; busybox ping cannot set DF)');
  await s.check('a full-size packet with DF set reaches each data portal (ping -M do)', async (t) => {
    for (const n of nodes.filter((x) => !pingers.includes(x))) t.comment(`${n.name}: not judged: no iputils ping`);
    let judged = 0;
    for (const p of portals) {
      for (const n of pingers) {
        const mtu = pathMtu.get(`${n.name} ${p.host}`);
        if (!mtu) continue;
        judged++;
        const size = mtu - (p.host.includes(':') ? 48 : 28);
        const r = await s.nodes.exec(n.name, ['ping', '-M', 'do', '-s', String(size), '-c', '2', '-W', '2', p.host], 30_000);
        s.evidence(`${n.name}: ping -M do -s ${size} ${p.host}: ${out(r)}`);
        t.equal(r.exitCode, 0, `${n.name}: ${size}-byte ICMP payload (MTU ${mtu}) with DF set reaches ${p.label} ${p.host}; fix: ${FIX.mtu}`);
      }
    }
    t.ok(judged > 0, 'at least one worker and portal pair was pinged');
  }, { skip: pingSkip });

  // The API view: the attach/detach controller manages a node whenever this annotation EXISTS (any value:
  // addNodeToDswp tests presence only); a kubelet started with --enable-controller-attach-detach=false never sets
  // it and removes it when it registers (reconcileCMADAnnotationWithExistingNode). So only "absent" is right.
  await s.check('kubelets attach and detach themselves (no controller-managed-attach-detach annotation)', async (t) => {
    const workers = await s.kube.workerNodes();
    t.ok(workers.length > 0, 'at least one schedulable worker');
    for (const w of workers) {
      const node = await s.kube.core.readNode({ name: w });
      const v = node.metadata?.annotations?.[CMAD];
      s.evidence(`${w}: ${CMAD}=${v === undefined ? '(absent)' : JSON.stringify(v)}`);
      t.equal(v, undefined, `${w}: no ${CMAD} annotation (found ${JSON.stringify(v)}: the attach/detach controller then calls the driver's attach without the PV options Datera needs); fix: ${FIX.kubelet}`);
    }
  });
});
