// The union of work intervals behind the overhead figure, and the formatting of the figures.
import t from 'tap';
import { formatConformanceBench, unionMs } from './bench-figures.js';

t.test('unionMs counts overlapping intervals once', async (t) => {
  t.equal(unionMs([]), 0);
  t.equal(unionMs([[0, 10]]), 10);
  t.equal(unionMs([[0, 10], [5, 15]]), 15, 'overlap');
  t.equal(unionMs([[20, 30], [0, 10]]), 20, 'disjoint, unsorted');
  t.equal(unionMs([[0, 10], [2, 3], [10, 12]]), 12, 'contained and touching');
  t.equal(unionMs([[5, 5], [7, 6]]), 0, 'empty and inverted intervals count nothing');
});

t.test('formatConformanceBench', async (t) => {
  const text = formatConformanceBench({ version: 'v1.32.9 (emulated)', wallMs: 60_000, scenarios: [{ id: 'bind-static', status: 'passed', ms: 5_000 }], workMs: 54_000, calloutMs: 30_000, mysqldStartMs: 30_000, callouts: 40, overheadPct: 10, passed: true });
  t.match(text, /60\.0 s wall \(every required scenario passed\)/);
  t.match(text, /bind-static\s+passed\s+5\.0 s/);
  t.match(text, /6\.0 s = 10% of the wall time/);
  t.match(formatConformanceBench({ version: 'v', wallMs: 1, scenarios: [], workMs: 0, calloutMs: 0, mysqldStartMs: 0, callouts: 0, overheadPct: 100, passed: false }), /NOT all required/);
});
