/** The provisioner Deployment from drivers/provisioner/deploy/provisioner.yaml with this run's image. */
import { PROVISIONER_DEPLOYMENT, provisionerManifest, repoRoot } from '../manifests.js';
import type { KindAction } from './context.js';
import { applyManifest, rolloutStatus } from './install-driver.js';

export const installProvisioner: KindAction = {
  name: 'install provisioner',
  async run(ctx) {
    const image = ctx.images.provisioner;
    if (!image) {
      ctx.log('provisioner left out');
      return;
    }
    await applyManifest(ctx, 'provisioner.yaml', provisionerManifest(image, ctx.o.root ?? repoRoot()));
    await rolloutStatus(ctx, `deployment/${PROVISIONER_DEPLOYMENT}`);
    ctx.log('provisioner running', { image });
  },
};
