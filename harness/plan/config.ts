/**
 * The run configuration of `dkc run`: command-line flags merged over an optional YAML file (`--config`), validated
 * in code so that every problem names the flag or the file line and key, says what is accepted and how to fix it,
 * and all problems are reported together. Nothing here creates anything; paths are only checked for existence.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node, type Pair, type YAMLMap } from 'yaml';
import { HarnessError } from '../../lib/errors.js';
import { CALICO_RE, KIND_RELEASE_RE, kindVersion, nodeImageRelease, parseK8sVersion, type KindVersionOverride } from '../../clusters/kind/versions.js';
import { CLUSTER_PROFILES, DEFAULT_VERSIONS, clusterProfile } from '../../clusters/embedded/profiles.js';
import { defaultMemoryBudgetMiB, kindParallelism } from '../../clusters/kind/parallel.js';

export interface SuiteInfo {
  id: string;
  title: string;
  /** A required suite must pass for the run to pass; the others report but do not fail the run. */
  required: boolean;
}

/**
 * Every suite, in run order: the environment checks first (a failing node or network explains the failures after
 * it), then the scenarios in the order of the issue, the lint, and hygiene last (its final sweep after everything).
 */
export const SUITES = [
  { id: 'node-preflight', title: 'Node preflight: iscsiadm, mkfs, sg3_utils, udev, multipath, MTU, portals, attach-detach setting', required: true },
  { id: 'network', title: 'Pod network: pods on different nodes reach each other and the nodes without NAT', required: true },
  { id: 'bind-static', title: "Static binding: the Datera guide's PV and selector, pre-bound pairs, mismatches stay Pending", required: true },
  { id: 'bind-dynamic', title: 'Dynamic provisioning: a StorageClass for datera.io/provisioner-datera makes the right backend volume', required: true },
  { id: 'statefulset-mysql', title: 'StatefulSet MySQL: ordinals, stable names, data kept across pod deletion and rescheduling', required: true },
  { id: 'scale', title: 'Scale up and down: ordered pods, PVCs kept, old data reattached, retention whenScaled', required: true },
  { id: 'delete-cascade', title: 'Cascading deletion: pods gone, PVCs, PVs and backend volumes kept, sessions logged out', required: true },
  { id: 'delete-orphan', title: 'Orphaning deletion: pods keep running and are adopted by a new StatefulSet', required: true },
  { id: 'reclaim', title: 'Reclaim policies: Retain, Delete and Recycle on static and dynamic PVs per version', required: true },
  { id: 'security-lint', title: 'Security lint: credentials in PV options instead of a secretRef (a warning)', required: false },
  { id: 'hygiene', title: 'Hygiene: no leaked sessions, mounts, devices, backend volumes or ACL entries', required: true },
] as const satisfies readonly SuiteInfo[];

export type SuiteId = (typeof SUITES)[number]['id'];
export const SUITE_IDS: readonly SuiteId[] = SUITES.map((s) => s.id);

export const CLUSTER_PROVIDERS = ['embedded', 'kind', 'existing'] as const;
export type ClusterProviderName = (typeof CLUSTER_PROVIDERS)[number];

/** The reference driver, relative to the checkout. */
export const REFERENCE_DRIVER = 'drivers/flexvolume/datera~iscsi/iscsi';
export const MAX_PARALLEL = 16;
/** 16 TiB: more is a typo. */
export const MAX_MEMORY_BUDGET_MIB = 16 * 2 ** 20;

/** `dkc run` flags as commander hands them over: raw strings, validated here so problems are reported together. */
export interface RunFlags {
  cluster?: string;
  k8s?: string;
  suite?: string;
  driver?: string;
  backend?: string;
  kubeconfig?: string;
  reportDir?: string;
  parallel?: string;
  /** `--read-only`: only checks that change nothing on the cluster's storage or the backend (existing only). */
  readOnly?: boolean;
  memoryBudget?: string;
  config?: string;
}

export type DriverSpec = { kind: 'path'; path: string; reference: boolean } | { kind: 'image'; image: string };
export type BackendSpec = { kind: 'mock' } | { kind: 'datera'; url: string };

export interface RunConfig {
  cluster: ClusterProviderName;
  /** `v1.32` per cluster, in the order given; empty for `existing` (the cluster has its own version). */
  versions: string[];
  suites: SuiteId[];
  driver: DriverSpec;
  backend: BackendSpec;
  /** Absolute; only for `existing`. */
  kubeconfig?: string;
  /** Absolute. */
  reportDir: string;
  parallel: number;
  /**
   * Only non-destructive checks: scenarios that create or delete storage (PVs, claims, classes, backend volumes)
   * are skipped with the reason, nothing on the backend is deleted, and such a run can never qualify a driver.
   * Only with `existing`: the other providers make a cluster and a backend for the run.
   */
  readOnly: boolean;
  /** Set when `parallel` was derived from the memory budget (kind, no --parallel): why that many, and any warning. */
  parallelFrom?: ParallelFrom;
  /** From the file's `kind.versions`, keyed `v1.32`. */
  kindOverrides: Record<string, KindVersionOverride>;
  /** Absolute path of the `--config` file, when one was read. */
  configFile?: string;
}

export interface ParallelFrom {
  /** The memory kind clusters may use: --memory-budget, the file's memoryBudget, or 3/4 of this machine's memory. */
  memoryBudgetMiB: number;
  /** What one cluster is planned to need (clusters/kind/parallel.ts). */
  perClusterMiB: number;
  /** Set when even one cluster exceeds the budget (the run still brings up one at a time). */
  warning?: string;
}

export interface ConfigProblem {
  /** `--k8s`, or `run.yaml:4: k8s[1]`. */
  where: string;
  /** What is wrong, what is accepted, how to fix it. */
  message: string;
}

/** One or more problems in the flags or the file; the message lists them all. */
export class ConfigError extends HarnessError {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    const head = problems.length === 1 ? 'the run configuration has a problem' : `the run configuration has ${problems.length} problems`;
    super('BAD_CONFIG', `${head}:\n${problems.map((p) => `  ${p.where}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** The keys a config file may hold; YAML spells them in camelCase. */
export const FILE_KEYS = ['cluster', 'k8s', 'suites', 'driver', 'backend', 'kubeconfig', 'reportDir', 'parallel', 'readOnly', 'memoryBudget', 'kind'] as const;
type FileKey = (typeof FILE_KEYS)[number];
const FLAG_OF: Record<Exclude<FileKey, 'kind'>, string> = {
  cluster: '--cluster',
  k8s: '--k8s',
  suites: '--suite',
  driver: '--driver',
  backend: '--backend',
  kubeconfig: '--kubeconfig',
  reportDir: '--report-dir',
  parallel: '--parallel',
  readOnly: '--read-only',
  memoryBudget: '--memory-budget',
};

/** A value and where it came from, so a problem names the flag or the file line. */
interface Sourced<T> {
  value: T;
  where: string;
  /** Directory relative paths are resolved against: the cwd for flags, the file's directory for the file. */
  base: string;
}

export interface FileValues {
  cluster?: Sourced<string>;
  k8s?: Sourced<string[]>;
  suites?: Sourced<string[]>;
  driver?: Sourced<string>;
  backend?: Sourced<string>;
  kubeconfig?: Sourced<string>;
  reportDir?: Sourced<string>;
  parallel?: Sourced<number>;
  readOnly?: Sourced<boolean>;
  memoryBudget?: Sourced<number>;
  kind: Record<string, KindVersionOverride>;
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length]!;
}

export function suggest(word: string, known: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const w = norm(word);
  const exact = known.find((k) => norm(k) === w || norm(k) === `${w}s` || `${norm(k)}s` === w) ?? (w.length >= 4 ? known.find((k) => norm(k).includes(w)) : undefined);
  if (exact) return exact;
  const best = known.map((k) => ({ k, d: distance(norm(word), norm(k)) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= Math.max(1, Math.floor(word.length / 3)) ? best.k : undefined;
}

const didYouMean = (word: string, known: readonly string[]) => {
  const s = suggest(word, known);
  return s ? ` (did you mean '${s}'?)` : '';
};

/**
 * Parse and check the shape of a config file (keys, types); values are checked with the flags in `loadRunConfig`.
 * Every problem carries `file:line`.
 */
export function parseConfigFile(text: string, file: string, base = dirname(resolve(file))): { values: FileValues; problems: ConfigProblem[] } {
  const lc = new LineCounter();
  // Duplicate keys are found below, where the second key's own line is known (the parser reports the map's).
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: false });
  const problems: ConfigProblem[] = [];
  const values: FileValues = { kind: {} };
  const at = (node: Node | null | undefined, key: string) => `${file}:${node?.range ? lc.linePos(node.range[0]).line : 1}: ${key}`;
  const problem = (node: Node | null | undefined, key: string, message: string) => problems.push({ where: at(node, key), message });
  /** The pairs of a map, each key once: a repeated key is a problem (YAML would keep only one silently or refuse). */
  const pairs = (map: YAMLMap, path: string): Pair<Node, Node | null>[] => {
    const seen = new Map<string, Node>();
    return (map.items as Pair<Node, Node | null>[]).filter((p) => {
      const k = isScalar(p.key) ? String(p.key.source ?? p.key.value) : String(p.key);
      const first = seen.get(k);
      if (first) {
        problem(p.key, `${path}${k}`, `given twice (first on line ${lc.linePos(first.range![0]).line}); keep one`);
        return false;
      }
      seen.set(k, p.key);
      return true;
    });
  };

  for (const e of doc.errors) {
    const line = e.linePos?.[0].line ?? 1;
    problems.push({ where: `${file}:${line}`, message: `YAML syntax: ${e.message.split('\n')[0]}; fix the file at that line` });
  }
  if (doc.errors.length) return { values, problems };
  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) return { values, problems };
  if (!isMap(root)) {
    problem(root, '(top level)', `the file must be a mapping of keys (${FILE_KEYS.join(', ')}), not a ${isSeq(root) ? 'list' : 'scalar'}`);
    return { values, problems };
  }

  const str = (key: string, node: Node | null, what: string): string | undefined => {
    if (isScalar(node) && typeof node.value === 'string' && node.value.trim() !== '') return node.value.trim();
    problem(node, key, `expected ${what} as a string, got ${describe(node)}`);
    return undefined;
  };
  /** A comma-separated string or a list of strings. Numbers are refused: YAML reads 1.30 as 1.3. */
  const list = (key: string, node: Node | null, what: string): string[] | undefined => {
    if (isScalar(node) && typeof node.value === 'string') return splitList(node.value);
    if (isSeq(node)) {
      const out: string[] = [];
      node.items.forEach((item, i) => {
        const n = item as Node | null;
        if (isScalar(n) && typeof n.value === 'string') out.push(n.value.trim());
        else if (isScalar(n) && typeof n.value === 'number' && key === 'k8s') problem(n, `${key}[${i}]`, `${n.source ?? n.value} is a number to YAML (1.30 reads as 1.3); quote it: '${n.source ?? n.value}' or v${n.source ?? n.value}`);
        else problem(n, `${key}[${i}]`, `expected ${what} as a string, got ${describe(n)}`);
      });
      return out;
    }
    if (isScalar(node) && typeof node.value === 'number' && key === 'k8s') {
      problem(node, key, `${node.source ?? node.value} is a number to YAML (1.30 reads as 1.3); quote it, or give a list: ['1.27', '1.32']`);
      return undefined;
    }
    problem(node, key, `expected ${what}: a list of strings or one comma-separated string, got ${describe(node)}`);
    return undefined;
  };

  for (const pair of pairs(root, '')) {
    const keyNode = pair.key;
    const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
    const node = pair.value;
    const where = at(node ?? keyNode, key);
    const src = <T>(value: T | undefined): Sourced<T> | undefined => (value === undefined ? undefined : { value, where, base });
    switch (key as FileKey) {
      case 'cluster':
        values.cluster = src(str(key, node, `one of ${CLUSTER_PROVIDERS.join(', ')}`));
        break;
      case 'k8s':
        values.k8s = src(list(key, node, 'Kubernetes versions'));
        break;
      case 'suites':
        values.suites = src(list(key, node, 'suite ids'));
        break;
      case 'driver':
      case 'backend':
      case 'kubeconfig':
      case 'reportDir':
        values[key as 'driver'] = src(str(key, node, key === 'driver' ? 'a driver path or image' : key === 'backend' ? "'mock' or a Datera API URL" : 'a path'));
        break;
      case 'parallel':
        if (isScalar(node) && typeof node.value === 'number') values.parallel = src(node.value);
        else problem(node, key, `expected a whole number from 1 to ${MAX_PARALLEL}, got ${describe(node)}`);
        break;
      case 'readOnly':
        if (isScalar(node) && typeof node.value === 'boolean') values.readOnly = src(node.value);
        else problem(node, key, `expected true or false, got ${describe(node)}`);
        break;
      case 'memoryBudget':
        if (isScalar(node) && typeof node.value === 'number') values.memoryBudget = src(node.value);
        else problem(node, key, `expected a whole number of MiB, e.g. 16384 for 16 GiB, got ${describe(node)}`);
        break;
      case 'kind':
        values.kind = kindSection(node, problem, pairs);
        break;
      default:
        problem(keyNode, key, `unknown key${didYouMean(key, FILE_KEYS)}; accepted: ${FILE_KEYS.join(', ')}`);
    }
  }
  return { values, problems };
}

function describe(node: Node | null | undefined): string {
  if (node === null || node === undefined || (isScalar(node) && node.value === null)) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return `${typeof node.value} ${JSON.stringify(node.value)}`;
  return 'an alias';
}

const OVERRIDE_KEYS = ['kindRelease', 'nodeImage', 'calico'] as const;

/** `kind: {versions: {v1.32: {kindRelease, nodeImage, calico}}}`. */
function kindSection(
  node: Node | null,
  problem: (n: Node | null | undefined, key: string, message: string) => void,
  pairs: (map: YAMLMap, path: string) => Pair<Node, Node | null>[],
): Record<string, KindVersionOverride> {
  const out: Record<string, KindVersionOverride> = {};
  if (!isMap(node)) {
    problem(node, 'kind', `expected a mapping with 'versions', got ${describe(node)}`);
    return out;
  }
  for (const pair of pairs(node, 'kind.')) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    if (key !== 'versions') {
      problem(pair.key, `kind.${key}`, `unknown key${didYouMean(key, ['versions'])}; accepted: versions`);
      continue;
    }
    if (!isMap(pair.value)) {
      problem(pair.value ?? pair.key, 'kind.versions', `expected a mapping of Kubernetes versions (v1.32: {kindRelease, nodeImage, calico}), got ${describe(pair.value)}`);
      continue;
    }
    for (const vp of pairs(pair.value, 'kind.versions.')) {
      const vkey = isScalar(vp.key) ? String(vp.key.source ?? vp.key.value) : String(vp.key);
      const parsed = parseK8sVersion(vkey);
      const path = `kind.versions.${vkey}`;
      if (!parsed || parsed.release) {
        problem(vp.key, path, `'${vkey}' is not a Kubernetes minor; write it as v1.32`);
        continue;
      }
      if (!isMap(vp.value)) {
        problem(vp.value ?? vp.key, path, `expected a mapping with ${OVERRIDE_KEYS.join(', ')}, got ${describe(vp.value)}`);
        continue;
      }
      const o: KindVersionOverride = {};
      for (const fp of pairs(vp.value, `${path}.`)) {
        const fkey = isScalar(fp.key) ? String(fp.key.value) : String(fp.key);
        const v = fp.value;
        const value = isScalar(v) && typeof v.value === 'string' ? v.value.trim() : undefined;
        const fpath = `${path}.${fkey}`;
        if (!(OVERRIDE_KEYS as readonly string[]).includes(fkey)) {
          problem(fp.key, fpath, `unknown key${didYouMean(fkey, OVERRIDE_KEYS)}; accepted: ${OVERRIDE_KEYS.join(', ')}`);
        } else if (value === undefined) {
          problem(v ?? fp.key, fpath, `expected a string, got ${describe(v)}`);
        } else if (fkey === 'kindRelease') {
          if (KIND_RELEASE_RE.test(value)) o.kindRelease = value;
          else problem(v, fpath, `'${value}' is not a kind release; write it as v0.31.0`);
        } else if (fkey === 'calico') {
          if (CALICO_RE.test(value)) o.calico = value;
          else problem(v, fpath, `'${value}' is not a Calico version; write it as v3.31 or v3.31.2`);
        } else {
          try {
            nodeImageRelease(value, parsed.minor);
            o.nodeImage = value;
          } catch (err) {
            problem(v, fpath, (err as Error).message);
          }
        }
      }
      out[`v1.${parsed.minor}`] = o;
    }
  }
  return out;
}

export const splitList = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/** The checkout root (has package.json and drivers/), found upward from this file: harness/plan in tests, dist/harness/plan when built. */
export function checkoutRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'drivers'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}

/** `2026-05-01T10-20-30Z`: sorts by time and is a valid file name everywhere. */
export const timestamp = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');

/** An image reference with a tag or digest (untagged means :latest, which kind nodes would try to pull). */
const IMAGE_RE = /^(?:[a-z0-9.-]+(?::\d+)?\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/;
const hasTagOrDigest = (s: string) => /@sha256:/.test(s) || /:[\w][\w.-]*$/.test(s.split('/').pop()!);
const BACKEND_RE = /^(https?:\/\/)?([^\s/:@]+)(?::(\d+))?\/?$/;

export interface LoadOptions {
  cwd?: string;
  now?: Date;
  /** Defaults to the checkout root; tests point it elsewhere. */
  root?: string;
  /** The memory budget of kind clusters when none is given; default 3/4 of this machine's memory (tests fix it). */
  memoryBudgetMiB?: number;
  /** CPUs for the embedded default parallelism; default os.availableParallelism() (tests fix it). */
  cpus?: number;
}

/** About what one embedded cluster takes with the suites' MariaDB StatefulSets running (planning figure). */
export const EMBEDDED_CLUSTER_MIB = 1536;
/** Embedded clusters brought up at once by default, at most: each is a full control plane and two node agents. */
export const EMBEDDED_DEFAULT_MAX = 4;

/**
 * Embedded clusters at once when --parallel is not given: one per CPU, at most one per version, as many as fit
 * the memory budget, and at most EMBEDDED_DEFAULT_MAX. Measured on 2 CPUs: the default four versions took 11.6 min
 * one at a time and 6.3 min two at a time, every required result passing both ways.
 */
export function embeddedParallelism(versions: number, cpus: number, memoryBudgetMiB: number): number {
  return Math.max(1, Math.min(versions, cpus, Math.floor(memoryBudgetMiB / EMBEDDED_CLUSTER_MIB), EMBEDDED_DEFAULT_MAX));
}

/** Flags over the `--config` file over defaults. Throws ConfigError listing every problem. */
export function loadRunConfig(flags: RunFlags, opts: LoadOptions = {}): RunConfig {
  const cwd = opts.cwd ?? process.cwd();
  const problems: ConfigProblem[] = [];
  const add = (where: string, message: string) => problems.push({ where, message });
  const flag = <T>(name: keyof typeof FLAG_OF, raw: string | undefined, value: (s: string) => T): Sourced<T> | undefined =>
    raw === undefined ? undefined : { value: value(raw), where: `${FLAG_OF[name]} '${raw}'`, base: cwd };
  const same = (s: string) => s;

  let file: FileValues = { kind: {} };
  let configFile: string | undefined;
  if (flags.config !== undefined) {
    configFile = resolve(cwd, flags.config);
    let text: string | undefined;
    try {
      text = readFileSync(configFile, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      add(`--config '${flags.config}'`, code === 'ENOENT' ? 'no such file; give the path of a YAML run configuration (see harness/plan/README.md)' : `cannot read it (${code ?? String(err)}); give a readable YAML file`);
    }
    if (text !== undefined) {
      const parsed = parseConfigFile(text, flags.config, dirname(configFile));
      file = parsed.values;
      problems.push(...parsed.problems);
    }
  }

  // cluster
  const clusterSrc = flag('cluster', flags.cluster, same) ?? file.cluster;
  let cluster: ClusterProviderName | undefined = 'embedded';
  if (clusterSrc) {
    cluster = (CLUSTER_PROVIDERS as readonly string[]).includes(clusterSrc.value) ? (clusterSrc.value as ClusterProviderName) : undefined;
    if (!cluster) add(clusterSrc.where, `unknown cluster provider${didYouMean(clusterSrc.value, CLUSTER_PROVIDERS)}; accepted: ${CLUSTER_PROVIDERS.join(', ')}`);
  }

  // versions, checked against the provider (skipped when the provider itself is wrong: nothing to check against)
  const k8sSrc = flag('k8s', flags.k8s, splitList) ?? file.k8s;
  const versions: string[] = [];
  if (cluster === 'existing') {
    if (k8sSrc) add(k8sSrc.where, 'the existing provider runs on the version the cluster already has (read from its API server); remove --k8s (or k8s in the file), or use --cluster kind or embedded to choose versions');
  } else if (cluster) {
    const specs = k8sSrc?.value ?? [...DEFAULT_VERSIONS];
    if (k8sSrc && specs.length === 0) add(k8sSrc.where, 'no versions given; give one or more, e.g. 1.27,1.32');
    for (const spec of specs) {
      try {
        const v = cluster === 'embedded' ? embeddedVersion(spec) : kindVersion(spec, file.kind).version;
        if (versions.includes(v)) add(k8sSrc!.where, `${v} is given twice; give each version once`);
        else versions.push(v);
      } catch (err) {
        add(k8sSrc?.where ?? '--k8s', (err as Error).message);
      }
    }
  }

  // suites, in run order whatever the order given
  const suiteSrc = flag('suites', flags.suite, splitList) ?? file.suites;
  let suites: SuiteId[] = [...SUITE_IDS];
  if (suiteSrc) {
    const bad = suiteSrc.value.filter((s) => !(SUITE_IDS as readonly string[]).includes(s));
    for (const s of bad) add(suiteSrc.where, `unknown suite '${s}'${didYouMean(s, SUITE_IDS)}; accepted: ${SUITE_IDS.join(', ')}`);
    if (suiteSrc.value.length === 0) add(suiteSrc.where, `no suites given; give one or more of ${SUITE_IDS.join(', ')}, or leave it out to run them all`);
    suites = SUITE_IDS.filter((id) => suiteSrc.value.includes(id));
  }

  // driver
  const root = opts.root ?? checkoutRoot();
  const driverSrc = flag('driver', flags.driver, same) ?? file.driver;
  let driver: DriverSpec = { kind: 'path', path: join(root, REFERENCE_DRIVER), reference: true };
  if (driverSrc) {
    const d = driverSpec(driverSrc.value, driverSrc.base, root);
    if (typeof d === 'string') add(driverSrc.where, d);
    else driver = d;
    if (typeof d !== 'string' && d.kind === 'image' && cluster === 'embedded') add(driverSrc.where, 'the embedded cluster installs a driver executable on its nodes, not an image; give the driver file, or use --cluster kind or existing for an image');
  } else if (!existsSync(driver.path)) {
    add('--driver', `the reference driver ${driver.path} is missing from this checkout; give --driver PATH|IMAGE`);
  }

  // backend
  const backendSrc = flag('backend', flags.backend, same) ?? file.backend;
  let backend: BackendSpec = { kind: 'mock' };
  if (backendSrc && backendSrc.value !== 'mock') {
    const m = BACKEND_RE.exec(backendSrc.value);
    if (!m || (m[3] !== undefined && Number(m[3]) > 65535)) add(backendSrc.where, "neither 'mock' nor a Datera API address; accepted: mock, host:port, http(s)://host[:port] (credentials come from DATERA_USER and DATERA_PASSWORD)");
    else backend = { kind: 'datera', url: `${m[1] ?? 'http://'}${m[2]}${m[3] ? `:${m[3]}` : ''}` };
  }

  // kubeconfig: the existing provider's cluster; the others make their own
  const kcSrc = flag('kubeconfig', flags.kubeconfig, same) ?? file.kubeconfig;
  let kubeconfig: string | undefined;
  if (cluster === 'existing') {
    if (!kcSrc) add('--kubeconfig', 'required with --cluster existing: give the kubeconfig of the cluster to test');
    else {
      kubeconfig = resolve(kcSrc.base, kcSrc.value);
      if (!isFile(kubeconfig)) add(kcSrc.where, `no such file (${kubeconfig}); give the kubeconfig of the cluster to test`);
    }
  } else if (kcSrc && cluster) {
    add(kcSrc.where, `only for --cluster existing; the ${cluster} provider makes its cluster and writes its kubeconfig itself. Remove it, or use --cluster existing`);
  }

  // read-only: protects a cluster the run did not make
  const roSrc: Sourced<boolean> | undefined = flags.readOnly ? { value: true, where: FLAG_OF.readOnly, base: cwd } : file.readOnly;
  const readOnly = roSrc?.value === true;
  if (readOnly && cluster && cluster !== 'existing')
    add(roSrc!.where, `only for --cluster existing: the ${cluster} provider makes a cluster and a backend for this run alone, so there is nothing to protect and every check can run. Remove it, or test a cluster you already have with --cluster existing --kubeconfig PATH --read-only`);

  // report dir
  const rdSrc = flag('reportDir', flags.reportDir, same) ?? file.reportDir;
  const reportDir = rdSrc ? resolve(rdSrc.base, rdSrc.value) : resolve(cwd, 'reports', timestamp(opts.now ?? new Date()));
  if (rdSrc && existsSync(reportDir) && !statSync(reportDir).isDirectory()) add(rdSrc.where, `${reportDir} exists and is not a directory; give a directory (it is created at run time)`);

  // parallel: --parallel; for kind without it, as many clusters as fit the memory budget. A flag beats the file;
  // both keys from the same place contradict each other.
  const parFlag = flag('parallel', flags.parallel, same);
  const memFlag = flag('memoryBudget', flags.memoryBudget, same);
  if (parFlag && memFlag) add(memFlag.where, `${parFlag.where} already says how many clusters to bring up at once; give one of the two`);
  if (file.parallel && file.memoryBudget) add(file.memoryBudget.where, 'parallel in the same file already says how many clusters to bring up at once; keep one of the two');
  const whole = (src: Sourced<number | string>) => (typeof src.value === 'number' ? src.value : /^\d+$/.test(src.value) ? Number(src.value) : NaN);
  const parallelOf = (src: Sourced<number | string> | undefined) => {
    if (!src) return undefined;
    const n = whole(src);
    if (Number.isInteger(n) && n >= 1 && n <= MAX_PARALLEL) return n;
    add(src.where, `expected a whole number from 1 to ${MAX_PARALLEL} (clusters brought up at once)`);
    return undefined;
  };
  const budgetOf = (src: Sourced<number | string> | undefined) => {
    if (!src) return undefined;
    if (cluster && cluster !== 'kind')
      return void add(src.where, `only for --cluster kind (it sizes how many kind clusters run at once); the ${cluster} provider runs --parallel clusters at once, default 1. Remove it, or use --cluster kind`);
    const n = whole(src);
    if (Number.isInteger(n) && n >= 1 && n <= MAX_MEMORY_BUDGET_MIB) return n;
    add(src.where, `expected a whole number of MiB from 1 to ${MAX_MEMORY_BUDGET_MIB}, e.g. 16384 for 16 GiB: the memory the kind clusters may use together (or give --parallel N)`);
    return undefined;
  };
  const flagParallel = parallelOf(parFlag);
  const flagBudget = budgetOf(memFlag);
  const fileParallel = parallelOf(file.parallel);
  const fileBudget = budgetOf(file.memoryBudget);
  let parallel = 1;
  let parallelFrom: ParallelFrom | undefined;
  if (parFlag) parallel = flagParallel ?? 1;
  else if (!memFlag && file.parallel) parallel = fileParallel ?? 1;
  else if (cluster === 'embedded' && !memFlag && !file.memoryBudget) {
    parallel = embeddedParallelism(versions.length, opts.cpus ?? availableParallelism(), opts.memoryBudgetMiB ?? defaultMemoryBudgetMiB());
  } else if (cluster === 'kind') {
    const memoryBudgetMiB = (memFlag ? flagBudget : fileBudget) ?? opts.memoryBudgetMiB ?? defaultMemoryBudgetMiB();
    const fit = kindParallelism(versions, memoryBudgetMiB);
    parallel = Math.min(MAX_PARALLEL, fit.atOnce);
    parallelFrom = { memoryBudgetMiB, perClusterMiB: fit.perClusterMiB, ...(fit.warning ? { warning: fit.warning } : {}) };
  }

  if (problems.length || !cluster) throw new ConfigError(problems);
  return {
    cluster,
    versions,
    suites,
    driver,
    backend,
    ...(kubeconfig ? { kubeconfig } : {}),
    reportDir,
    parallel,
    readOnly,
    ...(parallelFrom ? { parallelFrom } : {}),
    kindOverrides: file.kind,
    ...(configFile ? { configFile } : {}),
  };
}

function embeddedVersion(spec: string): string {
  try {
    return clusterProfile(spec).version;
  } catch {
    throw new HarnessError(
      'BAD_INPUT',
      `no embedded profile for Kubernetes '${spec}'; accepted: ${CLUSTER_PROFILES.map((p) => p.version).join(', ')}. Pick one of those, or use --cluster kind for real Kubernetes versions`,
    );
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** A path (existing executable file) or an image reference with a tag or digest; a string is the problem. */
function driverSpec(value: string, base: string, root: string): DriverSpec | string {
  const path = resolve(base, value);
  const looksLikePath = /^[./~]/.test(value) || existsSync(path);
  if (looksLikePath) {
    if (!isFile(path)) return `no such file (${path}); give the driver executable, e.g. ${REFERENCE_DRIVER}, or an image with a tag`;
    if ((statSync(path).mode & 0o111) === 0) return `${path} is not executable; chmod +x it (the kubelet runs it directly)`;
    return { kind: 'path', path, reference: path === join(root, REFERENCE_DRIVER) };
  }
  if (IMAGE_RE.test(value) && hasTagOrDigest(value)) return { kind: 'image', image: value };
  if (IMAGE_RE.test(value)) return `no file ${path}, and as an image it has no tag or digest; give the driver executable, or an image as name:tag or name@sha256:<digest> (untagged means :latest, which nodes try to pull)`;
  return `neither an existing file nor an image reference; give the driver executable (e.g. ${REFERENCE_DRIVER}) or an image like registry.example.com/datera/flexvolume:1.0`;
}
