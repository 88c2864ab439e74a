/**
 * `junit.xml`: one `<testsuite>` per Kubernetes version, one `<testcase>` per scenario (name = scenario id,
 * classname = `dkc.<k8sVersion>`). failed -> `<failure>`, error and missing -> `<error>` (type says which),
 * skipped -> `<skipped>`; the failing checks and their evidence go in the element's CDATA body.
 */
import { cdata, escapeAttr } from './escape.js';
import { driverLabel, matrixAxes, type Check, type RunReport, type ScenarioResult } from './model.js';
import { redactReport } from './redact.js';

const seconds = (ms: number): string => (Math.max(0, ms) / 1000).toFixed(3);

/** What a reader needs to act on a non-passing result: its message, then each check that did not pass. */
export function failureBody(r: ScenarioResult): string {
  const lines: string[] = [];
  if (r.message) lines.push(r.message, '');
  const bad = r.checks.filter((c: Check) => c.status !== 'passed' && c.status !== 'skipped');
  for (const c of bad) {
    lines.push(`[${c.status}] ${c.name}${c.message ? `: ${c.message}` : ''}`);
    if (c.evidence) lines.push(c.evidence.replace(/\n$/, ''), '');
  }
  return lines.join('\n').trimEnd();
}

function testcase(r: ScenarioResult): string {
  const head = `    <testcase name="${escapeAttr(r.id)}" classname="${escapeAttr(`dkc.${r.k8sVersion}`)}" time="${seconds(r.durationMs)}"`;
  const inner: string[] = [];
  const message = r.message ?? r.checks.find((c) => c.status === r.status)?.message ?? r.status;
  if (r.status === 'failed') inner.push(`      <failure message="${escapeAttr(message)}" type="failed">${cdata(failureBody(r))}</failure>`);
  else if (r.status === 'error') inner.push(`      <error message="${escapeAttr(message)}" type="error">${cdata(failureBody(r))}</error>`);
  else if (r.status === 'missing') inner.push(`      <error message="${escapeAttr(r.message ?? 'planned but never ran')}" type="missing"/>`);
  else if (r.status === 'skipped') inner.push(`      <skipped message="${escapeAttr(message)}"/>`);
  const out = [`title: ${r.title}`, `required: ${r.required}`, ...r.checks.map((c) => `${c.status}: ${c.name}`), ...r.artifacts.map((a) => `artifact: ${a.name} ${a.path}`)];
  inner.push(`      <system-out>${cdata(out.join('\n'))}</system-out>`);
  return `${head}>\n${inner.join('\n')}\n    </testcase>`;
}

function counts(rs: readonly ScenarioResult[]): string {
  const n = (...s: string[]) => rs.filter((r) => s.includes(r.status)).length;
  return `tests="${rs.length}" failures="${n('failed')}" errors="${n('error', 'missing')}" skipped="${n('skipped')}"`;
}

/** Render `junit.xml`, with every secret in `secrets` (and secret-named values) replaced by `***`. */
export function renderJunit(input: RunReport, secrets: readonly string[] = []): string {
  const report = redactReport(input, secrets);
  const env = report.environment;
  const { versions } = matrixAxes(report);
  const suites = versions.map((v) => {
    const rs = report.results.filter((r) => r.k8sVersion === v);
    const cluster = env.clusters.find((c) => c.k8sVersion === v);
    const props: [string, string | number | boolean | undefined][] = [
      ['provider', env.provider],
      ['driver', driverLabel(env.driver)],
      ['backend', `${env.backend.kind} ${env.backend.server}`],
      ['emulated', cluster?.emulated],
      ['nodes', cluster?.nodes],
      ['kindRelease', cluster?.kindRelease],
      ['nodeImage', cluster?.nodeImage],
      ['calico', cluster?.calico],
    ];
    const properties = props
      .filter((p): p is [string, string | number | boolean] => p[1] !== undefined)
      .map(([k, val]) => `      <property name="${k}" value="${escapeAttr(String(val))}"/>`);
    const time = rs.reduce((s, r) => s + r.durationMs, 0);
    return [
      `  <testsuite name="${escapeAttr(v)}" ${counts(rs)} time="${seconds(time)}" timestamp="${escapeAttr(report.startedAt)}">`,
      `    <properties>\n${properties.join('\n')}\n    </properties>`,
      ...rs.map(testcase),
      '  </testsuite>',
    ].join('\n');
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${escapeAttr(report.tool.name)}" ${counts(report.results)} time="${seconds(report.durationMs)}" timestamp="${escapeAttr(report.startedAt)}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
