/**
 * `report.md`: verdict and summary, environment, the matrix (scenarios down, versions across), and every
 * result that did not pass with its checks and their evidence in fenced blocks.
 */
import { cleanText } from './escape.js';
import { STATUSES, driverLabel, formatDuration, matrixAxes, readOnlyClean, resultAt, verdict, type ResultStatus, type RunReport } from './model.js';
import { redactReport } from './redact.js';

export const STATUS_ICON: Record<ResultStatus, string> = { passed: '✅', failed: '❌', error: '⚠️', skipped: '⏭️', missing: '❔' };

/** Inline Markdown text: no HTML, no emphasis or links, no table breaks, one line. */
export function mdText(s: string): string {
  return cleanText(s)
    .replace(/[\\`*_[\]#|~]/g, '\\$&')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r?\n/g, ' ');
}

/** A fenced block holding `s` verbatim: the fence is longer than any backtick run inside. */
export function fenced(s: string): string {
  const longest = Math.max(2, ...[...cleanText(s).matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}text\n${cleanText(s).replace(/\n$/, '')}\n${fence}`;
}

/** Render `report.md`, with every secret in `secrets` (and secret-named values) replaced by `***`. */
export function renderMarkdown(input: RunReport, secrets: readonly string[] = []): string {
  const report = redactReport(input, secrets);
  const env = report.environment;
  const s = report.summary;
  const ok = verdict(report);
  const out: string[] = [];
  out.push(`# Datera FlexVolume conformance: ${env.readOnly ? `READ-ONLY CHECK, ${readOnlyClean(report) ? 'no problem found' : 'PROBLEMS FOUND'}` : ok ? 'PASSED' : 'FAILED'}`, '');
  if (env.readOnly) out.push('> Read-only run: scenarios that create or delete storage were skipped, so this report cannot qualify a driver.', '');
  out.push(
    `${mdText(report.tool.name)} ${mdText(report.tool.version)}, started ${mdText(report.startedAt)}, took ${formatDuration(report.durationMs)}.`,
    '',
  );
  out.push(`**${s.total} results:** ${STATUSES.map((st) => `${STATUS_ICON[st]} ${s[st]} ${st}`).join(' · ')}`, '');

  out.push('## Environment', '', '| | |', '|---|---|');
  out.push(`| Driver | ${mdText(driverLabel(env.driver))} |`);
  out.push(`| Provider | ${mdText(env.provider)} |`);
  if (env.readOnly) out.push('| Mode | read-only (non-destructive checks only) |');
  out.push(`| Backend | ${mdText(`${env.backend.kind === 'mock' ? 'mock Datera API' : 'Datera'} at ${env.backend.server}`)} |`);
  for (const c of env.clusters) {
    const extra = [c.kindRelease && `kind ${c.kindRelease}`, c.nodeImage && `image ${c.nodeImage}`, c.calico && `Calico ${c.calico}`].filter(Boolean);
    out.push(`| Kubernetes | ${mdText(`${c.k8sVersion}${c.emulated ? ' (emulated cluster)' : ''}, ${c.nodes} nodes${extra.length ? `, ${extra.join(', ')}` : ''}`)} |`);
  }
  out.push(`| Host | ${mdText(`${env.host.os} ${env.host.kernel}, Node.js ${env.host.node}`)} |`, '');

  const { versions, scenarios } = matrixAxes(report);
  out.push('## Matrix', '');
  out.push(`| Scenario | ${versions.map(mdText).join(' | ')} |`, `|---|${versions.map(() => ':---:').join('|')}|`);
  for (const id of scenarios) {
    const cells = versions.map((v) => {
      const r = resultAt(report, id, v);
      return r ? `${STATUS_ICON[r.status]} ${formatDuration(r.durationMs)}` : '—';
    });
    out.push(`| ${mdText(id)} | ${cells.join(' | ')} |`);
  }
  out.push('', `${STATUSES.map((st) => `${STATUS_ICON[st]} ${st}`).join(', ')}, — not planned.`, '');

  const bad = report.results.filter((r) => r.status === 'failed' || r.status === 'error' || r.status === 'missing');
  out.push('## Failures', '');
  if (!bad.length) out.push('None.', '');
  for (const r of bad) {
    out.push(`### ${STATUS_ICON[r.status]} ${mdText(r.id)} on ${mdText(r.k8sVersion)}${r.required ? '' : ' (not required)'}`, '');
    out.push(`${mdText(r.title)}: **${r.status}** after ${formatDuration(r.durationMs)}.${r.message ? ` ${mdText(r.message)}` : ''}`, '');
    for (const c of r.checks.filter((x) => x.status !== 'passed')) {
      out.push(`- ${STATUS_ICON[c.status]} ${mdText(c.name)}${c.message ? `: ${mdText(c.message)}` : ''}`);
      if (c.evidence) out.push('', fenced(c.evidence).replace(/^/gm, '  '), '');
    }
    if (r.artifacts.length) out.push('', `Artifacts: ${r.artifacts.map((a) => `${mdText(a.name)} (${mdText(a.path)})`).join(', ')}`);
    out.push('');
  }
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}
