/**
 * The mock end to end through real iSCSI, as one tap body run per target implementation
 * (mock-datera-iscsi.root.test.ts: host tgtd; mock-datera-iscsi.docker.test.ts: tgt container). Clients drive it the
 * way the SDKs do; the LUN is reached with a real userspace initiator (libiscsi: qemu-io, iscsi-inq, iscsi-ls).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { DateraClient } from '../../drivers/datera/client.js';
import { discover, inquiry, verifyPattern, writePattern, type LunAddress } from '../../lib/iscsi-probe.js';
import { MockDatera, type StartedMockDatera, type TargetsMode } from './mock-datera.js';

const PASSWORD = 'iscsi-test-password';
const A = 'iqn.1993-08.org.debian:01:dkc-mock-a';
const B = 'iqn.1993-08.org.debian:01:dkc-mock-b';
const KiB64 = 1 << 16;

interface AiView {
  storage_instances: { path: string; access: { iqn: string; ips: string[] }; acl_policy: { path: string }; volumes: { uuid: string; path: string }[] }[];
}

export function mockIscsiContract(t: Test, targets: TargetsMode, skip: string | undefined, leftovers: (m: StartedMockDatera) => Promise<string[]>) {
  t.test(`mock Datera with ${targets} targets, end to end over iSCSI`, { skip: skip ?? false }, async (t) => {
    const stateDir = await mkdtemp(join(tmpdir(), 'dkc-mock-iscsi-'));
    let mock: StartedMockDatera | undefined;
    t.teardown(async () => {
      await mock?.stop();
      await rm(stateDir, { recursive: true, force: true });
    });
    const start = async () => {
      mock = await new MockDatera({ httpPort: 0, httpsPort: 0, stateDir, targets, users: { admin: PASSWORD } }).start();
      return new DateraClient({ server: mock.server, user: 'admin', password: PASSWORD });
    };
    let c = await start();

    // CSI's NodeStage order: initiator lookup (404) -> create -> ACL -> online.
    await t.rejects(c.get(`/initiators/${A}`), { name: 'DateraApiError', status: 404 });
    await c.post('/initiators', { id: A, name: 'node-a', force: true });
    await c.post('/initiators', { id: B, name: 'node-b', force: true });
    await c.post('/app_instances', {
      name: 'CSI-pvc-iscsi',
      create_mode: 'kubernetes',
      storage_instances: [{ name: 'storage-1', ip_pool: { path: '/access_network_ip_pools/default' }, volumes: [{ name: 'volume-1', size: 1, replica_count: 3 }] }],
    });
    let ai = (await c.get<AiView>('/app_instances/CSI-pvc-iscsi')).data;
    const si = ai.storage_instances[0]!;
    await c.put(si.acl_policy.path, { initiators: [{ path: `/initiators/${A}` }] });
    await c.put('/app_instances/CSI-pvc-iscsi', { admin_state: 'online' });
    t.equal(si.access.ips.length, 2, 'two portal IPs (VIP 1 and 2)');
    const [p1, p2] = si.access.ips.map((ip) => `${ip}:3260`) as [string, string];
    const lunA: LunAddress = { portal: p1, iqn: si.access.iqn, lun: 1, initiator: A };

    t.same(await inquiry(lunA), { vendor: 'DATERA', product: 'IBLOCK', serial: si.volumes[0]!.uuid }, 'vendor, product, unit serial = volume uuid');
    t.equal(await writePattern(lunA, 0x3c, 4 << 20, KiB64), 'ok', 'write on VIP 1');
    t.equal(await verifyPattern({ ...lunA, portal: p2 }, 0x3c, 4 << 20, KiB64), 'ok', 'read back on VIP 2');
    t.equal(await verifyPattern(lunA, 0x3d, 4 << 20, KiB64), 'mismatch', 'a different pattern does not verify (the probe can fail)');
    t.equal(await verifyPattern({ ...lunA, initiator: B }, 0x3c, 4 << 20, 4096), 'refused', 'an initiator outside the ACL is refused');
    // Real Datera answers SendTargets on either VIP with both portals; tgt names only the portal asked (a documented
    // deviation), so multipath clients discover on each VIP, as CSI's csi-lib-iscsi does anyway.
    for (const p of [p1, p2])
      t.same(
        (await discover(p, A)).filter((x) => x.iqn === si.access.iqn).map((x) => x.portal),
        [p],
        `SendTargets on ${p} returns the target`,
      );
    t.same(await discover(p1, B), [], 'B discovers nothing');

    ai = (await c.get<AiView>('/app_instances/CSI-pvc-iscsi')).data;
    const snap = await mock!.snapshot();
    t.same(snap.targets.find((x) => x.iqn === si.access.iqn)?.acl, [A], 'tgt enforces the acl_policy');

    await t.test('ACL changes reach tgt', async (t) => {
      await c.put(si.acl_policy.path, { initiators: [{ path: `/initiators/${B}` }] });
      t.equal(await verifyPattern({ ...lunA, initiator: B }, 0x3c, 4 << 20, 4096), 'ok', 'B now gets in');
      t.equal(await verifyPattern(lunA, 0x3c, 4 << 20, 4096), 'refused', 'A is refused');
      await c.put(`${si.acl_policy.path}/initiators`, { op: 'add', path: `/initiators/${A}` });
      t.equal(await verifyPattern(lunA, 0x3c, 4 << 20, 4096), 'ok', 'A is back through op add');
      await c.post('/initiator_groups', { name: 'group-b', members: [{ path: `/initiators/${B}` }] });
      await c.put(si.acl_policy.path, { initiators: [{ path: `/initiators/${A}` }], initiator_groups: [{ path: '/initiator_groups/group-b' }] });
      t.equal(await verifyPattern({ ...lunA, initiator: B }, 0x3c, 4 << 20, 4096), 'ok', 'B gets in through a group');
      await c.put('/initiator_groups/group-b', { members: [] });
      t.equal(await verifyPattern({ ...lunA, initiator: B }, 0x3c, 4 << 20, 4096), 'refused', 'emptying the group shuts B out');
    });

    await t.test('offline removes the target; online restores it with the data', async (t) => {
      await t.rejects(c.put('/app_instances/CSI-pvc-iscsi', { admin_state: 'bogus' }), { name: 'DateraApiError', status: 422 });
      const off = await c.put<{ storage_instances: { op_state: string }[] }>('/app_instances/CSI-pvc-iscsi', { admin_state: 'offline', force: true });
      t.equal(off.data.storage_instances[0]!.op_state, 'unavailable');
      t.equal(await verifyPattern(lunA, 0x3c, 4 << 20, 4096), 'refused', 'not reachable while offline');
      t.notOk((await mock!.snapshot()).targets.some((x) => x.iqn === si.access.iqn), 'no tgt target while offline');
      await c.put('/app_instances/CSI-pvc-iscsi', { admin_state: 'online' });
      t.equal(await verifyPattern(lunA, 0x3c, 4 << 20, KiB64), 'ok', 'same data after online');
    });

    await t.test('portal and host faults from the control API', async (t) => {
      await mock!.portalDown(p1);
      t.equal(await verifyPattern(lunA, 0x3c, 4 << 20, 4096), 'refused', 'VIP 1 down');
      t.equal(await verifyPattern({ ...lunA, portal: p2 }, 0x3c, 4 << 20, 4096), 'ok', 'VIP 2 still serves');
      await mock!.portalUp(p1);
      t.equal(await verifyPattern(lunA, 0x3c, 4 << 20, 4096), 'ok', 'VIP 1 back');
      await mock!.hostDown();
      t.equal(await verifyPattern({ ...lunA, portal: p2 }, 0x3c, 4 << 20, 4096), 'refused', 'whole host down');
      await mock!.hostUp();
      t.equal(await verifyPattern(lunA, 0x3c, 4 << 20, KiB64), 'ok', 'host back with the data');
    });

    await t.test('restart of the mock: state and data persist', async (t) => {
      await mock!.stop();
      c = await start();
      const again = (await c.get<AiView>('/app_instances/CSI-pvc-iscsi')).data.storage_instances[0]!;
      t.equal(again.access.iqn, si.access.iqn, 'same target IQN');
      const portal = `${again.access.ips[0]}:3260`;
      t.equal(await verifyPattern({ ...lunA, portal }, 0x3c, 4 << 20, KiB64), 'ok', 'same pattern read back after restart');
    });

    await t.test('delete removes the target and the backing file', async (t) => {
      await t.rejects(c.delete('/app_instances/CSI-pvc-iscsi'), { name: 'DateraApiError', status: 400 }, 'online: refused without offline');
      await c.put('/app_instances/CSI-pvc-iscsi', { admin_state: 'offline', force: true });
      await c.delete('/app_instances/CSI-pvc-iscsi');
      t.same((await mock!.snapshot()).targets, [], 'no targets');
      t.same(await readdir(join(stateDir, 'volumes')), [], 'no backing files');
    });

    const m = mock!;
    await m.stop();
    mock = undefined;
    t.same(await leftovers(m), [], 'nothing left after stop');
  });
}
