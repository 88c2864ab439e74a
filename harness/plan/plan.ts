/**
 * The run plan: what `dkc run` would bring up and run, resolved from a validated RunConfig without touching
 * anything. `dkc run --plan` prints it with `planJson` (key order documented in harness/plan/README.md).
 */
import { clusterProfile } from '../../clusters/embedded/profiles.js';
import { calicoPinned, kindVersion } from '../../clusters/kind/versions.js';
import { SUITES, type BackendSpec, type ClusterProviderName, type DriverSpec, type ParallelFrom, type RunConfig, type SuiteId } from './config.js';

export const PLAN_SCHEMA = 'dkc.run-plan/v1';

export interface PlannedKind {
  /** The kind binary's release that must create this cluster, `v0.31.0`. */
  release: string;
  /** `kindest/node:v1.32.11@sha256:...`. */
  nodeImage: string;
  /** Calico series or release, `v3.31`. */
  calico: string;
  /** False when only the series is known (the provider picks the patch release). */
  calicoPinned: boolean;
  calicoTested: boolean;
  kubeadmApi: string;
  notes: string[];
}

export interface PlannedCluster {
  provider: ClusterProviderName;
  /** `v1.32`; null for `existing` (read from the cluster at run time). */
  version: string | null;
  /** `v1.32.9 (emulated)`, `v1.32.11`, or null for `existing`. */
  label: string | null;
  emulated: boolean;
  /** Only for kind. */
  kind?: PlannedKind;
  /** Only for existing. */
  kubeconfig?: string;
}

export interface PlannedSuite {
  id: SuiteId;
  title: string;
  required: boolean;
}

export interface RunPlan {
  schema: typeof PLAN_SCHEMA;
  provider: ClusterProviderName;
  clusters: PlannedCluster[];
  /** In run order; each runs on every cluster. */
  suites: PlannedSuite[];
  driver: DriverSpec;
  backend: BackendSpec;
  /** Clusters brought up at once. */
  parallel: number;
  /** Only non-destructive checks (RunConfig.readOnly). */
  readOnly: boolean;
  /** Only when `parallel` comes from the memory budget (kind without --parallel); its warning is for the user. */
  parallelFrom?: ParallelFrom;
  reportDir: string;
  configFile: string | null;
}

export function makePlan(config: RunConfig): RunPlan {
  const clusters: PlannedCluster[] =
    config.cluster === 'existing'
      ? [{ provider: 'existing', version: null, label: null, emulated: false, kubeconfig: config.kubeconfig! }]
      : config.versions.map((v): PlannedCluster => {
          if (config.cluster === 'embedded') {
            const p = clusterProfile(v);
            return { provider: 'embedded', version: p.version, label: `${p.release} (emulated)`, emulated: true };
          }
          const k = kindVersion(v, config.kindOverrides);
          return {
            provider: 'kind',
            version: k.version,
            label: k.release,
            emulated: false,
            kind: { release: k.kindRelease, nodeImage: k.nodeImage, calico: k.calico, calicoPinned: calicoPinned(k.calico), calicoTested: k.calicoTested, kubeadmApi: k.kubeadmApi, notes: [...k.notes] },
          };
        });
  return {
    schema: PLAN_SCHEMA,
    provider: config.cluster,
    clusters,
    suites: SUITES.filter((s) => config.suites.includes(s.id)).map((s) => ({ id: s.id, title: s.title, required: s.required })),
    driver: config.driver,
    backend: config.backend,
    parallel: config.parallel,
    readOnly: config.readOnly,
    ...(config.parallelFrom ? { parallelFrom: { ...config.parallelFrom } } : {}),
    reportDir: config.reportDir,
    configFile: config.configFile ?? null,
  };
}

/**
 * The plan as JSON with a fixed key order, whatever order the objects were built in: scripts and diffs can rely on
 * it. Absent optional keys are left out, never printed as null (except the documented nulls).
 */
export function planJson(plan: RunPlan): string {
  const driver = plan.driver.kind === 'path' ? { kind: 'path', path: plan.driver.path, reference: plan.driver.reference } : { kind: 'image', image: plan.driver.image };
  const backend = plan.backend.kind === 'mock' ? { kind: 'mock' } : { kind: 'datera', url: plan.backend.url };
  const ordered = {
    schema: plan.schema,
    provider: plan.provider,
    clusters: plan.clusters.map((c) => ({
      provider: c.provider,
      version: c.version,
      label: c.label,
      emulated: c.emulated,
      ...(c.kind
        ? {
            kind: {
              release: c.kind.release,
              nodeImage: c.kind.nodeImage,
              calico: c.kind.calico,
              calicoPinned: c.kind.calicoPinned,
              calicoTested: c.kind.calicoTested,
              kubeadmApi: c.kind.kubeadmApi,
              notes: c.kind.notes,
            },
          }
        : {}),
      ...(c.kubeconfig !== undefined ? { kubeconfig: c.kubeconfig } : {}),
    })),
    suites: plan.suites.map((s) => ({ id: s.id, title: s.title, required: s.required })),
    driver,
    backend,
    parallel: plan.parallel,
    ...(plan.readOnly ? { readOnly: true } : {}),
    ...(plan.parallelFrom
      ? {
          parallelFrom: {
            memoryBudgetMiB: plan.parallelFrom.memoryBudgetMiB,
            perClusterMiB: plan.parallelFrom.perClusterMiB,
            ...(plan.parallelFrom.warning !== undefined ? { warning: plan.parallelFrom.warning } : {}),
          },
        }
      : {}),
    reportDir: plan.reportDir,
    configFile: plan.configFile,
  };
  return JSON.stringify(ordered, null, 2);
}
