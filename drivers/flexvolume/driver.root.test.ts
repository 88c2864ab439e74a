// The datera/iscsi FlexVolume driver end to end as root: the mock Datera API with real tgt targets, the userspace
// iscsiadm (drivers/iscsiadm/bin, FUSE + loop devices) on PATH, real mkfs and mounts. Two "nodes" are two sets of
// roots (iSCSI root with its own initiator name, kubelet root, driver state dir) on this machine.
import t, { type Test } from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run, which } from '../../lib/exec.js';
import { MockDatera, type StartedMockDatera } from '../../mocks/datera/mock-datera.js';
import { DateraClient } from '../datera/client.js';
import { callout, type DriverStatus, type Env } from './driver.js';

// DKC_TEST_ISCSIADM_BIN points at another iscsiadm (a real open-iscsi, or a stand-in while developing).
const ISCSIADM_BIN = resolve(process.env.DKC_TEST_ISCSIADM_BIN ?? 'drivers/iscsiadm/bin');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const J = (o: Record<string, string>) => JSON.stringify(o);

async function skipReason(): Promise<string | false> {
  if (process.getuid?.() !== 0) return 'needs root (tgtd targets, loop devices, mounts)';
  if (!existsSync(join(ISCSIADM_BIN, 'iscsiadm'))) return `no userspace iscsiadm at ${ISCSIADM_BIN}/iscsiadm (drivers/iscsiadm not built yet?)`;
  for (const tool of ['tgtd', 'mkfs.xfs', 'mkfs.ext4', 'blkid', 'findmnt', 'losetup'])
    if (!(await which(tool))) return `${tool} is not installed (run: npm run setup)`;
  return false;
}

const top = mkdtempSync(join(tmpdir(), 'dkc-flex-root-'));
let mock: StartedMockDatera | undefined;
let client: DateraClient | undefined;

function node(name: string, iqn: string, extra: Env = {}) {
  const root = join(top, name);
  mkdirSync(join(root, 'iscsi/etc/iscsi'), { recursive: true });
  writeFileSync(join(root, 'iscsi/etc/iscsi/initiatorname.iscsi'), `InitiatorName=${iqn}\n`);
  const env: Env = {
    ...process.env,
    PATH: `${ISCSIADM_BIN}:${process.env.PATH}`,
    DKC_ISCSI_ROOT: join(root, 'iscsi'),
    DKC_KUBELET_ROOT: join(root, 'kubelet'),
    DATERA_FLEX_STATE_DIR: join(root, 'state'),
    DATERA_FLEX_LOG: join(root, 'flex.log'),
    DATERA_FLEX_DEVICE_TIMEOUT: '60',
    NODE_NAME: name,
    ...extra,
  };
  const globalDir = (pv: string) => join(root, 'kubelet/plugins/kubernetes.io/flexvolume/datera/iscsi/mounts', pv);
  const podDir = (pod: string, vol: string) => join(root, 'kubelet/pods', pod, 'volumes/datera~iscsi', vol);
  return { name, iqn, root, env, globalDir, podDir };
}
type Node = ReturnType<typeof node>;

/** Run a call-out twice (kubelet retries; every call-out must be idempotent) and answer the first result. */
let firstCallsMs = 0;
async function twice(tt: Tap, n: Node, argv: string[]): Promise<DriverStatus> {
  const t0 = performance.now();
  const a = await callout(argv, n.env);
  firstCallsMs += performance.now() - t0;
  tt.equal(a.status, 'Success', `${n.name}: ${argv[0]} ${argv[0] === 'attach' ? '' : (argv[1] ?? '').replace(top, '')} -> ${a.status}${a.message ? ` (${a.message})` : ''}`);
  const b = await callout(argv, n.env);
  tt.equal(b.status, 'Success', `${n.name}: ${argv[0]} again -> ${b.status}${b.message ? ` (${b.message})` : ''}`);
  if (a.device !== undefined) tt.equal(b.device, a.device, 'same device the second time');
  return a;
}
type Tap = Test;

async function mountOf(dir: string): Promise<{ fstype: string; options: string; source: string } | undefined> {
  const r = await run(['findmnt', '-n', '-J', '-o', 'SOURCE,FSTYPE,OPTIONS', '--mountpoint', dir], { nothrow: true });
  return r.exitCode === 0 ? (JSON.parse(r.stdout) as { filesystems: { fstype: string; options: string; source: string }[] }).filesystems[0] : undefined;
}

async function mountsUnder(dir: string): Promise<string[]> {
  const r = await run(['findmnt', '-rn', '-o', 'TARGET'], { nothrow: true });
  return r.stdout.split('\n').filter((m) => m.startsWith(dir)).sort().reverse();
}

async function loopsUnder(dir: string): Promise<string[]> {
  const r = await run(['losetup', '-l', '-n', '-O', 'NAME,BACK-FILE'], { nothrow: true });
  return r.stdout.split('\n').filter((l) => l.includes(dir));
}

const aiOf = async (name: string) => (await client!.find<any>(`/app_instances/${name}`)) as any;
const aclOf = async (name: string): Promise<string[]> => ((await aiOf(name))?.storage_instances[0].acl_policy.initiators ?? []).map((r: any) => r.path);

t.test('datera/iscsi FlexVolume driver on real iSCSI and mounts (root)', async (t) => {
  const skip = await skipReason();
  if (skip) {
    t.comment(`skipped: ${skip}`);
    t.skip(`driver.root: ${skip}`, () => undefined);
    return;
  }
  t.comment(`iscsiadm from ${ISCSIADM_BIN}`);
  mock = await new MockDatera({ httpPort: 0, httpsPort: null, targets: 'process', users: { admin: 'pw' } }).start();
  client = new DateraClient({ server: mock.server, user: 'admin', password: 'pw' });
  const credsFile = join(top, 'node-creds.json');
  writeFileSync(credsFile, J({ server: mock.server, user: 'admin', password: 'pw' }), { mode: 0o600 });
  const a = node('node-a', 'iqn.1993-08.org.debian:01:flex-node-a', { DATERA_CREDENTIALS_FILE: credsFile });
  const b = node('node-b', 'iqn.1993-08.org.debian:01:flex-node-b', { DATERA_CREDENTIALS_FILE: credsFile });
  const c = node('node-c', 'iqn.1993-08.org.debian:01:flex-node-c');
  const secret = { 'kubernetes.io/secret/username': b64('admin'), 'kubernetes.io/secret/password': b64('pw'), 'kubernetes.io/secret/server': b64(mock.server) };
  const timings: string[] = [];

  /** The 1.6+ kubelet sequence (controller attach/detach off): attach -> waitforattach -> mountdevice -> mount. */
  async function setUp(tt: Tap, n: Node, pv: string, opts: Record<string, string>, pod: string) {
    const json = J({ 'kubernetes.io/pvOrVolumeName': pv, 'kubernetes.io/readwrite': 'rw', 'kubernetes.io/fsType': '', ...opts });
    const t0 = performance.now();
    firstCallsMs = 0;
    const att = await twice(tt, n, ['attach', json, n.name]);
    tt.match(att.device, /^\/dev\/loop\d+$/, `attach answers the device (${att.device})`);
    const w = await twice(tt, n, ['waitforattach', att.device!, json]);
    tt.equal(w.device, att.device);
    const g = n.globalDir(pv);
    mkdirSync(g, { recursive: true, mode: 0o750 });
    await twice(tt, n, ['mountdevice', g, att.device!, json]);
    const p = n.podDir(pod, pv);
    mkdirSync(p, { recursive: true, mode: 0o750 });
    await twice(tt, n, ['mount', p, J({ ...JSON.parse(json), ...secret, 'kubernetes.io/pod.name': pod, 'kubernetes.io/pod.namespace': 'default', 'kubernetes.io/pod.uid': pod })]);
    timings.push(`${n.name} ${pv}: attach to mounted ${Math.round(firstCallsMs)} ms (first calls; ${Math.round(performance.now() - t0)} ms with every call-out run twice)`);
    return { json, device: att.device!, global: g, pod: p };
  }

  async function tearDown(tt: Tap, n: Node, pv: string, v: { global: string; pod: string }) {
    await twice(tt, n, ['unmount', v.pod]);
    tt.equal(await mountOf(v.pod), undefined, 'pod dir unmounted');
    await twice(tt, n, ['unmountdevice', v.global]);
    tt.equal(await mountOf(v.global), undefined, 'global dir unmounted');
    await twice(tt, n, ['detach', pv, n.name]);
  }

  await t.test('xfs volume: full sequence on node A, then node B reads the data back', async (t) => {
    const opts = { volumeID: 'flex-xfs', size: '1', replica: '1' };
    const v = await setUp(t, a, 'pv-xfs', opts, 'pod-a1');
    t.match(await mountOf(v.global), { fstype: 'xfs', options: /(^|,)rw(,|$)/ }, 'xfs (the default) mounted rw at the global dir');
    t.ok(await mountOf(v.pod), 'pod dir is a mount');
    writeFileSync(join(v.pod, 'hello.txt'), 'written on node-a\n');
    const blkA = (await run(['blkid', '-p', '-o', 'export', v.device])).stdout;
    const uuidA = /^UUID=(.*)$/m.exec(blkA)?.[1];
    t.ok(uuidA, `filesystem uuid ${uuidA}`);
    t.same(await aclOf('flex-xfs'), [`/initiators/${a.iqn}`], 'node A in the ACL');
    const st = JSON.parse(readFileSync(join(a.env.DATERA_FLEX_STATE_DIR!, 'volumes/pv-xfs.json'), 'utf8'));
    t.equal(st.iqn, (await aiOf('flex-xfs')).storage_instances[0].access.iqn, 'state records the target');
    await tearDown(t, a, 'pv-xfs', v);
    t.same(await aclOf('flex-xfs'), [], 'node A left the ACL');
    t.ok(await aiOf('flex-xfs'), 'retainPolicy retain (default): the Datera volume stays');
    const snap = await mock!.snapshot();
    t.same(snap.targets.flatMap((x) => x.sessions), [], 'no iSCSI sessions after teardown');

    const vb = await setUp(t, b, 'pv-xfs', opts, 'pod-b1');
    t.equal(readFileSync(join(vb.pod, 'hello.txt'), 'utf8'), 'written on node-a\n', 'node B reads what node A wrote');
    const uuidB = /^UUID=(.*)$/m.exec((await run(['blkid', '-p', '-o', 'export', vb.device])).stdout)?.[1];
    t.equal(uuidB, uuidA, 'same filesystem (not reformatted)');
    t.same(await aclOf('flex-xfs'), [`/initiators/${b.iqn}`]);
    t.match(await callout(['isattached', vb.json, 'node-b'], b.env), { status: 'Success', attached: true });
    t.match(await callout(['isattached', 'node-a', vb.json], b.env), { status: 'Success', attached: false }, '1.6 argument order');
    await tearDown(t, b, 'pv-xfs', vb);
    t.same(await aclOf('flex-xfs'), []);
  });

  await t.test('read-only: kubernetes.io/readwrite=ro gives a read-only mount', async (t) => {
    const v = await setUp(t, a, 'pv-xfs', { volumeID: 'flex-xfs', 'kubernetes.io/readwrite': 'ro' }, 'pod-ro');
    t.match(await mountOf(v.global), { options: /(^|,)ro(,|$)/ }, 'global mount ro');
    t.match(await mountOf(v.pod), { options: /(^|,)ro(,|$)/ }, 'pod mount ro');
    t.equal(readFileSync(join(v.pod, 'hello.txt'), 'utf8'), 'written on node-a\n', 'data readable');
    t.throws(() => writeFileSync(join(v.pod, 'nope.txt'), 'x'), { code: 'EROFS' }, 'writes refused');
    await tearDown(t, a, 'pv-xfs', v);
  });

  await t.test('ext4 via the secret only (attach deferred to mount), retainPolicy never deletes on detach', async (t) => {
    const pv = 'pv-ext4';
    const json = J({ 'kubernetes.io/pvOrVolumeName': pv, 'kubernetes.io/fsType': 'ext4', 'kubernetes.io/readwrite': 'rw', size: '1', replica: '1', retainPolicy: 'never' });
    const t0 = performance.now();
    firstCallsMs = 0;
    t.match(await twice(t, c, ['attach', json, c.name]), { device: '', message: /deferred/ }, 'no credentials on the node: deferred');
    await twice(t, c, ['waitforattach', '', json]);
    const g = c.globalDir(pv);
    mkdirSync(g, { recursive: true });
    await twice(t, c, ['mountdevice', g, '', json]);
    t.equal(await mountOf(g), undefined, 'nothing at the global dir');
    const p = c.podDir('pod-c1', pv);
    mkdirSync(p, { recursive: true });
    await twice(t, c, ['mount', p, J({ ...JSON.parse(json), ...secret })]);
    timings.push(`node-c ${pv} (deferred): attach to mounted ${Math.round(firstCallsMs)} ms (first calls; ${Math.round(performance.now() - t0)} ms with every call-out run twice)`);
    t.match(await mountOf(p), { fstype: 'ext4', options: /(^|,)rw(,|$)/ }, 'ext4 honoured');
    writeFileSync(join(p, 'x'), 'y');
    t.same(await aclOf('k8s-pv-ext4'), [`/initiators/${c.iqn}`], 'AI named after the PV');
    await twice(t, c, ['unmount', p]);
    t.same(await mountsUnder(c.root), [], 'last pod out: staging mount gone too');
    t.same(await aclOf('k8s-pv-ext4'), [], 'and the node left the ACL');
    await twice(t, c, ['unmountdevice', g]);
    await twice(t, c, ['detach', pv, c.name]);
    t.equal(await aiOf('k8s-pv-ext4'), undefined, 'retainPolicy never: Datera volume deleted');
  });

  await t.test('1.5-era shapes: attach <json>, mount <dir> <device> <json> (raw secrets), unmount, detach <device>', async (t) => {
    const json = J({ volumeID: 'flex-xfs', 'kubernetes.io/fsType': 'xfs', 'kubernetes.io/readwrite': 'rw', backstoreServer: mock!.server, serverUser: 'admin', serverPasswd: 'pw' });
    const att = await twice(t, c, ['attach', json]);
    const p = c.podDir('pod-15', 'flex-xfs');
    mkdirSync(p, { recursive: true });
    await twice(t, c, ['mount', p, att.device!, J({ ...JSON.parse(json), 'kubernetes.io/secret/username': 'admin', 'kubernetes.io/secret/password': 'pw', 'kubernetes.io/secret/server': mock!.server })]);
    t.equal(readFileSync(join(p, 'hello.txt'), 'utf8'), 'written on node-a\n', 'same data through the 1.5 path');
    const src = (await mountOf(p))!.source.replace(/\[.*\]$/, '');
    await twice(t, c, ['unmount', p]);
    await twice(t, c, ['detach', src]);
    t.same(await aclOf('flex-xfs'), []);
    t.ok(await aiOf('flex-xfs'), 'retained');
  });

  await t.test('bad credentials are a Failure that names them', async (t) => {
    const r = await callout(['attach', J({ volumeID: 'flex-bad', size: '1', backstoreServer: mock!.server, serverUser: 'admin', serverPasswd: 'not-the-password' }), 'node-a'], a.env);
    t.match(r, { status: 'Failure', message: new RegExp(`refused the credentials for user admin at server ${mock!.server}`) });
    t.notMatch(r.message, /not-the-password/);
  });

  await t.test('nothing left behind', async (t) => {
    const snap = await mock!.snapshot();
    t.same(snap.targets.flatMap((x) => x.sessions), [], 'no iSCSI sessions in the mock');
    t.same(snap.targets.flatMap((x) => x.acl), [], 'no node in any target ACL');
    const ais = Object.values(snap.state.tenants).flatMap((x) => Object.values(x.app_instances));
    t.same(ais.flatMap((ai) => ai.storage_instances.flatMap((si) => si.acl_initiators)), [], 'no initiator in any acl_policy');
    t.same(await mountsUnder(top), [], 'no mounts under the test dirs');
    t.same(await loopsUnder(top), [], 'no loop devices from us');
    if (client) await client.put('/logout', {});
    client = undefined;
    t.equal(mock!.activeSessions, 0, 'no API sessions left open');
    for (const line of timings) t.comment(line);
    for (const n of [a, b, c]) t.notMatch(existsSync(n.env.DATERA_FLEX_LOG!) ? readFileSync(n.env.DATERA_FLEX_LOG!, 'utf8') : '', /"pw"/, `${n.name}: no password in the log`);
  });
});

t.teardown(async () => {
  // Best effort after a failure: unmount what is left under the test dirs, log out every session, stop the mock.
  for (const m of await mountsUnder(top)) await run(['umount', '-l', m], { nothrow: true });
  for (const n of ['node-a', 'node-b', 'node-c']) {
    const env = { ...process.env, PATH: `${ISCSIADM_BIN}:${process.env.PATH}`, DKC_ISCSI_ROOT: join(top, n, 'iscsi') };
    if (existsSync(join(ISCSIADM_BIN, 'iscsiadm'))) await run(['iscsiadm', '-m', 'node', '--logoutall=all'], { env, nothrow: true });
  }
  client = undefined;
  await mock?.stop();
  rmSync(top, { recursive: true, force: true });
});
