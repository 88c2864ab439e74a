import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REDACTED, createLogger, redact } from './log.js';

t.test('redact hides secret-looking fields and known secret values, deeply', async (t) => {
  const out = redact(
    { user: 'admin', password: 'p4ss', nested: { serverPasswd: 'x', 'Auth-Token': 'k', list: [{ token: 't' }] }, note: 'the p4ss is here', empty: '' },
    ['p4ss'],
  );
  t.same(out, {
    user: 'admin',
    password: REDACTED,
    nested: { serverPasswd: REDACTED, 'Auth-Token': REDACTED, list: [{ token: REDACTED }] },
    note: `the ${REDACTED} is here`,
    empty: '',
  });
});

t.test('the logger writes JSON lines with bindings, secrets redacted', async (t) => {
  const file = join(t.testdir(), 'log.jsonl');
  const log = createLogger({ file, bindings: { run: 1 }, secrets: () => ['s3cret'] }).child({ scenario: 'bind-static' });
  log.info('login', { password: 's3cret', server: '127.0.0.1:7717' });
  log.warn('said s3cret aloud');
  log.error('boom');
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.equal(lines.length, 3);
  t.match(lines[0], { level: 'info', msg: 'login', run: 1, scenario: 'bind-static', password: REDACTED, server: '127.0.0.1:7717' });
  t.equal(lines[1].msg, `said ${REDACTED} aloud`);
  t.equal(lines[2].level, 'error');
  t.notMatch(readFileSync(file, 'utf8'), /s3cret/);
  createLogger().info('nowhere');
});
