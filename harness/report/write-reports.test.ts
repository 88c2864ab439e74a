import t from 'tap';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPORT_FILES, writeReports } from './write-reports.js';
import { sampleReport } from './sample-report.js';
import { parseXml } from './xml-check.js';

t.test('writeReports writes the four reports, and a secret planted everywhere appears in none', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-report-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const secret = 'pl4nted-S3CRET';
  const report = sampleReport({ versions: 2, failures: true });
  const r = report.results[3];
  r.status = 'failed';
  r.message = `login failed for admin:${secret}`;
  r.checks.push({ name: `check ${secret}`, status: 'failed', message: secret, evidence: `$ kubectl get secret -o json\n{"data":{"password":"${secret}"}}\n--password ${secret}` });
  r.artifacts.push({ name: `dump-${secret}.log`, path: `artifacts/${secret}/dump.log` });
  report.environment.backend.server = `https://admin:${secret}@dsp.example:7718`;
  report.environment.driver = { path: `/opt/${secret}/iscsi`, version: secret };
  report.tool.version = secret;

  const written = await writeReports(join(dir, 'out'), report, [secret]);
  t.same(Object.keys(written).sort(), ['html', 'json', 'junit', 'markdown']);
  t.same((await readdir(join(dir, 'out'))).sort(), Object.values(REPORT_FILES).sort());
  for (const file of Object.values(written)) {
    const text = await readFile(file, 'utf8');
    t.ok(text.length > 500, `${file} has content`);
    t.notMatch(text, secret, `${file} does not contain the secret`);
    t.notMatch(text, secret.toLowerCase(), `${file}: not even lower-cased`);
    t.match(text, '***', `${file} shows where it was`);
    t.equal((await stat(file)).mode & 0o777, 0o644);
  }
  t.doesNotThrow(() => parseXml(readFileSync(written.junit, 'utf8')));
  t.doesNotThrow(() => parseXml(readFileSync(written.html, 'utf8')));
  t.equal(JSON.parse(await readFile(written.json, 'utf8')).summary.total, 22);
  // Without secrets the same report does leak them: the check above can fail.
  const leaky = await writeReports(join(dir, 'leaky'), report);
  t.match(await readFile(leaky.html, 'utf8'), secret);
});
