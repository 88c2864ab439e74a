/**
 * Test support for the kind provider (imported by clusters/kind/*.test.ts only). fakeWorld() makes a temp dir with
 * recorded fake `kind` (one per release, as in a DKC_KIND_DIR), `kubectl` and `docker` executables, a cached Calico
 * manifest per release, a small checkout to build images from, and an in-process fake mock.
 *
 * The executables are small sh scripts: each hands its argv, stdin and working dir through a FIFO to this process,
 * which records the call, answers the way the real tool would (output formats the provider parses) and keeps the
 * pretend Docker world (clusters, containers, networks, local images), so a test can check that teardown removed
 * everything. A node process per call would cost half a second on a loaded CI machine; sh costs milliseconds.
 */
import { constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { run } from '../../lib/exec.js';
import { CALICO_RELEASES } from './calico.js';
import type { KindMock, KindMockOptions } from './actions/context.js';

const here = dirname(fileURLToPath(import.meta.url));
export const CALICO_FIXTURE = join(here, 'testdata', 'calico-v3.26.5.yaml');
/** What the fake checkout's images/build names as the driver image. */
export const FAKE_DKC_IMAGE = 'dkc/driver:0123456789ab';

export interface FakeCall {
  tool: 'kind' | 'kubectl' | 'docker' | 'mock';
  /** The executable's name: `kind-v0.17.0`, `kubectl`, ... */
  bin: string;
  /** kubectl without its leading `--kubeconfig <file>`. */
  argv: string[];
  /** The full argv as given. */
  raw: string[];
  stdin: string;
  /** Content of the `-f <file>` given to kubectl. */
  file?: string;
  /** Content of `kind create --config`. */
  config?: string;
  /** `docker build`: the context's files and Dockerfile. */
  files?: string[];
  dockerfile?: string;
}

export interface FakeState {
  clusters: Record<string, { image: string }>;
  containers: Record<string, { labels: Record<string, string>; ip?: string }>;
  networks: Record<string, { labels: Record<string, string>; containers: string[] }>;
  images: Record<string, { labels?: Record<string, string> }>;
}

export interface FakeKnobs {
  /** A call whose `tool argv...` (FakeCall.argv) matches fails with exit 1. */
  fail?: RegExp;
  /** `kubectl wait` times out this many times first. */
  waitRounds?: number;
  rolloutRounds?: number;
  /** Nodes carry the controller-managed-attach-detach annotation (kubelet flag not applied). */
  cmad?: boolean;
  dockerDown?: boolean;
  noGateway?: boolean;
  noDriver?: boolean;
  iscsiLoaded?: boolean;
  /**
   * Docker's containerd image store: `kind load docker-image` fails as it does there for a pulled multi-platform
   * image (ctr import --all-platforms: content digest not found, kind #3795).
   */
  containerdStore?: boolean;
  /** What a `kind` without a release in its name prints. */
  kindVersion?: string;
}

export interface FakeWorld {
  dir: string;
  bin: string;
  kindDir: string;
  calicoDir: string;
  /** A checkout-like root: the provisioner manifest, the reference driver's wrapper, images/build --print-ref. */
  root: string;
  driver: string;
  env: Record<string, string>;
  knobs: FakeKnobs;
  calls: FakeCall[];
  /** One line per call, `tool argv...`, for order checks. */
  lines(): string[];
  state: FakeState;
  /** Called for every call before it is answered (abort tests). */
  onCall?: (c: FakeCall) => void;
  addImages(...images: string[]): void;
  /** The startMock option: a mock with a tgt container `dkc-tgt-<inst>` on two labelled networks. */
  startMock: (o: KindMockOptions) => Promise<KindMock>;
  mockStarts: KindMockOptions[];
  /** A fake executable for `tool` at `path` (e.g. a `kind` elsewhere on PATH). */
  writeTool(path: string, bin: string): Promise<void>;
  cleanup(): Promise<void>;
}

interface Answer {
  code?: number;
  out?: string;
  err?: string;
}

const wrapper = (dir: string, bin: string) => `#!/bin/sh
# Fake ${bin} for clusters/kind tests: the call goes to the test process through a FIFO (clusters/kind/testing.ts).
t=$(mktemp -d "${dir}/call.XXXXXX")
mkfifo "$t/done"
cat > "$t/stdin"
printf '%s\\0' "$t" "$PWD" "$#" "${bin}" "$@" > "$t/req"
cat "$t/req" > "${dir}/requests"
read -r _ < "$t/done"
cat "$t/out"
cat "$t/err" >&2
code=$(cat "$t/code")
rm -rf "$t"
exit "$code"
`;

const nodeNames = (name: string) => [`${name}-control-plane`, `${name}-worker`, `${name}-worker2`];

/**
 * What real kind mounts into every node container itself (pkg/cluster/internal/providers/docker/provision.go,
 * runArgsForNode: `--tmpfs /tmp --tmpfs /run --volume /var --volume /lib/modules:/lib/modules:ro`). Docker refuses a
 * second mount on the same container path ("Duplicate mount point", moby daemon/volumes.go), so the fake kind does too.
 */
export const KIND_NODE_MOUNTS = ['/tmp', '/run', '/var', '/lib/modules'];

/** The container path docker would refuse for this kind config's nodes, as real kind create meets it; undefined when none. */
export function duplicateMount(config: string): { node: number; path: string } | undefined {
  const c = parse(config) as { nodes?: { extraMounts?: { containerPath?: string }[] }[] } | null;
  for (const [i, n] of (c?.nodes ?? []).entries()) {
    const seen = new Set(KIND_NODE_MOUNTS);
    for (const m of n.extraMounts ?? []) {
      const p = (m.containerPath ?? '').replace(/\/+$/, '') || '/';
      if (seen.has(p)) return { node: i, path: p };
      seen.add(p);
    }
  }
  return undefined;
}

export async function fakeWorld(o: { kindReleases?: string[] } = {}): Promise<FakeWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-kindtest-'));
  const bin = join(dir, 'bin');
  const kindDir = join(dir, 'kind-releases');
  const calicoDir = join(dir, 'calico');
  const callDir = join(dir, 'calls');
  for (const d of [bin, kindDir, calicoDir, callDir]) await mkdir(d, { recursive: true });
  await run(['mkfifo', join(callDir, 'requests')]);
  const writeTool = (path: string, name: string) => writeFile(path, wrapper(callDir, name), { mode: 0o755 });
  for (const t of ['kubectl', 'docker']) await writeTool(join(bin, t), t);
  for (const r of o.kindReleases ?? ['v0.17.0', 'v0.20.0', 'v0.22.0', 'v0.24.0', 'v0.25.0', 'v0.27.0', 'v0.29.0', 'v0.31.0', 'v0.32.0', 'v0.33.0']) await writeTool(join(kindDir, `kind-${r}`), `kind-${r}`);
  const fixture = await readFile(CALICO_FIXTURE, 'utf8');
  for (const release of Object.values(CALICO_RELEASES)) await writeFile(join(calicoDir, `calico-${release}.yaml`), fixture.replaceAll('v3.26.5', release));

  const root = join(dir, 'checkout');
  for (const d of ['drivers/provisioner/deploy', 'drivers/flexvolume/datera~iscsi', 'images']) await mkdir(join(root, d), { recursive: true });
  await copyFile(join(here, '../../drivers/provisioner/deploy/provisioner.yaml'), join(root, 'drivers/provisioner/deploy/provisioner.yaml'));
  await writeFile(join(root, 'drivers/flexvolume/datera~iscsi/iscsi'), '#!/bin/sh\nexec node "$DKC_DRIVER_JS" "$@"\n', { mode: 0o755 });
  await writeFile(join(root, 'package.json'), '{"name":"fake-checkout"}\n');
  // images/build --print-ref driver, as the real script answers it.
  await writeFile(join(root, 'images/build'), `#!/bin/sh\n[ "$1 $2" = "--print-ref driver" ] || exit 2\necho ${FAKE_DKC_IMAGE}\n`, { mode: 0o755 });
  const driver = join(dir, 'my-driver');
  await writeFile(driver, '#!/bin/sh\necho \'{"status":"Success"}\'\n', { mode: 0o755 });

  const state: FakeState = { clusters: {}, containers: {}, networks: {}, images: {} };
  const calls: FakeCall[] = [];
  const counters = { wait: 0, rollout: 0 };
  const mockStarts: KindMockOptions[] = [];
  let mocks = 0;

  const world: FakeWorld = {
    dir,
    bin,
    kindDir,
    calicoDir,
    root,
    driver,
    env: { PATH: `${bin}:/usr/bin:/bin`, DKC_KIND_DIR: kindDir, HOME: dir },
    knobs: {},
    calls,
    lines: () => calls.map((c) => [c.tool, ...c.argv].join(' ')),
    state,
    addImages(...images) {
      for (const i of images) state.images[i] ??= {};
    },
    mockStarts,
    writeTool,
    async startMock(mo) {
      mockStarts.push(mo);
      calls.push({ tool: 'mock', bin: 'mock', argv: ['start', mo.host], raw: [], stdin: '' });
      if (world.knobs.fail?.test(`mock start ${mo.host}`)) throw new Error('fake mock: planned failure of start');
      const inst = `f${++mocks}`;
      const labels = { 'dkc.owner': 'datera-k8s-conformance', 'dkc.instance': inst };
      state.containers[`dkc-tgt-${inst}`] = { labels };
      for (const i of [1, 2]) state.networks[`dkc-tgt-${inst}-${i}`] = { labels, containers: [`dkc-tgt-${inst}`] };
      return {
        url: `http://${mo.host}:41234`,
        server: `${mo.host}:41234`,
        credentials: { user: 'admin', password: 'Secr3t-pw' },
        portals: ['10.99.1.2:3260', '10.99.2.2:3260'],
        tgtInstance: inst,
        requests: () => [{ method: 'PUT', path: '/login' }],
        async stop() {
          calls.push({ tool: 'mock', bin: 'mock', argv: ['stop'], raw: [], stdin: '' });
          delete state.containers[`dkc-tgt-${inst}`];
          for (const i of [1, 2]) {
            const net = state.networks[`dkc-tgt-${inst}-${i}`];
            // The real stop removes its networks, which docker refuses while other containers are attached.
            if (net && net.containers.some((c) => c !== `dkc-tgt-${inst}`)) throw new Error(`network dkc-tgt-${inst}-${i} has active endpoints`);
            delete state.networks[`dkc-tgt-${inst}-${i}`];
          }
        },
      };
    },
    cleanup: async () => {
      server.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };

  function answer(c: FakeCall, cwd: string): Answer {
    const k = world.knobs;
    const a = c.raw;
    const flag = (name: string) => (a.indexOf(name) >= 0 ? a[a.indexOf(name) + 1] : undefined);
    const fail = (err: string, code = 1): Answer => ({ code, err: err + '\n' });
    if (k.fail?.test([c.tool, ...c.argv].join(' '))) return fail(`fake ${c.tool}: planned failure of: ${c.argv.join(' ')}`);
    const labelMatch = (labels: Record<string, string>) => {
      const [key, v] = flag('--filter')!.replace(/^label=/, '').split('=');
      return key! in labels && (v === undefined || labels[key!] === v);
    };

    if (c.tool === 'kind') {
      const [cmd, sub] = a;
      if (cmd === 'version') return { out: `kind ${/^kind-(v\d+\.\d+\.\d+)$/.exec(c.bin)?.[1] ?? k.kindVersion ?? 'v0.31.0'} go1.24.2 linux/amd64\n` };
      const name = flag('--name') ?? 'kind';
      if (cmd === 'create' && sub === 'cluster') {
        if (state.clusters[name]) return fail(`ERROR: failed to create cluster: node(s) already exist for a cluster with the name "${name}"`);
        const dup = duplicateMount(c.config ?? '');
        if (dup) {
          const node = nodeNames(name)[dup.node] ?? `${name}-node${dup.node}`;
          return fail(`ERROR: failed to create cluster: command "docker run --name ${node} ..." failed with error: exit status 125\nCommand Output: docker: Error response from daemon: Duplicate mount point: ${dup.path}.`);
        }
        state.clusters[name] = { image: flag('--image')! };
        nodeNames(name).forEach((n, i) => (state.containers[n] = { labels: { 'io.x-k8s.kind.cluster': name }, ip: `172.18.0.${i + 2}` }));
        writeFileSync(flag('--kubeconfig')!, `# fake kind cluster ${name}\napiVersion: v1\nkind: Config\n`);
        return { err: `Creating cluster "${name}" ...\n` };
      }
      if (cmd === 'get' && sub === 'nodes') return { out: state.clusters[name] ? nodeNames(name).reverse().join('\n') + '\n' : '' };
      if (cmd === 'delete' && sub === 'cluster') {
        delete state.clusters[name];
        for (const [n, v] of Object.entries(state.containers)) if (v.labels['io.x-k8s.kind.cluster'] === name) delete state.containers[n];
        for (const n of Object.values(state.networks)) n.containers = n.containers.filter((x) => !x.startsWith(`${name}-`));
        return { err: `Deleting cluster "${name}" ...\n` };
      }
      if (cmd === 'load' && sub === 'docker-image') {
        const rest = a.slice(2);
        for (const img of rest.slice(0, rest.indexOf('--name'))) if (!state.images[img]) return fail(`ERROR: image: "${img}" not present locally`);
        if (k.containerdStore) {
          return fail(
            `ERROR: failed to load image: command "docker exec --privileged -i ${name}-control-plane ctr --namespace=k8s.io images import --all-platforms --digests --snapshotter=overlayfs -" failed with error: exit status 1\nCommand Output: ctr: content digest sha256:${'9'.repeat(64)}: not found`,
          );
        }
        return {};
      }
      if (cmd === 'load' && sub === 'image-archive') {
        if (!existsSync(a[2]!)) return fail(`ERROR: failed to load image: open ${a[2]}: no such file or directory`);
        return {};
      }
      if (cmd === 'export' && sub === 'logs') {
        mkdirSync(a[2]!, { recursive: true });
        writeFileSync(join(a[2]!, 'kind-version.txt'), 'fake\n');
        return {};
      }
    }

    if (c.tool === 'kubectl') {
      const cluster = existsSync(a[1]!) ? /# fake kind cluster (\S+)/.exec(readFileSync(a[1]!, 'utf8'))?.[1] : undefined;
      if (!cluster || !state.clusters[cluster]) return fail('The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?');
      const [cmd, sub] = c.argv;
      if (cmd === 'wait') {
        if (++counters.wait <= (k.waitRounds ?? 0)) return fail(`error: timed out waiting for the condition on nodes/${cluster}-worker`);
        return { out: nodeNames(cluster).map((n) => `node/${n} condition met`).join('\n') + '\n' };
      }
      if (cmd === 'get' && sub === 'nodes') {
        const items = nodeNames(cluster).map((n) => ({
          metadata: { name: n, annotations: k.cmad ? { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' } : { 'node.alpha.kubernetes.io/ttl': '0' } },
          status: { addresses: [{ type: 'InternalIP', address: state.containers[n]!.ip }, { type: 'Hostname', address: n }] },
        }));
        return { out: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) };
      }
      if (cmd === 'get' && sub === '--raw') return { out: JSON.stringify({ major: '1', gitVersion: /:(v1\.\d+\.\d+)@/.exec(state.clusters[cluster]!.image)?.[1] }) };
      if (cmd === 'get' && sub === 'pods') return { out: 'NAMESPACE     NAME                READY\nkube-system   calico-node-abcde   1/1\n' };
      if (cmd === 'create' || cmd === 'apply') return { out: 'created\n' };
      if (c.argv.includes('rollout')) {
        if (++counters.rollout <= (k.rolloutRounds ?? 0)) return fail('error: timed out waiting for the condition');
        return { out: 'successfully rolled out\n' };
      }
    }

    if (c.tool === 'docker') {
      const [cmd, sub] = a;
      if (cmd === 'version') {
        if (k.dockerDown) return fail('Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?');
        return { out: /Server\.Arch/.test(flag('--format') ?? '') ? 'linux/amd64\n' : '29.1.3\n' };
      }
      if (cmd === 'image' && sub === 'save') {
        const image = a.at(-1)!;
        if (!state.images[image]) return fail(`Error response from daemon: No such image: ${image}`);
        writeFileSync(flag('--output')!, `fake archive of ${image} for ${flag('--platform') ?? 'all platforms'}\n`);
        return {};
      }
      if (cmd === 'image' && sub === 'inspect') return state.images[a.at(-1)!] ? { out: `sha256:${'0'.repeat(64)}\n` } : fail(`Error: No such image: ${a.at(-1)}`);
      if (cmd === 'build') {
        const labels = Object.fromEntries(a.flatMap((x, i) => (a[i - 1] === '--label' ? [x.split('=')] : [])));
        state.images[flag('--tag')!] = { labels };
        return { out: 'Successfully built\n' };
      }
      if (cmd === 'rmi') {
        delete state.images[a.at(-1)!];
        return { out: `Untagged: ${a.at(-1)}\n` };
      }
      if (cmd === 'images') return { out: Object.entries(state.images).filter(([, i]) => labelMatch(i.labels ?? {})).map(([n]) => `${n}\n`).join('') };
      if (cmd === 'network' && sub === 'inspect') {
        if (a[2] !== 'kind') return fail(`Error response from daemon: network ${a[2]} not found`);
        const v4 = k.noGateway ? { Subnet: '172.18.0.0/16' } : { Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' };
        return { out: JSON.stringify([{ Name: 'kind', Driver: 'bridge', IPAM: { Driver: 'default', Config: [{ Subnet: 'fc00:f853:ccd:e793::/64' }, v4] } }]) };
      }
      if (cmd === 'network' && sub === 'ls') return { out: Object.entries(state.networks).filter(([, n]) => labelMatch(n.labels)).map(([n]) => `${n}\n`).join('') };
      if (cmd === 'network' && (sub === 'connect' || sub === 'disconnect')) {
        const [net, node] = a.slice(-2) as [string, string];
        const n = state.networks[net];
        if (!n) return fail(`Error response from daemon: network ${net} not found`);
        if (!state.containers[node]) return fail(`Error response from daemon: No such container: ${node}`);
        n.containers = sub === 'connect' ? [...n.containers, node] : n.containers.filter((x) => x !== node);
        return {};
      }
      if (cmd === 'network' && sub === 'rm') {
        if (state.networks[a[2]!]?.containers.length) return fail(`Error response from daemon: error while removing network: network ${a[2]} has active endpoints`);
        delete state.networks[a[2]!];
        return { out: `${a[2]}\n` };
      }
      if (cmd === 'ps') {
        const format = flag('--format');
        const label = format ? /\{\{\.Label "([^"]+)"\}\}/.exec(format)?.[1] : undefined;
        const list = Object.entries(state.containers).filter(([, x]) => labelMatch(x.labels));
        return { out: list.map(([n, x]) => `${label ? (x.labels[label] ?? '') : n}\n`).join('') };
      }
      if (cmd === 'rm') {
        for (const x of a.slice(1).filter((y) => !y.startsWith('--'))) {
          delete state.containers[x];
          for (const n of Object.values(state.networks)) n.containers = n.containers.filter((y) => y !== x);
        }
        return {};
      }
      if (cmd === 'exec') {
        const [, node, ...rest] = a;
        if (!state.containers[node!]) return fail(`Error response from daemon: No such container: ${node}`);
        if (rest.join(' ') === 'test -d /sys/module/iscsi_tcp') return { code: k.iscsiLoaded ? 0 : 1 };
        if (rest[0] === 'test' && rest[1] === '-x') return { code: k.noDriver ? 1 : 0 };
        return {};
      }
    }
    void cwd;
    return fail(`fake ${c.bin}: unknown command: ${a.join(' ')}`);
  }

  function record(bin: string, raw: string[], t: string): FakeCall {
    const tool = bin.startsWith('kind') ? 'kind' : (bin as 'kubectl' | 'docker');
    const argv = tool === 'kubectl' && raw[0] === '--kubeconfig' ? raw.slice(2) : raw;
    const c: FakeCall = { tool, bin, argv, raw, stdin: readFileSync(join(t, 'stdin'), 'utf8') };
    const f = raw.indexOf('-f') >= 0 ? raw[raw.indexOf('-f') + 1] : undefined;
    if (f && f !== '-') c.file = readFileSync(f, 'utf8');
    if (tool === 'kind' && raw[0] === 'create') c.config = readFileSync(raw[raw.indexOf('--config') + 1]!, 'utf8');
    if (tool === 'docker' && raw[0] === 'build') {
      const ctx = raw.at(-1)!;
      const files: string[] = [];
      const walk = (d: string) => {
        for (const n of readdirSync(d)) {
          const p = join(d, n);
          if (statSync(p).isDirectory()) walk(p);
          else files.push(relative(ctx, p));
        }
      };
      walk(ctx);
      c.files = files.sort();
      c.dockerfile = readFileSync(join(ctx, 'Dockerfile'), 'utf8');
    }
    return c;
  }

  // The request FIFO, opened read-write so it never reports end-of-file between callers.
  const server = new Socket({ fd: openSync(join(callDir, 'requests'), constants.O_RDWR | constants.O_NONBLOCK), readable: true, writable: false });
  // Not holding the test process open: a pending call's child process does that.
  server.unref();
  let buf = Buffer.alloc(0);
  server.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      const fields: string[] = [];
      let at = 0;
      let need = 4;
      while (fields.length < need) {
        const end = buf.indexOf(0, at);
        if (end < 0) return;
        fields.push(buf.subarray(at, end).toString('utf8'));
        at = end + 1;
        if (fields.length === 3) need = 4 + Number(fields[2]);
      }
      buf = buf.subarray(at);
      const [t, cwd, , bin, ...raw] = fields as [string, string, string, string, ...string[]];
      let c: FakeCall | undefined;
      let ans: Answer;
      try {
        c = record(bin, raw, t);
        calls.push(c);
        world.onCall?.(c);
        ans = answer(c, cwd);
      } catch (err) {
        ans = { code: 99, err: `fake ${bin} crashed: ${(err as Error).stack}\n` };
      }
      writeFileSync(join(t, 'out'), ans.out ?? '');
      writeFileSync(join(t, 'err'), ans.err ?? '');
      writeFileSync(join(t, 'code'), String(ans.code ?? 0));
      void writeFile(join(t, 'done'), 'done\n');
    }
  });
  return world;
}
