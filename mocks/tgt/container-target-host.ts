/**
 * A target host that is tgtd in an unprivileged container (image dkc/tgt:<images/tgt/VERSION>, built locally by
 * images/build-tgt-image; never pulled). The container sits on two docker networks of its own; portal i is its
 * address on network i, port 3260, reachable from this machine through the bridges. Backing-file directories are
 * bind-mounted at the same paths. Everything it creates carries the labels below, so sweepContainers() can remove
 * what a crashed run left (Ryuk, testcontainers' own reaper, needs a registry to pull from).
 *
 * The container's main process is `sleep infinity` and tgtd runs beside it in the foreground through exec, so
 * hostDown/hostUp can kill and restart tgtd while the container, and with it the portal addresses, stays.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GenericContainer, getContainerRuntimeClient, ImageName, type ContainerRuntimeClient, type StartedTestContainer } from 'testcontainers';
import { CommandError, errorMessage, HarnessError } from '../../lib/errors.js';
import { atMost, waitFor } from '../../lib/wait.js';
import type { StartedTargetHost, TargetHost, TargetHostOptions } from './target-host.js';
import { TgtAdmin, type TgtadmResult } from './tgt-admin.js';
import { TgtHostBase } from './tgt-host-base.js';
import { parseShowPortal } from './tgtadm-parse.js';

export const OWNER_LABEL = 'dkc.owner';
export const OWNER = 'datera-k8s-conformance';
const COMPONENT_LABEL = 'dkc.component';
const COMPONENT = 'tgt-target-host';
/** Names one host's container and networks. */
export const INSTANCE_LABEL = 'dkc.instance';
const ISCSI_PORT = 3260;
const EXEC_TIMEOUT_MS = 30_000;
type Network = ReturnType<ContainerRuntimeClient['network']['getById']>;

export interface ContainerTargetHostOptions extends TargetHostOptions {
  /** Image to run; default dkc/tgt:<images/tgt/VERSION>. */
  image?: string;
}

/** dkc/tgt:<version>, the version read from images/tgt/VERSION (shared with images/build-tgt-image). */
export function tgtImageName(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)), i = 0; i < 6; dir = dirname(dir), i++) {
    const file = join(dir, 'images', 'tgt', 'VERSION');
    if (existsSync(file)) return `dkc/tgt:${readFileSync(file, 'utf8').trim()}`;
  }
  throw new HarnessError('INTERNAL', 'images/tgt/VERSION not found above mocks/tgt');
}

export class ContainerTargetHost implements TargetHost {
  readonly kind = 'container';

  constructor(private readonly opts: ContainerTargetHostOptions) {}

  async start(): Promise<StartedContainerTargetHost> {
    if (this.opts.portals) throw new HarnessError('BAD_INPUT', 'a container target host chooses its own portals (its address on each of its networks)');
    const client = await runtimeClient();
    const image = this.opts.image ?? tgtImageName();
    if (!(await client.image.exists(ImageName.fromString(image)))) {
      throw new HarnessError('TARGET_HOST', `docker image ${image} is missing; build it with: bash images/build-tgt-image`);
    }
    await mkdir(this.opts.runDir, { recursive: true });
    const id = randomBytes(4).toString('hex');
    const labels = { [OWNER_LABEL]: OWNER, [COMPONENT_LABEL]: COMPONENT, [INSTANCE_LABEL]: id };
    const names = [1, 2].map((i) => `dkc-tgt-${id}-${i}`);
    const networks: Network[] = [];
    let container: StartedTestContainer | undefined;
    try {
      for (const Name of names) networks.push(await client.network.create({ Name, Driver: 'bridge', CheckDuplicate: true, Labels: labels }));
      // No wait strategy beyond the default: readiness is tgtd answering tgtadm, which hostUp() waits for.
      container = await new GenericContainer(image)
        .withName(`dkc-tgt-${id}`)
        .withLabels(labels)
        .withNetworkMode(names[0]!)
        .withCommand(['sleep', 'infinity'])
        .withBindMounts((this.opts.dataDirs ?? []).map((d) => ({ source: d, target: d, mode: 'rw' as const })))
        .withPullPolicy({ shouldPull: () => false })
        .start();
      const ref = client.container.getById(container.getId());
      await client.container.connectToNetwork(ref, networks[1]!, []);
      const nets = (await client.container.inspect(ref)).NetworkSettings.Networks;
      const portals = names.map((n) => {
        const ip = nets[n]?.IPAddress;
        if (!ip) throw new HarnessError('TARGET_HOST', `container dkc-tgt-${id} has no address on network ${n}`);
        return `${ip}:${ISCSI_PORT}`;
      });
      const host = new StartedContainerTargetHost(this.opts.runDir, id, container, client, networks, portals);
      await host.hostUp();
      return host;
    } catch (err) {
      await removeAll(client, container, networks).catch(() => undefined);
      throw err;
    }
  }
}

export class StartedContainerTargetHost extends TgtHostBase implements StartedTargetHost {
  readonly kind = 'container';
  readonly portals: readonly string[];
  private tgtd: { exited: Promise<void>; done: boolean } | undefined;
  protected readonly admin = new TgtAdmin((args, o) => this.exec(['tgtadm', ...args], o));
  private stopped = false;

  constructor(
    private readonly runDir: string,
    /** The value of the dkc.instance label on this host's container and networks. */
    readonly instanceId: string,
    private readonly container: StartedTestContainer,
    private readonly client: ContainerRuntimeClient,
    private readonly networks: Network[],
    portals: string[],
  ) {
    super();
    this.portals = portals;
  }

  protected get tgtdRunning(): boolean {
    return Boolean(this.tgtd);
  }

  get containerName(): string {
    return `dkc-tgt-${this.instanceId}`;
  }


  /** SIGKILL tgtd inside the container, as a crash would; the container and its addresses stay. */
  async hostDown(): Promise<void> {
    const d = this.tgtd;
    if (!d) return;
    this.admin.online = false;
    await this.killTgtd();
    await d.exited;
    this.tgtd = undefined;
  }

  async hostUp(): Promise<void> {
    if (this.stopped) throw new HarnessError('TARGET_HOST', 'this target host was stopped; start a new one');
    if (this.tgtd) return;
    await this.spawn();
    await this.admin.restore();
  }

  /** Delete every target, let tgtd exit (it ignores SIGTERM; `--op delete --mode system` is its clean stop), then remove the container and its networks. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      if (this.tgtd) {
        await this.admin.deleteAll();
        await this.exec(['tgtadm', '--op', 'delete', '--mode', 'system'], { nothrow: true });
        await atMost(this.tgtd.exited, 5_000);
      }
    } finally {
      this.admin.online = false;
      this.tgtd = undefined;
      await removeAll(this.client, this.container, this.networks);
    }
  }


  private async spawn(): Promise<void> {
    const up = this.portals.filter((p) => !this.down.has(p));
    // tgtd needs one portal on its command line (without one it listens on 0.0.0.0:3260); the rest are added.
    const first = up[0] ?? this.portals[0]!;
    const argv = ['tgtd', '-f', '--iscsi', `portal=${first}`];
    const log = (what: string) => appendFile(join(this.runDir, 'tgtd.log'), `--- ${new Date().toISOString()} ${this.containerName}: ${argv.join(' ')} ${what}\n`);
    const d = { done: false, exited: Promise.resolve() };
    d.exited = this.container.exec(argv).then(
      (r) => log(`exited ${r.exitCode}\n${r.output}`),
      (e: unknown) => log(`exec failed: ${errorMessage(e)}`),
    ).finally(() => {
      d.done = true;
    });
    const listening = await waitFor(`tgtd in ${this.containerName} to answer on its control socket`, async (saw) => {
      if (d.done) throw new HarnessError('TARGET_HOST', `tgtd in ${this.containerName} exited at start; see ${join(this.runDir, 'tgtd.log')}`);
      const r = await this.exec(['tgtadm', '--lld', 'iscsi', '--op', 'show', '--mode', 'portal'], { nothrow: true });
      saw((r.stderr || r.stdout).trim());
      return r.exitCode === 0 ? parseShowPortal(r.stdout) : undefined;
    }, { timeoutMs: 20_000 });
    this.tgtd = d;
    if (listening.length !== 1 || listening[0] !== first) {
      await this.hostDown();
      throw new HarnessError('TARGET_HOST', `tgtd in ${this.containerName} listens on ${listening.join(', ') || 'nothing'}, not ${first}`);
    }
    for (const p of up.slice(1)) await this.admin.addPortal(p);
    if (!up.includes(first)) await this.admin.removePortal(first);
    this.admin.online = true;
  }

  private async killTgtd(): Promise<void> {
    const pids = (await this.exec(['pidof', 'tgtd'], { nothrow: true })).stdout.trim().split(/\s+/).filter(Boolean);
    // The image has no kill binary; the shell builtin gets the pids as arguments, never spliced into the script.
    if (pids.length) await this.exec(['sh', '-c', 'kill -9 "$@"', 'kill', ...pids]);
    // tgtd leaves its control socket and lock file behind; the next tgtd wants a clean directory.
    await waitFor(`tgtd in ${this.containerName} to exit`, async () => ((await this.exec(['pidof', 'tgtd'], { nothrow: true })).exitCode !== 0 ? true : undefined));
    await this.exec(['rm', '-f', '/var/run/tgtd/socket.0', '/var/run/tgtd/socket.0.lock']);
  }

  /** `docker exec` with lib/exec run() semantics: CommandError (argv, output tail) on failure unless nothrow. */
  private async exec(argv: string[], opts: { nothrow?: boolean; secrets?: readonly string[] } = {}): Promise<TgtadmResult> {
    const mask = (s: string) => (opts.secrets ?? []).reduce((acc, sec) => (sec ? acc.split(sec).join('***') : acc), s);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HarnessError('TIMEOUT', `docker exec ${this.containerName} ${mask(argv.join(' '))} took over ${EXEC_TIMEOUT_MS} ms`)), EXEC_TIMEOUT_MS);
    });
    try {
      const r = await Promise.race([this.container.exec(argv), timeout]);
      if (r.exitCode !== 0 && !opts.nothrow) {
        throw new CommandError(['docker', 'exec', this.containerName, ...argv].map(mask), r.exitCode, null, mask(r.stdout), mask(r.stderr));
      }
      return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Remove the containers and networks tgt container hosts left behind (after a crash: stop() removes its own): those
 * of one host when `instance` is given, else all of them, including any of a run still in progress. Returns the
 * names removed.
 */
export async function sweepContainers(opts: { instance?: string } = {}): Promise<{ containers: string[]; networks: string[] }> {
  const docker = (await runtimeClient()).container.dockerode;
  const label = [`${OWNER_LABEL}=${OWNER}`, `${COMPONENT_LABEL}=${COMPONENT}`];
  if (opts.instance) label.push(`${INSTANCE_LABEL}=${opts.instance}`);
  const filters = { label };
  const containers = await docker.listContainers({ all: true, filters });
  for (const c of containers) await docker.getContainer(c.Id).remove({ force: true });
  const networks = await docker.listNetworks({ filters });
  for (const n of networks) await docker.getNetwork(n.Id).remove();
  return { containers: containers.map((c) => c.Names[0]?.replace(/^\//, '') ?? c.Id), networks: networks.map((n) => n.Name) };
}

async function runtimeClient(): Promise<ContainerRuntimeClient> {
  // Ryuk (testcontainers' reaper) is an image pulled from a registry; without one, labels and sweepContainers() do its job.
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  try {
    return await getContainerRuntimeClient();
  } catch (err) {
    throw new HarnessError('DOCKER_UNAVAILABLE', `docker is not reachable (is dockerd running? try: docker info): ${errorMessage(err)}`, { cause: err });
  }
}

async function removeAll(client: ContainerRuntimeClient, container: StartedTestContainer | undefined, networks: Network[]): Promise<void> {
  const errors: unknown[] = [];
  if (container) await container.stop({ timeout: 0, remove: true }).catch((e: unknown) => errors.push(e));
  for (const n of networks) await client.network.remove(n).catch((e: unknown) => errors.push(e));
  if (errors.length) throw new HarnessError('TARGET_HOST', `cleanup left things behind: ${errors.map(errorMessage).join('; ')}`, { cause: errors[0] });
}
