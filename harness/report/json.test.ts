import t from 'tap';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { renderJson } from './json.js';
import { SAMPLE_SECRET, sampleReport } from './sample-report.js';

// ajv 6 (draft-07) comes with eslint; the schema is draft-07 so that validator can check it.
const Ajv = createRequire(import.meta.url)('ajv');
const schema = JSON.parse(readFileSync(new URL('./report.schema.json', import.meta.url), 'utf8'));
const validate = new Ajv({ allErrors: true }).compile(schema);

t.test('produced reports validate against report.schema.json', async (t) => {
  for (const report of [sampleReport({ failures: true }), sampleReport({ versions: 1 })]) {
    const out = JSON.parse(renderJson(report, [SAMPLE_SECRET]));
    t.ok(validate(out), JSON.stringify(validate.errors));
  }
  const kind = sampleReport({ versions: 1 });
  kind.environment = { ...kind.environment, provider: 'kind', driver: { image: 'datera/flex:1.0.7' }, clusters: [{ k8sVersion: 'v1.33.4', emulated: false, kindRelease: 'v0.30.0', nodeImage: 'kindest/node:v1.33.4', calico: 'v3.30.3', nodes: 3 }] };
  t.ok(validate(JSON.parse(renderJson(kind))), JSON.stringify(validate.errors));
});

t.test('the schema rejects malformed reports (so the validation can fail)', async (t) => {
  const good = JSON.parse(renderJson(sampleReport({ versions: 1, failures: true })));
  const mutations: [string, (r: any) => void][] = [
    ['no summary', (r) => delete r.summary],
    ['unknown status', (r) => (r.results[0].status = 'flaky')],
    ['schemaVersion 2', (r) => (r.schemaVersion = 2)],
    ['driver with neither path nor image', (r) => (r.environment.driver = { version: '1' })],
    ['negative duration', (r) => (r.results[0].durationMs = -1)],
    ['result without checks', (r) => delete r.results[0].checks],
    ['unknown provider', (r) => (r.environment.provider = 'minikube')],
    ['bad startedAt', (r) => (r.startedAt = 'yesterday')],
    ['scenario id with spaces', (r) => (r.results[0].id = 'Bind Static')],
    ['extra field', (r) => (r.surprise = true)],
  ];
  for (const [what, mutate] of mutations) {
    const r = structuredClone(good);
    mutate(r);
    t.notOk(validate(r), what);
  }
});

t.test('report.json is the redacted model with a summary computed from the results', async (t) => {
  const report = sampleReport({ versions: 2, failures: true });
  report.summary.total = 0;
  const text = renderJson(report, [SAMPLE_SECRET]);
  t.notMatch(text, SAMPLE_SECRET);
  const out = JSON.parse(text);
  t.same(out.summary, { passed: 16, failed: 2, error: 0, skipped: 1, missing: 3, total: 22 });
  t.equal(out.results.length, 22);
  t.ok(text.endsWith('}\n'));
});
