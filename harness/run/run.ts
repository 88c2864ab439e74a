/**
 * The `dkc run` loop. For each planned cluster (at most `parallel` at once): start it through its provider, run the
 * suites in order as child processes against it (harness/fixture/context.ts is the contract), collect its artifacts
 * and remove it; a cluster that leaves something behind gets an `error` result named `teardown`. Every planned
 * (version, suite) pair starts as `missing` and is overwritten as it finishes, so an interrupted run still reports
 * what it did not do. Then the four reports are written with every known secret redacted.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { errorMessage } from '../../lib/errors.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { kubectlBinaries } from '../../lib/kubectl-binaries.js';
import type { StartedCluster } from '../../clusters/provider.js';
import { contextFor, writeContext, type SuiteContext } from '../fixture/context.js';
import { checkoutRoot, type ClusterProviderName, type RunConfig } from '../plan/config.js';
import { makePlan, type PlannedCluster, type PlannedSuite } from '../plan/plan.js';
import { hostInfo, readOnlyClean, summarize, verdict, type Artifact, type ClusterInfo, type RunReport, type ScenarioResult } from '../report/model.js';
import { redactDeep, redactText } from '../report/redact.js';
import { writeReports } from '../report/write-reports.js';
import { artifactsIn, scrubSecrets, versionSlug } from './artifacts.js';
import { createProgress, type Progress, type ProgressEvent } from './progress.js';
import { EMBEDDED_NODES, OWNER_ENV, PROVIDERS, ownerMark, recordCluster, resolveBackend, runsProvisioner, type StartCluster } from './providers.js';
import { buildResult, parseResults } from './results.js';
import { runScenarioProcess } from './scenario-process.js';

export interface RunOptions {
  /** Structured log; default JSON lines in `<reportDir>/artifacts/run.log.jsonl`, secrets redacted. */
  log?: Logger;
  /** Default: createProgress() (live view on a terminal, plain lines in CI). */
  progress?: Progress;
  /** Abort (Ctrl-C): scenarios and clusters are stopped and a partial report written. */
  signal?: AbortSignal;
  /** Where `<suite>/scenario.js` are; default `dist/suites` of the checkout. */
  suitesDir?: string;
  /** Overrides of the provider registry (tests use fake clusters). */
  providers?: Partial<Record<ClusterProviderName, StartCluster>>;
  /** The command that runs a scenario file; default this Node.js. */
  node?: readonly string[];
  /** Per suite; default 15 min times the timeout scale. */
  suiteTimeoutMs?: number;
  /** Between SIGTERM and SIGKILL of a scenario's process group; default 10 s. */
  killGraceMs?: number;
  /** A kubectl binary for a Kubernetes minor; default the cached binaries of lib/kubectl-binaries.ts. */
  kubectl?: (minor: number) => Promise<string | undefined>;
  /** For credentials (DATERA_USER, ...), DKC_TIMEOUT_SCALE and the scenarios' environment. */
  env?: NodeJS.ProcessEnv;
}

export const DEFAULT_SUITE_TIMEOUT_MS = 15 * 60_000;

export const TEARDOWN_ID = 'teardown';
const TEARDOWN_TITLE = 'Teardown: the cluster and everything the run made on it are removed';

/**
 * 0 when every required result passed, 1 otherwise, 130 when the run was interrupted. A read-only run (which can
 * never qualify: its writing scenarios are skipped) exits 0 when nothing that ran failed and something passed.
 */
export function exitCodeFor(report: Pick<RunReport, 'results'> & { environment?: Pick<RunReport['environment'], 'readOnly'> }, interrupted: boolean): number {
  if (interrupted) return 130;
  return (report.environment?.readOnly ? readOnlyClean(report) : verdict(report)) ? 0 : 1;
}

interface Slot {
  key: number;
  planned: PlannedCluster;
  label: string;
  results: Map<string, ScenarioResult>;
  teardown?: ScenarioResult;
  nodes: number;
  backendServer?: string;
}

function toolVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(checkoutRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** Secrets in a kubeconfig (tokens, passwords, client keys), to keep them out of reports and artifacts. */
export function kubeconfigSecrets(path: string | undefined): string[] {
  if (!path || !existsSync(path)) return [];
  try {
    const kc = parseYaml(readFileSync(path, 'utf8')) as { users?: { user?: Record<string, unknown> }[] } | null;
    const out: string[] = [];
    for (const u of kc?.users ?? []) for (const k of ['token', 'password', 'client-key-data']) if (typeof u.user?.[k] === 'string') out.push(u.user[k] as string);
    return out;
  } catch {
    return [];
  }
}

function timeoutScale(env: NodeJS.ProcessEnv): number {
  const n = Number(env.DKC_TIMEOUT_SCALE);
  return Number.isFinite(n) && n > 0 ? n : 1;
}

const minorOfLabel = (label: string) => Number(/^v?1\.(\d+)/.exec(label)?.[1] ?? NaN);

let kubectlCache: Promise<{ minor: number; path: string }[]> | undefined;
const defaultKubectl = async (minor: number) => {
  kubectlCache ??= kubectlBinaries().catch(() => []);
  return (await kubectlCache).find((k) => k.minor === minor)?.path;
};

export async function runConformance(config: RunConfig, opts: RunOptions = {}): Promise<RunReport> {
  const env = opts.env ?? process.env;
  const signal = opts.signal;
  const plan = makePlan(config);
  const startedAt = new Date();
  const t0 = performance.now();
  const secrets = new Set<string>();
  // Before anything starts: a run that cannot reach its backend is a configuration error, not a failed run.
  const backend = resolveBackend(config, env);
  if (backend) secrets.add(backend.password);
  for (const s of kubeconfigSecrets(config.kubeconfig)) secrets.add(s);
  const secretList = () => [...secrets];

  const reportDir = config.reportDir;
  const artifactsRoot = join(reportDir, 'artifacts');
  await mkdir(artifactsRoot, { recursive: true });
  const log = opts.log ?? createLogger({ file: join(artifactsRoot, 'run.log.jsonl'), secrets: secretList });
  const progress = opts.progress ?? createProgress({ env });
  const emit = (e: ProgressEvent) => progress.event(redactDeep(e, secretList()));
  const providers: Record<string, StartCluster> = { ...PROVIDERS, ...opts.providers };
  const suitesDir = opts.suitesDir ?? join(checkoutRoot(), 'dist', 'suites');
  const scale = timeoutScale(env);
  const suiteTimeoutMs = opts.suiteTimeoutMs ?? Math.round(DEFAULT_SUITE_TIMEOUT_MS * scale);
  const kubectl = opts.kubectl ?? defaultKubectl;
  // Contexts hold the backend password: they live in a private temp dir, never in the report dir. The run itself is
  // recorded like a cluster, so that after a kill -9 `dkc cluster down` removes this dir and the scenarios (they
  // carry the owner mark); while the run lives, `dkc cluster down` sends it SIGTERM, a clean interruption.
  const work = await mkdtemp(join(tmpdir(), 'dkc-run-'));
  const owner = ownerMark();
  const runId = `r${randomBytes(4).toString('hex')}`;
  const forgetRun = await recordCluster({ name: `run-${runId}`, pid: process.pid, id: runId, workDir: work, kubeconfig: '', owner }).catch((err: unknown) => {
    log.warn('cannot record the run for dkc cluster down', { error: errorMessage(err) });
    return () => rm(work, { recursive: true, force: true });
  });
  log.info('run started', { readOnly: config.readOnly, provider: plan.provider, clusters: plan.clusters.map((c) => c.label), suites: plan.suites.map((s) => s.id), parallel: plan.parallel, ...(plan.parallelFrom ? { parallelFrom: plan.parallelFrom } : {}), reportDir });
  if (plan.parallelFrom?.warning) {
    log.warn('memory budget', { warning: plan.parallelFrom.warning });
    emit({ type: 'note', message: `warning: ${plan.parallelFrom.warning}` });
  }

  const notRun = (s: PlannedSuite, label: string, message: string): ScenarioResult => ({ id: s.id, title: s.title, k8sVersion: label, status: 'missing', durationMs: 0, message, checks: [], artifacts: [], required: s.required });
  const slots: Slot[] = plan.clusters.map((planned, key) => {
    // An existing cluster's version is known once it answers; until then a placeholder that still reads as a version.
    const label = planned.label ?? 'v0.0 (existing cluster, not reached)';
    return { key, planned, label, results: new Map(plan.suites.map((s) => [s.id, notRun(s, label, 'not run: the run was interrupted before it got here')])), nodes: planned.provider === 'embedded' ? EMBEDDED_NODES : 1 };
  });

  const runSlot = async (slot: Slot) => {
    if (signal?.aborted) return;
    const { planned } = slot;
    emit({ type: 'cluster-starting', key: slot.key, label: slot.label, provider: planned.provider });
    const tStart = performance.now();
    let cluster: StartedCluster;
    try {
      cluster = await providers[planned.provider]!(planned, config, { log: log.child({ cluster: slot.label }), backend, ...(signal ? { signal } : {}) });
    } catch (err) {
      if (signal?.aborted) {
        // Ctrl-C during the start: the provider removed what it had made. Not a failure of the cluster: its
        // suites stay missing, saying why (with any cleanup leftovers the start reported).
        const message = `not run: the run was interrupted while the ${planned.provider} cluster was starting (${errorMessage(err)})`;
        log.warn('cluster start interrupted', { cluster: slot.label, error: errorMessage(err) });
        emit({ type: 'cluster-failed', key: slot.key, label: slot.label, message: `interrupted while starting: ${errorMessage(err)}` });
        for (const s of plan.suites) slot.results.set(s.id, notRun(s, slot.label, message));
        return;
      }
      const message = `the ${planned.provider} cluster did not start: ${errorMessage(err)}`;
      log.error('cluster start failed', { cluster: slot.label, error: errorMessage(err) });
      emit({ type: 'cluster-failed', key: slot.key, label: slot.label, message });
      for (const s of plan.suites) slot.results.set(s.id, { ...notRun(s, slot.label, message), status: 'error', durationMs: Math.round(performance.now() - tStart) });
      return;
    }
    if (cluster.backend) secrets.add(cluster.backend.password);
    for (const s of kubeconfigSecrets(cluster.kubeconfigPath)) secrets.add(s);
    if (planned.label === null) {
      // The existing provider: the label is the server's version, known only now.
      slot.label = cluster.version;
      for (const [id, r] of slot.results) slot.results.set(id, { ...r, k8sVersion: slot.label });
    }
    slot.nodes = Math.max(1, cluster.nodes().length);
    slot.backendServer = cluster.backend?.server;
    emit({ type: 'cluster-ready', key: slot.key, label: slot.label, ms: performance.now() - tStart, nodes: slot.nodes });
    log.info('cluster ready', { cluster: slot.label, kubeconfig: cluster.kubeconfigPath, ms: Math.round(performance.now() - tStart) });
    const slug = versionSlug(slot.label);
    const clusterArtifacts = join(artifactsRoot, slug);
    try {
      await runSuites(slot, cluster, slug);
    } catch (err) {
      // Not a scenario outcome: the loop itself broke (a full disk, say). What did not run says so.
      log.error('suite loop failed', { cluster: slot.label, error: errorMessage(err) });
      for (const [id, r] of slot.results) if (r.status === 'missing') slot.results.set(id, { ...r, status: 'error', message: `not run: the harness failed: ${errorMessage(err)}` });
    } finally {
      emit({ type: 'cluster-stopping', key: slot.key, label: slot.label });
      const collected = join(clusterArtifacts, 'cluster');
      try {
        await cluster.collectArtifacts(collected);
        await scrubSecrets(collected, secretList());
      } catch (err) {
        log.warn('collecting artifacts failed', { cluster: slot.label, error: errorMessage(err) });
        emit({ type: 'note', message: `[${slot.label}] collecting artifacts failed: ${errorMessage(err)}` });
      }
      let leftovers: string[];
      try {
        leftovers = await cluster.stop();
      } catch (err) {
        leftovers = [`stop failed: ${errorMessage(err)}`];
      }
      log.info('cluster stopped', { cluster: slot.label, leftovers });
      emit({ type: 'cluster-stopped', key: slot.key, label: slot.label, leftovers });
      const clusterFiles = await artifactsIn(collected, reportDir, 'cluster/');
      // The cluster's logs (driver, provisioner, API and backend requests) explain what did not pass.
      for (const [id, r] of slot.results) if (r.status === 'failed' || r.status === 'error') slot.results.set(id, { ...r, artifacts: [...r.artifacts, ...clusterFiles] });
      if (leftovers.length)
        slot.teardown = {
          id: TEARDOWN_ID,
          title: TEARDOWN_TITLE,
          k8sVersion: slot.label,
          status: 'error',
          durationMs: 0,
          message: `removing the cluster left ${leftovers.length} thing${leftovers.length > 1 ? 's' : ''} behind: ${leftovers.join('; ')}`,
          checks: leftovers.map((l) => ({ name: 'nothing left', status: 'error' as const, message: l })),
          artifacts: clusterFiles,
          required: true,
        };
    }
  };

  const runSuites = async (slot: Slot, cluster: StartedCluster, slug: string) => {
    const dir = join(artifactsRoot, slug);
    const private_ = join(work, slug);
    await mkdir(dir, { recursive: true });
    await mkdir(private_, { recursive: true });
    const minor = Number.isInteger(minorOfLabel(slot.label)) ? minorOfLabel(slot.label) : minorOfLabel(slot.planned.version ?? '');
    const kubectlPath = await kubectl(minor).catch(() => undefined);
    for (const [i, suite] of plan.suites.entries()) {
      if (signal?.aborted) return;
      emit({ type: 'suite-started', key: slot.key, label: slot.label, suite: suite.id, index: i + 1, total: plan.suites.length });
      const resultsFile = join(private_, `${suite.id}.results.jsonl`);
      const contextFile = join(private_, `${suite.id}.context.json`);
      const suiteArtifacts = join(dir, suite.id);
      await mkdir(suiteArtifacts, { recursive: true });
      await writeFile(resultsFile, '', { mode: 0o600 });
      writeContext(contextFile, suiteContext(cluster, { k8sVersion: slot.label, minor, resultsFile, artifactsDir: suiteArtifacts, kubectl: kubectlPath, timeoutScale: scale, readOnly: config.readOnly }));
      log.info('suite started', { cluster: slot.label, suite: suite.id });
      const p = await runScenarioProcess({ suitesDir, id: suite.id, contextFile, resultsFile, node: opts.node ?? [process.execPath], timeoutMs: suiteTimeoutMs, killGraceMs: opts.killGraceMs ?? 10_000, signal, env: { ...env, [OWNER_ENV]: owner } });
      const artifacts: Artifact[] = [];
      if (!p.end.notFound) {
        const tap = join(dir, `${suite.id}.tap.txt`);
        await writeFile(tap, redactText(p.output, secretList()));
        artifacts.push({ name: `${suite.id}.tap.txt`, path: join('artifacts', slug, `${suite.id}.tap.txt`) });
      }
      await scrubSecrets(suiteArtifacts, secretList());
      artifacts.push(...(await artifactsIn(suiteArtifacts, reportDir)));
      const result = buildResult({ id: suite.id, title: suite.title, required: suite.required, k8sVersion: slot.label, durationMs: p.durationMs, artifacts }, parseResults(p.resultsText), p.end);
      slot.results.set(suite.id, result);
      log.info('suite finished', { cluster: slot.label, suite: suite.id, status: result.status, ms: result.durationMs });
      emit({ type: 'suite-finished', key: slot.key, label: slot.label, result });
      // Results and contexts are done with: the results are in the report now.
      await rm(resultsFile, { force: true });
      await rm(contextFile, { force: true });
    }
  };

  let reports: Record<string, string> = {};
  let report: RunReport;
  try {
    let next = 0;
    const worker = async () => {
      while (next < slots.length && !signal?.aborted) await runSlot(slots[next++]!);
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(plan.parallel, slots.length)) }, worker));
  } finally {
    await forgetRun();
    const results: ScenarioResult[] = [];
    for (const slot of slots) {
      results.push(...plan.suites.map((s) => slot.results.get(s.id)!));
      if (slot.teardown) results.push(slot.teardown);
    }
    const servers = [...new Set(slots.map((s) => s.backendServer).filter((s): s is string => !!s))];
    report = {
      schemaVersion: 1,
      tool: { name: 'dkc', version: toolVersion() },
      startedAt: startedAt.toISOString(),
      durationMs: Math.round(performance.now() - t0),
      summary: summarize(results),
      environment: {
        provider: plan.provider,
        driver: plan.driver.kind === 'path' ? { path: plan.driver.path } : { image: plan.driver.image },
        backend: backend ? { kind: 'datera', server: backend.server } : { kind: 'mock', server: servers.join(', ') || 'mock (not started)' },
        clusters: slots.map((s): ClusterInfo => ({
          k8sVersion: s.label,
          emulated: s.planned.emulated,
          ...(s.planned.kind ? { kindRelease: s.planned.kind.release, nodeImage: s.planned.kind.nodeImage, calico: s.planned.kind.calico } : {}),
          nodes: s.nodes,
        })),
        host: hostInfo(),
        ...(config.readOnly ? { readOnly: true } : {}),
      },
      results,
    };
    reports = await writeReports(reportDir, report, secretList());
    log.info('run finished', { summary: report.summary, interrupted: !!signal?.aborted, reports });
  }
  progress.finish({ summary: report.summary, reports, verdict: verdict(report), ...(config.readOnly ? { readOnly: true, readOnlyClean: readOnlyClean(report) } : {}), interrupted: !!signal?.aborted });
  return report;
}

/** The suite context for one scenario run on a started cluster (contextFor, with the run's provisioner rule). */
export function suiteContext(cluster: StartedCluster, o: { k8sVersion: string; minor: number; resultsFile: string; artifactsDir: string; kubectl?: string; timeoutScale: number; readOnly?: boolean }): SuiteContext {
  return contextFor(cluster, { ...o, provisioner: runsProvisioner(cluster), readOnly: o.readOnly ?? false });
}

/** Read a report written by a run (tests, tools). */
export async function readReport(reportDir: string): Promise<RunReport> {
  return JSON.parse(await readFile(join(reportDir, 'report.json'), 'utf8')) as RunReport;
}
