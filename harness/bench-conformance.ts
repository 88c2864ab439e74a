/**
 * `dkc bench` part 3: the whole conformance run for one version on the embedded cluster, timed. Reports the run's
 * wall time, each scenario's, and the harness's own overhead: the wall time not covered by "real work", where
 * real work is the union of the intervals in which a FlexVolume call-out ran (the driver's REST calls, iSCSI login
 * and logout, mkfs, mounts) or a MariaDB container was starting up (from running to Ready: mysqld initialising its
 * datadir and starting). What is left is the control plane, scheduling, polling, process start-up of the scenario
 * runners and the checks themselves. Figures only: nothing here passes or fails.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedCluster } from '../clusters/embedded/cluster.js';
import type { KObject } from '../clusters/embedded/apiserver/store.js';
import { loadRunConfig } from './plan/config.js';
import { runConformance } from './run/run.js';
import { makeEmbeddedProvider } from './run/providers.js';
import { createProgress } from './run/progress.js';
import { unionMs, type ConformanceBench, type Interval } from './bench-figures.js';

export { formatConformanceBench, type ConformanceBench } from './bench-figures.js';

export async function benchConformance(o: { version?: string; quiet?: boolean } = {}): Promise<ConformanceBench> {
  const version = o.version ?? 'v1.32';
  const clusters: EmbeddedCluster[] = [];
  const mysqld: Interval[] = [];
  const started = new Map<string, number>();
  const start = makeEmbeddedProvider(async (opts) => {
    const c = await EmbeddedCluster.start(opts);
    clusters.push(c);
    // MariaDB start-up: first seen running -> Ready, per pod.
    c.store.watch('core/pods', undefined, undefined, (ev) => {
      const p = ev.object as KObject & { spec?: { containers?: { image?: string }[] }; status?: { containerStatuses?: { state?: { running?: unknown } }[]; conditions?: { type: string; status: string }[] } };
      if (!(p.spec?.containers ?? []).some((x) => /mariadb|mysql/.test(x.image ?? ''))) return;
      const uid = String(p.metadata?.uid);
      const running = (p.status?.containerStatuses ?? []).some((x) => x.state?.running);
      const ready = (p.status?.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True');
      if (running && !started.has(uid)) started.set(uid, Date.now());
      if (ready && started.has(uid) && started.get(uid)! > 0) {
        mysqld.push([started.get(uid)!, Date.now()]);
        started.set(uid, -1);
      }
    });
    return c;
  });
  const reportDir = await mkdtemp(join(tmpdir(), 'dkc-bench-run-'));
  try {
    const t0 = Date.now();
    const lines: string[] = [];
    const sink = { write: (s: string) => lines.push(s) };
    const report = await runConformance(loadRunConfig({ cluster: 'embedded', k8s: version, reportDir }), {
      providers: { embedded: start },
      progress: createProgress(o.quiet ? { live: false, stream: sink, out: sink } : { live: false }),
    });
    const t1 = Date.now();
    const calls = clusters.flatMap((c) => c.flexCalls);
    const callIv: Interval[] = calls.map((c) => [c.at, c.at + c.ms]);
    const workMs = unionMs([...callIv, ...mysqld]);
    const wallMs = t1 - t0;
    return {
      version: report.environment.clusters[0]?.k8sVersion ?? version,
      wallMs,
      scenarios: report.results.map((r) => ({ id: r.id, status: r.status, ms: r.durationMs })),
      workMs,
      calloutMs: unionMs(callIv),
      mysqldStartMs: unionMs(mysqld),
      callouts: calls.length,
      overheadPct: wallMs ? (100 * (wallMs - workMs)) / wallMs : 0,
      passed: report.results.filter((r) => r.required).every((r) => r.status === 'passed'),
    };
  } finally {
    await rm(reportDir, { recursive: true, force: true });
  }
}

