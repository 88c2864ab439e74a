/**
 * The Datera backend the nodes talk to. A real system is taken as given (the nodes must reach its API and portals).
 * The mock runs in this process and listens on the kind network's gateway: the host's own address on the `kind`
 * bridge, which every node (and, through Calico's outgoing NAT, every pod) reaches, and which this process can
 * bind because the bridge is a local interface (Linux Docker; not Docker Desktop or rootless Docker, where the
 * gateway is not a host address: use a real backend there). Its targets are in a tgt container on two networks of
 * its own (mocks/tgt/container-target-host.ts); tgtd listens on its addresses there, so instead of moving tgt onto
 * the kind network every node joins both target networks: the two portals stay two paths, as on a Datera system.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HarnessError } from '../../../lib/errors.js';
import type { MockDateraOptions, StartedMockDatera } from '../../../mocks/datera/mock-datera.js';
import type { KindAction, KindContext, KindMock, KindMockOptions } from './context.js';

/** The label mocks/tgt/container-target-host.ts puts on a tgt host's container and networks. */
export const TGT_INSTANCE_LABEL = 'dkc.instance';

/** The IPv4 gateway of the `kind` docker network (the first address of its subnet when Docker does not say). */
export async function kindGateway(ctx: KindContext): Promise<string> {
  const r = await ctx.tools.docker(['network', 'inspect', 'kind']);
  const nets = JSON.parse(r.stdout) as { IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] } }[];
  const v4 = (nets[0]?.IPAM?.Config ?? []).find((c) => c.Subnet && /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(c.Subnet));
  if (!v4) throw new HarnessError('COMMAND_FAILED', 'the kind docker network has no IPv4 subnet (docker network inspect kind); the mock needs an IPv4 address the nodes reach');
  if (v4.Gateway) return v4.Gateway;
  const [base] = v4.Subnet!.split('/');
  const parts = base!.split('.').map(Number);
  parts[3] = parts[3]! + 1;
  return parts.join('.');
}

type StartMock = (o: MockDateraOptions) => Promise<Pick<StartedMockDatera, 'url' | 'server' | 'credentials' | 'portals' | 'targetHost' | 'requests' | 'stop'>>;

/** The mock Datera on `host` (any free port, plain HTTP), its targets in a tgt container (mocks/tgt); `start` for tests. */
export async function startMockDatera(o: KindMockOptions, start?: StartMock): Promise<KindMock> {
  const opts: MockDateraOptions = { host: o.host, httpPort: 0, httpsPort: null, targets: 'container', stateDir: o.stateDir };
  const m = await (start ? start(opts) : new (await import('../../../mocks/datera/mock-datera.js')).MockDatera(opts).start());
  const host = m.targetHost as { instanceId?: string } | undefined;
  return { url: m.url, server: m.server, credentials: m.credentials, portals: m.portals, tgtInstance: host?.instanceId, requests: () => m.requests(), stop: () => m.stop() };
}

export const startBackend: KindAction = {
  name: 'start backend',
  async run(ctx) {
    const b = ctx.o.backend;
    if (b !== 'mock') {
      ctx.backend = { kind: 'datera', ...b, portals: [...b.portals] };
      ctx.log('backend: a Datera system', { url: b.url, portals: b.portals });
      return;
    }
    const host = await kindGateway(ctx);
    const stateDir = join(ctx.workDir, 'datera');
    ctx.undo('mock state', () => rm(stateDir, { recursive: true, force: true }));
    // MockDatera.start removes its own tgt container when it fails, so the undo follows a successful start.
    const mock = ctx.o.startMock ? await ctx.o.startMock({ host, stateDir }) : await startMockDatera({ host, stateDir });
    ctx.mock = mock;
    ctx.undo('mock datera', () => mock.stop());
    await ctx.record({ tgtInstance: mock.tgtInstance ?? null });
    ctx.backend = { kind: 'mock', url: mock.url, server: mock.server, user: mock.credentials.user, password: mock.credentials.password, portals: [...mock.portals] };
    ctx.log('mock datera', { url: mock.url, portals: mock.portals, tgtInstance: mock.tgtInstance });
    if (!mock.tgtInstance) return;
    const r = await ctx.tools.docker(['network', 'ls', '--filter', `label=${TGT_INSTANCE_LABEL}=${mock.tgtInstance}`, '--format', '{{.Name}}']);
    ctx.tgtNetworks = r.stdout.split('\n').map((s) => s.trim()).filter(Boolean).sort();
    if (!ctx.tgtNetworks.length) throw new HarnessError('TARGET_HOST', `the tgt container host ${mock.tgtInstance} has no networks labelled ${TGT_INSTANCE_LABEL}=${mock.tgtInstance}`);
    for (const net of ctx.tgtNetworks) {
      for (const node of ctx.nodes) {
        ctx.checkAbort();
        await ctx.tools.docker(['network', 'connect', net, node.name]);
        ctx.undo(`node ${node.name} on ${net}`, () => ctx.tools.docker(['network', 'disconnect', '--force', net, node.name]));
      }
    }
  },
};
