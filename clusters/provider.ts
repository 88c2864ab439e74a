/**
 * One interface for every way of getting a cluster (kind, embedded, existing). Suites never see which one they
 * run on: they get a kubeconfig, a backend description and the node inspector below. Only creation differs.
 */

export interface BackendInfo {
  /** `mock` (the harness's mock Datera API) or `datera` (a real system). */
  kind: 'mock' | 'datera';
  /** Management API `host:port` as PVs name it (backstoreServer). */
  server: string;
  url: string;
  user: string;
  /** Never logged: reporters redact it. */
  password: string;
  /** iSCSI portals (`ip:3260`). */
  portals: string[];
}

export interface ClusterNodeInfo {
  name: string;
  address: string;
  /** Root under which the node keeps kubelet state (embedded: a directory per node; kind: `/` inside the node container). */
  root: string;
}

/** argv prefix + environment that run a command on a node; see suites/fixture/context.ts. */
export interface NodeAccess {
  name: string;
  address: string;
  exec: string[];
  env?: Record<string, string>;
  kubeletRoot: string;
  pluginDir: string;
  iscsiRoot: string;
}

export interface NodeCommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export interface StartedCluster {
  readonly provider: 'embedded' | 'kind' | 'existing';
  /** `v1.32.9 (emulated)` for the embedded provider; a real server's gitVersion otherwise. */
  readonly version: string;
  readonly kubeconfigPath: string;
  readonly backend: BackendInfo | undefined;
  nodes(): ClusterNodeInfo[];
  /** How suites reach each node (serialisable: it goes into the suite context file). */
  nodeAccess(): NodeAccess[];
  /** Run a command on a node as the kubelet's environment sees it (PATH with the node's iscsiadm first). */
  nodeExec(node: string, argv: string[]): Promise<NodeCommandResult>;
  /** Write diagnostics (logs, request logs, node state) into `dir`. */
  collectArtifacts(dir: string): Promise<void>;
  /** Remove everything the provider made. Returns what could not be removed (empty when clean). */
  stop(): Promise<string[]>;
}

export interface ClusterProvider<Options> {
  readonly name: StartedCluster['provider'];
  start(options: Options): Promise<StartedCluster>;
}
