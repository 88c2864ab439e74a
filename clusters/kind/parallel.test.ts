import t from 'tap';
import { defaultMemoryBudgetMiB, kindParallelism, NODE_MIB, NODES_PER_CLUSTER } from './parallel.js';

const five = ['1.19', '1.25', '1.30', '1.33', '1.37'];

t.test('clusters at once: the budget over ~1.5 GiB x 3 nodes, at least one, at most one per version', async (t) => {
  t.equal(NODE_MIB * NODES_PER_CLUSTER, 4608);
  t.same(kindParallelism(five, 16_384), { atOnce: 3, perClusterMiB: 4608 }, '16 GiB: three 4.5 GiB clusters');
  t.equal(kindParallelism(five, 9216).atOnce, 2, 'exactly two');
  t.equal(kindParallelism(five, 9215).atOnce, 1, 'just under two');
  t.equal(kindParallelism(five, 1_000_000).atOnce, 5, 'never more than the versions');
  t.equal(kindParallelism(['1.30'], 64_000).atOnce, 1);
  const tight = kindParallelism(five, 2048);
  t.equal(tight.atOnce, 1, 'below one cluster: still one at a time');
  t.match(tight.warning, /needs about 4608 MiB \(3 nodes x 1536 MiB\) but the budget is 2048 MiB/);
  t.notOk(kindParallelism([], 100).warning, 'nothing to run, nothing to warn about');
  t.equal(kindParallelism(five, 8192, { nodeMiB: 1024, nodes: 2 }).atOnce, 4, 'per-node size and node count are options');
});

t.test('the default budget is three quarters of this machine', async (t) => {
  const b = defaultMemoryBudgetMiB();
  t.ok(b > 0 && Number.isInteger(b));
});
