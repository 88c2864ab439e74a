/**
 * `kind create cluster` with the pinned node image and the written config. The undo (`kind delete cluster`, which
 * succeeds for a cluster that does not exist) is on the ledger before kind starts: an interrupted create may have
 * made containers already. `--wait 0s`: nodes stay NotReady until Calico is in; wait-ready waits for them.
 */
import { rm } from 'node:fs/promises';
import { HarnessError } from '../../../lib/errors.js';
import type { KindAction } from './context.js';

export const createCluster: KindAction = {
  name: 'create cluster',
  async run(ctx) {
    ctx.undo(`kind cluster ${ctx.name}`, async () => {
      await ctx.tools.kind(['delete', 'cluster', '--name', ctx.name, '--kubeconfig', ctx.kubeconfigPath], { timeoutMs: 300_000 });
      await rm(ctx.kubeconfigPath, { force: true });
    });
    await ctx.record({ name: ctx.name });
    ctx.log(`creating kind cluster ${ctx.name}`, { image: ctx.v.nodeImage, kind: ctx.tools.kindPath });
    await ctx.tools.kind(['create', 'cluster', '--name', ctx.name, '--image', ctx.v.nodeImage, '--config', ctx.configPath, '--kubeconfig', ctx.kubeconfigPath, '--wait', '0s'], { timeoutMs: ctx.timeouts.createMs });
    const r = await ctx.tools.kind(['get', 'nodes', '--name', ctx.name]);
    const names = r.stdout.split('\n').map((s) => s.trim()).filter(Boolean).sort();
    if (names.length !== 3) throw new HarnessError('COMMAND_FAILED', `kind cluster ${ctx.name} has ${names.length} nodes (${names.join(', ') || 'none'}), expected one control plane and two workers`);
    ctx.nodes = names.map((name) => ({ name, address: '' }));
  },
};
