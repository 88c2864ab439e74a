/**
 * The kind part of `dkc cluster down`: a recorded kind work dir (a run's kind cluster, recorded by the kind provider
 * as `dkc-<id>`) is swept by its record, clusters/kind/sweep.ts reading `<workDir>/kind-cluster.json`; with --all,
 * every dkc kind cluster on the Docker host goes too (a killed run's, whether or not it was recorded here). Only
 * where a docker CLI is found and its daemon answers: without Docker there is nothing kind could have left, so
 * --all skips silently (a note with --verbose) and never fails for it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../lib/errors.js';
import { run } from '../lib/exec.js';
import { RECORD_FILE } from '../clusters/kind/kind-cluster.js';
import { sweepKindClusters, type SweepOptions, type SweepResult } from '../clusters/kind/sweep.js';
import { findOnPath } from '../clusters/kind/tools.js';

/** A docker CLI whose daemon answers, or why there is none (`absent`: no CLI at all). */
export type DockerProbe = { docker: string } | { skip: string; absent: boolean };

export interface KindSweepDeps {
  /** Default findDocker(). */
  docker?: () => Promise<DockerProbe>;
  /** Default sweepKindClusters (tests give a fake: it removes real clusters). */
  sweepKind?: (o: SweepOptions) => Promise<SweepResult>;
  /** Status lines; default stderr. */
  say?: (line: string) => void;
}

/** $DKC_DOCKER or docker on PATH, asked for the daemon's version (a CLI without a daemon can sweep nothing). */
export async function findDocker(env: NodeJS.ProcessEnv = process.env): Promise<DockerProbe> {
  const docker = env.DKC_DOCKER || findOnPath('docker', env);
  if (!docker) return { skip: 'no docker CLI on PATH (nor $DKC_DOCKER)', absent: true };
  const r = await run([docker, 'version', '--format', '{{.Server.Version}}'], { env, nothrow: true, timeoutMs: 20_000 }).catch((e: unknown) => ({ exitCode: 1, stderr: errorMessage(e) }));
  if (r.exitCode === 0) return { docker };
  const why = r.stderr.trim().split('\n').pop() || `exit ${r.exitCode}`;
  return { skip: `the Docker daemon does not answer ${docker} (${why})`, absent: false };
}

/** `kind cluster dkc-a, dkc-b; image x` for what a sweep removed, or undefined when it removed nothing. */
export function removedText(r: SweepResult): string | undefined {
  const parts = (
    [
      ['kind cluster', r.clusters],
      ['image', r.images],
      ['container', r.containers],
      ['network', r.networks],
    ] as const
  )
    .filter(([, xs]) => xs.length)
    .map(([what, xs]) => `${what}${xs.length > 1 ? 's' : ''} ${xs.join(', ')}`);
  return parts.length ? parts.join('; ') : undefined;
}

export interface KindSweeper {
  /** Whether `workDir` is a kind cluster's work dir (its record is there). */
  isKind(workDir: string): boolean;
  /**
   * Sweep one recorded kind cluster (`id` of dkc-<id>; given, so that a damaged record never widens the sweep to
   * every dkc cluster); what could not be removed (the record stays then, for the next sweep).
   */
  record(name: string, id: string, workDir: string): Promise<string[]>;
  /** --all: every dkc kind cluster on the Docker host; what could not be removed. */
  all(o: { verbose?: boolean }): Promise<string[]>;
}

export function kindSweeper(deps: KindSweepDeps = {}): KindSweeper {
  const say = deps.say ?? ((line: string) => console.error(line));
  const sweep = deps.sweepKind ?? sweepKindClusters;
  let probe: Promise<DockerProbe> | undefined;
  // Asked once per `cluster down`, and only when there is kind work to do.
  const docker = () => (probe ??= (deps.docker ?? (() => findDocker()))());
  const attempt = async (o: SweepOptions, what: string): Promise<SweepResult> =>
    sweep(o).catch((err: unknown) => ({ clusters: [], images: [], containers: [], networks: [], left: [`${what}: ${errorMessage(err)}`] }));

  return {
    isKind: (workDir) => existsSync(join(workDir, RECORD_FILE)),

    async record(name, id, workDir) {
      if (!/^[a-z0-9][a-z0-9-]*$/.test(id)) return [`kind cluster recorded in ${workDir}: the record has no valid cluster id ('${id}'); remove it by hand (docker ps --filter label=io.x-k8s.kind.cluster)`];
      const d = await docker();
      if (!('docker' in d)) return [`kind cluster recorded in ${workDir}: ${d.skip}; its containers, networks and images may remain (run dkc cluster down again where Docker answers)`];
      const r = await attempt({ id, workDir, tools: { docker: d.docker } }, `kind sweep of ${workDir}`);
      const removed = removedText(r);
      if (removed) say(`cluster ${name}: removed ${removed}`);
      return r.left;
    },

    async all(o) {
      const d = await docker();
      if (!('docker' in d)) {
        if (o.verbose) say(`dkc kind clusters not swept: ${d.skip}`);
        return [];
      }
      const r = await attempt({ tools: { docker: d.docker } }, 'kind sweep');
      const removed = removedText(r);
      if (removed) say(`dkc kind clusters swept: removed ${removed}`);
      else if (o.verbose && !r.left.length) say('no dkc kind clusters found');
      if (r.left.length) say(`dkc kind clusters: could not remove ${r.left.join('; ')}`);
      return r.left;
    },
  };
}
