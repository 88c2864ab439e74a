/** Namespace datera, the guide's Secret and the node credentials Secret (manifests.ts), through stdin: never on argv or disk. */
import { credentialsManifest } from '../manifests.js';
import type { KindAction } from './context.js';

export const installCredentials: KindAction = {
  name: 'install credentials',
  async run(ctx) {
    // start-backend has set it (this action runs after it).
    const b = ctx.backend!;
    await ctx.tools.kubectl(['create', '-f', '-'], { input: credentialsManifest({ server: b.server, user: b.user, password: b.password }), secrets: [b.password] });
  },
};
