/**
 * What `dkc run` shows while it runs. On a terminal (and not in CI): a compact live view, one line per cluster with
 * its current suite and counts, redrawn in place, with failures printed above it as they happen. Otherwise (CI,
 * pipes, files): plain lines, one per event, e.g. `[v1.32.9 (emulated)] bind-static passed (12.3 s)`. Both end with
 * the counts line and the report paths. The run loop redacts events before they get here.
 */
import { formatDuration, type ResultStatus, type ScenarioResult, type Summary } from '../report/model.js';

export type ProgressEvent =
  | { type: 'cluster-starting'; key: number; label: string; provider: string }
  | { type: 'cluster-ready'; key: number; label: string; ms: number; nodes: number }
  | { type: 'cluster-failed'; key: number; label: string; message: string }
  | { type: 'suite-started'; key: number; label: string; suite: string; index: number; total: number }
  | { type: 'suite-finished'; key: number; label: string; result: ScenarioResult }
  | { type: 'cluster-stopping'; key: number; label: string }
  | { type: 'cluster-stopped'; key: number; label: string; leftovers: string[] }
  | { type: 'note'; message: string };

export interface FinishInfo {
  summary: Summary;
  /** Report kind -> path. */
  reports: Record<string, string>;
  verdict: boolean;
  /** A read-only run: it cannot qualify; `readOnlyClean` says whether what ran found nothing. */
  readOnly?: boolean;
  readOnlyClean?: boolean;
  interrupted: boolean;
}

export interface Progress {
  event(e: ProgressEvent): void;
  /** The counts line and the report paths; stops any redrawing. */
  finish(info: FinishInfo): void;
}

interface Writable {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Status lines (default stderr). */
  stream?: Writable;
  /** The final counts and report paths (default stdout). */
  out?: Writable;
  /** Live view or plain lines; default: live when `stream` is a TTY and CI is not set. */
  live?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Redraw interval of the live view (its spinner). */
  intervalMs?: number;
}

/** The status line of one finished result, without the cluster prefix. */
export function resultLine(r: ScenarioResult): string {
  const d = formatDuration(r.durationMs);
  const first = (s: string | undefined) => clip((s ?? '').split('\n')[0]!.trim(), 300);
  switch (r.status) {
    case 'passed':
      return `${r.id} passed (${d})`;
    case 'failed': {
      const c = r.checks.find((x) => x.status === 'failed') ?? r.checks.find((x) => x.status === 'error');
      return `${r.id} failed (${d})${c ? `: ${c.name}: ${first(c.message ?? r.message)}` : r.message ? `: ${first(r.message)}` : ''}`;
    }
    case 'error':
      return `${r.id} error (${d})${r.message ? `: ${first(r.message)}` : ''}`;
    case 'skipped':
      return `${r.id} skipped${r.message ? `: ${first(r.message)}` : ''}`;
    default:
      return `${r.id} not run${r.message ? `: ${first(r.message)}` : ''}`;
  }
}

export function countsLine(s: Summary): string {
  return `${s.passed} passed, ${s.failed} failed, ${s.error} error, ${s.skipped} skipped, ${s.missing} missing`;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, Math.max(0, n - 1))}…` : s);

function finishLines(info: FinishInfo): string[] {
  const lines = [countsLine(info.summary)];
  lines.push(
    info.interrupted
      ? 'interrupted: the report lists what did not run as missing'
      : info.readOnly
        ? `read-only run: ${info.readOnlyClean ? 'no problem found' : 'PROBLEMS FOUND'} by the non-destructive checks (scenarios that create or delete storage were skipped; not a qualification)`
        : info.verdict
          ? 'verdict: QUALIFIED (every required scenario passed)'
          : 'verdict: NOT QUALIFIED',
  );
  for (const [kind, path] of Object.entries(info.reports)) lines.push(`  ${kind.padEnd(8)} ${path}`);
  return lines;
}

export function createProgress(o: ProgressOptions = {}): Progress {
  const stream = o.stream ?? process.stderr;
  const out = o.out ?? process.stdout;
  const env = o.env ?? process.env;
  const live = o.live ?? (!!stream.isTTY && !env.CI);
  return live ? liveProgress(stream, out, o.intervalMs ?? 200) : plainProgress(stream, out);
}

function plainProgress(stream: Writable, out: Writable): Progress {
  const say = (label: string | undefined, line: string) => stream.write(`${label ? `[${label}] ` : ''}${line}\n`);
  return {
    event(e) {
      switch (e.type) {
        case 'cluster-starting':
          return void say(e.label, `starting the ${e.provider} cluster`);
        case 'cluster-ready':
          return void say(e.label, `cluster ready in ${formatDuration(e.ms)} (${e.nodes} node${e.nodes === 1 ? '' : 's'})`);
        case 'cluster-failed':
          return void say(e.label, `cluster failed to start: ${e.message.split('\n')[0]}`);
        case 'suite-started':
          return void say(e.label, `${e.suite} running (${e.index}/${e.total})`);
        case 'suite-finished':
          return void say(e.label, resultLine(e.result));
        case 'cluster-stopping':
          return void say(e.label, 'collecting artifacts and removing the cluster');
        case 'cluster-stopped':
          return void say(e.label, e.leftovers.length ? `teardown left: ${e.leftovers.join('; ')}` : 'cluster removed');
        case 'note':
          return void say(undefined, e.message);
      }
    },
    finish(info) {
      for (const l of finishLines(info)) out.write(`${l}\n`);
    },
  };
}

interface Row {
  label: string;
  state: string;
  counts: Record<ResultStatus, number>;
  active: boolean;
}

const SPIN = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const MARK: Record<ResultStatus, string> = { passed: '✔', failed: '✘', error: '!', skipped: '-', missing: '?' };

function liveProgress(stream: Writable, out: Writable, intervalMs: number): Progress {
  const rows = new Map<number, Row>();
  let drawn = 0;
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  const width = () => Math.max(20, (stream.columns ?? 100) - 1);
  const render = (above: string[] = []) => {
    let s = drawn ? `\x1b[${drawn}A\r\x1b[J` : '';
    for (const l of above) s += `${l}\n`;
    const list = [...rows.values()];
    const labelWidth = Math.max(0, ...list.map((r) => r.label.length));
    for (const r of list) {
      const spin = r.active ? SPIN[frame % SPIN.length]! : ' ';
      const counts = (Object.keys(MARK) as ResultStatus[])
        .filter((k) => r.counts[k] > 0)
        .map((k) => `${MARK[k]} ${r.counts[k]}`)
        .join('  ');
      s += `${clip(`${spin} ${r.label.padEnd(labelWidth)}  ${r.state}${counts ? `   ${counts}` : ''}`, width())}\n`;
    }
    drawn = list.length;
    stream.write(s);
  };
  const row = (key: number, label: string): Row => {
    let r = rows.get(key);
    if (!r) {
      r = { label, state: 'waiting', counts: { passed: 0, failed: 0, error: 0, skipped: 0, missing: 0 }, active: false };
      rows.set(key, r);
    }
    r.label = label;
    return r;
  };
  const tick = () => {
    frame++;
    if ([...rows.values()].some((r) => r.active)) render();
  };
  return {
    event(e) {
      timer ??= setInterval(tick, intervalMs);
      timer.unref?.();
      const above: string[] = [];
      switch (e.type) {
        case 'note':
          above.push(e.message);
          break;
        case 'cluster-starting':
          Object.assign(row(e.key, e.label), { state: `starting the ${e.provider} cluster`, active: true });
          break;
        case 'cluster-ready':
          Object.assign(row(e.key, e.label), { state: `ready in ${formatDuration(e.ms)}` });
          break;
        case 'cluster-failed':
          Object.assign(row(e.key, e.label), { state: 'failed to start', active: false });
          above.push(`[${e.label}] cluster failed to start: ${e.message.split('\n')[0]}`);
          break;
        case 'suite-started':
          Object.assign(row(e.key, e.label), { state: `${e.suite} (${e.index}/${e.total})` });
          break;
        case 'suite-finished': {
          const r = row(e.key, e.label);
          r.counts[e.result.status]++;
          if (e.result.status === 'failed' || e.result.status === 'error') above.push(`[${e.label}] ${resultLine(e.result)}`);
          break;
        }
        case 'cluster-stopping':
          Object.assign(row(e.key, e.label), { state: 'removing the cluster' });
          break;
        case 'cluster-stopped': {
          const r = Object.assign(row(e.key, e.label), { state: e.leftovers.length ? 'teardown left things behind' : 'done', active: false });
          if (e.leftovers.length) above.push(`[${r.label}] teardown left: ${e.leftovers.join('; ')}`);
          break;
        }
      }
      render(above);
    },
    finish(info) {
      clearInterval(timer);
      timer = undefined;
      for (const r of rows.values()) r.active = false;
      render();
      for (const l of finishLines(info)) out.write(`${l}\n`);
    },
  };
}
