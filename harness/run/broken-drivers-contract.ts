// Shared body of the broken-driver e2e tests: each deliberately broken variant of the reference driver
// (drivers/flexvolume/broken/) goes through the real run loop on the embedded cluster with the suites that should
// catch it, and the run must fail, naming the scenario and the check that caught it. attach-only is a valid driver
// (mount call-outs "Not supported") and must pass: a check that fails a correct driver is as wrong as one that
// passes a broken one.
import type { Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadRunConfig } from '../plan/config.js';
import { runConformance } from './run.js';
import { createProgress } from './progress.js';

export interface BrokenCase {
  variant: string;
  suites: string[];
  /**
   * Expected: the scenario that fails and the pattern of the check name that catches the variant (several: each
   * must catch it); none = must pass.
   */
  caughtBy?: { scenario: string; check: RegExp | RegExp[] };
}

export const BROKEN_CASES: BrokenCase[] = [
  { variant: 'never-logout', suites: ['delete-cascade'], caughtBy: { scenario: 'delete-cascade', check: /every iSCSI session .*logged out/ } },
  { variant: 'keeps-acl', suites: ['delete-cascade'], caughtBy: { scenario: 'delete-cascade', check: /no node is left in the backend volumes' ACLs/ } },
  // Both the guide's static PV (inline credentials: formatted in mountdevice) and a provisioned one (secretRef:
  // attached and formatted in mount) lose their rows.
  { variant: 'reformat-always', suites: ['statefulset-mysql'], caughtBy: { scenario: 'statefulset-mysql', check: [/rows survive deleting mysql-1/, /rows survive rescheduling mysql-2/] } },
  { variant: 'ignores-fstype', suites: ['bind-dynamic'], caughtBy: { scenario: 'bind-dynamic', check: /fsType/ } },
  { variant: 'mounts-read-only', suites: ['bind-dynamic'], caughtBy: { scenario: 'bind-dynamic', check: /writ/ } },
  { variant: 'noisy', suites: ['bind-dynamic'], caughtBy: { scenario: 'bind-dynamic', check: /a pod mounts the volume/ } },
  // attach-only is valid where attach has the credentials (inline, as the guide's static PV): it must pass there.
  // With a secretRef, attach gets no credentials and the reference driver defers to mount, which attach-only refuses:
  // the volume is never attached and the pod writes to the node's disk. bind-dynamic must catch that.
  { variant: 'attach-only', suites: ['bind-static'] },
  { variant: 'attach-only', suites: ['bind-dynamic'], caughtBy: { scenario: 'bind-dynamic', check: /a pod mounts the volume and writes to it/ } },
];

export async function provesCaught(t: Test, c: BrokenCase, version: string): Promise<void> {
  const reportDir = await mkdtemp(join(tmpdir(), `dkc-broken-${c.variant}-`));
  t.teardown(() => rm(reportDir, { recursive: true, force: true }));
  const sink = { write: () => true };
  const driver = resolve('drivers/flexvolume/broken', c.variant, 'datera~iscsi/iscsi');
  const report = await runConformance(loadRunConfig({ cluster: 'embedded', k8s: version, suite: c.suites.join(','), driver, reportDir }), {
    progress: createProgress({ live: false, stream: sink, out: sink }),
    // A broken driver makes checks wait out their deadlines (a session that never goes, a pod that never mounts):
    // half the usual waits still leave the passing parts (pods and StatefulSets Ready) several times what they
    // need here, and the catching checks fail the same way, sooner. DKC_TIMEOUT_SCALE set by the caller wins.
    env: { ...process.env, DKC_TIMEOUT_SCALE: process.env.DKC_TIMEOUT_SCALE ?? '0.5' },
  });
  const summary = report.results.map((r) => `${r.id}: ${r.status}${r.checks.filter((x) => x.status === 'failed').map((x) => ` [${x.name}]`).join('')}`).join('; ');
  t.comment(`${c.variant}: ${summary}`);
  const teardown = report.results.find((r) => r.id === 'teardown');
  t.notOk(teardown && teardown.status !== 'passed', `${c.variant}: the cluster was removed cleanly${teardown?.message ? ` (${teardown.message})` : ''}`);
  if (!c.caughtBy) {
    for (const r of report.results) t.equal(r.status, 'passed', `${c.variant} is a valid driver: ${r.id} passes (${r.message ?? ''})`);
    return;
  }
  const r = report.results.find((x) => x.id === c.caughtBy!.scenario);
  t.equal(r?.status, 'failed', `${c.variant}: ${c.caughtBy.scenario} fails (not error, not passed)`);
  for (const check of [c.caughtBy.check].flat()) {
    const caught = r?.checks.filter((x) => x.status === 'failed' && check.test(x.name)) ?? [];
    t.ok(caught.length > 0, `${c.variant}: caught by a check matching ${check} (failed: ${r?.checks.filter((x) => x.status === 'failed').map((x) => x.name).join(' | ')})`);
    t.ok(caught.every((x) => x.message && x.message.length > 0), 'each catching check says what broke');
  }
}
