/**
 * From what a scenario process left (its results file, exit status, stderr) to one ScenarioResult. Pure, so every
 * mapping is unit-tested without processes: the scenario's own verdict counts only when the process agrees with it
 * (a clean exit for passed or skipped, no failing check under a passed scenario); anything else is `error`, with the
 * tail of stderr, because a scenario that crashed or hung says nothing about the driver.
 */
import type { Artifact, Check, ResultStatus, ScenarioResult } from '../report/model.js';
import type { ResultLine } from '../fixture/context.js';

const STATUSES = ['passed', 'failed', 'error', 'skipped'] as const;
type LineStatus = (typeof STATUSES)[number];

export interface ParsedResults {
  checks: Check[];
  /** The last `scenario` line, if any. */
  scenario?: { status: LineStatus; message?: string };
  /** Lines that were not JSON or not a ResultLine (a scenario writing garbage is itself a finding). */
  unreadable: number;
}

/** Parse a results file's text: one ResultLine per line; blank lines ignored. */
export function parseResults(text: string): ParsedResults {
  const out: ParsedResults = { checks: [], unreadable: 0 };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    let v: Partial<ResultLine> & Record<string, unknown>;
    try {
      v = JSON.parse(line) as Partial<ResultLine> & Record<string, unknown>;
    } catch {
      out.unreadable++;
      continue;
    }
    if (!v || typeof v !== 'object' || !(STATUSES as readonly unknown[]).includes(v.status)) {
      out.unreadable++;
      continue;
    }
    const message = typeof v.message === 'string' && v.message ? v.message : undefined;
    if (v.type === 'check' && typeof v.name === 'string') {
      const evidence = typeof v.evidence === 'string' && v.evidence ? v.evidence : undefined;
      out.checks.push({ name: v.name, status: v.status as LineStatus, ...(message ? { message } : {}), ...(evidence ? { evidence } : {}) });
    } else if (v.type === 'scenario') {
      out.scenario = { status: v.status as LineStatus, ...(message ? { message } : {}) };
    } else out.unreadable++;
  }
  return out;
}

/** How the scenario process ended. */
export interface ProcessEnd {
  exitCode: number | null;
  signal: string | null;
  /** Set when the harness stopped it for taking longer than this many ms. */
  timedOutAfterMs?: number;
  /** Set when the run was interrupted (Ctrl-C) while it ran. */
  interrupted?: boolean;
  /** The scenario file did not exist (a suite that is not built). */
  notFound?: string;
  /** The last lines of its stderr. */
  stderrTail: string;
}

export interface ResultBase {
  id: string;
  title: string;
  required: boolean;
  k8sVersion: string;
  durationMs: number;
  artifacts: Artifact[];
}

/** The last `lines` non-empty lines of `text`, at most `chars` characters. */
export function tail(text: string, lines = 12, chars = 2000): string {
  const t = text.split('\n').filter((l) => l.trim()).slice(-lines).join('\n');
  return t.length > chars ? `...${t.slice(-chars)}` : t;
}

const withStderr = (message: string, end: ProcessEnd) => (end.stderrTail.trim() ? `${message}; stderr ends:\n${tail(end.stderrTail)}` : `${message}; it wrote nothing on stderr`);

function how(end: ProcessEnd): string {
  return end.signal ? `was killed by ${end.signal}` : `exited ${end.exitCode}`;
}

export function buildResult(base: ResultBase, parsed: ParsedResults, end: ProcessEnd): ScenarioResult {
  const result = (status: ResultStatus, message?: string): ScenarioResult => ({
    id: base.id,
    title: base.title,
    k8sVersion: base.k8sVersion,
    status,
    durationMs: Math.max(0, Math.round(base.durationMs)),
    ...(message ? { message: parsed.unreadable ? `${message} (${parsed.unreadable} unreadable results line${parsed.unreadable > 1 ? 's' : ''} ignored)` : message } : {}),
    checks: parsed.checks,
    artifacts: base.artifacts,
    required: base.required,
  });
  if (end.notFound) return result('error', `no scenario to run: ${end.notFound} does not exist (npm run build compiles suites/${base.id}/scenario.ts)`);
  if (end.interrupted) return result('missing', `not finished: the run was interrupted while it ran${parsed.checks.length ? ` (${parsed.checks.length} check${parsed.checks.length > 1 ? 's' : ''} recorded)` : ''}`);
  if (end.timedOutAfterMs !== undefined) return result('error', withStderr(`timed out after ${formatMs(end.timedOutAfterMs)} and was stopped (SIGTERM, then SIGKILL to its process group)`, end));
  const s = parsed.scenario;
  if (!s) return result('error', withStderr(`the scenario process ${how(end)} without reporting a result`, end));
  const clean = end.exitCode === 0 && !end.signal;
  const bad = parsed.checks.find((c) => c.status === 'failed' || c.status === 'error');
  if (s.status === 'passed' || s.status === 'skipped') {
    if (!clean) return result('error', withStderr(`the scenario reported ${s.status} but its process ${how(end)}`, end));
    // A scenario must never pass over a failing check: trust the check.
    if (s.status === 'passed' && bad) return result(bad.status === 'failed' ? 'failed' : 'error', `${bad.name}: ${bad.message ?? bad.status} (the scenario reported passed over it)`);
    return result(s.status, s.message ?? (s.status === 'skipped' ? 'skipped (no reason given)' : undefined));
  }
  if (s.status === 'failed') return result('failed', s.message ?? (bad ? `${bad.name}: ${bad.message ?? 'failed'}` : 'failed (no message)'));
  return result('error', s.message ?? (clean ? 'error (no message)' : withStderr(`error; the scenario process ${how(end)}`, end)));
}

function formatMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 100) / 10} s`;
  return `${Math.round(ms / 60_000)} min`;
}
