/**
 * Before the cluster exists: decide every image the nodes will run after Calico, build the ones that come from this
 * checkout (the driver installer for a driver file, the provisioner), and refuse early when an image that no
 * registry has (local/..., dkc/...) is missing from the local Docker.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HarnessError } from '../../../lib/errors.js';
import { CLUSTER_LABEL, OWNER, OWNER_LABEL, neverPullable, writeDriverContext, writeProvisionerContext } from '../images.js';
import { repoRoot } from '../manifests.js';
import type { KindAction, KindContext } from './context.js';

export const DEFAULT_MYSQL_IMAGE = 'mariadb:10.11';
export const DEFAULT_BUSYBOX_IMAGE = 'busybox:1.36';

async function build(ctx: KindContext, what: string, tag: string, write: (dir: string) => Promise<unknown>): Promise<void> {
  const dir = join(ctx.workDir, 'build', what);
  ctx.undo(`${what} build context`, () => rm(dir, { recursive: true, force: true }));
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await write(dir);
  ctx.undo(`image ${tag}`, () => ctx.tools.docker(['rmi', '--force', tag], { timeoutMs: 120_000 }));
  ctx.builtImages.push(tag);
  await ctx.record({ images: ctx.builtImages });
  ctx.log(`building ${tag}`, { context: dir });
  await ctx.tools.docker(['build', '--tag', tag, '--label', `${CLUSTER_LABEL}=${ctx.o.id}`, '--label', `${OWNER_LABEL}=${OWNER}`, dir], { timeoutMs: ctx.timeouts.imagesMs });
}

export const prepareImages: KindAction = {
  name: 'prepare images',
  async run(ctx) {
    const o = ctx.o;
    const root = o.root ?? repoRoot();
    const nodeBinary = o.nodeBinary ?? process.execPath;
    const busybox = o.images?.busybox ?? DEFAULT_BUSYBOX_IMAGE;
    const workloads = [o.images?.mysql ?? DEFAULT_MYSQL_IMAGE, busybox];
    let driver: string;
    if ('image' in o.driver) driver = o.driver.image;
    else {
      const d = o.driver;
      driver = `dkc/datera-iscsi-installer:${o.id}`;
      const reference = d.reference ?? d.path === join(root, 'drivers/flexvolume/datera~iscsi/iscsi');
      await build(ctx, 'driver', driver, (dir) => writeDriverContext(dir, { driver: d.path, reference, root, nodeBinary, baseImage: busybox }));
    }
    let provisioner: string | undefined;
    if (o.provisioner !== false) {
      provisioner = o.provisioner?.image;
      if (!provisioner) {
        provisioner = `dkc/datera-provisioner:${o.id}`;
        const tag = provisioner;
        await build(ctx, 'provisioner', tag, (dir) => writeProvisionerContext(dir, { root, nodeBinary, baseImage: busybox }));
      }
    }
    ctx.images = { driver, provisioner, workloads };
    const missing: string[] = [];
    for (const image of [driver, ...(provisioner ? [provisioner] : [])]) {
      if (ctx.builtImages.includes(image) || !neverPullable(image)) continue;
      const r = await ctx.tools.docker(['image', 'inspect', '--format', '{{.Id}}', image], { nothrow: true });
      if (r.exitCode !== 0) missing.push(image);
    }
    if (missing.length) throw new HarnessError('MISSING_TOOL', `image ${missing.join(', ')} is not in the local Docker and no registry has it; build it (see images/) or give a pullable image`);
  },
};
