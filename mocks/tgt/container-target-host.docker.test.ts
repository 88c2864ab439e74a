import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../lib/exec.js';
import { ContainerTargetHost, INSTANCE_LABEL, StartedContainerTargetHost, sweepContainers, tgtImageName } from './container-target-host.js';
import { missingInitiatorTools, targetHostContract } from './target-host-contract.js';

async function whyNot(): Promise<string | undefined> {
  const info = await run(['docker', 'info'], { nothrow: true, timeoutMs: 20_000 }).catch(() => undefined);
  if (info?.exitCode !== 0) return `docker is unavailable (docker info failed: ${info?.stderr.trim().split('\n').pop() ?? 'docker not installed'})`;
  const image = tgtImageName();
  if ((await run(['docker', 'image', 'inspect', image], { nothrow: true })).exitCode !== 0) return `image ${image} is missing (run: bash images/build-tgt-image)`;
  return missingInitiatorTools();
}

/** Containers and networks labelled with this host's instance id. */
async function leftovers(host: StartedContainerTargetHost): Promise<string[]> {
  const label = `label=${INSTANCE_LABEL}=${host.instanceId}`;
  const containers = await run(['docker', 'ps', '-a', '--format', '{{.Names}}', '--filter', label]);
  const networks = await run(['docker', 'network', 'ls', '--format', '{{.Name}}', '--filter', label]);
  return [...containers.stdout.split('\n'), ...networks.stdout.split('\n')].filter(Boolean).map((x) => `docker: ${x}`);
}

const skip = await whyNot();

targetHostContract(t, {
  name: 'container target host',
  skip,
  create: (opts) => new ContainerTargetHost(opts),
  leftovers: (host) => (host instanceof StartedContainerTargetHost ? leftovers(host) : Promise.resolve(['not a container host'])),
});

t.test('sweepContainers removes what a host that never stopped left', { skip: skip ?? false }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-tgt-sweep-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const host = await new ContainerTargetHost({ runDir: dir }).start();
  t.equal((await leftovers(host)).length, 3, 'a container and two networks');
  // Only this host's instance: a sweep of everything would hit hosts of tests running beside this one.
  const swept = await sweepContainers({ instance: host.instanceId });
  t.same(swept.containers, [host.containerName]);
  t.equal(swept.networks.length, 2);
  t.same(await leftovers(host), []);
});

t.test('a missing image is a TARGET_HOST error that says how to build it', { skip: skip ?? false }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-tgt-noimage-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await t.rejects(new ContainerTargetHost({ runDir: dir, image: 'dkc/tgt:does-not-exist' }).start(), { code: 'TARGET_HOST', message: /images\/build-tgt-image/ });
});
