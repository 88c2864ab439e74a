/**
 * Calico's images go into the nodes first when the local Docker has them (air-gapped runs: nodes cannot become
 * Ready without them), then the patched manifest is created (`create`, not `apply`: the CRD bundle is too large for
 * client-side apply's annotation).
 */
import type { KindAction } from './context.js';
import { loadLocalImages } from './load.js';

export const installCalico: KindAction = {
  name: 'install calico',
  async run(ctx) {
    await loadLocalImages(ctx, ctx.calicoImages);
    await ctx.tools.kubectl(['create', '-f', ctx.calicoPath], { timeoutMs: 180_000 });
  },
};
