/**
 * The state dir's cluster records: `dkc cluster up` and every cluster `dkc run` makes (and the run itself) write one
 * before anything is made, so `dkc cluster down` can stop a live one or sweep what a killed one left. One format,
 * one writer, one reader.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Every process a cluster starts inherits DKC_CLUSTER_OWNER=<owner>: how a sweep finds tgtd, the provisioner and the rest. */
export const OWNER_ENV = 'DKC_CLUSTER_OWNER';

/** Where clusters are recorded (root-owned runtime dir; DKC_STATE_DIR overrides for tests). */
export const stateDir = () => process.env.DKC_STATE_DIR ?? '/run/dkc/clusters';

export interface ClusterRecord {
  name: string;
  /** The process that owns the cluster (0 once it is gone and only a sweep is left to do). */
  pid: number;
  id: string;
  workDir: string;
  kubeconfig: string;
  owner?: string;
}

/**
 * Record a cluster before it is made; returns the function that forgets it (removes the record and the work dir)
 * once the cluster is gone.
 */
export async function recordCluster(record: ClusterRecord): Promise<() => Promise<void>> {
  await mkdir(stateDir(), { recursive: true });
  const file = join(stateDir(), `${record.name}.json`);
  await writeFile(file, JSON.stringify(record));
  return async () => {
    await rm(record.workDir, { recursive: true, force: true });
    await rm(file, { force: true });
  };
}

/** The record of `name`, or undefined when there is none. */
export async function readRecord(name: string): Promise<ClusterRecord | undefined> {
  const text = await readFile(join(stateDir(), `${name}.json`), 'utf8').catch(() => undefined);
  return text ? (JSON.parse(text) as ClusterRecord) : undefined;
}

/** Keep a record for a later sweep, naming no process any more (pid 0: a reused pid is never signalled). */
export async function orphanRecord(record: ClusterRecord): Promise<void> {
  await mkdir(stateDir(), { recursive: true });
  await writeFile(join(stateDir(), `${record.name}.json`), JSON.stringify({ ...record, pid: 0 }));
}
