/**
 * The run report model: one canonical results tree from which every report (JSON, JUnit, Markdown, HTML) is
 * rendered. The run loop fills it; the writers only read it. Documented field by field in `README.md`, and
 * machine-checkably in `report.schema.json`.
 */
import { release, type } from 'node:os';

/**
 * The five outcomes, kept apart on purpose: `failed` is an assertion about the driver, `error` is broken
 * infrastructure, `skipped` is a pair the version or driver does not support (with a reason), and `missing`
 * is planned but never ran (the run was interrupted or a cluster never came up).
 */
export type ResultStatus = 'passed' | 'failed' | 'error' | 'skipped' | 'missing';

/** Every status, in the order reports list them. */
export const STATUSES: readonly ResultStatus[] = ['passed', 'failed', 'error', 'skipped', 'missing'];

/** One check inside a scenario (a tap assertion or a named step). */
export interface Check {
  name: string;
  status: ResultStatus;
  message?: string;
  /** What the check saw: command output, events, a diff. Plain text; writers escape and redact it. */
  evidence?: string;
}

/** A file collected for a scenario (driver log, mock request log, events, node state). */
export interface Artifact {
  name: string;
  /** Relative to the report directory when inside it, else absolute. */
  path: string;
}

/** One scenario on one Kubernetes version. */
export interface ScenarioResult {
  /** Stable kebab path, e.g. `statefulset-mysql` or `statefulset-mysql/scale-down-keeps-pvc`. */
  id: string;
  title: string;
  /** The same string as the cluster's `k8sVersion` it ran on, e.g. `v1.32.9 (emulated)`. */
  k8sVersion: string;
  status: ResultStatus;
  durationMs: number;
  message?: string;
  checks: Check[];
  artifacts: Artifact[];
  /** Whether the verdict depends on it; an optional scenario may fail without failing the run. */
  required: boolean;
}

/** Counts per status, plus `total` (= number of results). */
export type Summary = Record<ResultStatus, number> & { total: number };

/** The driver under test: a file installed on nodes, or an image. */
export type DriverInfo = { path: string; version?: string } | { image: string; version?: string };

export interface ClusterInfo {
  /** `v1.32.9 (emulated)` for the embedded cluster, else the server's real gitVersion (`v1.33.4`). */
  k8sVersion: string;
  emulated: boolean;
  /** kind provider only: the kind release (`v0.30.0`), the node image and the Calico version. */
  kindRelease?: string;
  nodeImage?: string;
  calico?: string;
  nodes: number;
}

export interface HostInfo {
  /** `Linux`, with the distribution when known. */
  os: string;
  kernel: string;
  /** The Node.js version that ran the harness. */
  node: string;
}

export interface Environment {
  provider: 'embedded' | 'kind' | 'existing';
  driver: DriverInfo;
  /** `server` is the management address (`127.0.0.1:7717`, or a real system's URL). */
  backend: { kind: 'mock' | 'datera'; server: string };
  clusters: ClusterInfo[];
  host: HostInfo;
  /**
   * A read-only run (`dkc run --read-only`, existing clusters): scenarios that create or delete storage were
   * skipped, so the report cannot qualify a driver; it says whether what ran found a problem.
   */
  readOnly?: boolean;
}

export interface RunReport {
  schemaVersion: 1;
  tool: { name: string; version: string };
  /** ISO 8601, UTC. */
  startedAt: string;
  durationMs: number;
  summary: Summary;
  environment: Environment;
  results: ScenarioResult[];
}

/** Count results per status. The run loop sets `report.summary = summarize(report.results)`. */
export function summarize(results: readonly ScenarioResult[]): Summary {
  const s: Summary = { passed: 0, failed: 0, error: 0, skipped: 0, missing: 0, total: results.length };
  for (const r of results) s[r.status] += 1;
  return s;
}

/**
 * The exit status: true only when every required result passed. A report with no required result at all is
 * not a pass: an empty or all-optional run proves nothing about the driver.
 */
export function verdict(report: Pick<RunReport, 'results'>): boolean {
  const required = report.results.filter((r) => r.required);
  return required.length > 0 && required.every((r) => r.status === 'passed');
}

/**
 * For a read-only run: nothing that ran failed (every required result passed or was skipped) and at least one
 * required result passed. Never a qualification; `verdict` stays false while writing scenarios were skipped.
 */
export function readOnlyClean(report: Pick<RunReport, 'results'>): boolean {
  const required = report.results.filter((r) => r.required);
  return required.some((r) => r.status === 'passed') && required.every((r) => r.status === 'passed' || r.status === 'skipped');
}

/** The host facts for `environment.host`. */
export function hostInfo(): HostInfo {
  return { os: type(), kernel: release(), node: process.version };
}

/** The matrix axes: versions in cluster order (then any only results name), scenario ids in first-seen order. */
export function matrixAxes(report: Pick<RunReport, 'environment' | 'results'>): { versions: string[]; scenarios: string[] } {
  const versions = [...new Set([...report.environment.clusters.map((c) => c.k8sVersion), ...report.results.map((r) => r.k8sVersion)])];
  const scenarios = [...new Set(report.results.map((r) => r.id))];
  return { versions, scenarios };
}

/** The result of one scenario on one version, if it is in the report. */
export function resultAt(report: Pick<RunReport, 'results'>, id: string, version: string): ScenarioResult | undefined {
  return report.results.find((r) => r.id === id && r.k8sVersion === version);
}

/** The driver as one line: its path or image, with its version when known. */
export function driverLabel(d: DriverInfo): string {
  const where = 'path' in d ? d.path : d.image;
  return d.version ? `${where} (${d.version})` : where;
}

/** Milliseconds as a short human duration: `850 ms`, `12.3 s`, `4 min 05 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}
