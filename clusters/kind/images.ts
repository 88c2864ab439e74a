/**
 * Images for kind nodes. kind nodes pull from registries like any node; where none is reachable every image must be
 * in the local Docker first and is then copied into the nodes with `kind load docker-image`.
 *
 * The reference driver and the provisioner come from one image, `dkc/driver:<hash12>` (images/driver, built by
 * `images/build driver`, with or without a registry): the provisioner Deployment runs it as is, and the installer
 * DaemonSet assembles the driver for the nodes from it (manifests.ts). A driver given as a file is put into a thin
 * image on top of it (`dkc/datera-iscsi-installer:<cluster id>`, labelled `dkc.cluster=<id>` so a sweep finds it
 * after a crash), in the installer's plugin-dir layout.
 */
import { chmod, copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../lib/exec.js';
import { HarnessError } from '../../lib/errors.js';
import { DRIVER_DIR_NAME, IMAGE_DRIVER_DIR, driverWrapper } from './manifests.js';

export const CLUSTER_LABEL = 'dkc.cluster';
export const OWNER_LABEL = 'dkc.owner';
export const OWNER = 'datera-k8s-conformance';
const DKC_DRIVER_REF = /^dkc\/driver:[0-9a-f]{12}$/;

/** Images that exist only where they were built (never in a registry): they must be in the local Docker. */
export function neverPullable(image: string): boolean {
  const first = image.split('/')[0]!;
  return image.includes('/') && ['local', 'dkc'].includes(first);
}

/** The content-addressed reference of this checkout's driver image (`images/build --print-ref driver`; builds nothing). */
export async function dkcDriverImage(root: string): Promise<string> {
  const script = join(root, 'images', 'build');
  const r = await run([script, '--print-ref', 'driver'], { nothrow: true, timeoutMs: 120_000, cwd: root }).catch((e: unknown) => ({ exitCode: 1, stdout: '', stderr: (e as Error).message }));
  const ref = r.stdout.trim().split('\n').pop() ?? '';
  if (r.exitCode !== 0 || !DKC_DRIVER_REF.test(ref)) {
    throw new HarnessError('MISSING_TOOL', `cannot name the driver image (${script} --print-ref driver: ${(r.stderr || r.stdout).trim().split('\n').pop() || `exit ${r.exitCode}`}); build the checkout (npm run build) and the image (sudo images/build driver), or give the image`);
  }
  return ref;
}

export interface DriverContextOptions {
  /** The driver executable. */
  driver: string;
  /** What the thin image is built on: it must have sh, cp, mv, mkdir, chmod, cmp, basename and sleep. */
  baseImage: string;
}

/**
 * The build context of a thin installer image for a driver file, in the plugin-dir layout: the file at
 * /opt/datera/datera~iscsi/.dkc/driver behind the `iscsi` wrapper that points it at the node credentials file.
 */
export async function writeDriverContext(dir: string, o: DriverContextOptions): Promise<void> {
  const plugin = join(dir, DRIVER_DIR_NAME);
  await mkdir(join(plugin, '.dkc'), { recursive: true });
  await copyFile(o.driver, join(plugin, '.dkc', 'driver'));
  await chmod(join(plugin, '.dkc', 'driver'), 0o755);
  await writeFile(join(plugin, 'iscsi'), driverWrapper(false), { mode: 0o755 });
  await writeFile(join(dir, 'Dockerfile'), `FROM ${o.baseImage}\nCOPY ${DRIVER_DIR_NAME} ${IMAGE_DRIVER_DIR}\n`);
}
