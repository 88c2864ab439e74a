/**
 * flex-sanity, the pure half: the kubelet wire (lib/flex-wire.ts, re-exported here) and the one results model every
 * report (TAP 14, JUnit) is rendered from. runner.ts does the I/O.
 */
export * from '../../lib/flex-wire.js';

export type CheckStatus = 'passed' | 'failed' | 'error' | 'skipped';

export interface CheckResult {
  id: string;
  /** The testsuite it belongs to: `v1.32 (emulated)`, or `flex-sanity` for run-level checks. */
  suite: string;
  status: CheckStatus;
  durationMs: number;
  message?: string;
}

/** 0 only when nothing failed or errored (skips are fine: they carry a reason). */
export function exitCodeFor(results: readonly CheckResult[]): number {
  return results.some((r) => r.status === 'failed' || r.status === 'error') ? 1 : 0;
}

export function summarize(results: readonly CheckResult[]): Record<CheckStatus, number> {
  const s: Record<CheckStatus, number> = { passed: 0, failed: 0, error: 0, skipped: 0 };
  for (const r of results) s[r.status]++;
  return s;
}

/** TAP 14: one test point per check, failures and errors with a YAML block (JSON strings are valid YAML). */
export function renderTap(results: readonly CheckResult[]): string {
  const desc = (s: string) => s.replace(/\\/g, '\\\\').replace(/#/g, '\\#').replace(/[\r\n]+/g, ' ');
  const lines = ['TAP version 14', `1..${results.length}`];
  results.forEach((r, i) => {
    const n = i + 1;
    if (r.status === 'skipped') {
      lines.push(`ok ${n} - ${desc(r.id)} # SKIP ${desc(r.message ?? 'no reason given')}`);
      return;
    }
    lines.push(`${r.status === 'passed' ? 'ok' : 'not ok'} ${n} - ${desc(r.id)} # time=${Math.round(r.durationMs)}ms`);
    if (r.status !== 'passed' || r.message) {
      lines.push('  ---');
      lines.push(`  status: ${r.status}`);
      if (r.message !== undefined) lines.push(`  message: ${JSON.stringify(r.message)}`);
      lines.push(`  suite: ${JSON.stringify(r.suite)}`);
      lines.push('  ...');
    }
  });
  const s = summarize(results);
  lines.push(`# flex-sanity: ${s.passed} passed, ${s.failed} failed, ${s.error} error, ${s.skipped} skipped`);
  return lines.join('\n') + '\n';
}

/** Escape text for XML attributes and content; characters XML 1.0 cannot hold become U+FFFD. */
export function xmlEscape(s: string): string {
  return (
    s
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd')
      .replace(/[\ud800-\udfff]/g, (c, i: number, all: string) => {
        const code = c.charCodeAt(0);
        if (code <= 0xdbff) return /[\udc00-\udfff]/.test(all[i + 1] ?? '') ? c : '\ufffd';
        return /[\ud800-\udbff]/.test(all[i - 1] ?? '') ? c : '\ufffd';
      })
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

/** JUnit XML: one testsuite per emulated version; `failed` is <failure>, `error` is <error>, never merged. */
export function renderJUnit(results: readonly CheckResult[], name = 'flex-sanity'): string {
  const secs = (ms: number) => (ms / 1000).toFixed(3);
  const suites = new Map<string, CheckResult[]>();
  for (const r of results) suites.set(r.suite, [...(suites.get(r.suite) ?? []), r]);
  const total = summarize(results);
  const totalMs = results.reduce((a, r) => a + r.durationMs, 0);
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlEscape(name)}" tests="${results.length}" failures="${total.failed}" errors="${total.error}" skipped="${total.skipped}" time="${secs(totalMs)}">`,
  ];
  for (const [suite, rs] of suites) {
    const s = summarize(rs);
    const ms = rs.reduce((a, r) => a + r.durationMs, 0);
    out.push(`  <testsuite name="${xmlEscape(`${name} ${suite}`)}" tests="${rs.length}" failures="${s.failed}" errors="${s.error}" skipped="${s.skipped}" time="${secs(ms)}">`);
    for (const r of rs) {
      const open = `    <testcase classname="${xmlEscape(`${name}.${suite.split(' ')[0]}`)}" name="${xmlEscape(r.id)}" time="${secs(r.durationMs)}"`;
      const msg = xmlEscape(r.message ?? '');
      if (r.status === 'passed') out.push(`${open}/>`);
      else if (r.status === 'skipped') out.push(`${open}>`, `      <skipped message="${msg}"/>`, '    </testcase>');
      else {
        const tag = r.status === 'failed' ? 'failure' : 'error';
        out.push(`${open}>`, `      <${tag} message="${msg}" type="${r.status}">${msg}</${tag}>`, '    </testcase>');
      }
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}

/** p-th percentile (nearest rank) of samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (!samples.length) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
