import t from 'tap';
import { intToIp, ipToInt, Ipv4Pool, parseCidr } from './ip-pool.js';

t.test('address conversions', async (t) => {
  t.equal(ipToInt('10.244.1.2'), (10 << 24) + (244 << 16) + (1 << 8) + 2);
  t.equal(intToIp(ipToInt('255.255.255.255')), '255.255.255.255');
  t.throws(() => ipToInt('10.1.1'), /not an IPv4/);
  t.throws(() => ipToInt('10.1.1.256'), /not an IPv4/);
  t.same(parseCidr('10.244.1.77/24'), { base: ipToInt('10.244.1.0'), prefix: 24 });
  t.same(parseCidr('0.0.0.0/0'), { base: 0, prefix: 0 });
  t.throws(() => parseCidr('10.0.0.0/33'), /CIDR/);
  t.throws(() => parseCidr('10.0.0.0'), /CIDR/);
});

t.test('allocates lowest free, skips reserved, is idempotent, releases', async (t) => {
  const pool = new Ipv4Pool('10.244.1.0/24', ['10.244.1.1']);
  t.equal(pool.allocate('a'), '10.244.1.2');
  t.equal(pool.allocate('b'), '10.244.1.3');
  t.equal(pool.allocate('a'), '10.244.1.2', 'same key, same address');
  t.equal(pool.allocated, 2);
  t.ok(pool.release('a'));
  t.notOk(pool.release('a'), 'second release is a no-op');
  t.equal(pool.allocate('c'), '10.244.1.2', 'released address is reused');
});

t.test('exhaustion and tiny ranges', async (t) => {
  const pool = new Ipv4Pool('10.0.0.0/30');
  t.equal(pool.allocate('a'), '10.0.0.1');
  t.equal(pool.allocate('b'), '10.0.0.2');
  t.throws(() => pool.allocate('c'), /no free address/);
  t.throws(() => new Ipv4Pool('10.0.0.0/31'), /too small/);
});
