/**
 * The cluster providers `dkc run` can use: a map from provider name to a function that brings up one planned
 * cluster and returns it started. Only creation differs between providers; the run loop treats every
 * StartedCluster alike. A provider records what it is about to make before making it (see `recordCluster`), so
 * that `dkc cluster down --all` can sweep a run that was killed with SIGKILL half-way.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarnessError, errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { BackendInfo, StartedCluster } from '../../clusters/provider.js';
import { EmbeddedCluster, newClusterId, type EmbeddedClusterOptions } from '../../clusters/embedded/cluster.js';
import { clusterProfile } from '../../clusters/embedded/profiles.js';
import { ExistingCluster } from '../../clusters/existing/provider.js';
import { KIND_NAME_PREFIX, RECORD_FILE as KIND_RECORD_FILE, newKindClusterId, startKindCluster, type KindClusterOptions } from '../../clusters/kind/kind-cluster.js';
import { kindVersion } from '../../clusters/kind/versions.js';
import { OWNER_ENV, orphanRecord, recordCluster, type ClusterRecord } from '../cluster-records.js';
import type { ClusterProviderName, RunConfig } from '../plan/config.js';
import type { PlannedCluster } from '../plan/plan.js';

export interface ProviderContext {
  log: Logger;
  /** The real Datera system's address and credentials (resolveBackend), or undefined for the mock. */
  backend: BackendInfo | undefined;
  /**
   * The run's abort (Ctrl-C). A provider that can stop half-way (kind) rejects its start when it fires, having
   * removed what it made; one that cannot (embedded) finishes starting and the run loop stops the cluster at once.
   */
  signal?: AbortSignal;
}

export type StartCluster = (cluster: PlannedCluster, config: RunConfig, ctx: ProviderContext) => Promise<StartedCluster>;

/** Worker nodes of each embedded cluster. */
export const EMBEDDED_NODES = 2;

/**
 * The backend a run tests against: nothing to resolve for the mock (each embedded cluster starts its own); for a
 * real system the credentials come from DATERA_USER and DATERA_PASSWORD, or from the JSON file named by
 * DATERA_CREDENTIALS_FILE (`{"user": ..., "password": ...}`, the driver's node credentials format). Checked before
 * anything starts; the password is never logged.
 */
export function resolveBackend(config: Pick<RunConfig, 'backend'>, env: NodeJS.ProcessEnv = process.env): BackendInfo | undefined {
  if (config.backend.kind === 'mock') return undefined;
  let user = env.DATERA_USER;
  let password = env.DATERA_PASSWORD;
  const file = env.DATERA_CREDENTIALS_FILE;
  if ((!user || !password) && file) {
    let creds: { user?: unknown; password?: unknown };
    try {
      creds = JSON.parse(readFileSync(file, 'utf8')) as typeof creds;
    } catch (err) {
      throw new HarnessError('BAD_CONFIG', `DATERA_CREDENTIALS_FILE=${file} cannot be read as JSON (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}); write {"user": "...", "password": "..."} there`, { cause: err });
    }
    user ||= typeof creds.user === 'string' ? creds.user : undefined;
    password ||= typeof creds.password === 'string' ? creds.password : undefined;
  }
  if (!user || !password)
    throw new HarnessError('BAD_CONFIG', `--backend ${config.backend.url} needs credentials: set DATERA_USER and DATERA_PASSWORD, or DATERA_CREDENTIALS_FILE naming a JSON file {"user": "...", "password": "..."} (kept out of ps and logs)`);
  return { kind: 'datera', url: config.backend.url, server: new URL(config.backend.url).host, user, password, portals: [] };
}

export { OWNER_ENV, recordCluster, type ClusterRecord };

/**
 * The run's owner mark, set once in this process's environment: every process the run starts after this (the
 * clusters' daemons, the scenarios) inherits it, and `dkc cluster down` kills what carries it.
 */
export function ownerMark(): string {
  return (process.env[OWNER_ENV] ??= `run-${process.pid}-${randomBytes(3).toString('hex')}`);
}


/** Run `after` once the cluster has stopped, whatever stop() returned; its failure is a leftover too. */
export function afterStop(c: StartedCluster, after: () => Promise<void>): StartedCluster {
  return {
    provider: c.provider,
    get version() {
      return c.version;
    },
    get kubeconfigPath() {
      return c.kubeconfigPath;
    },
    get backend() {
      return c.backend;
    },
    nodes: () => c.nodes(),
    nodeAccess: () => c.nodeAccess(),
    nodeExec: (node, argv) => c.nodeExec(node, argv),
    collectArtifacts: (dir) => c.collectArtifacts(dir),
    stop: async () => {
      const left = await c.stop();
      try {
        await after();
      } catch (err) {
        left.push(`cluster record: ${errorMessage(err)}`);
      }
      return left;
    },
  };
}

/** The embedded provider over a start function (EmbeddedCluster.start; tests check the recording with a fake). */
export function makeEmbeddedProvider(start: (o: EmbeddedClusterOptions) => Promise<StartedCluster> = (o) => EmbeddedCluster.start(o)): StartCluster {
  return async (pc, config, ctx) => {
    if (config.driver.kind !== 'path') throw new HarnessError('BAD_CONFIG', 'the embedded cluster installs a driver executable on its nodes, not an image');
    const profile = clusterProfile(pc.version!);
    const id = newClusterId();
    const owner = ownerMark();
    const workDir = await mkdtemp(join(tmpdir(), 'dkc-embedded-'));
    const forget = await recordCluster({ name: `run-${id}`, pid: process.pid, id, workDir, kubeconfig: join(workDir, 'kubeconfig'), owner });
    const label = pc.label ?? profile.version;
    let cluster: StartedCluster;
    try {
      cluster = await start({
        id,
        workDir,
        profile,
        nodes: EMBEDDED_NODES,
        backend: ctx.backend ? { url: ctx.backend.url, server: ctx.backend.server, user: ctx.backend.user, password: ctx.backend.password, portals: ctx.backend.portals } : 'mock',
        driver: config.driver.path,
        log: (msg, fields) => ctx.log.info(msg, { cluster: label, ...fields }),
      });
    } catch (err) {
      // start() undid what it made; the work dir and the record are ours.
      await forget();
      throw err;
    }
    return afterStop(cluster, forget);
  };
}

export const startEmbedded: StartCluster = makeEmbeddedProvider();

export const startExisting: StartCluster = async (pc, config, ctx) => ExistingCluster.start({ kubeconfig: pc.kubeconfig ?? config.kubeconfig!, ...(ctx.backend ? { backend: ctx.backend } : {}) });

/**
 * The kind provider over a start function (startKindCluster; tests check the wiring with a fake). Each cluster gets
 * its own work dir, recorded in the state dir as `dkc-<id>` (the kind cluster's name) before anything is made, so
 * that `dkc cluster down` can sweep it after a kill -9 (clusters/kind/sweep.ts, by the work dir's kind-cluster.json).
 * A stop that left nothing (the kind record is gone then) removes the work dir and the state record; otherwise both
 * stay for `dkc cluster down`, the state record without the run's pid (the run is over; the pid may be reused). The
 * run's abort signal reaches the start: Ctrl-C during creation undoes everything made so far.
 */
export function makeKindProvider(start: (o: KindClusterOptions) => Promise<StartedCluster> = startKindCluster): StartCluster {
  return async (pc, config, ctx) => {
    const kind = kindVersion(pc.version!, config.kindOverrides);
    const id = newKindClusterId();
    const workDir = await mkdtemp(join(tmpdir(), 'dkc-kind-'));
    const record: ClusterRecord = { name: `${KIND_NAME_PREFIX}${id}`, pid: process.pid, id, workDir, kubeconfig: join(workDir, 'kubeconfig'), owner: ownerMark() };
    let forget: () => Promise<void>;
    try {
      forget = await recordCluster(record);
    } catch (err) {
      await rm(workDir, { recursive: true, force: true });
      throw err;
    }
    const label = pc.label ?? kind.release;
    const done = async () => {
      if (!existsSync(join(workDir, KIND_RECORD_FILE))) return forget();
      // Leftovers: the kind record names them; keep it and the state record, which no longer names a live process.
      await orphanRecord(record);
    };
    let cluster: StartedCluster;
    try {
      cluster = await start({
        version: pc.version!,
        kind,
        id,
        workDir,
        driver: config.driver.kind === 'path' ? { path: config.driver.path, reference: config.driver.reference } : { image: config.driver.image },
        backend: ctx.backend ? { url: ctx.backend.url, server: ctx.backend.server, user: ctx.backend.user, password: ctx.backend.password, portals: ctx.backend.portals } : 'mock',
        log: (msg, fields) => ctx.log.info(msg, { cluster: label, ...fields }),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
    } catch (err) {
      // start() undid what it made (on an abort too); what it could not undo keeps its records.
      await done().catch(() => undefined);
      throw err;
    }
    return afterStop(cluster, done);
  };
}

export const startKind: StartCluster = makeKindProvider();

/** Provider name -> how to start one planned cluster. */
export const PROVIDERS: Record<ClusterProviderName, StartCluster> = {
  embedded: startEmbedded,
  kind: startKind,
  existing: startExisting,
};

/**
 * Whether the run loop tells scenarios there is a dynamic provisioner (and its Secret): the providers that make
 * their cluster install one whenever there is a backend; an existing cluster's is unknown, so scenarios needing it
 * are skipped there with that reason.
 */
export const runsProvisioner = (c: Pick<StartedCluster, 'provider' | 'backend'>) => c.provider !== 'existing' && c.backend !== undefined;
