/**
 * Images for kind nodes. kind nodes pull from registries like any node; where none is reachable every image must be
 * in the local Docker first and is then copied into the nodes with `kind load docker-image`. Images this provider
 * builds itself (from the checkout, `docker build` on a busybox base) are tagged `dkc/...:<cluster id>` and labelled
 * `dkc.cluster=<id>` so a sweep finds them after a crash.
 *
 * Two builds:
 * - the driver installer image for a driver given as a file (image contract in manifests.ts): the file goes to
 *   /opt/datera/datera~iscsi/.dkc/driver behind a wrapper `iscsi` that points the driver at the node credentials
 *   file and its log. The reference driver is a sh wrapper around Node.js, which kind nodes lack: Node (this
 *   process's binary), the shared libraries `ldd` names and the driver's dist/ files go along, and node is started
 *   through the bundled dynamic loader, so the node image's own libc does not matter.
 * - the provisioner image: the same Node bundle, dist/ and the production dependency closure of
 *   @kubernetes/client-node, run as `node dist/drivers/provisioner/main.js` from /app (deploy/provisioner.yaml).
 */
import { chmod, copyFile, cp, mkdir, readFile, writeFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { run } from '../../lib/exec.js';
import { HarnessError } from '../../lib/errors.js';
import { DRIVER_DIR_NAME, IMAGE_DRIVER_DIR, NODE_CREDENTIALS_FILE } from './manifests.js';

export const CLUSTER_LABEL = 'dkc.cluster';
export const OWNER_LABEL = 'dkc.owner';
export const OWNER = 'datera-k8s-conformance';
export const RUNTIME_DIR = '/opt/dkc/runtime';

/** Images that exist only where they were built (never in a registry): they must be in the local Docker. */
export function neverPullable(image: string): boolean {
  const first = image.split('/')[0]!;
  return image.includes('/') && ['local', 'dkc'].includes(first);
}

/** Shared objects a dynamically linked binary needs, from `ldd` output; `loader` is the dynamic linker. */
export function parseLdd(stdout: string): { libs: string[]; loader: string | undefined } {
  const libs: string[] = [];
  let loader: string | undefined;
  for (const line of stdout.split('\n')) {
    const arrow = /=>\s*(\/\S+)/.exec(line);
    if (arrow) libs.push(arrow[1]!);
    else {
      const direct = /^\s*(\/\S+)\s+\(0x/.exec(line);
      if (direct) loader = direct[1]!;
    }
  }
  return { libs, loader };
}

/**
 * A relocatable Node runtime in `dir`: bin/node (a sh wrapper through the bundled loader, or the binary itself when
 * it is static), libexec/node, lib/*.so.
 */
export async function writeNodeRuntime(dir: string, nodeBinary: string): Promise<{ bundledLibs: number }> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  const r = await run(['ldd', nodeBinary], { nothrow: true, timeoutMs: 15_000 });
  const { libs, loader } = r.exitCode === 0 ? parseLdd(r.stdout) : { libs: [], loader: undefined };
  if (!loader) {
    await copyFile(nodeBinary, join(dir, 'bin/node'));
    await chmod(join(dir, 'bin/node'), 0o755);
    return { bundledLibs: 0 };
  }
  await mkdir(join(dir, 'lib'), { recursive: true });
  await mkdir(join(dir, 'libexec'), { recursive: true });
  for (const lib of [...libs, loader]) await copyFile(lib, join(dir, 'lib', basename(lib)));
  await chmod(join(dir, 'lib', basename(loader)), 0o755);
  await copyFile(nodeBinary, join(dir, 'libexec/node'));
  await chmod(join(dir, 'libexec/node'), 0o755);
  const wrapper = `#!/bin/sh
# Node.js bundled by dkc with its own shared libraries, started through the bundled dynamic loader.
d=$(cd "$(dirname "$0")/.." && pwd)
exec "$d/lib/${basename(loader)}" --library-path "$d/lib" "$d/libexec/node" "$@"
`;
  await writeFile(join(dir, 'bin/node'), wrapper, { mode: 0o755 });
  return { bundledLibs: libs.length };
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** dist/drivers and dist/lib of a built checkout, plus a package.json that makes them ES modules. */
async function copyDist(root: string, to: string): Promise<void> {
  const dist = join(root, 'dist');
  for (const part of ['drivers', 'lib']) {
    if (!(await exists(join(dist, part)))) throw new HarnessError('MISSING_TOOL', `${join(dist, part)} is missing; build the checkout first: npm run build`);
    await cp(join(dist, part), join(to, 'dist', part), { recursive: true });
  }
  await writeFile(join(to, 'package.json'), JSON.stringify({ name: 'dkc-bundle', private: true, type: 'module' }) + '\n');
}

interface PackageJson {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/**
 * The production dependency closure of `names` as node would resolve it from `root`: the top-level package dirs
 * (under root/node_modules) to copy; packages nested in another package's node_modules come along with it.
 */
export async function dependencyClosure(root: string, names: readonly string[]): Promise<string[]> {
  const top = join(root, 'node_modules');
  const seen = new Set<string>();
  const queue: { name: string; from: string; optional: boolean }[] = names.map((name) => ({ name, from: root, optional: false }));
  while (queue.length) {
    const { name, from, optional } = queue.shift()!;
    let dir: string | undefined;
    for (let d = from; ; d = dirname(d)) {
      const candidate = join(d, 'node_modules', name);
      if (await exists(join(candidate, 'package.json'))) {
        dir = candidate;
        break;
      }
      if (d === root || dirname(d) === d) break;
    }
    if (!dir) {
      if (optional) continue;
      throw new HarnessError('MISSING_TOOL', `${name} is not installed under ${root}; run npm install`);
    }
    if (seen.has(dir)) continue;
    seen.add(dir);
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as PackageJson;
    for (const dep of Object.keys(pkg.dependencies ?? {})) queue.push({ name: dep, from: dir, optional: false });
    for (const dep of [...Object.keys(pkg.optionalDependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]) queue.push({ name: dep, from: dir, optional: true });
  }
  const prefix = top + '/';
  return [...seen].filter((d) => d.startsWith(prefix) && !d.slice(prefix.length).includes('/node_modules/')).sort();
}

export interface DriverContextOptions {
  /** The driver executable. */
  driver: string;
  /** It is the reference driver (a sh wrapper around `node dist/drivers/flexvolume/main.js`): bundle Node and dist. */
  reference: boolean;
  root: string;
  nodeBinary: string;
  baseImage: string;
}

/** The installer image's build context in `dir` (Dockerfile included). */
export async function writeDriverContext(dir: string, o: DriverContextOptions): Promise<void> {
  const plugin = join(dir, DRIVER_DIR_NAME);
  const dkc = join(plugin, '.dkc');
  await mkdir(dkc, { recursive: true });
  await copyFile(o.driver, join(dkc, 'driver'));
  await chmod(join(dkc, 'driver'), 0o755);
  if (o.reference) {
    await writeNodeRuntime(join(dkc, 'runtime'), o.nodeBinary);
    await copyDist(o.root, dkc);
  }
  const wrapper = `#!/bin/sh
# datera/iscsi as installed by dkc: the node credentials file and the log for the driver beside this file.
d=$(cd "$(dirname "$0")" && pwd)
: "\${DATERA_CREDENTIALS_FILE:=${NODE_CREDENTIALS_FILE}}"
: "\${DATERA_FLEX_LOG:=/var/log/datera-flex.log}"
export DATERA_CREDENTIALS_FILE DATERA_FLEX_LOG
${o.reference ? 'export DKC_DRIVER_JS="$d/.dkc/dist/drivers/flexvolume/main.js"\nexport PATH="$d/.dkc/runtime/bin:$PATH"\n' : ''}exec "$d/.dkc/driver" "$@"
`;
  await writeFile(join(plugin, 'iscsi'), wrapper, { mode: 0o755 });
  await writeFile(join(dir, 'Dockerfile'), `FROM ${o.baseImage}\nCOPY ${DRIVER_DIR_NAME} ${IMAGE_DRIVER_DIR}\n`);
}

export interface ProvisionerContextOptions {
  root: string;
  nodeBinary: string;
  baseImage: string;
}

/** The provisioner image's build context in `dir`. */
export async function writeProvisionerContext(dir: string, o: ProvisionerContextOptions): Promise<{ packages: number }> {
  const app = join(dir, 'app');
  await mkdir(app, { recursive: true });
  await writeNodeRuntime(join(dir, 'runtime'), o.nodeBinary);
  await copyDist(o.root, app);
  const packages = await dependencyClosure(o.root, ['@kubernetes/client-node']);
  for (const p of packages) await cp(p, join(app, 'node_modules', p.slice(join(o.root, 'node_modules').length + 1)), { recursive: true, verbatimSymlinks: true });
  await writeFile(
    join(dir, 'Dockerfile'),
    [`FROM ${o.baseImage}`, `COPY runtime ${RUNTIME_DIR}`, 'COPY app /app', `ENV PATH=${RUNTIME_DIR}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, 'WORKDIR /app', 'USER 65534', ''].join('\n'),
  );
  return { packages: packages.length };
}
