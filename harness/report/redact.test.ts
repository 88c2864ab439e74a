import t from 'tap';
import { MASK, redactDeep, redactReport, redactText } from './redact.js';
import { sampleReport } from './sample-report.js';

t.test('known secret values are replaced wherever they appear, longest first', async (t) => {
  t.equal(redactText('login admin/hunter2 then hunter2x', ['hunter2', 'hunter2x']), `login admin/${MASK} then ${MASK}`);
  t.equal(redactText('a.b*c(d) and a.bXc', ['a.b*c(d)']), `${MASK} and a.bXc`, 'regex characters in a secret are literal');
  t.equal(redactText('nothing here', ['', 'absent']), 'nothing here', 'empty secrets are ignored');
});

t.test('values of secret-named keys are replaced in JSON-, YAML-, env- and flag-shaped text', async (t) => {
  const cases: [string, string][] = [
    ['{"user":"admin","password":"p\\"w","nested":{"client_secret": "abc"}}', `{"user":"admin","password":"${MASK}","nested":{"client_secret": "${MASK}"}}`],
    ['{"token": 12345, "secretRef": {"name": "datera-secret"}}', `{"token": "${MASK}", "secretRef": {"name": "datera-secret"}}`],
    ['password: hunter2\nsecretRef:\n  name: datera-secret', `password: ${MASK}\nsecretRef:\n  name: datera-secret`],
    ["passwd = 'single q'  token=\"double\"", `passwd = '${MASK}'  token="${MASK}"`],
    ['DKC_DATERA_PASSWORD=foo&x=1 --token=abc --password xyz --verbose', `DKC_DATERA_PASSWORD=${MASK}&x=1 --token=${MASK} --password ${MASK} --verbose`],
    ['Authorization: Bearer eyJhbGciOi.x.y', `Authorization: Bearer ${MASK}`],
    ['Auth-Token: 0123abcd', `Auth-Token: ${MASK}`],
    ['the token expired; rotate the secret', 'the token expired; rotate the secret'],
  ];
  for (const [input, want] of cases) t.equal(redactText(input, []), want, input);
});

t.test('redactDeep copies; redactReport recomputes the summary', async (t) => {
  const input = { a: ['x s3c y', { b: 's3c', n: 3, z: null }] };
  t.same(redactDeep(input, ['s3c']), { a: [`x ${MASK} y`, { b: MASK, n: 3, z: null }] });
  t.equal(input.a[0], 'x s3c y', 'the input is not changed');
  const r = sampleReport({ versions: 1, failures: true });
  r.summary = { passed: 99, failed: 0, error: 0, skipped: 0, missing: 0, total: 99 };
  const out = redactReport(r, []);
  t.equal(out.summary.total, 11);
  t.equal(out.summary.missing, 3);
});
