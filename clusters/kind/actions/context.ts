/**
 * What the kind provider's creation actions share: the options, the tools, what earlier actions found out, and the
 * undo ledger. Each action is one file (kind's own style: pkg/cluster/internal/create/actions) with
 * `run(ctx)`; an action that makes something outside the cluster pushes its undo before or right after making it.
 */
import { TimeoutError } from '../../../lib/errors.js';
import type { BackendInfo } from '../../provider.js';
import type { KindTools, Env } from '../tools.js';
import type { KindVersion } from '../versions.js';

/** The mock Datera as the kind provider uses it (the real one: mocks/datera/mock-datera.ts, targets in a tgt container). */
export interface KindMock {
  url: string;
  server: string;
  credentials: { user: string; password: string };
  portals: string[];
  /** The tgt container host's `dkc.instance` label value, when its targets are in a container. */
  tgtInstance?: string;
  requests?(): unknown[];
  stop(): Promise<void>;
}

export interface KindMockOptions {
  /** Address to listen on: the kind network's gateway, the host's address on that bridge. */
  host: string;
  stateDir: string;
}

export type DriverChoice = { path: string; reference?: boolean } | { image: string };

export interface KindTimeouts {
  /** `kind create cluster` (pulls the node image on first use). */
  createMs: number;
  /** All nodes Ready after Calico. */
  readyMs: number;
  /** A DaemonSet or Deployment rollout. */
  rolloutMs: number;
  /** `kind load docker-image` of all images, and each `docker build`. */
  imagesMs: number;
}

export interface KindClusterOptions {
  /** The version asked for: `1.30`, `v1.30` or `v1.30.13`. */
  version: string;
  /** Its row from versions.ts (overrides applied), e.g. `kindVersion(version, config.kindOverrides)`. */
  kind: KindVersion;
  /**
   * A driver executable (the reference driver comes from the dkc/driver image; any other file gets a thin installer
   * image built here), or an installer image (layouts in manifests.ts).
   */
  driver: DriverChoice;
  /** 'mock': the mock Datera with its targets in a tgt container; or a real system the nodes can reach. */
  backend: 'mock' | Omit<BackendInfo, 'kind'>;
  /** Where the config, kubeconfig, manifests, build contexts and logs go (kept; what was made in it is removed at stop). */
  workDir: string;
  /** Cluster id: the kind cluster is `dkc-<id>`; lower-case letters, digits and dashes. */
  id: string;
  log: (msg: string, fields?: Record<string, unknown>) => void;
  /** Abort a start: checked between actions and while waiting; whatever was made is removed. */
  signal?: AbortSignal;
  /** The provisioner Deployment: its image (default the dkc/driver image); false to leave it out. */
  provisioner?: false | { image?: string };
  /** Workload images to have in the nodes (the suites' defaults: mariadb:10.11, busybox:1.36). */
  images?: { mysql?: string; busybox?: string };
  /** Environment for the tools and for DKC_* lookups (default process.env). */
  env?: Env;
  /** Tool paths; default DKC_KIND / DKC_KIND_DIR, DKC_KUBECTL, DKC_DOCKER, then PATH. */
  tools?: { kind?: string; kubectl?: string; docker?: string };
  /** Calico manifest cache dir; default $DKC_CALICO_MANIFEST_DIR. */
  calicoManifestDir?: string;
  /** Download the Calico manifest when it is not cached (default the global fetch; false: never). */
  fetch?: typeof fetch | false;
  timeouts?: Partial<KindTimeouts>;
  /** Starts the mock; default the real MockDatera (tests substitute one). */
  startMock?: (o: KindMockOptions) => Promise<KindMock>;
  /**
   * The dkc/driver image (images/driver): the reference driver's source, the provisioner, the base of a driver
   * file's image. Default: `images/build --print-ref driver` of the checkout.
   */
  dkcImage?: string;
  /** Checkout root (default: this package's root). */
  root?: string;
}

export interface KindNodeState {
  /** Node name = node container name. */
  name: string;
  /** InternalIP on the kind network. */
  address: string;
}

export interface KindContext {
  readonly o: KindClusterOptions;
  readonly v: KindVersion;
  readonly env: Env;
  /** `dkc-<id>`. */
  readonly name: string;
  readonly workDir: string;
  readonly kubeconfigPath: string;
  readonly configPath: string;
  readonly calicoPath: string;
  readonly recordPath: string;
  readonly commandLog: string;
  readonly timeouts: KindTimeouts;
  tools: KindTools;
  kindRelease: string;
  /** The patched Calico manifest's images (loaded into the nodes when present locally). */
  calicoImages: string[];
  /** Images the nodes need after Calico: driver installer, provisioner, workloads. */
  images: { driver: string; provisioner?: string; workloads: string[] };
  /** Images this start built (removed at stop). */
  builtImages: string[];
  nodes: KindNodeState[];
  serverVersion: string;
  backend?: BackendInfo;
  mock?: KindMock;
  tgtNetworks: string[];
  undo(what: string, fn: () => Promise<unknown>): void;
  log(msg: string, fields?: Record<string, unknown>): void;
  /** Also logged; kept for the report. */
  warn(msg: string): void;
  /** Throws the abort reason when the start was aborted. */
  checkAbort(): void;
  /** Rewrite the record the sweeper reads (kind-cluster.json) with `extra` merged in. */
  record(extra: Record<string, unknown>): Promise<void>;
}

export interface KindAction {
  /** Short, for logs and the ordering tests: `create cluster`. */
  readonly name: string;
  run(ctx: KindContext): Promise<void>;
}

/**
 * Poll a command that waits on its own for a bounded time (kubectl wait / rollout status with a short --timeout),
 * so an abort is noticed within one round. Throws TIMEOUT naming `what` and the last output.
 */
export async function waitRounds(ctx: KindContext, what: string, timeoutMs: number, round: (roundSeconds: number) => Promise<{ ok: boolean; seen: string }>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = 'nothing yet';
  for (;;) {
    ctx.checkAbort();
    const left = deadline - Date.now();
    const r = await round(Math.max(1, Math.min(10, Math.ceil(left / 1000))));
    if (r.ok) return;
    seen = r.seen.trim() || seen;
    if (Date.now() >= deadline) throw new TimeoutError(what, timeoutMs, seen);
  }
}
