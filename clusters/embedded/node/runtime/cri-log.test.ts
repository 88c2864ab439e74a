import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CriLogWriter, followCriLog, formatCriLine, MAX_LINE, parseCriLine, readCriLog, renderCri, rfc3339Nano } from './cri-log.js';

t.test('format and parse a record', async (t) => {
  const ts = rfc3339Nano(new Date('2024-01-02T03:04:05.678Z'), 42);
  t.equal(ts, '2024-01-02T03:04:05.678000042Z');
  const line = formatCriLine(ts, 'stderr', false, 'boom  x');
  t.equal(line, '2024-01-02T03:04:05.678000042Z stderr F boom  x\n');
  const rec = parseCriLine(line.trimEnd());
  t.match(rec, { timestamp: ts, stream: 'stderr', partial: false, text: 'boom  x' });
  t.equal(rec!.time.toISOString(), '2024-01-02T03:04:05.678Z');
  t.equal(parseCriLine('garbage'), undefined);
  t.equal(parseCriLine('notatime stdout F x'), undefined);
});

t.test('render: partial joins, tail, since, timestamps', async (t) => {
  const c = [
    '2024-01-01T00:00:00.000000000Z stdout F old',
    '2024-01-01T00:01:00.000000000Z stdout P par',
    '2024-01-01T00:01:00.000000001Z stdout F tial',
    'junk line',
    '2024-01-01T00:02:00.000000000Z stderr F new',
    '',
  ].join('\n');
  t.same(renderCri(c), ['old\n', 'partial\n', 'new\n']);
  t.same(renderCri(c, { tailLines: 2 }), ['partial\n', 'new\n']);
  t.same(renderCri(c, { tailLines: 0 }), []);
  t.same(renderCri(c, { sinceSeconds: 90 }, new Date('2024-01-01T00:02:30Z')), ['partial\n', 'new\n']);
  t.same(renderCri(c, { timestamps: true, tailLines: 1 }), ['2024-01-01T00:02:00.000000000Z new\n']);
});

t.test('writer splits lines per stream, long lines become partials, close flushes', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-crilog-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, '0.log');
  const w = new CriLogWriter(path);
  w.write('stdout', 'hel');
  w.write('stderr', 'err\n');
  w.write('stdout', 'lo\nwor');
  w.write('stdout', 'x'.repeat(MAX_LINE + 5) + '\n');
  w.write('stderr', 'tail no newline');
  await w.close();
  const raw = (await readFile(path, 'utf8')).trim().split('\n').map((l) => parseCriLine(l)!);
  t.same(raw.map((r) => [r.stream, r.partial]), [['stderr', false], ['stdout', false], ['stdout', true], ['stdout', false], ['stderr', false]]);
  t.ok(raw.every((r, i) => i === 0 || r.timestamp > raw[i - 1]!.timestamp), 'timestamps strictly increase');
  t.equal(await readCriLog(path), `err\nhello\nwor${'x'.repeat(MAX_LINE + 5)}\ntail no newline\n`);
  t.equal(await readCriLog(join(dir, 'missing.log')), '');
});

t.test('follow yields existing then new lines and ends after done', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-crilog-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, '0.log');
  const w = new CriLogWriter(path);
  w.write('stdout', 'one\ntwo\n');
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  await new Promise((r) => setTimeout(r, 50));
  const got: string[] = [];
  const reader = (async () => {
    for await (const l of followCriLog(path, { tailLines: 1 }, done, 20)) got.push(l);
  })();
  await new Promise((r) => setTimeout(r, 100));
  w.write('stdout', 'three\npart');
  await new Promise((r) => setTimeout(r, 100));
  t.same(got, ['two\n', 'three\n'], 'tail applies to what existed; an unterminated write is not shown yet');
  w.write('stdout', 'ial');
  await w.close();
  finish();
  await reader;
  t.same(got, ['two\n', 'three\n', 'partial\n']);
});
