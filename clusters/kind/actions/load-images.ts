/** The driver installer, provisioner and workload images into the nodes (when the local Docker has them). */
import type { KindAction } from './context.js';
import { loadLocalImages } from './load.js';

export const loadImages: KindAction = {
  name: 'load images',
  async run(ctx) {
    const i = ctx.images;
    const r = await loadLocalImages(ctx, [i.driver, ...(i.provisioner ? [i.provisioner] : []), ...i.workloads]);
    ctx.log('images loaded', { loaded: r.loaded, pulled: r.pulled });
  },
};
