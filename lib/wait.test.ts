import t from 'tap';
import { atMost, sleep, waitFor } from './wait.js';

t.test('waitFor returns the first defined value', async (t) => {
  let n = 0;
  t.equal(await waitFor('n to reach 3', async () => (++n >= 3 ? n : undefined), { intervalMs: 5 }), 3);
});

t.test('on timeout it names the wait and the last thing seen', async (t) => {
  await t.rejects(
    waitFor('the pod to be Ready', async (seen) => {
      seen('phase Pending');
      await sleep(1);
      return undefined;
    }, { timeoutMs: 60, intervalMs: 10 }),
    { code: 'TIMEOUT', message: /waiting for the pod to be Ready; last seen: phase Pending/ },
  );
});

t.test('atMost answers the value, or undefined after the limit', async (t) => {
  t.equal(await atMost(Promise.resolve(7), 1000), 7);
  t.equal(await atMost(new Promise(() => undefined), 20), undefined);
});
