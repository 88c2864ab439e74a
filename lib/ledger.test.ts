import t from 'tap';
import { UndoLedger } from './ledger.js';

t.test('unwinds newest first, past failures, naming each; a second unwind has nothing left', async (t) => {
  const l = new UndoLedger();
  const done: string[] = [];
  l.push('work dir', async () => void done.push('work dir'));
  l.push('api server', async () => {
    throw new Error('port still bound\nstack');
  });
  l.push('node', async () => void done.push('node'));
  t.equal(l.size, 3);
  t.same(await l.unwind(), ['api server: port still bound'], 'the failure, first line only');
  t.same(done, ['node', 'work dir'], 'newest first, and the step after the failure still ran');
  t.equal(l.size, 0);
  t.same(await l.unwind(), []);
});

t.test('an undo pushed while unwinding is undone too', async (t) => {
  const l = new UndoLedger();
  const done: string[] = [];
  l.push('outer', async () => {
    l.push('late', async () => void done.push('late'));
    done.push('outer');
  });
  t.same(await l.unwind(), []);
  t.same(done, ['outer', 'late']);
});
