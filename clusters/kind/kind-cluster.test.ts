// The kind provider end to end against recorded fake kind, kubectl and docker (testing.ts): the commands and their
// order, the configs and manifests they are given per version, and that every failure, abort and stop removes
// everything made before, newest first.
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { KindAction } from './actions/context.js';
import { ACTIONS } from './actions/index.js';
import { startMockDatera } from './actions/start-backend.js';
import { patchCalicoManifest } from './calico.js';
import { kindClusterConfig, kindClusterConfigYaml } from './cluster-config.js';
import { RECORD_FILE, StartedKindCluster, newKindClusterId, startKindCluster, type KindClusterOptions } from './kind-cluster.js';
import { CALICO_FIXTURE, FAKE_DKC_IMAGE, duplicateMount, fakeWorld, type FakeWorld } from './testing.js';
import { kindVersion } from './versions.js';

const PASSWORD = 'Secr3t-pw';

async function world(t: Test, o?: Parameters<typeof fakeWorld>[0]): Promise<FakeWorld> {
  const w = await fakeWorld(o);
  t.teardown(() => w.cleanup());
  // The checkout's dkc/driver image and the suites' busybox are local; MariaDB is left for the nodes to pull.
  w.addImages(FAKE_DKC_IMAGE, 'busybox:1.36');
  return w;
}

function options(w: FakeWorld, over: Partial<KindClusterOptions> = {}, logs: string[] = []): KindClusterOptions {
  const version = over.version ?? '1.30';
  return {
    version,
    kind: over.kind ?? kindVersion(version),
    driver: { path: w.driver },
    backend: 'mock',
    workDir: join(w.dir, 'work'),
    id: 'k1',
    log: (m, f) => logs.push(`${m} ${JSON.stringify(f ?? {})}`),
    env: w.env,
    calicoManifestDir: w.calicoDir,
    fetch: false,
    startMock: w.startMock,
    root: w.root,
    ...over,
  };
}

const docs = (text: string) => (parseAllDocuments(text) as any[]).map((d) => d.toJS()).filter(Boolean);
const index = (lines: string[], re: RegExp, from = 0) => lines.findIndex((l, i) => i >= from && re.test(l));
const isEmpty = (w: FakeWorld) => ({
  clusters: Object.keys(w.state.clusters),
  containers: Object.keys(w.state.containers),
  networks: Object.keys(w.state.networks),
  built: Object.entries(w.state.images).filter(([, i]) => i.labels?.['dkc.cluster']).map(([n]) => n),
});
const NOTHING = { clusters: [], containers: [], networks: [], built: [] };

/** The undo each creating command calls for, from the recorded lines: what teardown must run, in reverse. */
function expectedUndo(lines: string[]): string[] {
  const undo: string[] = [];
  for (const l of lines) {
    let m: RegExpExecArray | null;
    if ((m = /^docker build --tag (\S+)/.exec(l))) undo.push(`docker rmi --force ${m[1]}`);
    else if ((m = /^kind create cluster --name (\S+) .*--kubeconfig (\S+)/.exec(l))) undo.push(`kind delete cluster --name ${m[1]} --kubeconfig ${m[2]}`);
    else if (/^mock start/.test(l)) undo.push('mock stop');
    else if ((m = /^docker network connect (\S+) (\S+)$/.exec(l))) undo.push(`docker network disconnect --force ${m[1]} ${m[2]}`);
  }
  return undo.reverse();
}
const UNDO_RE = /^(docker rmi|kind delete cluster|mock stop|docker network disconnect)/;

t.test('a cluster comes up in order (cluster, Calico, wait, images, backend, driver, provisioner) and goes in reverse', async (t) => {
  const w = await world(t);
  const logs: string[] = [];
  const o = options(w, {}, logs);
  const c = await startKindCluster(o);
  const lines = w.lines();
  const order = [
    /^kind version$/,
    /^docker version/,
    /^docker image inspect --format \{\{\.Id\}\} dkc\/driver:0123456789ab$/,
    /^docker build --tag dkc\/datera-iscsi-installer:k1 --label dkc\.cluster=k1 --label dkc\.owner=datera-k8s-conformance \S+\/build$/,
    /^kind create cluster --name dkc-k1 --image kindest\/node:v1\.30\.13@sha256:[0-9a-f]{64} --config \S+\/kind-config\.yaml --kubeconfig \S+\/kubeconfig --wait 0s$/,
    /^kind get nodes --name dkc-k1$/,
    /^kubectl create -f \S+\/calico\.yaml$/,
    /^kubectl wait --for=condition=Ready nodes --all --timeout=\d+s$/,
    /^kubectl get nodes --output json$/,
    /^kubectl get --raw \/version$/,
    /^kind load docker-image dkc\/datera-iscsi-installer:k1 dkc\/driver:0123456789ab busybox:1\.36 --name dkc-k1$/,
    /^docker network inspect kind$/,
    /^mock start 172\.18\.0\.1$/,
    /^docker network connect dkc-tgt-f1-1 dkc-k1-control-plane$/,
    /^docker exec dkc-k1-control-plane modprobe iscsi_tcp$/,
    /^docker exec dkc-k1-worker systemctl restart iscsid\.service$/,
    /^kubectl create -f -$/,
    /^kubectl apply -f \S+\/driver-installer\.yaml$/,
    /^kubectl --namespace datera rollout status daemonset\/datera-installer-agent --timeout=\d+s$/,
    /^docker exec dkc-k1-worker2 test -x \/usr\/libexec\/kubernetes\/kubelet-plugins\/volume\/exec\/datera~iscsi\/iscsi$/,
    /^kubectl apply -f \S+\/provisioner\.yaml$/,
    /^kubectl --namespace datera rollout status deployment\/datera-provisioner-agent/,
  ];
  let at = 0;
  for (const re of order) {
    const i = index(lines, re, at);
    t.ok(i >= at, `${re} after line ${at}`);
    if (i >= 0) at = i;
  }
  t.equal(w.calls.find((x) => x.argv[0] === 'create' && x.tool === 'kind')!.bin, 'kind-v0.29.0', 'the kind release that built the v1.30 image');
  t.equal(index(lines, /^kind load docker-image docker\.io\/calico\/cni:v3\.29\.6/), -1, 'Calico images are not local here: not loaded');
  t.ok(lines.filter((l) => /^docker image inspect .*calico\/node:v3\.29\.6$/.test(l)).length === 1, 'but looked for before Calico is applied');
  t.ok(index(lines, /docker image inspect .*calico/) < index(lines, /^kubectl create -f \S+calico/), 'before Calico is applied');

  // What the tools were given.
  const create = w.calls.find((x) => x.tool === 'kind' && x.argv[0] === 'create')!;
  t.equal(create.config, kindClusterConfigYaml(kindVersion('1.30')), 'the config for this version');
  const calico = w.calls.find((x) => x.tool === 'kubectl' && x.argv[0] === 'create' && x.file)!;
  t.notMatch(calico.file!, /name: flexvol-driver|pod2daemon|nodeagent~uds/, 'Calico without its FlexVolume driver');
  t.match(calico.file!, /CALICO_IPV4POOL_CIDR\n\s+value: 192\.168\.0\.0\/16/);
  const creds = docs(w.calls.find((x) => x.argv.join(' ') === 'create -f -')!.stdin);
  t.same(creds.map((d) => `${d.kind}/${d.metadata.name}`), ['Namespace/datera', 'Secret/datera-secret', 'Secret/datera-node-credentials']);
  t.equal(Buffer.from(creds[1].data.server, 'base64').toString(), '172.18.0.1:41234', "the mock's address as the nodes reach it");
  const installer = docs(w.calls.find((x) => x.file && /datera-installer-agent/.test(x.file))!.file!)[0];
  t.equal(installer.spec.template.spec.containers[0].image, 'dkc/datera-iscsi-installer:k1', 'the built installer image');
  const prov = docs(w.calls.find((x) => x.file && /datera-provisioner-agent/.test(x.file))!.file!).find((d) => d.kind === 'Deployment');
  t.equal(prov.spec.template.spec.containers[0].image, FAKE_DKC_IMAGE, 'the provisioner runs from the dkc/driver image');
  t.equal(w.calls.filter((x) => x.argv[0] === 'build').length, 1, 'only the driver file is built into an image');
  const build = w.calls.find((x) => x.argv[0] === 'build')!;
  t.same(build.files, ['Dockerfile', 'datera~iscsi/.dkc/driver', 'datera~iscsi/iscsi'], 'a plain driver: no Node bundled');
  t.equal(build.dockerfile, 'FROM dkc/driver:0123456789ab\nCOPY datera~iscsi /opt/datera/datera~iscsi\n');
  t.same(w.mockStarts, [{ host: '172.18.0.1', stateDir: join(o.workDir, 'datera') }]);

  // What the harness and the suites see.
  t.equal(c.provider, 'kind');
  t.equal(c.version, 'v1.30.13', "the server's own version");
  t.equal(c.kubeconfigPath, join(o.workDir, 'kubeconfig'));
  t.same(c.backend, { kind: 'mock', url: 'http://172.18.0.1:41234', server: '172.18.0.1:41234', user: 'admin', password: PASSWORD, portals: ['10.99.1.2:3260', '10.99.2.2:3260'] });
  t.same(c.nodes(), [
    { name: 'dkc-k1-control-plane', address: '172.18.0.2', root: '/' },
    { name: 'dkc-k1-worker', address: '172.18.0.3', root: '/' },
    { name: 'dkc-k1-worker2', address: '172.18.0.4', root: '/' },
  ]);
  t.same(c.nodeAccess()[1], { name: 'dkc-k1-worker', address: '172.18.0.3', exec: [join(w.bin, 'docker'), 'exec', 'dkc-k1-worker'], kubeletRoot: '/var/lib/kubelet', pluginDir: '/usr/libexec/kubernetes/kubelet-plugins/volume/exec', iscsiRoot: '' });
  t.same(w.state.networks['dkc-tgt-f1-1']!.containers.sort(), ['dkc-k1-control-plane', 'dkc-k1-worker', 'dkc-k1-worker2', 'dkc-tgt-f1'], 'every node on both target networks');
  const ran = await c.nodeExec('dkc-k1-worker', ['cat', '/etc/iscsi/initiatorname.iscsi']);
  t.equal(ran.exitCode, 0);
  t.equal(w.lines().at(-1), 'docker exec dkc-k1-worker cat /etc/iscsi/initiatorname.iscsi');
  await t.rejects(c.nodeExec('nope', ['true']), { code: 'BAD_INPUT', message: /no node nope; nodes: dkc-k1-control-plane, dkc-k1-worker, dkc-k1-worker2/ });
  const art = join(w.dir, 'artifacts');
  await c.collectArtifacts(art);
  t.same((await readdir(art)).sort(), ['commands.jsonl', 'datera-requests.json', 'kind-config.yaml', 'kind-logs', 'pods.txt']);
  t.ok(index(w.lines(), /^kind export logs \S+\/kind-logs --name dkc-k1$/) >= 0);
  t.ok(existsSync(join(o.workDir, RECORD_FILE)), 'the sweep record exists while the cluster does');
  t.match(JSON.parse(await readFile(join(o.workDir, RECORD_FILE), 'utf8')), { schema: 'dkc.kind-cluster/v1', id: 'k1', name: 'dkc-k1', tgtInstance: 'f1', images: ['dkc/datera-iscsi-installer:k1'] });

  // The password never reaches an argv, the command log or a log line.
  t.notOk(w.calls.some((x) => x.raw.join(' ').includes(PASSWORD)), 'not on any argv');
  t.notMatch(await readFile(join(o.workDir, 'commands.jsonl'), 'utf8'), PASSWORD);
  t.notOk(logs.some((l) => l.includes(PASSWORD)), 'not in the log');

  const before = w.lines().length;
  const left = await c.stop();
  t.same(left, []);
  const teardown = w.lines().slice(before);
  t.same(teardown.filter((l) => UNDO_RE.test(l)), expectedUndo(w.lines().slice(0, before)), 'every creation undone, newest first');
  t.same(teardown[0], 'docker network disconnect --force dkc-tgt-f1-2 dkc-k1-worker2', 'the last thing made goes first');
  t.same(isEmpty(w), NOTHING, 'nothing left in Docker');
  t.same((await readdir(o.workDir)).sort(), ['commands.jsonl'], 'only the command log stays in the work dir');
  t.equal(await c.stop(), left, 'stop twice: the same answer, nothing run again');
  t.equal(w.lines().length, before + teardown.length);
});

t.test('per version: the kind binary, the pinned image, the kubeadm shape and the Calico release', async (t) => {
  const w = await world(t);
  const want: Record<string, { bin: string; api: RegExp; calico: string }> = {
    '1.19': { bin: 'kind-v0.17.0', api: /apiVersion: kubeadm\.k8s\.io\/v1beta2/, calico: 'v3.20.6' },
    '1.25': { bin: 'kind-v0.24.0', api: /apiVersion: kubeadm\.k8s\.io\/v1beta3/, calico: 'v3.26.5' },
    '1.30': { bin: 'kind-v0.29.0', api: /apiVersion: kubeadm\.k8s\.io\/v1beta3/, calico: 'v3.29.6' },
    '1.33': { bin: 'kind-v0.32.0', api: /apiVersion: kubeadm\.k8s\.io\/v1beta3/, calico: 'v3.31.4' },
    '1.37': { bin: 'kind-v0.33.0', api: /version: v1beta4\n\s+kind: InitConfiguration/, calico: 'v3.31.4' },
  };
  for (const [v, e] of Object.entries(want)) {
    w.calls.length = 0;
    const id = `v${v.replace('.', '-')}`;
    const c = await startKindCluster(options(w, { version: v, id, driver: { image: 'registry.example/datera/installer:2.0' }, provisioner: false }));
    const create = w.calls.find((x) => x.tool === 'kind' && x.argv[0] === 'create')!;
    t.equal(create.bin, e.bin, `${v}: ${e.bin}`);
    t.same(create.argv, ['create', 'cluster', '--name', `dkc-${id}`, '--image', kindVersion(v).nodeImage, '--config', join(w.dir, 'work', 'kind-config.yaml'), '--kubeconfig', join(w.dir, 'work', 'kubeconfig'), '--wait', '0s'], `${v}: argv`);
    t.match(create.config!, e.api, `${v}: kubeadm API`);
    t.equal(parse(create.config!).networking.podSubnet, '192.168.0.0/16');
    t.ok(w.calls.every((x) => x.tool !== 'kind' || x.bin === e.bin), `${v}: one kind binary for everything`);
    const calico = w.calls.find((x) => x.file && /calico-node/.test(x.file))!;
    t.match(calico.file!, `calico/node:${e.calico}`, `${v}: Calico ${e.calico}`);
    t.notOk(w.calls.some((x) => x.argv[0] === 'build'), `${v}: an image driver is not built`);
    t.ok(w.lines().includes(`docker image inspect --format {{.Id}} registry.example/datera/installer:2.0`), 'a registry image is looked for locally');
    t.notOk(w.lines().some((l) => /provisioner/.test(l)), `${v}: no provisioner when left out`);
    t.equal(c.version, kindVersion(v).release);
    t.same(await c.stop(), []);
    t.same(isEmpty(w), NOTHING, `${v}: nothing left`);
  }
});

t.test("kind mounts /lib/modules itself: a config mounting it again fails kind create (docker's Duplicate mount point)", async (t) => {
  const w = await world(t);
  // The config this provider wrote before: /dev and /lib/modules as extraMounts on every node.
  const withModules: KindAction = {
    name: 'write config',
    async run(ctx) {
      const cfg = kindClusterConfig(ctx.v);
      for (const n of cfg.nodes) n.extraMounts.push({ hostPath: '/lib/modules', containerPath: '/lib/modules', readOnly: true });
      await writeFile(ctx.configPath, stringify(cfg));
    },
  };
  const c = new StartedKindCluster(options(w, { id: 'm1', driver: { image: 'x.example/i:1' }, provisioner: false }));
  await t.rejects(c.up(ACTIONS.map((a) => (a.name === 'write config' ? withModules : a))), { message: /Duplicate mount point: \/lib\/modules/ });
  t.same(isEmpty(w), NOTHING, 'nothing left');
  t.same(duplicateMount(kindClusterConfigYaml(kindVersion('1.30'))), undefined, "this provider's own config mounts nothing kind mounts");
});

t.test("Docker's containerd image store: kind load docker-image fails (kind #3795), each image goes in as a single-platform archive", async (t) => {
  const w = await world(t);
  const calico = ['docker.io/calico/cni:v3.29.6', 'docker.io/calico/node:v3.29.6', 'docker.io/calico/kube-controllers:v3.29.6'];
  w.addImages(...calico);
  w.knobs = { containerdStore: true };
  const o = options(w);
  const c = await startKindCluster(o);
  const lines = w.lines();
  const first = index(lines, /^kind load docker-image docker\.io\/calico/);
  t.ok(first >= 0, 'kind load docker-image is tried first');
  t.equal(lines[first + 1], 'docker version --format {{.Server.Os}}/{{.Server.Arch}}', "then the Docker server's platform is asked");
  const archives = lines.filter((l) => /^(docker image save|kind load image-archive)/.test(l));
  const dir = join(o.workDir, 'image-archives');
  const want = [...calico, 'dkc/datera-iscsi-installer:k1', FAKE_DKC_IMAGE, 'busybox:1.36'];
  t.same(
    archives,
    want.flatMap((img, i) => {
      const n = calico.includes(img) ? i : i - calico.length;
      return [`docker image save --platform linux/amd64 --output ${join(dir, `${n}.tar`)} ${img}`, `kind load image-archive ${join(dir, `${n}.tar`)} --name dkc-k1`];
    }),
    'every local image: saved for linux/amd64, loaded as an archive',
  );
  t.ok(index(lines, /^kind load image-archive .* --name dkc-k1$/) < index(lines, /^kubectl create -f \S+calico\.yaml$/), "Calico's images are in before Calico is applied");
  t.match(c.warnings.join('\n'), /kind load docker-image failed on Docker's containerd image store \(kubernetes-sigs\/kind#3795\); loading docker\.io\/calico\/cni:v3\.29\.6, .* as linux\/amd64 archives/);
  t.notOk(existsSync(dir), 'the archives are gone once loaded');
  t.same(await c.stop(), []);
  t.same(isEmpty(w), NOTHING);

  // A failing save: the start fails, the archives and everything else go.
  w.knobs = { containerdStore: true, fail: /^docker image save .*busybox/ };
  const o2 = options(w, { id: 'c8d2' });
  await t.rejects(startKindCluster(o2), { message: /planned failure of: image save --platform linux\/amd64/ });
  t.notOk(existsSync(join(o2.workDir, 'image-archives')));
  t.same(isEmpty(w), NOTHING);
  // Any other kind load failure is not papered over.
  w.knobs = { fail: /^kind load docker-image/ };
  w.calls.length = 0;
  await t.rejects(startKindCluster(options(w, { id: 'c8d3' })), { message: /planned failure of: load docker-image/ });
  t.notOk(w.lines().some((l) => /^docker image save/.test(l)), 'no archive fallback for other errors');
});

t.test('a failure at each step removes everything made before it, newest first', async (t) => {
  const w = await world(t);
  const points: [string, RegExp | 'noDriver' | 'cmad'][] = [
    ['docker daemon', /^docker version/],
    ['calico manifest', /^never$/],
    ['image build', /^docker build/],
    ['kind create', /^kind create cluster/],
    ['node list', /^kind get nodes/],
    ['calico apply', /^kubectl create -f \S+calico\.yaml/],
    ['nodes ready', /^kubectl wait/],
    ['kubelet flags', 'cmad'],
    ['load images', /^kind load docker-image dkc\//],
    ['kind network', /^docker network inspect kind/],
    ['mock start', /^mock start/],
    ['second target network, mid-way', /^docker network connect dkc-tgt-f\d+-2 dkc-\w+-worker$/],
    ['iscsid', /^docker exec \S+-worker2 systemctl/],
    ['credentials', /^kubectl create -f -$/],
    ['driver apply', /^kubectl apply -f \S+driver-installer/],
    ['driver rollout', /rollout status daemonset/],
    ['driver on nodes', 'noDriver'],
    ['provisioner apply', /^kubectl apply -f \S+provisioner\.yaml/],
    ['provisioner rollout', /rollout status deployment/],
  ];
  let n = 0;
  for (const [what, point] of points) {
    w.calls.length = 0;
    w.knobs = point === 'noDriver' ? { noDriver: true } : point === 'cmad' ? { cmad: true } : { fail: point };
    const o = options(w, { id: `f${++n}`, timeouts: { readyMs: 1, rolloutMs: 1 }, ...(what === 'calico manifest' ? { calicoManifestDir: join(w.dir, 'empty') } : {}) });
    await t.rejects(startKindCluster(o), { message: /\S/ }, `${what}: the start fails`);
    const lines = w.lines();
    const failed = point instanceof RegExp ? lines.findIndex((l) => point.test(l)) : point === 'cmad' ? index(lines, /^kubectl get nodes/) : index(lines, /^docker exec .* test -x/);
    if (what !== 'calico manifest') t.ok(failed >= 0, `${what}: the planned failure happened`);
    // A failed command made nothing, except kind create, which may have made node containers before it failed.
    const made = [...lines.slice(0, failed), ...(/^kind create/.test(lines[failed] ?? '') ? [lines[failed]!] : [])];
    t.same(lines.slice(failed + 1).filter((l) => UNDO_RE.test(l)), expectedUndo(made), `${what}: undone in reverse`);
    t.same(isEmpty(w), NOTHING, `${what}: nothing left in Docker`);
    t.notOk(existsSync(join(o.workDir, RECORD_FILE)), `${what}: no sweep record left`);
    t.notOk(existsSync(join(o.workDir, 'build')) || existsSync(join(o.workDir, 'calico.yaml')) || existsSync(join(o.workDir, 'kubeconfig')), `${what}: temp files gone`);
  }
  t.equal(n, points.length);
});

t.test('the reference driver and the provisioner come from the dkc/driver image; without it nothing starts', async (t) => {
  const w = await world(t);
  const c = await startKindCluster(options(w, { driver: { path: join(w.root, 'drivers/flexvolume/datera~iscsi/iscsi') } }));
  t.notOk(w.lines().some((l) => /^docker build/.test(l)), 'nothing to build');
  const installer = docs(w.calls.find((x) => x.file && /datera-installer-agent/.test(x.file))!.file!)[0];
  t.equal(installer.spec.template.spec.containers[0].image, FAKE_DKC_IMAGE, 'the installer assembles the reference driver from it');
  t.ok(w.lines().includes(`kind load docker-image ${FAKE_DKC_IMAGE} busybox:1.36 --name dkc-k1`), 'loaded once for both uses');
  t.same(await c.stop(), []);

  const bare = await fakeWorld();
  t.teardown(() => bare.cleanup());
  await t.rejects(startKindCluster(options(bare, { dkcImage: 'dkc/driver:ffffffffffff' })), { code: 'MISSING_TOOL', message: /image dkc\/driver:ffffffffffff is not in the local Docker and no registry has it; build it with `sudo images\/build driver`/ });
  t.notOk(bare.lines().some((l) => /^(kind create|docker build)/.test(l)), 'refused before anything was made');
});

t.test('the failure message carries what cleanup could not remove', async (t) => {
  const w = await world(t);
  w.knobs = { fail: /^(kubectl create -f -|kind delete cluster)/ };
  await t.rejects(startKindCluster(options(w)), { message: /planned failure of: create -f -[\s\S]*\(cleanup after the failed start left: kind cluster dkc-k1: command exited 1: .*kind-v0\.29\.0 delete cluster --name dkc-k1/ });
  t.same(Object.keys(w.state.clusters), ['dkc-k1'], 'the cluster kind could not delete is still there');
  t.same(Object.keys(w.state.networks), [], 'everything else went');
  t.ok(existsSync(join(w.dir, 'work', RECORD_FILE)), 'the record stays for the sweeper');
});

t.test('abort (Ctrl-C) mid-way: the start stops at once and removes what it made', async (t) => {
  const w = await world(t);
  for (const [at, n] of [
    [/^kubectl wait/, 1],
    [/^docker network connect dkc-tgt-f\d+-1 \S+-worker$/, 2],
    [/^kind create cluster/, 3],
  ] as const) {
    w.calls.length = 0;
    const ac = new AbortController();
    w.onCall = (c) => {
      if (at.test([c.tool, ...c.argv].join(' '))) ac.abort();
    };
    await t.rejects(startKindCluster(options(w, { id: `a${n}`, signal: ac.signal })), { name: 'AbortError' }, `${at}: aborted`);
    const lines = w.lines();
    const i = lines.findIndex((l) => at.test(l));
    t.ok(i >= 0);
    t.notOk(lines.slice(i + 1).some((l) => /^(kubectl (create|apply|wait)|kind (load|create)|mock start|docker (build|exec|network connect))/.test(l)), 'nothing new started after the abort');
    t.same(lines.slice(i + 1).filter((l) => UNDO_RE.test(l)), expectedUndo(lines.slice(0, i + 1)), 'undone in reverse');
    t.same(isEmpty(w), NOTHING, 'nothing left');
  }
  w.onCall = undefined;
  w.calls.length = 0;
  const done = new AbortController();
  done.abort();
  await t.rejects(startKindCluster(options(w, { id: 'a0', signal: done.signal })), { name: 'AbortError' });
  t.same(w.lines(), [], 'aborted before the start: nothing ran');
});

t.test('kind missing or too old: the install hint, and nothing made', async (t) => {
  const w = await world(t, { kindReleases: ['v0.17.0', 'v0.25.0'] });
  await t.rejects(startKindCluster(options(w)), {
    code: 'MISSING_TOOL',
    message: /kind v0\.29\.0 or newer is needed for Kubernetes v1\.30; found .*kind-v0\.17\.0 \(v0\.17\.0\), .*kind-v0\.25\.0 \(v0\.25\.0\), too old; install it with `go install sigs\.k8s\.io\/kind@v0\.29\.0` .* or download https:\/\/kind\.sigs\.k8s\.io\/dl\/v0\.29\.0\/kind-linux-/,
  });
  t.same(w.lines(), ['kind version', 'kind version'], 'only the versions were asked');
  const none = await world(t, { kindReleases: [] });
  await t.rejects(startKindCluster(options(none)), { code: 'MISSING_TOOL', message: /no kind binary found .*go install sigs\.k8s\.io\/kind@v0\.29\.0/ });

  const newer = await world(t, { kindReleases: ['v0.31.0'] });
  const logs: string[] = [];
  const c = await startKindCluster(options(newer, { driver: { image: 'x.example/i:1' }, provisioner: false }, logs));
  t.match(c.warnings[0], /kind v0\.29\.0 built the v1\.30 node image but only v0\.31\.0 .* was found/);
  t.ok(logs.some((l) => /"level":"warn"/.test(l)));
  t.same(await c.stop(), []);
});

t.test('other failures say what to do', async (t) => {
  const w = await world(t);
  w.knobs = { dockerDown: true };
  await t.rejects(startKindCluster(options(w)), { code: 'DOCKER_UNAVAILABLE', message: /the Docker daemon does not answer .*Cannot connect to the Docker daemon.*; start dockerd/ });

  w.knobs = { cmad: true };
  await t.rejects(startKindCluster(options(w, { id: 'c2' })), { code: 'COMMAND_FAILED', message: /the kubelet on dkc-c2-control-plane, dkc-c2-worker, dkc-c2-worker2 runs with controller attach-detach enabled: the kubeadm v1beta3 patch in .*kind-config\.yaml did not apply/ });

  w.knobs = { waitRounds: 100 };
  await t.rejects(startKindCluster(options(w, { id: 'c3', timeouts: { readyMs: 1500 } })), { code: 'TIMEOUT', message: /waiting for all nodes of dkc-c3 Ready \(Calico running\); last seen: error: timed out waiting for the condition on nodes\/dkc-c3-worker/ });
  t.same(isEmpty(w), NOTHING);

  w.knobs = { noDriver: true };
  await t.rejects(startKindCluster(options(w, { id: 'c4' })), { message: /rolled out but \/usr\/libexec\/kubernetes\/kubelet-plugins\/volume\/exec\/datera~iscsi\/iscsi is not executable on dkc-c4-control-plane, dkc-c4-worker, dkc-c4-worker2/ });

  w.knobs = {};
  w.calls.length = 0;
  await t.rejects(startKindCluster(options(w, { id: 'c5', provisioner: { image: 'local/dkc-provisioner:dev' } })), { code: 'MISSING_TOOL', message: /image local\/dkc-provisioner:dev is not in the local Docker and no registry has it/ });
  t.notOk(w.lines().some((l) => /^kind create/.test(l)), 'refused before any cluster was made');
  t.same(isEmpty(w), NOTHING);

  await t.rejects(startKindCluster(options(w, { id: 'Bad_ID' })), { code: 'BAD_INPUT', message: /cluster id 'Bad_ID' must be/ });
  await t.rejects(startKindCluster(options(w, { version: '1.29', kind: kindVersion('1.30') })), { code: 'BAD_INPUT', message: /does not match the kind row for v1\.30/ });
  await t.rejects(startKindCluster(options(w, { version: 'v1.30.2', kind: kindVersion('1.30') })), { message: /asks for v1\.30\.2 but the kind row pins v1\.30\.13/ });
  t.match(newKindClusterId(), /^k[0-9a-f]{8}$/);
});

t.test('waits poll until ready; slow rollouts too', async (t) => {
  const w = await world(t);
  w.knobs = { waitRounds: 2, rolloutRounds: 1, iscsiLoaded: true, noGateway: true };
  const c = await startKindCluster(options(w));
  t.equal(w.lines().filter((l) => /^kubectl wait/.test(l)).length, 3, 'two timed-out rounds, then ready');
  t.equal(w.lines().filter((l) => /rollout status daemonset/.test(l)).length, 2);
  t.notOk(w.lines().some((l) => /modprobe/.test(l)), 'iscsi_tcp already loaded: no modprobe');
  t.same(w.mockStarts.at(-1)!.host, '172.18.0.1', 'no Gateway in the inspect output: the first address of the subnet');
  t.same(await c.stop(), []);
});

t.test('a real Datera backend: no mock, no target networks, its credentials in the Secret', async (t) => {
  const w = await world(t);
  const backend = { url: 'https://dsp.example:7718', server: 'dsp.example:7717', user: 'k8s', password: 'REAL-pw-1', portals: ['10.1.1.1:3260'] };
  const logs: string[] = [];
  // Also: the Calico cache from $DKC_CALICO_MANIFEST_DIR holding another patch of the series, without a FlexVolume
  // driver (as Calico's newest manifests); tools given as options.
  const cache = join(w.dir, 'calico-cache');
  await mkdir(cache);
  await writeFile(join(cache, 'calico-v3.29.1.yaml'), patchCalicoManifest(await readFile(CALICO_FIXTURE, 'utf8'), { podCidr: '10.0.0.0/8' }).text);
  const tools = { kind: join(w.kindDir, 'kind-v0.29.0'), kubectl: join(w.bin, 'kubectl'), docker: join(w.bin, 'docker') };
  const c = await startKindCluster(options(w, { backend, driver: { image: 'x.example/i:1' }, calicoManifestDir: undefined, env: { ...w.env, DKC_CALICO_MANIFEST_DIR: cache, PATH: '/usr/bin:/bin' }, tools }, logs));
  t.match(c.warnings.join('\n'), /Calico v3\.29\.6 is not cached; using .*calico-v3\.29\.1\.yaml of the same series/);
  t.ok(logs.some((l) => /has no FlexVolume driver to remove/.test(l)));
  t.match(w.calls.find((x) => x.file && /calico-node/.test(x.file))!.file!, /CALICO_IPV4POOL_CIDR\n\s+value: 192\.168\.0\.0\/16/, 'the CIDR set again to the kind pod subnet');
  t.same(c.backend, { kind: 'datera', ...backend });
  t.notOk(w.lines().some((l) => /^mock|network (inspect|connect)/.test(l)));
  const creds = docs(w.calls.find((x) => x.argv.join(' ') === 'create -f -')!.stdin);
  t.equal(Buffer.from(creds[1].data.password, 'base64').toString(), 'REAL-pw-1');
  t.notOk(logs.some((l) => l.includes('REAL-pw-1')), 'never logged');
  t.same(await c.stop(), []);
});

t.test('the real mock is started for kind: any port, plain HTTP, targets in a tgt container, its instance label kept', async (t) => {
  const given: unknown[] = [];
  let stopped = 0;
  const fake = async (o: unknown) => {
    given.push(o);
    return {
      url: 'http://172.18.0.1:40001',
      server: '172.18.0.1:40001',
      credentials: { user: 'admin', password: 'pw' },
      portals: ['10.9.0.2:3260'],
      targetHost: { instanceId: 'beef' },
      requests: () => [{ path: '/login' }],
      stop: async () => void stopped++,
    } as any;
  };
  const m = await startMockDatera({ host: '172.18.0.1', stateDir: '/w/datera' }, fake);
  t.same(given, [{ host: '172.18.0.1', httpPort: 0, httpsPort: null, targets: 'container', stateDir: '/w/datera' }]);
  t.match(m, { url: 'http://172.18.0.1:40001', server: '172.18.0.1:40001', credentials: { user: 'admin' }, portals: ['10.9.0.2:3260'], tgtInstance: 'beef' });
  t.same(m.requests!(), [{ path: '/login' }]);
  await m.stop();
  t.equal(stopped, 1);
});
