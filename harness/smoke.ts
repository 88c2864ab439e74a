/**
 * The backend stage of a run: the mock Datera API with real tgt targets, checked end to end through a real
 * userspace iSCSI initiator. It is what `dkc run` executes until the conformance suites land; it prints each step
 * and removes everything it made.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateraClient } from '../drivers/datera/client.js';
import { errorMessage } from '../lib/errors.js';
import { verifyPattern, writePattern, type LunAddress } from '../lib/iscsi-probe.js';
import { MockDatera, type StartedMockDatera } from '../mocks/datera/mock-datera.js';

const INITIATOR = 'iqn.2026-11.io.dkc:smoke-node';

export async function runSmoke(log: (line: string) => void = (l) => console.error(l)): Promise<boolean> {
  const stateDir = await mkdtemp(join(tmpdir(), 'dkc-smoke-'));
  let mock: StartedMockDatera | undefined;
  const steps: [string, boolean, string][] = [];
  const step = async (name: string, fn: () => Promise<string | void>) => {
    const t0 = performance.now();
    try {
      const note = (await fn()) ?? '';
      steps.push([name, true, note]);
      log(`  ok    ${name} (${Math.round(performance.now() - t0)} ms)${note ? ` ${note}` : ''}`);
      return true;
    } catch (err) {
      steps.push([name, false, errorMessage(err)]);
      log(`  FAIL  ${name}: ${errorMessage(err)}`);
      return false;
    }
  };
  const startMock = async () => {
    mock = await new MockDatera({ httpPort: 0, httpsPort: 0, stateDir, targets: 'process', users: { admin: 'smoke-password' } }).start();
    return new DateraClient({ server: mock.server, user: 'admin', password: 'smoke-password' });
  };
  log('backend stage: mock Datera API + tgt targets + userspace iSCSI');
  try {
    let client = await startMock();
    let lun: LunAddress | undefined;
    const ok =
      (await step('create volume with ACL (online)', async () => {
        await client.post('/initiators', { id: INITIATOR, name: 'smoke-node', force: true });
        const ai = await client.post<{ storage_instances: { access: { iqn: string; ips: string[] } }[] }>('/app_instances', {
          name: 'smoke-1',
          storage_instances: [
            { name: 'storage-1', acl_policy: { initiators: [{ path: `/initiators/${INITIATOR}` }] }, volumes: [{ name: 'volume-1', size: 1, replica_count: 3 }] },
          ],
        });
        const access = ai.data.storage_instances[0]!.access;
        lun = { portal: `${access.ips[0]}:3260`, iqn: access.iqn, lun: 1, initiator: INITIATOR };
        return access.iqn;
      })) &&
      (await step('write a pattern over iSCSI on VIP 1', async () => expectOutcome(await writePattern(lun!, 0xd7, 1 << 20, 1 << 16), 'ok'))) &&
      (await step('read it back on VIP 2', async () => {
        const vip2 = mock!.portals[1] ?? lun!.portal;
        expectOutcome(await verifyPattern({ ...lun!, portal: vip2 }, 0xd7, 1 << 20, 1 << 16), 'ok');
      })) &&
      (await step('an initiator outside the ACL is refused', async () =>
        expectOutcome(await verifyPattern({ ...lun!, initiator: 'iqn.2026-11.io.dkc:intruder' }, 0xd7, 1 << 20, 4096), 'refused'))) &&
      (await step('offline removes the target', async () => {
        await client.put('/app_instances/smoke-1', { admin_state: 'offline', force: true });
        expectOutcome(await verifyPattern(lun!, 0xd7, 1 << 20, 4096), 'refused');
      })) &&
      (await step('online restores it with the data', async () => {
        await client.put('/app_instances/smoke-1', { admin_state: 'online' });
        expectOutcome(await verifyPattern(lun!, 0xd7, 1 << 20, 1 << 16), 'ok');
      })) &&
      (await step('restart the mock: state and data persist', async () => {
        await mock!.stop();
        client = await startMock();
        expectOutcome(await verifyPattern({ ...lun!, portal: mock!.portals[0]! }, 0xd7, 1 << 20, 1 << 16), 'ok');
      })) &&
      (await step('delete the volume', async () => {
        await client.put('/app_instances/smoke-1', { admin_state: 'offline', force: true });
        await client.delete('/app_instances/smoke-1');
        const snap = await mock!.snapshot();
        if (snap.targets.length) throw new Error(`targets left: ${snap.targets.map((t) => t.iqn).join(', ')}`);
      }));
    log(ok ? 'backend stage: passed' : 'backend stage: FAILED');
    log('conformance scenarios: not implemented yet (embedded cluster and suites are open issues); nothing else was run');
    return ok;
  } catch (err) {
    log(`backend stage: ERROR ${errorMessage(err)}`);
    return false;
  } finally {
    await mock?.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}

function expectOutcome(got: string, want: string) {
  if (got !== want) throw new Error(`expected ${want}, got ${got}`);
}
