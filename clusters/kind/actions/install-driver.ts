/**
 * The guide's installer DaemonSet (manifests.ts), then proof on every node that the kubelet can find the driver:
 * the rollout is complete only when each pod's readiness probe saw the executable, and each node container is
 * asked directly as well.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HarnessError } from '../../../lib/errors.js';
import { PLUGIN_DIR } from '../cluster-config.js';
import { DATERA_NAMESPACE, DRIVER_DIR_NAME, INSTALLER_NAME, driverInstallerManifest } from '../manifests.js';
import { waitRounds, type KindAction, type KindContext } from './context.js';

export async function applyManifest(ctx: KindContext, file: string, text: string): Promise<void> {
  const dir = join(ctx.workDir, 'manifests');
  if (!existsSync(dir)) ctx.undo('manifests', () => rm(dir, { recursive: true, force: true }));
  await mkdir(dir, { recursive: true });
  const path = join(dir, file);
  await writeFile(path, text);
  await ctx.tools.kubectl(['apply', '-f', path]);
}

export async function rolloutStatus(ctx: KindContext, what: string): Promise<void> {
  await waitRounds(ctx, `${what} in namespace ${DATERA_NAMESPACE} rolled out`, ctx.timeouts.rolloutMs, async (s) => {
    const r = await ctx.tools.kubectl(['--namespace', DATERA_NAMESPACE, 'rollout', 'status', what, `--timeout=${s}s`], { nothrow: true, timeoutMs: (s + 30) * 1000 });
    return { ok: r.exitCode === 0, seen: r.stderr || r.stdout };
  });
}

export const installDriver: KindAction = {
  name: 'install driver',
  async run(ctx) {
    await applyManifest(ctx, 'driver-installer.yaml', driverInstallerManifest({ image: ctx.images.driver }));
    await rolloutStatus(ctx, `daemonset/${INSTALLER_NAME}`);
    const exe = `${PLUGIN_DIR}/${DRIVER_DIR_NAME}/iscsi`;
    const without: string[] = [];
    for (const n of ctx.nodes) {
      const r = await ctx.tools.docker(['exec', n.name, 'test', '-x', exe], { nothrow: true });
      if (r.exitCode !== 0) without.push(n.name);
    }
    if (without.length) throw new HarnessError('COMMAND_FAILED', `the installer DaemonSet rolled out but ${exe} is not executable on ${without.join(', ')}`);
    ctx.log('driver installed', { image: ctx.images.driver, path: exe });
  },
};
