/**
 * Figures of the conformance bench (harness/bench-conformance.ts): the union of work intervals behind the overhead
 * figure, and the text `dkc bench` prints.
 */
export interface ConformanceBench {
  version: string;
  wallMs: number;
  scenarios: { id: string; status: string; ms: number }[];
  /** Union of call-out and mysqld start-up intervals. */
  workMs: number;
  calloutMs: number;
  mysqldStartMs: number;
  callouts: number;
  overheadPct: number;
  passed: boolean;
}

export type Interval = [number, number];

/** Total length of the union of intervals. */
export function unionMs(intervals: readonly Interval[]): number {
  const s = [...intervals].filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let cur: Interval | undefined;
  for (const [a, b] of s) {
    if (!cur || a > cur[1]) {
      if (cur) total += cur[1] - cur[0];
      cur = [a, b];
    } else cur[1] = Math.max(cur[1], b);
  }
  if (cur) total += cur[1] - cur[0];
  return total;
}

export function formatConformanceBench(b: ConformanceBench): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return [
    `conformance run, ${b.version}, all scenarios: ${s(b.wallMs)} wall (${b.passed ? 'every required scenario passed' : 'NOT all required scenarios passed'})`,
    ...b.scenarios.map((x) => `  ${x.id.padEnd(18)} ${x.status.padEnd(7)} ${s(x.ms)}`),
    `  real work ${s(b.workMs)}: driver call-outs ${s(b.calloutMs)} (${b.callouts} calls, incl. iSCSI and mkfs), MariaDB start-up ${s(b.mysqldStartMs)} (overlapping counted once)`,
    `  harness overhead (wall time outside that work): ${s(b.wallMs - b.workMs)} = ${b.overheadPct.toFixed(0)}% of the wall time`,
  ].join('\n');
}
