/**
 * Before the cluster exists: decide every image the nodes will run after Calico, refuse early when one that no
 * registry has (dkc/..., local/...) is missing from the local Docker, and build the thin installer image for a driver
 * given as a file. The reference driver and the provisioner come from this checkout's dkc/driver image (images.ts).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HarnessError } from '../../../lib/errors.js';
import { CLUSTER_LABEL, OWNER, OWNER_LABEL, dkcDriverImage, neverPullable, writeDriverContext } from '../images.js';
import { repoRoot } from '../manifests.js';
import type { KindAction, KindContext } from './context.js';

export const DEFAULT_MYSQL_IMAGE = 'mariadb:10.11';
export const DEFAULT_BUSYBOX_IMAGE = 'busybox:1.36';
export const REFERENCE_DRIVER = 'drivers/flexvolume/datera~iscsi/iscsi';

async function build(ctx: KindContext, tag: string, write: (dir: string) => Promise<unknown>): Promise<void> {
  const dir = join(ctx.workDir, 'build');
  ctx.undo('build context', () => rm(dir, { recursive: true, force: true }));
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await write(dir);
  // Recorded before the build: a killed build may still tag the image (the sweeper also finds it by label).
  await ctx.record({ images: [...ctx.builtImages, tag] });
  ctx.log(`building ${tag}`, { context: dir });
  await ctx.tools.docker(['build', '--tag', tag, '--label', `${CLUSTER_LABEL}=${ctx.o.id}`, '--label', `${OWNER_LABEL}=${OWNER}`, dir], { timeoutMs: ctx.timeouts.imagesMs });
  ctx.builtImages.push(tag);
  ctx.undo(`image ${tag}`, () => ctx.tools.docker(['rmi', '--force', tag], { timeoutMs: 120_000 }));
}

export const prepareImages: KindAction = {
  name: 'prepare images',
  async run(ctx) {
    const o = ctx.o;
    const root = o.root ?? repoRoot();
    let dkc: string | undefined;
    const dkcImage = async () => (dkc ??= o.dkcImage ?? (await dkcDriverImage(root)));
    const d = o.driver;
    const fromFile = 'path' in d && !(d.reference ?? d.path === join(root, REFERENCE_DRIVER));
    const driver = 'image' in d ? d.image : fromFile ? `dkc/datera-iscsi-installer:${o.id}` : await dkcImage();
    const provisioner = o.provisioner === false ? undefined : (o.provisioner?.image ?? (await dkcImage()));
    const base = fromFile ? await dkcImage() : undefined;

    const missing: string[] = [];
    for (const image of new Set([base, driver, provisioner])) {
      if (!image || (image === driver && fromFile) || !neverPullable(image)) continue;
      const r = await ctx.tools.docker(['image', 'inspect', '--format', '{{.Id}}', image], { nothrow: true });
      if (r.exitCode !== 0) missing.push(image);
    }
    if (missing.length) {
      const hint = missing.some((m) => m.startsWith('dkc/driver:')) ? 'build it with `sudo images/build driver` (after npm run build)' : 'build it (see images/) or give a pullable image';
      throw new HarnessError('MISSING_TOOL', `image ${missing.join(', ')} is not in the local Docker and no registry has it; ${hint}`);
    }
    if (fromFile && 'path' in d) await build(ctx, driver, (dir) => writeDriverContext(dir, { driver: d.path, baseImage: base! }));
    ctx.images = { driver, provisioner, workloads: [o.images?.mysql ?? DEFAULT_MYSQL_IMAGE, o.images?.busybox ?? DEFAULT_BUSYBOX_IMAGE] };
    ctx.log('images', { ...ctx.images, built: ctx.builtImages });
  },
};
