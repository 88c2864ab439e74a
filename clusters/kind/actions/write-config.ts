/** The kind cluster config for this version (cluster-config.ts), kept in the work dir for the report and re-runs. */
import { rm, writeFile } from 'node:fs/promises';
import { kindClusterConfigYaml } from '../cluster-config.js';
import type { KindAction } from './context.js';

export const writeConfig: KindAction = {
  name: 'write config',
  async run(ctx) {
    ctx.undo('kind config', () => rm(ctx.configPath, { force: true }));
    await writeFile(ctx.configPath, kindClusterConfigYaml(ctx.v));
    ctx.log('kind config written', { path: ctx.configPath, kubeadmApi: ctx.v.kubeadmApi });
  },
};
