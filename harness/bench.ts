/**
 * `dkc bench`: speed figures for the mock on loopback. GET throughput with p50/p99, and create -> online ->
 * visible over iSCSI (SendTargets from a real initiator) latency. Figures only: nothing here passes or fails.
 */
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { DateraClient } from '../drivers/datera/client.js';
import { discover } from '../lib/iscsi-probe.js';
import { MockDatera } from '../mocks/datera/mock-datera.js';
import { percentile, selectProfiles } from './flex-sanity/flex-sanity.js';

export interface BenchFigures {
  get: { requests: number; seconds: number; perSecond: number; p50Ms: number; p99Ms: number; errors: number };
  createToVisible: { samples: number; p50Ms: number; p99Ms: number; maxMs: number };
  attachToMounted?: { samples: number; p50Ms: number; p99Ms: number; profiles: string[] };
}

export async function runBench(o: { seconds: number; iterations: number; json?: boolean; driver?: boolean }): Promise<BenchFigures> {
  const figures = await mockBench(o);
  if (o.driver !== false) {
    // The reference driver through flex-sanity's kubelet emulation: attach start to pod mount done, every profile.
    const { checkoutRoot, runFlexSanity } = await import('./flex-sanity/runner.js');
    const profiles = selectProfiles(undefined);
    const rep = await runFlexSanity({ driver: join(checkoutRoot(), 'drivers/flexvolume/datera~iscsi/iscsi'), profiles, extended: 'none' });
    const failed = rep.results.filter((r) => r.status === 'failed' || r.status === 'error');
    if (failed.length) console.error(`bench: flex-sanity reported ${failed.length} failing check(s); the latency below is still measured`);
    const ms = rep.attachToMountedMs;
    figures.attachToMounted = { samples: ms.length, p50Ms: percentile(ms, 50), p99Ms: percentile(ms, 99), profiles: profiles.map((p) => p.version) };
  }
  if (o.json) console.log(JSON.stringify(figures, null, 2));
  else {
    const f = (n: number) => n.toFixed(1);
    const g = figures.get;
    const c = figures.createToVisible;
    console.log(`mock GET throughput: ${Math.round(g.perSecond)} req/s over ${f(g.seconds)} s (16 in flight), p50 ${f(g.p50Ms)} ms, p99 ${f(g.p99Ms)} ms, errors ${g.errors}`);
    console.log(`create -> online -> iSCSI-visible: p50 ${f(c.p50Ms)} ms, p99 ${f(c.p99Ms)} ms, max ${f(c.maxMs)} ms (${c.samples} samples)`);
    const a = figures.attachToMounted;
    if (a) console.log(`driver attach -> pod mounted (reference driver, userspace iSCSI, mkfs on first use): p50 ${Math.round(a.p50Ms)} ms, p99 ${Math.round(a.p99Ms)} ms (${a.samples} set-ups, ${a.profiles.join(' ')} emulated)`);
  }
  return figures;
}

async function mockBench(o: { seconds: number; iterations: number }): Promise<BenchFigures> {
  const password = 'bench-password';
  const mock = await new MockDatera({ httpPort: 0, httpsPort: null, targets: 'process', users: { admin: password } }).start();
  try {
    const client = new DateraClient({ server: mock.server, user: 'admin', password });
    const key = await client.login();
    for (let i = 0; i < 20; i++)
      await client.post('/app_instances', { name: `bench-${i}`, storage_instances: [{ name: 'storage-1', volumes: [{ name: 'volume-1', size: 1 }] }] });

    // GET throughput: 16 requests in flight on keep-alive connections.
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const lat: number[] = [];
    let errors = 0;
    const deadline = performance.now() + o.seconds * 1000;
    const paths = ['/v2.2/app_instances/bench-3', '/v2.2/system', '/v2.2/app_instances?limit=10'];
    const worker = async (w: number) => {
      for (let i = w; performance.now() < deadline; i++) {
        const t0 = performance.now();
        const status = await get(agent, mock.url + paths[i % paths.length], key);
        if (status !== 200) errors++;
        lat.push(performance.now() - t0);
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)));
    const elapsed = (performance.now() - started) / 1000;
    agent.destroy();

    // create -> online -> visible: POST an online instance whose ACL lists our initiator, then SendTargets until it shows.
    const initiator = 'iqn.2026-11.io.dkc:bench';
    await client.post('/initiators', { id: initiator, name: 'bench', force: true });
    const vis: number[] = [];
    for (let i = 0; i < o.iterations; i++) {
      const t0 = performance.now();
      const ai = await client.post<{ storage_instances: { access: { iqn: string } }[] }>('/app_instances', {
        name: `visible-${i}`,
        storage_instances: [{ name: 'storage-1', acl_policy: { initiators: [{ path: `/initiators/${initiator}` }] }, volumes: [{ name: 'volume-1', size: 1 }] }],
      });
      const iqn = ai.data.storage_instances[0]!.access.iqn;
      while (!(await discover(mock.portals[0]!, initiator)).some((x) => x.iqn === iqn)) {
        if (performance.now() - t0 > 10_000) throw new Error(`target ${iqn} not visible after 10 s`);
      }
      vis.push(performance.now() - t0);
      await client.put(`/app_instances/visible-${i}`, { admin_state: 'offline', force: true });
      await client.delete(`/app_instances/visible-${i}`);
    }
    return {
      get: { requests: lat.length, seconds: elapsed, perSecond: lat.length / elapsed, p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99), errors },
      createToVisible: { samples: vis.length, p50Ms: percentile(vis, 50), p99Ms: percentile(vis, 99), maxMs: Math.max(...vis) },
    };
  } finally {
    await mock.stop();
  }
}

function get(agent: Agent, url: string, key: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = request(url, { agent, headers: { 'Auth-Token': key, tenant: '/root' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    r.on('error', reject);
    r.end();
  });
}
