/**
 * Before the cluster exists: the Calico manifest for this version (cached copy or download, calico.ts), patched
 * (its FlexVolume driver out, the pool CIDR in) and written to the work dir, so a missing manifest fails in seconds.
 */
import { rm, writeFile } from 'node:fs/promises';
import { calicoManifest, calicoRelease, patchCalicoManifest } from '../calico.js';
import { POD_SUBNET } from '../cluster-config.js';
import type { KindAction } from './context.js';

export const prepareCalico: KindAction = {
  name: 'prepare calico',
  async run(ctx) {
    const release = calicoRelease(ctx.v.calico);
    const src = await calicoManifest(release, { cacheDir: ctx.o.calicoManifestDir ?? ctx.env.DKC_CALICO_MANIFEST_DIR, fetch: ctx.o.fetch, note: (m) => ctx.warn(m) });
    const patched = patchCalicoManifest(src.text, { podCidr: POD_SUBNET });
    ctx.undo('calico manifest', () => rm(ctx.calicoPath, { force: true }));
    await writeFile(ctx.calicoPath, patched.text);
    ctx.calicoImages = patched.images;
    ctx.log('calico manifest', { release: src.release, from: src.from, removed: patched.removed, images: patched.images });
    if (!patched.removed.length) ctx.log(`the Calico ${src.release} manifest has no FlexVolume driver to remove`);
  },
};
