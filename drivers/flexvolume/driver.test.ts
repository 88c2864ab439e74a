// Unit tests of the datera/iscsi FlexVolume driver, in-process and without root: argv shapes per Kubernetes
// version, options and defaults, credential sources, Failure messages, and the attach/detach flow against the mock
// Datera API (no targets) with a fake iscsiadm on PATH that makes /dev/disk/by-path links to a plain file.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockDatera, type StartedMockDatera } from '../../mocks/datera/mock-datera.js';
import { DateraClient } from '../datera/client.js';
import { callout, derivedAiName, parseArgv, parseOptions, resolveCredentials, type Env } from './driver.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const J = (o: Record<string, string>) => JSON.stringify(o);

t.test('argv shapes per call-out and version', async (t) => {
  t.same(parseArgv(['init']), { cmd: 'init' });
  t.same(parseArgv(['attach', '{"volumeID":"v1"}', 'node-a']), { cmd: 'attach', opts: { volumeID: 'v1' }, node: 'node-a' });
  t.same(parseArgv(['attach', '{"volumeID":"v1"}']), { cmd: 'attach', opts: { volumeID: 'v1' }, node: undefined }, '1.5: no node');
  t.same(parseArgv(['isattached', '{"volumeID":"v1"}', 'node-a']), { cmd: 'isattached', opts: { volumeID: 'v1' }, node: 'node-a' });
  t.same(parseArgv(['isattached', 'node-a', '{"volumeID":"v1"}']), { cmd: 'isattached', opts: { volumeID: 'v1' }, node: 'node-a' }, '1.6: node first');
  t.same(parseArgv(['detach', 'pv-1', 'node-a']), { cmd: 'detach', pv: 'pv-1', node: 'node-a' });
  t.same(parseArgv(['detach', '/dev/sdb']), { cmd: 'detach', device: '/dev/sdb' }, '1.5: device');
  t.same(parseArgv(['waitforattach', '/dev/sdb', '{}']), { cmd: 'waitforattach', device: '/dev/sdb', opts: {} });
  t.same(parseArgv(['mountdevice', '/g', '/dev/sdb', '{"a":1}']), { cmd: 'mountdevice', dir: '/g', device: '/dev/sdb', opts: { a: '1' } });
  t.same(parseArgv(['mountdevice', '/g', '', '{}']), { cmd: 'mountdevice', dir: '/g', device: '', opts: {} }, 'deferred device');
  t.same(parseArgv(['unmountdevice', '/g']), { cmd: 'unmountdevice', dir: '/g' });
  t.same(parseArgv(['mount', '/p', '{}']), { cmd: 'mount', dir: '/p', opts: {}, legacy: false });
  t.same(parseArgv(['mount', '/p', '/dev/sdb', '{}']), { cmd: 'mount', dir: '/p', device: '/dev/sdb', opts: {}, legacy: true }, '1.5: device between');
  t.same(parseArgv(['mount', '/p', '', '{}']), { cmd: 'mount', dir: '/p', device: '', opts: {}, legacy: true }, '1.5: empty device');
  t.same(parseArgv(['unmount', '/p']), { cmd: 'unmount', dir: '/p' });
  for (const c of ['getvolumename', 'expandvolume', 'expandfs', 'waitfordetach', 'frobnicate']) t.same(parseArgv([c, '{}']), { cmd: 'unsupported', name: c });
  t.same(parseArgv([]), { cmd: 'unsupported', name: '' });
  t.throws(() => parseArgv(['attach']), /JSON options argument is missing/);
  t.throws(() => parseArgv(['attach', '[1]']), /must be a JSON object/);
  t.throws(() => parseArgv(['attach', '"x"']), /must be a JSON object of strings, got string/);
  t.throws(() => parseArgv(['attach', '{"a":{"b":1}}']), /option a must be a string/);
  t.throws(() => parseArgv(['attach', '{"a":null}']), /got null/);
  t.throws(() => parseArgv(['isattached', '{}']), /isattached: expected <json options> <node name>/);
  t.throws(() => parseArgv(['detach']), /detach: expected <pv name> <node name>/);
  t.throws(() => parseArgv(['waitforattach']), /waitforattach: expected <device path>/);
  t.throws(() => parseArgv(['mountdevice', '/g']), /mountdevice: expected/);
  t.throws(() => parseArgv(['mountdevice']), /mountdevice: expected/);
  t.throws(() => parseArgv(['unmountdevice']), /unmountdevice: expected <global mount dir>/);
  t.throws(() => parseArgv(['unmount', '']), /unmount: expected <pod mount dir>/);
  t.throws(() => parseArgv(['mount', '/p']), /JSON options argument is missing/);
});

t.test('options: defaults, kubelet keys, validation', async (t) => {
  const d = parseOptions({ 'kubernetes.io/pvOrVolumeName': 'pv-1', 'kubernetes.io/fsType': '' });
  t.same(d, { key: 'pv-1', aiName: 'k8s-pv-1', size: undefined, replica: 3, template: undefined, maxIops: undefined, maxBW: undefined, ipPool: 'default', placementMode: 'hybrid', tenant: '/root', retainPolicy: 'retain', volumeSource: undefined, fsType: 'xfs', readOnly: false });
  const o = parseOptions({ volumeID: 'vol_1', size: '2', replica: '1', maxIops: '100', maxBW: '2048', ipPool: 'p2', placementMode: 'all_flash', tenant: 't1', retainPolicy: 'Never', fsType: 'ext4', 'kubernetes.io/readwrite': 'ro', template: 'small', volumeSource: '/app_instances/a' });
  t.match(o, { key: 'vol_1', aiName: 'vol_1', size: 2, replica: 1, maxIops: 100, maxBW: 2048, ipPool: 'p2', placementMode: 'all_flash', tenant: 't1', retainPolicy: 'never', fsType: 'ext4', readOnly: true, template: 'small', volumeSource: '/app_instances/a' });
  t.equal(parseOptions({ volumeID: 'v11', 'kubernetes.io/pvOrVolumeName': 'pv-2' }).key, 'pv-2', 'state keyed by the PV when kubelet names it');
  t.equal(parseOptions({ volumeID: 'v11', fsType: 'ext4', 'kubernetes.io/fsType': 'xfs' }).fsType, 'xfs', 'the PV spec fsType wins');
  t.equal(parseOptions({ volumeID: 'v11', fsType: 'ext4', 'kubernetes.io/fsType': '' }).fsType, 'ext4', 'empty spec fsType falls back to the option');
  t.throws(() => parseOptions({}), /neither volumeID nor kubernetes.io\/pvOrVolumeName/);
  t.throws(() => parseOptions({ volumeID: '1bad' }), /not a valid Datera volume name/);
  t.throws(() => parseOptions({ volumeID: 'v11', size: 'big' }), /option size="big" is not valid: it must be the size in GiB/);
  t.throws(() => parseOptions({ volumeID: 'v11', size: '0' }), /size/);
  t.throws(() => parseOptions({ volumeID: 'v11', replica: '9' }), /replica/);
  t.throws(() => parseOptions({ volumeID: 'v11', retainPolicy: 'sometimes' }), /retainPolicy="sometimes" is not valid: use never/);
  t.throws(() => parseOptions({ volumeID: 'v11', fsType: '../x' }), /fsType "..\/x" is not valid/);
  t.throws(() => parseOptions({ volumeID: 'v11', 'kubernetes.io/readwrite': 'rx' }), /readwrite="rx" is not valid: ro or rw/);
  t.equal(derivedAiName('pv-a'), 'k8s-pv-a');
  const long = derivedAiName('p'.repeat(200));
  t.equal(long.length, 64);
  t.not(long, derivedAiName('p'.repeat(199)), 'long names stay distinct');
  t.match(long, /^[a-zA-Z_][a-zA-Z0-9_\-.]{2,63}$/);
});

t.test('credentials: secret (base64, raw in 1.5), inline, node file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dkc-flex-unit-cred-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'creds.json');
  writeFileSync(file, J({ server: 'file:7717', user: 'fu', password: 'fp' }));
  const sec = { 'kubernetes.io/secret/username': b64('admin'), 'kubernetes.io/secret/password': b64('s3cret\n'), 'kubernetes.io/secret/server': b64('10.0.0.1:7717') };
  t.match(await resolveCredentials(sec, {}), { server: '10.0.0.1:7717', user: 'admin', password: 's3cret', source: /secret/ });
  t.match(await resolveCredentials({ 'kubernetes.io/secret/username': 'admin', 'kubernetes.io/secret/password': 'pw', 'kubernetes.io/secret/server': 'h:1' }, {}, true), { user: 'admin', password: 'pw', server: 'h:1' }, '1.5 secrets are raw');
  t.match(await resolveCredentials({ 'kubernetes.io/secret/username': b64('u'), 'kubernetes.io/secret/password': b64('p') }, { DATERA_CREDENTIALS_FILE: file }), { server: 'file:7717', user: 'u' }, 'server from the node file');
  await t.rejects(resolveCredentials({ 'kubernetes.io/secret/username': b64('u'), 'kubernetes.io/secret/password': b64('p') }, {}), /the secret lacks server/);
  await t.rejects(resolveCredentials({ 'kubernetes.io/secret/username': b64('u') }, {}), /the secret lacks password/);
  await t.rejects(resolveCredentials({ ...sec, 'kubernetes.io/secret/password': 'not base64!' }, {}), /secret key password is not base64/);
  await t.rejects(resolveCredentials({ ...sec, 'kubernetes.io/secret/password': b64('a\u0001b') }, {}), /does not decode to text/);
  t.match(await resolveCredentials({ backstoreServer: 'h:7717', serverUser: 'u', serverPasswd: 'p' }, { DATERA_CREDENTIALS_FILE: file }), { server: 'h:7717', source: /inline/ });
  await t.rejects(resolveCredentials({ backstoreServer: 'h:7717', serverUser: 'u' }, {}), /inline credentials are incomplete: serverPasswd missing/);
  t.match(await resolveCredentials({}, { DATERA_CREDENTIALS_FILE: file }), { user: 'fu', source: /node credentials file/ });
  t.equal(await resolveCredentials({}, {}), undefined, 'none: attach defers');
  await t.rejects(resolveCredentials({}, { DATERA_CREDENTIALS_FILE: join(dir, 'nope') }), /cannot be read as JSON \(ENOENT\)/);
  writeFileSync(file, J({ server: 'x' }));
  await t.rejects(resolveCredentials({}, { DATERA_CREDENTIALS_FILE: file }), /lacks user, password/);
});

/** A node for the in-process flow: temp state/kubelet/iscsi roots and a fake iscsiadm on PATH. */
function fakeNode(t: Test, name: string, iqn: string) {
  const root = mkdtempSync(join(tmpdir(), `dkc-flex-unit-${name}-`));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const bin = join(root, 'bin');
  mkdirSync(join(root, 'iscsi/etc/iscsi'), { recursive: true });
  mkdirSync(bin);
  writeFileSync(join(root, 'iscsi/etc/iscsi/initiatorname.iscsi'), `## comment\nInitiatorName=${iqn}\n`);
  // Fake iscsiadm: logs argv; login links by-path -> a plain file (LUN 1, like the mock); exits 15/21 like open-iscsi.
  writeFileSync(
    join(bin, 'iscsiadm'),
    `#!/bin/sh
echo "$*" >> "${root}/iscsiadm.log"
if [ -n "$FAKE_ISCSIADM_FAIL" ]; then case "$*" in *"$FAKE_ISCSIADM_FAIL"*) echo "simulated failure" >&2; exit 8;; esac; fi
T=; P=; OP=
while [ $# -gt 0 ]; do
  case "$1" in -T) T=$2; shift;; -p) P=$2; shift;; --login) OP=login;; --logout) OP=logout;; -o) OP=$2; shift;; esac
  shift
done
d="$DKC_ISCSI_ROOT/dev/disk/by-path"; l="$d/ip-$P-iscsi-$T-lun-1"
case "$OP" in
  login) [ -L "$l" ] && exit 15; [ -n "$FAKE_NO_DEVICE" ] && exit 0; mkdir -p "$d"; : > "$DKC_ISCSI_ROOT/lun-$P"; ln -s "$DKC_ISCSI_ROOT/lun-$P" "$l";;
  logout) [ -L "$l" ] || exit 21; rm -f "$l";;
esac
exit 0
`,
  );
  chmodSync(join(bin, 'iscsiadm'), 0o755);
  const env: Env = {
    PATH: `${bin}:${process.env.PATH}`,
    DKC_ISCSI_ROOT: join(root, 'iscsi'),
    DKC_KUBELET_ROOT: join(root, 'kubelet'),
    DATERA_FLEX_STATE_DIR: join(root, 'state'),
    DATERA_FLEX_LOG: join(root, 'flex.log'),
    DATERA_FLEX_DEVICE_TIMEOUT: '1',
    DATERA_FLEX_API_RETRY_MS: '200',
    NODE_NAME: name,
  };
  const calls = () => (existsSync(join(root, 'iscsiadm.log')) ? readFileSync(join(root, 'iscsiadm.log'), 'utf8').trim().split('\n') : []);
  return { root, env, calls };
}

let mock: StartedMockDatera;
t.before(async () => {
  mock = await new MockDatera({ httpPort: 0, httpsPort: null, targets: 'none', users: { admin: 'pw' }, fallbackIps: ['127.77.0.1', '127.77.0.2'] }).start();
});
t.teardown(() => mock?.stop());

let client: DateraClient | undefined;
const api = () => (client ??= new DateraClient({ server: mock.server, user: 'admin', password: 'pw' }));
/** API sessions the driver left open (the test's own client logs out first). */
const driverSessions = async () => {
  if (client) await client.put('/logout', {});
  client = undefined;
  return mock.activeSessions;
};
const creds = () => ({ backstoreServer: mock.server, serverUser: 'admin', serverPasswd: 'pw' });
const aiOf = async (name: string) => (await api().find<any>(`/app_instances/${name}`)) as any;
const aclOf = async (name: string) => ((await aiOf(name))?.storage_instances[0].acl_policy.initiators ?? []).map((r: any) => r.path);

t.test('answers without a backend: init, Not supported, bad input', async (t) => {
  const init = await callout(['init'], {});
  t.same(init, { status: 'Success', capabilities: { attach: true, selinuxRelabel: true, fsGroup: true, supportsMetrics: false, requiresFSResize: false } });
  t.match(await callout(['getvolumename', '{}'], {}), { status: 'Not supported' });
  t.match(await callout(['expandfs', '{}', '/dev/x', '/g', '2', '1'], {}), { status: 'Not supported' });
  t.match(await callout([], {}), { status: 'Not supported', message: 'no call-out given' });
  t.match(await callout(['init'], { DATERA_FLEX_LOG: '/nonexistent/dir/flex.log' }), { status: 'Success' }, 'an unwritable log does not fail the call');
  t.match(await callout(['attach', 'not json', 'n'], {}), { status: 'Failure', message: /^attach: the options argument is not valid JSON/ });
  t.match(await callout(['attach', '{}', 'n'], {}), { status: 'Failure', message: /neither volumeID nor kubernetes.io\/pvOrVolumeName is set; set volumeID/ });
  t.match(await callout(['mount'], {}), { status: 'Failure', message: /^mount: expected <pod mount dir>/ });
  t.match(await callout(['attach', J({ volumeID: 'v11', serverUser: 'u' })], {}), { status: 'Failure', message: /inline credentials are incomplete: backstoreServer, serverPasswd missing/ });
  t.match(await callout(['attach', J({ volumeID: 'v11' }), 'n'], {}), { status: 'Success', device: '', message: /deferred to mount/ }, 'no credentials: attach defers');
  t.match(await callout(['waitforattach', '', J({ volumeID: 'v11' })], {}), { status: 'Success', device: '' });
  t.match(await callout(['mountdevice', '/nonexistent/g', '', J({ volumeID: 'v11' })], {}), { status: 'Success', message: /deferred/ });
  const node = fakeNode(t, 'n0', 'iqn.1993-08.org.debian:01:unit-n0');
  t.match(await callout(['waitforattach', join(node.root, 'nope'), J({ volumeID: 'v11' })], node.env), { status: 'Failure', message: /did not appear within 1000 ms/ });
  writeFileSync(join(node.root, 'dev'), '');
  t.match(await callout(['waitforattach', join(node.root, 'dev'), J({ volumeID: 'v11' })], node.env), { status: 'Success', device: join(node.root, 'dev') });
  t.match(await callout(['detach', 'pv-unknown', 'n0'], node.env), { status: 'Success', message: /no record of pv-unknown/ });
  t.match(await callout(['detach', '/dev/sdz'], node.env), { status: 'Success', message: /no record of \/dev\/sdz/ });
  mkdirSync(join(node.root, 'pod'));
  t.same(await callout(['unmount', join(node.root, 'pod')], node.env), { status: 'Success' }, 'unmount of a dir that is not mounted');
  t.match(await callout(['unmountdevice', join(node.root, 'pod')], node.env), { status: 'Success', message: /no record/ });
  t.match(await callout(['mount', join(node.root, 'pod'), J({ volumeID: 'v11' })], node.env), { status: 'Failure', message: /no credentials for v11: give the PV a secretRef/ });
  t.match(await callout(['isattached', J({ volumeID: 'v11' }), 'n0'], node.env), { status: 'Success', attached: false });
});

t.test('Failure messages name the cause and the fix', async (t) => {
  const node = fakeNode(t, 'n1', 'iqn.1993-08.org.debian:01:unit-n1');
  const badPw = await callout(['attach', J({ volumeID: 'vbad', size: '1', backstoreServer: mock.server, serverUser: 'admin', serverPasswd: 'wrong-password' }), 'n1'], node.env);
  t.match(badPw, { status: 'Failure', message: new RegExp(`the Datera API refused the credentials for user admin at server ${mock.server}.*check the inline PV options`) });
  t.notMatch(badPw.message, /wrong-password/, 'the password is never echoed');
  const badSecret = await callout(['mount', join(node.root, 'p'), J({ volumeID: 'vbad', 'kubernetes.io/secret/username': b64('admin'), 'kubernetes.io/secret/password': b64('nope'), 'kubernetes.io/secret/server': b64(mock.server) })], node.env);
  t.match(badSecret, { status: 'Failure', message: /refused the credentials for user admin.*check the secret/ });
  const down = await callout(['attach', J({ volumeID: 'vbad', size: '1', backstoreServer: '127.0.0.1:1', serverUser: 'admin', serverPasswd: 'pw' }), 'n1'], node.env);
  t.match(down, { status: 'Failure', message: /cannot reach the Datera API at server 127.0.0.1:1.*check the server value/ });
  t.match(await callout(['attach', J({ volumeID: 'vtpl', template: 'no-such', ...creds() }), 'n1'], node.env), { status: 'Failure', message: /app template no-such does not exist.*fix the template option/ });
  t.match(await callout(['attach', J({ volumeID: 'vnosize', ...creds() }), 'n1'], node.env), { status: 'Failure', message: /vnosize does not exist and the options give no size; set size/ });
  t.match(await callout(['attach', J({ volumeID: 'vclone', volumeSource: '/app_instances/nope/storage_instances/storage-1/volumes/volume-1', ...creds() }), 'n1'], node.env), { status: 'Failure', message: /volumeSource .* does not exist|nope/ });
  t.equal(await aiOf('vnosize'), undefined, 'nothing created on a failed attach');
  const noName = fakeNode(t, 'n2', 'x');
  rmSync(join(noName.env.DKC_ISCSI_ROOT!, 'etc/iscsi/initiatorname.iscsi'));
  t.match(await callout(['attach', J({ volumeID: 'vx1', size: '1', ...creds() }), 'n2'], noName.env), { status: 'Failure', message: /cannot read this node's initiator name from .*initiatorname.iscsi; install open-iscsi/ });
  writeFileSync(join(noName.env.DKC_ISCSI_ROOT!, 'etc/iscsi/initiatorname.iscsi'), 'junk\n');
  t.match(await callout(['attach', J({ volumeID: 'vx1', size: '1', ...creds() }), 'n2'], noName.env), { status: 'Failure', message: /has no InitiatorName= line/ });
  const failing = { ...node.env, FAKE_ISCSIADM_FAIL: 'discovery' };
  t.match(await callout(['attach', J({ volumeID: 'vdisc', size: '1', ...creds() }), 'n1'], failing), { status: 'Failure', message: /iscsiadm -m discovery -t sendtargets -p 127.77.0.1:3260 exited 8: simulated failure/ });
  t.match(await callout(['attach', J({ volumeID: 'vdisc', size: '1', ...creds() }), 'n1'], { ...node.env, FAKE_NO_DEVICE: '1' }), { status: 'Failure', message: /no device appeared under/ });
  t.match(await callout(['attach', J({ volumeID: 'vten', size: '1', tenant: 'nosuch', ...creds() }), 'n1'], node.env), { status: 'Failure', message: /tenant nosuch does not exist on .* fix the tenant option/ });
  t.equal(await driverSessions(), 0, 'every call-out logged out of the API');
});

t.test('detach refuses while the volume is still mounted', async (t) => {
  const n = fakeNode(t, 'n3', 'iqn.1993-08.org.debian:01:unit-n3');
  mkdirSync(join(n.env.DATERA_FLEX_STATE_DIR!, 'volumes'), { recursive: true });
  const st = { key: 'pv-busy', aiName: 'k8s-pv-busy', tenant: '/root', node: 'n3', portals: [], retainPolicy: 'never', fsType: 'xfs', readOnly: false, podDirs: ['/pods/x'], attached: true };
  writeFileSync(join(n.env.DATERA_FLEX_STATE_DIR!, 'volumes/pv-busy.json'), JSON.stringify(st));
  t.match(await callout(['detach', 'pv-busy', 'n3'], n.env), { status: 'Failure', message: /k8s-pv-busy is still mounted at \/pods\/x; unmount/ });
  t.ok(existsSync(join(n.env.DATERA_FLEX_STATE_DIR!, 'volumes/pv-busy.json')), 'record kept');
  writeFileSync(join(n.env.DATERA_FLEX_STATE_DIR!, 'volumes/pv-busy.json'), JSON.stringify({ ...st, podDirs: [], attached: false }));
  t.match(await callout(['detach', 'pv-busy', 'n3'], n.env), { status: 'Failure', message: /retainPolicy is never but no credentials are recorded/ });
});

t.test('attach, isattached, unmountdevice, detach against the mock (fake iscsiadm)', async (t) => {
  const a = fakeNode(t, 'node-a', 'iqn.1993-08.org.debian:01:unit-a');
  const opts = J({ 'kubernetes.io/pvOrVolumeName': 'pv-unit', size: '1', replica: '1', maxIops: '500', maxBW: '1024', retainPolicy: 'never', ...creds() });
  const first = await callout(['attach', opts, 'node-a'], a.env);
  t.match(first, { status: 'Success', device: join(a.env.DKC_ISCSI_ROOT!, 'lun-127.77.0.1:3260') });
  t.same(await callout(['attach', opts, 'node-a'], a.env), first, 'attach twice: same answer');
  const ai = await aiOf('k8s-pv-unit');
  t.match(ai.storage_instances[0].volumes[0], { size: 1, replica_count: 1, performance_policy: { total_iops_max: 500, total_bandwidth_max: 1024 } });
  t.equal(ai.admin_state, 'online');
  t.same(await aclOf('k8s-pv-unit'), ['/initiators/iqn.1993-08.org.debian:01:unit-a'], 'own initiator once, no duplicates');
  t.match(await api().find<any>('/initiators/iqn.1993-08.org.debian:01:unit-a'), { name: 'k8s-node-a' });
  t.same(
    a.calls().slice(0, 4),
    ['127.77.0.1', '127.77.0.2'].flatMap((ip) => [`-m discovery -t sendtargets -p ${ip}:3260`, `-m node -T ${ai.storage_instances[0].access.iqn} -p ${ip}:3260 --login`]),
    'discovery then login on every portal',
  );
  t.match(await callout(['isattached', opts, 'node-a'], a.env), { status: 'Success', attached: true });
  t.match(await callout(['isattached', 'node-b', opts], a.env), { status: 'Success', attached: false }, '1.6 order, other node');
  const state = JSON.parse(readFileSync(join(a.env.DATERA_FLEX_STATE_DIR!, 'volumes/pv-unit.json'), 'utf8'));
  t.equal(statSync(join(a.env.DATERA_FLEX_STATE_DIR!, 'volumes/pv-unit.json')).mode & 0o777, 0o600, 'state file is 0600');
  t.match(state, { aiName: 'k8s-pv-unit', retainPolicy: 'never', attached: true, portals: ['127.77.0.1', '127.77.0.2'], initiator: 'iqn.1993-08.org.debian:01:unit-a' });
  // A second node shares the volume: detach from node A must then keep it.
  const b = fakeNode(t, 'node-b', 'iqn.1993-08.org.debian:01:unit-b');
  t.match(await callout(['attach', opts, 'node-b'], b.env), { status: 'Success' });
  t.equal((await aclOf('k8s-pv-unit')).length, 2, 'other initiators kept');
  // mountdevice state is recorded even though the fake device is a file (mounting is the root test's job).
  const globalA = join(a.env.DKC_KUBELET_ROOT!, 'plugins/kubernetes.io/flexvolume/datera/iscsi/mounts/pv-unit');
  mkdirSync(globalA, { recursive: true });
  for (let i = 0; i < 2; i++) t.match(await callout(['unmountdevice', globalA], a.env), { status: 'Success' }, `unmountdevice #${i + 1}`);
  t.same(await aclOf('k8s-pv-unit'), ['/initiators/iqn.1993-08.org.debian:01:unit-b'], 'node A left the ACL');
  t.ok(a.calls().some((c) => /--logout/.test(c)) && a.calls().some((c) => /-o delete/.test(c)), 'logout and delete node records');
  t.match(await callout(['detach', 'pv-unit', 'node-a'], a.env), { status: 'Success', message: /kept: other initiators remain/ });
  t.ok(await aiOf('k8s-pv-unit'), 'still there while node B uses it');
  t.match(await callout(['detach', 'pv-unit', 'node-a'], a.env), { status: 'Success', message: /no record/ }, 'detach twice');
  // Node B goes away through the 1.5-era detach <device> (logs out, leaves the ACL, then retainPolicy never deletes).
  const devB = JSON.parse(readFileSync(join(b.env.DATERA_FLEX_STATE_DIR!, 'volumes/pv-unit.json'), 'utf8')).device;
  t.match(await callout(['detach', devB], b.env), { status: 'Success', message: /deleted k8s-pv-unit/ });
  t.equal(await aiOf('k8s-pv-unit'), undefined, 'retainPolicy never: deleted once unused');
  t.match(await callout(['isattached', opts, 'node-b'], b.env), { status: 'Success', attached: false });
  // retain keeps the backend volume.
  const keep = J({ volumeID: 'vkeep', size: '1', ...creds() });
  t.match(await callout(['attach', keep], a.env), { status: 'Success' }, '1.5 attach: no node name');
  t.match(await callout(['detach', 'vkeep', 'node-a'], a.env), { status: 'Success' });
  t.ok(await aiOf('vkeep'), 'retain: kept');
  t.same(await aclOf('vkeep'), [], 'but this node left its ACL');
  // From a template, and cloned from another volume.
  t.match(await callout(['attach', J({ volumeID: 'vtpl-ok', template: 'small', size: '99', ...creds() }), 'node-a'], a.env), { status: 'Success' });
  t.match(await aiOf('vtpl-ok'), { app_template: { path: '/app_templates/small' } }, 'template used (size ignored)');
  const src = (await aiOf('vkeep')).storage_instances[0].volumes[0].path;
  t.match(await callout(['attach', J({ volumeID: 'vclone-ok', volumeSource: src, ...creds() }), 'node-a'], a.env), { status: 'Success' });
  t.match((await aiOf('vclone-ok')).storage_instances[0].volumes[0], { size: 1 }, 'clone has the source size');
  for (const v of ['vtpl-ok', 'vclone-ok']) t.match(await callout(['detach', v, 'node-a'], a.env), { status: 'Success' });
  const log = readFileSync(a.env.DATERA_FLEX_LOG!, 'utf8');
  t.notMatch(log, /"pw"|serverPasswd":"pw/, 'no password in the log');
  t.ok(log.trim().split('\n').every((l) => JSON.parse(l).msg), 'log is JSON lines');
  t.equal(await driverSessions(), 0, 'no API sessions left');
});

const js = join(process.cwd(), 'dist/drivers/flexvolume/main.js');
t.test('main prints one JSON line and nothing on stderr', { skip: existsSync(js) ? false : `no build at ${js}; run npx tsc -p tsconfig.build.json to check the executable` }, async (t) => {
  const wrapper = join(process.cwd(), 'drivers/flexvolume/datera~iscsi/iscsi');
  const cases: [string[], number, string][] = [
    [['init'], 0, 'Success'],
    [['getvolumename', '{}'], 0, 'Not supported'],
    [['attach', '{oops'], 1, 'Failure'],
  ];
  for (const [argv, code, status] of cases) {
    for (const cmd of [['node', js], [wrapper]]) {
      const r = spawnSync(cmd[0]!, [...cmd.slice(1), ...argv], { encoding: 'utf8', env: { ...process.env, DATERA_FLEX_LOG: '' } });
      t.equal(r.status, code, `${cmd.length === 1 ? 'wrapper' : 'main.js'} ${argv[0]} exit ${code}`);
      t.equal(r.stderr, '', 'nothing on stderr');
      t.match(r.stdout, /^\{.*\}\n$/, 'one compact line');
      t.equal(r.stdout.split('\n').length, 2);
      t.equal(JSON.parse(r.stdout).status, status);
    }
  }
  const missing = spawnSync(wrapper, ['init'], { encoding: 'utf8', env: { ...process.env, DKC_DRIVER_JS: '/nonexistent/main.js' } });
  t.equal(missing.status, 1);
  t.match(JSON.parse(missing.stdout), { status: 'Failure', message: /driver build not found at \/nonexistent\/main.js/ });
  t.same(readdirSync(join(process.cwd(), 'drivers/flexvolume/datera~iscsi')), ['iscsi'], 'plugin dir entry holds only the executable');
});
