/**
 * First action: find kind (the release that built this version's node image, see tools.ts), kubectl and docker,
 * check that the Docker daemon answers, and write the record a sweeper reads after a crash. Nothing is created in
 * Docker yet, so a missing tool costs seconds, not a half-made cluster.
 */
import { writeFile } from 'node:fs/promises';
import { HarnessError } from '../../../lib/errors.js';
import { KindTools, resolveKind, resolveTool } from '../tools.js';
import type { KindAction } from './context.js';

export const checkTools: KindAction = {
  name: 'check tools',
  async run(ctx) {
    const kind = await resolveKind(ctx.v.kindRelease, { env: ctx.env, explicit: ctx.o.tools?.kind, forVersion: ctx.v.version, warn: (m) => ctx.warn(m) });
    const kubectl = resolveTool('kubectl', ctx.env, ctx.o.tools?.kubectl);
    const docker = resolveTool('docker', ctx.env, ctx.o.tools?.docker);
    ctx.kindRelease = kind.release;
    const secrets = () => [ctx.backend?.password ?? '', ctx.mock?.credentials.password ?? ''].filter(Boolean);
    ctx.tools = new KindTools({ kind: kind.path, kubectl, docker, kubeconfig: ctx.kubeconfigPath, env: ctx.env, commandLog: ctx.commandLog, secrets });
    const info = await ctx.tools.docker(['version', '--format', '{{.Server.Version}}'], { nothrow: true, timeoutMs: 30_000 });
    if (info.exitCode !== 0) {
      throw new HarnessError('DOCKER_UNAVAILABLE', `the Docker daemon does not answer (${docker} version: ${(info.stderr || info.stdout).trim().split('\n').pop() ?? ''}); start dockerd or set DOCKER_HOST, then retry`);
    }
    ctx.log('tools', { kind: kind.path, kindRelease: kind.release, exact: kind.exact, kubectl, docker, dockerServer: info.stdout.trim() });
    await writeFile(ctx.recordPath, '{}');
    await ctx.record({ kind: kind.path, docker });
  },
};
