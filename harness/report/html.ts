/**
 * `report.html`: the qualification report, one self-contained file (inline CSS, no scripts, no external
 * assets) that opens offline. Verdict header, environment, the matrix (scenarios down, versions across, each
 * cell linking to its result), timings, every failure with its checks and evidence, then the passed and
 * skipped results. Everything from the model is HTML-escaped, and the markup is XHTML-compatible (void
 * elements self-closed, only XML entities) so a strict XML parser can check it is balanced.
 */
import { escapeAttr as attr, escapeText as text } from './escape.js';
import { STATUSES, driverLabel, formatDuration, matrixAxes, readOnlyClean, verdict, type ResultStatus, type RunReport, type ScenarioResult } from './model.js';
import { redactReport } from './redact.js';

const LABEL: Record<ResultStatus, string> = { passed: '✓ passed', failed: '✗ failed', error: '⚠ error', skipped: '○ skipped', missing: '? missing' };

const CSS = `
:root { --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #cf222e; --fail-bg: #ffebe9; --err: #9a6700; --err-bg: #fff1c2;
  --skip: #57606a; --skip-bg: #eef1f4; --miss: #8250df; --miss-bg: #f3e8ff; --line: #d0d7de; --muted: #57606a; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: #1f2328; margin: 0; background: #f6f8fa; }
main { max-width: 1280px; margin: 0 auto; padding: 0 24px 48px; }
header.verdict { padding: 24px; color: #fff; margin-bottom: 24px; }
header.verdict.pass { background: linear-gradient(90deg, #1a7f37, #2da44e); }
header.verdict.fail { background: linear-gradient(90deg, #a40e26, #cf222e); }
header.verdict.partial { background: linear-gradient(90deg, #6e7781, #8c959f); }
header .inner { max-width: 1232px; margin: 0 auto; display: flex; gap: 24px; align-items: center; flex-wrap: wrap; }
header h1 { margin: 0; font-size: 22px; font-weight: 600; }
header .badge { font-size: 26px; font-weight: 800; letter-spacing: .04em; border: 3px solid #fff; border-radius: 8px; padding: 4px 14px; }
header p { margin: 4px 0 0; opacity: .95; }
.chips { display: flex; gap: 8px; flex-wrap: wrap; margin-top: 10px; }
.chip { background: #fff; color: #1f2328; border-radius: 999px; padding: 2px 10px; font-weight: 600; font-size: 13px; }
.chip b { font-size: 15px; }
.chip.zero { opacity: .55; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin-bottom: 20px; }
h2 { font-size: 18px; margin: 0 0 12px; }
h3 { font-size: 15px; margin: 18px 0 8px; }
table { border-collapse: collapse; }
th, td { border: 1px solid var(--line); padding: 6px 10px; text-align: left; vertical-align: top; }
thead th { background: #f6f8fa; }
table.kv th { background: #f6f8fa; width: 160px; }
.muted, small { color: var(--muted); }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.scroll { overflow-x: auto; }
table.matrix td { text-align: center; padding: 0; min-width: 110px; }
table.matrix td a { display: block; padding: 6px 8px; color: inherit; text-decoration: none; font-weight: 600; }
table.matrix td a:hover { outline: 2px solid #0969da; outline-offset: -2px; }
table.matrix td small { display: block; font-weight: 400; }
table.matrix th[scope=row] { min-width: 220px; }
table.matrix th[scope=row] small { display: block; font-weight: 400; }
.st-passed { background: var(--pass-bg); color: var(--pass); }
.st-failed { background: var(--fail-bg); color: var(--fail); }
.st-error { background: var(--err-bg); color: var(--err); }
.st-skipped { background: var(--skip-bg); color: var(--skip); }
.st-missing { background: var(--miss-bg); color: var(--miss); }
td.none { background: repeating-linear-gradient(45deg, #fff, #fff 6px, #f6f8fa 6px, #f6f8fa 12px); color: var(--muted); }
.pill { display: inline-block; border-radius: 999px; padding: 0 8px; font-weight: 600; font-size: 12px; white-space: nowrap; }
.legend { margin-top: 10px; display: flex; gap: 10px; flex-wrap: wrap; font-size: 13px; }
.bar { height: 10px; background: #0969da; border-radius: 2px; min-width: 2px; }
td.barcell { width: 45%; vertical-align: middle; }
td.num, th.num { text-align: right; white-space: nowrap; }
details.result { border: 1px solid var(--line); border-radius: 6px; margin: 10px 0; }
details.result > summary { cursor: pointer; padding: 8px 12px; background: #f6f8fa; border-radius: 6px; }
details.result[open] > summary { border-bottom: 1px solid var(--line); border-radius: 6px 6px 0 0; }
details.result > .body { padding: 8px 12px 12px; }
details.result:target { box-shadow: 0 0 0 3px #0969da; }
.message { margin: 6px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.headline { margin: 6px 0 8px; padding: 6px 10px; border-left: 4px solid var(--line); background: #f6f8fa; white-space: pre-wrap; overflow-wrap: anywhere; font-weight: 600; }
.headline.st-failed { border-color: var(--fail); } .headline.st-error { border-color: var(--err); } .headline.st-missing { border-color: var(--miss); } .headline.st-skipped { border-color: var(--skip); }
table.checks { width: 100%; margin: 8px 0; }
table.checks td.status { width: 100px; }
pre { background: #0d1117; color: #e6edf3; padding: 10px 12px; border-radius: 6px; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 480px; margin: 6px 0 0; }
details.evidence > summary { cursor: pointer; color: #0969da; font-size: 13px; }
footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 24px; }
@media print { body { background: #fff; } section { break-inside: avoid; } pre { max-height: none; } }
`;

// Artifacts are files: a path with a URL scheme (javascript:, http:) is shown, never linked.
const pill = (s: ResultStatus): string => `<span class="pill st-${s}">${LABEL[s]}</span>`;

function environment(report: RunReport): string {
  const env = report.environment;
  const rows: [string, string][] = [
    ['Driver', `<code>${text(driverLabel(env.driver))}</code>`],
    ['Provider', text(env.provider)],
    ...(env.readOnly ? [['Mode', 'read-only: non-destructive checks only'] as [string, string]] : []),
    ['Backend', `${env.backend.kind === 'mock' ? 'mock Datera API' : 'Datera system'} at <code>${text(env.backend.server)}</code>`],
    ['Host', text(`${env.host.os} ${env.host.kernel}, Node.js ${env.host.node}`)],
    ['Tool', text(`${report.tool.name} ${report.tool.version}`)],
  ];
  const clusters = env.clusters.map(
    (c) =>
      `<tr><td><code>${text(c.k8sVersion)}</code></td><td>${c.emulated ? 'emulated (embedded cluster)' : 'real'}</td><td class="num">${c.nodes}</td>` +
      `<td>${text(c.kindRelease ?? '—')}</td><td>${text(c.nodeImage ?? '—')}</td><td>${text(c.calico ?? '—')}</td></tr>`,
  );
  return `<section id="environment"><h2>Environment</h2>
<table class="kv"><tbody>${rows.map(([k, v]) => `<tr><th scope="row">${k}</th><td>${v}</td></tr>`).join('')}</tbody></table>
<h3>Kubernetes clusters</h3>
<div class="scroll"><table><thead><tr><th>Version</th><th>Cluster</th><th class="num">Nodes</th><th>kind release</th><th>Node image</th><th>Calico</th></tr></thead>
<tbody>${clusters.join('\n') || '<tr><td colspan="6" class="muted">none recorded</td></tr>'}</tbody></table></div></section>`;
}

function matrix(report: RunReport, anchor: Map<ScenarioResult, string>): string {
  const { versions, scenarios } = matrixAxes(report);
  const head = `<tr><th>Scenario</th>${versions.map((v) => `<th>${text(v)}</th>`).join('')}</tr>`;
  const rows = scenarios.map((id) => {
    const title = report.results.find((r) => r.id === id)?.title ?? id;
    const cells = versions.map((v) => {
      const r = report.results.find((x) => x.id === id && x.k8sVersion === v);
      if (!r) return '<td class="none" title="not planned">—</td>';
      const tip = `${r.status}${r.message ? `: ${r.message}` : ''}`;
      return `<td class="st-${r.status}"><a href="#${anchor.get(r)}" title="${attr(tip)}">${LABEL[r.status]}${r.required ? '' : ' *'}<small>${r.status === 'missing' ? 'not run' : formatDuration(r.durationMs)}</small></a></td>`;
    });
    return `<tr><th scope="row">${text(title)}<small><code>${text(id)}</code></small></th>${cells.join('')}</tr>`;
  });
  const optional = report.results.some((r) => !r.required) ? '<span>* not required: does not affect the verdict</span>' : '';
  return `<section id="matrix"><h2>Matrix: scenarios × Kubernetes versions</h2>
<div class="scroll"><table class="matrix"><thead>${head}</thead><tbody>
${rows.join('\n')}
</tbody></table></div>
<div class="legend">${STATUSES.map(pill).join('')}<span class="muted">— not planned</span>${optional}</div></section>`;
}

function timings(report: RunReport): string {
  const { versions } = matrixAxes(report);
  const perVersion = versions.map((v) => {
    const rs = report.results.filter((r) => r.k8sVersion === v);
    const total = rs.reduce((s, r) => s + r.durationMs, 0);
    const slowest = rs.reduce<ScenarioResult | undefined>((a, r) => (!a || r.durationMs > a.durationMs ? r : a), undefined);
    return `<tr><td><code>${text(v)}</code></td><td class="num">${rs.length}</td><td class="num">${formatDuration(total)}</td><td>${slowest ? `${text(slowest.id)} (${formatDuration(slowest.durationMs)})` : '—'}</td></tr>`;
  });
  const top = [...report.results].sort((a, b) => b.durationMs - a.durationMs).slice(0, 10);
  const max = Math.max(1, ...top.map((r) => r.durationMs));
  const bars = top.map(
    (r) =>
      `<tr><td>${text(r.id)} <small>${text(r.k8sVersion)}</small></td><td class="num">${formatDuration(r.durationMs)}</td>` +
      `<td class="barcell"><div class="bar" style="width:${((100 * r.durationMs) / max).toFixed(1)}%"></div></td></tr>`,
  );
  return `<section id="timings"><h2>Timings</h2>
<p>Whole run: <b>${formatDuration(report.durationMs)}</b>, started ${text(report.startedAt)}.</p>
<div class="scroll"><table><thead><tr><th>Version</th><th class="num">Scenarios</th><th class="num">Time in scenarios</th><th>Slowest</th></tr></thead>
<tbody>${perVersion.join('\n')}</tbody></table></div>
<h3>Slowest scenarios</h3>
<table style="width:100%"><tbody>${bars.join('\n') || '<tr><td class="muted">no results</td></tr>'}</tbody></table></section>`;
}

function resultBlock(r: ScenarioResult, id: string, open: boolean): string {
  const checks = r.checks.map((c) => {
    const bad = c.status === 'failed' || c.status === 'error';
    const evidence = c.evidence
      ? `<details class="evidence"${bad ? ' open=""' : ''}><summary>evidence</summary><pre>${text(c.evidence)}</pre></details>`
      : '';
    return `<tr><td class="status">${pill(c.status)}</td><td>${text(c.name)}${c.message ? `<div class="message">${text(c.message)}</div>` : ''}${evidence}</td></tr>`;
  });
  const artifacts = r.artifacts.length
    ? `<p>Artifacts: ${r.artifacts.map((a) => (/^[a-z][a-z0-9+.-]*:/i.test(a.path) ? `<code>${text(a.name)}</code> <small>${text(a.path)}</small>` : `<a href="${attr(a.path)}"><code>${text(a.name)}</code></a>`)).join(', ')}</p>`
    : '';
  return `<details class="result" id="${id}"${open ? ' open=""' : ''}><summary>${pill(r.status)} <b>${text(r.id)}</b> on <code>${text(r.k8sVersion)}</code> <small>${r.status === 'missing' ? 'not run' : formatDuration(r.durationMs)}${r.required ? '' : ', not required'}</small></summary>
<div class="body"><div>${text(r.title)}</div>${r.message ? `<div class="headline st-${r.status}">${text(r.message)}</div>` : ''}
${checks.length ? `<table class="checks"><tbody>${checks.join('\n')}</tbody></table>` : '<p class="muted">no checks recorded</p>'}${artifacts}</div></details>`;
}

/** Render `report.html`, with every secret in `secrets` (and secret-named values) replaced by `***`. */
export function renderHtml(input: RunReport, secrets: readonly string[] = []): string {
  const report = redactReport(input, secrets);
  const anchor = new Map(report.results.map((r, i) => [r, `r${i}`] as const));
  const ok = verdict(report);
  const s = report.summary;
  const required = report.results.filter((r) => r.required);
  // Required failures first: an optional lint must not bury what decided the verdict.
  const bad = report.results
    .filter((r) => r.status === 'failed' || r.status === 'error' || r.status === 'missing')
    .sort((a, b) => Number(b.required) - Number(a.required));
  const rest = report.results.filter((r) => !bad.includes(r));
  const versions = matrixAxes(report).versions;
  // A read-only run never qualifies: grey when what ran found nothing, red when it found a problem.
  const readOnly = report.environment.readOnly === true;
  const badge = readOnly ? (readOnlyClean(report) ? 'READ-ONLY: NO PROBLEM FOUND' : 'READ-ONLY: PROBLEMS FOUND') : ok ? 'QUALIFIED' : 'NOT QUALIFIED';
  const tone = readOnly ? (readOnlyClean(report) ? 'partial' : 'fail') : ok ? 'pass' : 'fail';
  const title = `Datera FlexVolume conformance: ${badge}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>${text(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header class="verdict ${tone}"><div class="inner">
<div class="badge">${badge}</div>
<div><h1>Datera FlexVolume driver conformance</h1>
<p>${required.filter((r) => r.status === 'passed').length} of ${required.length} required results passed on ${versions.length} Kubernetes version${versions.length === 1 ? '' : 's'}
(${text(report.environment.provider)} provider${report.environment.clusters.some((c) => c.emulated) ? ', emulated versions' : ''}) · driver <code>${text(driverLabel(report.environment.driver))}</code> · ${formatDuration(report.durationMs)}</p>
<div class="chips"><span class="chip"><b>${s.total}</b> results</span>${STATUSES.map((st) => `<span class="chip st-${st}${s[st] ? '' : ' zero'}"><b>${s[st]}</b> ${st}</span>`).join('')}</div></div>
</div></header>
<main>
${environment(report)}
${matrix(report, anchor)}
${timings(report)}
<section id="failures"><h2>Failures (${bad.length})</h2>
${bad.map((r) => resultBlock(r, anchor.get(r) as string, r.required)).join('\n') || '<p>None: every scenario that ran passed or was skipped with a reason.</p>'}
</section>
<section id="results"><h2>Passed and skipped (${rest.length})</h2>
${rest.map((r) => resultBlock(r, anchor.get(r) as string, false)).join('\n') || '<p class="muted">none</p>'}
</section>
<footer>Generated by ${text(report.tool.name)} ${text(report.tool.version)} · secrets redacted · self-contained, works offline</footer>
</main>
</body>
</html>
`;
}
