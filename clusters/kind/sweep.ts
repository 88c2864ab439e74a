/**
 * Remove what crashed kind runs left: kind clusters named `dkc-*` (found through the label kind puts on its node
 * containers, io.x-k8s.kind.cluster), images this provider built (label dkc.cluster=<id>), and the tgt container
 * and networks of the mock (label dkc.instance=<instance>, named in the cluster's record file kind-cluster.json).
 * With an id only that cluster's things go; without one, every dkc kind cluster on this Docker host, including those
 * of runs still in progress. A cluster stopped normally leaves nothing to sweep.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../lib/exec.js';
import { errorMessage } from '../../lib/errors.js';
import { TGT_INSTANCE_LABEL } from './actions/start-backend.js';
import { CLUSTER_LABEL } from './images.js';
import { KIND_NAME_PREFIX, RECORD_FILE } from './kind-cluster.js';
import { findOnPath, kindCandidates, resolveTool, type Env } from './tools.js';

export const KIND_CLUSTER_LABEL = 'io.x-k8s.kind.cluster';

export interface SweepOptions {
  /** Only this cluster (`<id>` of dkc-<id>). */
  id?: string;
  /** The cluster's work dir: its record names the tgt instance; the record goes when the sweep is clean. */
  workDir?: string;
  env?: Env;
  tools?: { kind?: string; docker?: string };
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface SweepResult {
  clusters: string[];
  images: string[];
  containers: string[];
  networks: string[];
  /** What could not be removed. */
  left: string[];
}

const lines = (s: string) => [...new Set(s.split('\n').map((x) => x.trim()).filter(Boolean))];

export async function sweepKindClusters(o: SweepOptions = {}): Promise<SweepResult> {
  const env = o.env ?? process.env;
  const docker = resolveTool('docker', env, o.tools?.docker);
  const kind = o.tools?.kind ?? env.DKC_KIND ?? findOnPath('kind', env) ?? kindCandidates('v0.0.0', env)[0];
  const out: SweepResult = { clusters: [], images: [], containers: [], networks: [], left: [] };
  const x = async (argv: string[], what: string): Promise<string | undefined> => {
    const r = await run(argv, { env: { ...env }, nothrow: true, timeoutMs: 300_000 }).catch((e: unknown) => ({ exitCode: 1, stdout: '', stderr: errorMessage(e) }));
    if (r.exitCode === 0) return r.stdout;
    out.left.push(`${what}: ${r.stderr.trim().split('\n').pop() ?? `exit ${r.exitCode}`}`);
    return undefined;
  };

  const record = o.workDir ? (JSON.parse(await readFile(join(o.workDir, RECORD_FILE), 'utf8').catch(() => '{}')) as { id?: string; tgtInstance?: string | null }) : {};
  const id = o.id ?? record.id;
  const wanted = id ? `${KIND_NAME_PREFIX}${id}` : undefined;

  const names = await x([docker, 'ps', '--all', '--filter', `label=${KIND_CLUSTER_LABEL}`, '--format', `{{.Label "${KIND_CLUSTER_LABEL}"}}`], 'list kind node containers');
  for (const name of lines(names ?? '').filter((n) => n.startsWith(KIND_NAME_PREFIX) && (!wanted || n === wanted))) {
    if (kind && (await x([kind, 'delete', 'cluster', '--name', name], `kind delete cluster ${name}`)) !== undefined) {
      out.clusters.push(name);
      continue;
    }
    // No kind binary (or it failed): the node containers and their anonymous volumes directly.
    const ids = lines((await x([docker, 'ps', '--all', '--quiet', '--filter', `label=${KIND_CLUSTER_LABEL}=${name}`], `list ${name} nodes`)) ?? '');
    if (ids.length && (await x([docker, 'rm', '--force', '--volumes', ...ids], `remove ${name} nodes`)) !== undefined) out.clusters.push(name);
  }

  const imageFilter = id ? `label=${CLUSTER_LABEL}=${id}` : `label=${CLUSTER_LABEL}`;
  const images = lines((await x([docker, 'images', '--filter', imageFilter, '--format', '{{.Repository}}:{{.Tag}}'], 'list built images')) ?? '');
  for (const img of images) if ((await x([docker, 'rmi', '--force', img], `remove image ${img}`)) !== undefined) out.images.push(img);

  if (record.tgtInstance) {
    const filter = `label=${TGT_INSTANCE_LABEL}=${record.tgtInstance}`;
    const containers = lines((await x([docker, 'ps', '--all', '--filter', filter, '--format', '{{.Names}}'], 'list tgt containers')) ?? '');
    for (const c of containers) if ((await x([docker, 'rm', '--force', '--volumes', c], `remove container ${c}`)) !== undefined) out.containers.push(c);
    const networks = lines((await x([docker, 'network', 'ls', '--filter', filter, '--format', '{{.Name}}'], 'list tgt networks')) ?? '');
    for (const n of networks) if ((await x([docker, 'network', 'rm', n], `remove network ${n}`)) !== undefined) out.networks.push(n);
  }
  if (o.workDir && !out.left.length) await rm(join(o.workDir, RECORD_FILE), { force: true });
  o.log?.('kind sweep', { ...out });
  return out;
}
