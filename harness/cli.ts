/**
 * The `dkc` command line. Results go to stdout, status lines to stderr; user errors exit 2 with "ERROR: ..." and
 * a hint, failures exit 1.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HarnessError, errorMessage } from '../lib/errors.js';
import { MockDatera, type TargetsMode } from '../mocks/datera/mock-datera.js';
import { onShutdown } from './shutdown.js';
import type { RunConfig, RunFlags } from './plan/config.js';
import type { RunOptions } from './run/run.js';
import type { RunReport } from './report/model.js';
import type { KindSweepDeps } from './cluster-down-kind.js';

/** The project's package.json, found upward from this file (it runs from harness/ in tests and dist/harness/ when built). */
function projectPackage(): { version: string } {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as { version: string };
    if (dirname(dir) === dir) return { version: '0.0.0' };
  }
}
const pkg = projectPackage();

export function port(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError(`'${value}' is not a port number (0-65535; 0 picks a free port)`);
  return Number(value);
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`'${value}' is not a positive number`);
  return n;
}

/** What tests replace: the run loop (to give it fake clusters and scenarios). */
export interface CliDeps {
  runConformance?: (config: RunConfig, opts: RunOptions) => Promise<RunReport>;
  /** Where help and --version go (default stdout). */
  writeOut?: (text: string) => void;
  /** `dkc cluster down`'s Docker and kind sweep (tests must not sweep the machine's real kind clusters). */
  clusterDown?: KindSweepDeps;
}

/** The exit code an action sets (not process.exitCode: main() is called repeatedly in one process by tests). */
export interface ExitHolder {
  code: number;
}

export function buildProgram(deps: CliDeps = {}, exit: ExitHolder = { code: 0 }): Command {
  const program = new Command('dkc')
    .description('Conformance harness for the Datera Kubernetes storage driver (datera/iscsi FlexVolume)')
    .version(pkg.version)
    .showHelpAfterError('(run dkc --help for usage)')
    .exitOverride();
  if (deps.writeOut) program.configureOutput({ writeOut: deps.writeOut });

  program
    .command('mock-datera')
    .description('Run the mock Datera DSP API with real tgt iSCSI targets in the foreground; Ctrl-C removes everything it made')
    .option('--port <port>', 'HTTP port', port, 7717)
    .option('--tls-port <port>', 'HTTPS port (self-signed certificate generated at start)', port, 7718)
    .option('--no-tls', 'serve plain HTTP only')
    .addOption(new Option('--targets <kind>', 'where volumes become iSCSI targets').choices(['process', 'container', 'none']).default('process'))
    .option('--state-dir <dir>', 'keep state and volume files here across restarts (default: a temporary dir removed at exit)')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--user <name>', 'account name', 'admin')
    .option('--password <secret>', 'account password (default: generated); prefer DKC_DATERA_PASSWORD to keep it out of ps')
    .option('--session-idle <seconds>', 'idle seconds before a session key expires', positiveNumber, 3600)
    .action(async (o: { port: number; tlsPort: number; tls: boolean; targets: TargetsMode; stateDir?: string; host: string; user: string; password?: string; sessionIdle: number }) => {
      const password = o.password ?? process.env.DKC_DATERA_PASSWORD;
      const mock = await new MockDatera({
        httpPort: o.port,
        httpsPort: o.tls ? o.tlsPort : null,
        host: o.host,
        targets: o.targets,
        stateDir: o.stateDir,
        sessionIdleSeconds: o.sessionIdle,
        ...(password ? { users: { [o.user]: password } } : { users: undefined }),
      }).start();
      const done = onShutdown(() => mock.stop());
      const creds = mock.credentials;
      const user = password ? o.user : creds.user;
      console.log(`mock Datera API (targets: ${mock.targetHost?.kind ?? 'none'})`);
      console.log(`  http:     ${mock.url}/v2.2`);
      if (mock.httpsUrl) console.log(`  https:    ${mock.httpsUrl}/v2.2 (self-signed)`);
      console.log(`  control:  ${mock.url}/__mock/info`);
      console.log(`  portals:  ${mock.portals.join(' ')}`);
      console.log(`  user:     ${user}`);
      console.log(`  password: ${password ? '(as given)' : creds.password}`);
      console.log(`  state:    ${mock.stateDir}${o.stateDir ? '' : ' (removed at exit)'}`);
      console.log('ready; Ctrl-C stops and removes every target');
      await done;
    });

  program
    .command('bench')
    .description('Measure the mock API and the iSCSI data path (GET throughput, create-to-visible latency)')
    .option('--seconds <n>', 'duration of the throughput run', positiveNumber, 5)
    .option('--iterations <n>', 'create-to-visible samples', positiveNumber, 50)
    .option('--json', 'print the figures as JSON')
    .option('--no-driver', 'skip the reference driver attach-to-mounted run (about a minute)')
    .option('--no-embedded', 'skip the embedded cluster run (cluster start, pods with Datera volumes; a few minutes)')
    .option('--replicas <n>', 'pods with their own volume started at once in the embedded run', positiveNumber, 20)
    .option('--no-conformance', 'skip the timed conformance run (every scenario on one version; a few minutes)')
    .option('--k8s <version>', 'the version of the timed conformance run', 'v1.32')
    .action(async (o: { seconds: number; iterations: number; json?: boolean; driver: boolean; embedded: boolean; replicas: number; conformance: boolean; k8s: string }) => {
      const { runBench } = await import('./bench.js');
      // With --json and the embedded run, one JSON document with both at the end.
      const figures = await runBench({ ...o, json: o.json && !o.embedded });
      if (o.embedded) {
        const { embeddedBench, formatEmbeddedBench } = await import('./bench-embedded.js');
        const e = await embeddedBench({ replicas: o.replicas });
        if (o.json) console.log(JSON.stringify({ ...figures, embedded: e }, null, 2));
        else for (const line of formatEmbeddedBench(e)) console.log(line);
      }
      if (o.conformance) {
        const { benchConformance, formatConformanceBench } = await import('./bench-conformance.js');
        const c = await benchConformance({ version: o.k8s, quiet: !!o.json });
        console.log(o.json ? JSON.stringify({ conformance: c }, null, 2) : formatConformanceBench(c));
      }
    });

  program
    .command('run')
    .description('Run the conformance suites on every planned cluster and write the reports (JSON, JUnit, Markdown, HTML); --plan prints what a run would do')
    // Values stay raw strings here: harness/plan/config.ts checks them together with the --config file, so every
    // problem is reported at once.
    .option('--cluster <provider>', 'cluster provider: embedded, kind or existing (default: embedded)')
    .option('--k8s <versions>', 'comma-separated Kubernetes versions, e.g. 1.27,1.32 (default: v1.20,v1.27,v1.32,v1.35; not with existing)')
    .option('--suite <ids>', 'comma-separated suite ids (default: all; see harness/plan/README.md)')
    .option('--driver <path|image>', 'driver executable or image (default: the reference driver)')
    .option('--backend <mock|url>', "'mock' (default) or a Datera API host:port or http(s)://host[:port]")
    .option('--kubeconfig <path>', 'the cluster to test with --cluster existing')
    .option('--report-dir <dir>', 'where reports go (default: reports/<timestamp>)')
    .option('--parallel <n>', 'clusters brought up at once (default: embedded one per CPU, at most one per version and 4; kind: as many as fit the memory budget; existing: 1)')
    .option('--read-only', 'with --cluster existing: only checks that create or delete no storage and change nothing on the backend (cannot qualify a driver)')
    .option('--memory-budget <MiB>', "kind only, without --parallel: memory the clusters may use together, about 4.5 GiB each (default: 3/4 of this machine's)")
    .option('--config <file>', 'YAML run configuration; flags override its values')
    .option('--plan', 'print the run plan as JSON and exit without creating anything')
    .action(async (o: RunFlags & { plan?: boolean }) => {
      const { loadRunConfig } = await import('./plan/config.js');
      const { plan, ...flags } = o;
      const config = loadRunConfig(flags);
      if (plan) {
        // Even one kind cluster is more than the memory budget: said on stderr too, not only inside the JSON (a
        // run says it in its progress output).
        if (config.parallelFrom?.warning) console.error(`warning: ${config.parallelFrom.warning}`);
        const { makePlan, planJson } = await import('./plan/plan.js');
        console.log(planJson(makePlan(config)));
        return;
      }
      const { runConformance, exitCodeFor } = await import('./run/run.js');
      const run = deps.runConformance ?? runConformance;
      // Ctrl-C, SIGTERM or a closed terminal: the run stops its scenarios and clusters and writes a partial report; a second signal
      // does not cut that short (leaving clusters behind is worse than waiting).
      const controller = new AbortController();
      const onSignal = (sig: NodeJS.Signals) => {
        if (controller.signal.aborted) return void console.error(`${sig} again: still removing what the run made, please wait`);
        console.error(`${sig}: stopping the scenarios and clusters, then writing the partial report`);
        controller.abort();
      };
      const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
      for (const sig of signals) process.on(sig, onSignal);
      try {
        const report = await run(config, { signal: controller.signal });
        exit.code = exitCodeFor(report, controller.signal.aborted);
      } finally {
        for (const sig of signals) process.off(sig, onSignal);
      }
    });

  const cluster = program.command('cluster').description('Bring a test cluster up or down (the embedded provider: control plane and nodes on this host)');
  cluster
    .command('up')
    .description('Start a cluster ready to test and print one "ready key=value ..." line; stays in the foreground (Ctrl-C removes everything) unless --detach')
    .addOption(new Option('--provider <name>', 'cluster provider').choices(['embedded', 'kind', 'existing']).default('embedded'))
    .option('--k8s <version>', 'emulated Kubernetes version (v1.6, v1.10, v1.20, v1.27, v1.32, v1.35)', 'v1.32')
    .option('--nodes <n>', 'worker nodes', positiveNumber, 2)
    .option('--kubeconfig <path>', 'also write the kubeconfig here')
    .option('--backend <mock|url>', "'mock' starts the mock Datera API with real tgt targets; or a Datera API host:port (credentials from DATERA_USER/DATERA_PASSWORD)", 'mock')
    .option('--driver <path>', 'FlexVolume driver executable installed as datera~iscsi/iscsi on every node (default: the reference driver)')
    .option('--name <name>', 'cluster name, for dkc cluster down', 'dkc')
    .option('--no-provisioner', 'do not run the dynamic provisioner')
    .option('--detach', 'run in the background; stop it with dkc cluster down')
    .action(async (o: { provider: string; k8s: string; nodes: number; kubeconfig?: string; backend: string; driver?: string; name: string; provisioner: boolean; detach?: boolean }) => {
      const { clusterUp } = await import('./cluster-command.js');
      exit.code = await clusterUp(o);
    });
  cluster
    .command('down')
    .description('Stop a detached cluster and remove every process, mount, loop device, namespace and file it made')
    .option('--name <name>', 'cluster name', 'dkc')
    .option('--all', 'every recorded cluster, then every dkc kind cluster on the Docker host (a killed run\'s)')
    .option('-v, --verbose', 'also say what was not looked at (no Docker) and when nothing was found')
    .action(async (o: { name: string; all?: boolean; verbose?: boolean }) => {
      const { clusterDown } = await import('./cluster-command.js');
      exit.code = await clusterDown(o, deps.clusterDown);
    });

  program
    .command('flex-sanity')
    .description('Run a FlexVolume driver the way each emulated kubelet version calls it (lifecycle, idempotency, bad args, leaks); TAP on stdout')
    .requiredOption('--driver <path>', 'the driver executable, e.g. drivers/flexvolume/datera~iscsi/iscsi')
    .option('--k8s <versions>', 'comma-separated profiles, e.g. v1.32,v1.35 (default: all)')
    .option('--backend <url>', 'an existing Datera API (host:port or http(s)://host:port) instead of the mock')
    .option('--user <name>', 'account for --backend (or DATERA_USER)')
    .option('--password <secret>', 'password for --backend (prefer DATERA_PASSWORD: keeps it out of ps)')
    .option('--junit <file>', 'also write JUnit XML here')
    .option('--nodes-dir <dir>', 'where the emulated nodes\' roots go (default: a temp dir removed at the end)')
    .action(async (o: { driver: string; k8s?: string; backend?: string; user?: string; password?: string; junit?: string; nodesDir?: string }) => {
      const { flexSanityCommand } = await import('./flex-sanity/command.js');
      exit.code = await flexSanityCommand(o);
    });

  return program;
}

export async function main(argv: string[], deps: CliDeps = {}): Promise<number> {
  const exit: ExitHolder = { code: 0 };
  const program = buildProgram(deps, exit);
  try {
    await program.parseAsync(argv);
    return exit.code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof HarnessError) {
      console.error(`ERROR: ${err.message}`);
      return err.code === 'BAD_INPUT' || err.code === 'BAD_CONFIG' || err.code === 'MISSING_TOOL' || err.code === 'NOT_ROOT' ? 2 : 1;
    }
    console.error(`ERROR: ${errorMessage(err)}`);
    return 1;
  }
}
