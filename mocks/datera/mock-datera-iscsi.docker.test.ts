// The mock with a tgt container as its target host, end to end over real iSCSI. Needs a Docker engine and the
// locally built image (npm test's setup starts dockerd and builds it offline).
import t from 'tap';
import { run } from '../../lib/exec.js';
import { INSTANCE_LABEL, StartedContainerTargetHost, tgtImageName } from '../tgt/container-target-host.js';
import { missingInitiatorTools } from '../tgt/target-host-contract.js';
import { mockIscsiContract } from './mock-iscsi-contract.js';

async function whyNot(): Promise<string | undefined> {
  const info = await run(['docker', 'info'], { nothrow: true, timeoutMs: 20_000 }).catch(() => undefined);
  if (info?.exitCode !== 0) return `docker is unavailable (docker info failed: ${info?.stderr.trim().split('\n').pop() ?? 'docker not installed'})`;
  if ((await run(['docker', 'image', 'inspect', tgtImageName()], { nothrow: true })).exitCode !== 0) return `image ${tgtImageName()} is missing (run: bash images/build-tgt-image)`;
  return missingInitiatorTools();
}

mockIscsiContract(t, 'container', await whyNot(), async (m) => {
  const host = m.targetHost;
  if (!(host instanceof StartedContainerTargetHost)) return ['not a container target host'];
  const label = `label=${INSTANCE_LABEL}=${host.instanceId}`;
  const containers = await run(['docker', 'ps', '-a', '--format', '{{.Names}}', '--filter', label]);
  const networks = await run(['docker', 'network', 'ls', '--format', '{{.Name}}', '--filter', label]);
  return [...containers.stdout.split('\n'), ...networks.stdout.split('\n')].filter(Boolean);
});
