/**
 * Sample run reports for the writers' tests and for looking at the HTML in a browser: the eleven scenarios of
 * the conformance suite on up to six Kubernetes versions, with failures, an infrastructure error, skips, an
 * interrupted version (missing) and evidence that is hostile to every output format.
 */
import { summarize, type ClusterInfo, type RunReport, type ScenarioResult } from './model.js';

export const SAMPLE_SCENARIOS: readonly [string, string][] = [
  ['bind-static', 'Static PV from the Datera guide binds by selector, claimRef and volumeName'],
  ['bind-dynamic', 'StorageClass datera.io/provisioner-datera provisions the requested volume'],
  ['statefulset-mysql', 'MySQL StatefulSet: stable identities, data survives rescheduling'],
  ['scale', 'Scale 3 -> 5 -> 2 -> 5 keeps PVCs and reattaches old data'],
  ['delete-cascade', 'Cascading deletion keeps PVCs, PVs and backend volumes, logs out sessions'],
  ['delete-orphan', 'Orphan deletion leaves pods running; a new StatefulSet adopts them'],
  ['reclaim', 'Retain, Delete and Recycle for manual and dynamic PVs'],
  ['node-preflight', 'Worker preflight: iscsiadm, mkfs, sg3_utils, udev, multipath, MTU, portals'],
  ['network', 'Pod to pod and pod to node without NAT'],
  ['hygiene', 'No leaked sessions, mounts, devices, backend volumes or ACL entries'],
  ['security-lint', 'Credentials belong in a secretRef, not in PV options'],
];

export const SAMPLE_VERSIONS: readonly string[] = ['v1.6.13', 'v1.10.13', 'v1.20.15', 'v1.27.16', 'v1.32.9', 'v1.35.0'];

/** A secret the sample plants everywhere; tests prove no output contains it. */
export const SAMPLE_SECRET = 'Sup3r-S3cret!pw';

const HOSTILE = `<script>alert(1)</script> & "quotes" 'single' ]]> \u001b[31mred\u001b[0m bell\u0007 lone\ud800 \`\`\` fence`;

/** `versions` emulated versions x the eleven scenarios; `failures` plants failures, an error, skips and an interruption. */
export function sampleReport(opts: { versions?: number; failures?: boolean } = {}): RunReport {
  const versions = SAMPLE_VERSIONS.slice(-(opts.versions ?? SAMPLE_VERSIONS.length)).map((v) => `${v} (emulated)`);
  const clusters: ClusterInfo[] = versions.map((k8sVersion) => ({ k8sVersion, emulated: true, nodes: 2 }));
  const results: ScenarioResult[] = [];
  versions.forEach((k8sVersion, vi) => {
    SAMPLE_SCENARIOS.forEach(([id, title], si) => {
      const r: ScenarioResult = {
        id,
        title,
        k8sVersion,
        status: 'passed',
        durationMs: 1500 + ((vi * 7919 + si * 104729) % 23000),
        checks: [
          { name: `${id}: setup`, status: 'passed' },
          { name: `${id}: main assertion`, status: 'passed' },
        ],
        artifacts: [{ name: 'driver.log', path: `artifacts/${k8sVersion.split(' ')[0]}/${id}/driver.log` }],
        required: id !== 'security-lint',
      };
      results.push(r);
      if (!opts.failures) return;
      if (id === 'statefulset-mysql' && vi === 1) {
        r.status = 'failed';
        r.message = 'row checksums differ after mysql-1 was rescheduled to embedded-worker2';
        r.checks[1] = {
          name: 'rows written in mysql-1 survive rescheduling',
          status: 'failed',
          message: 'expected 1000 rows with checksum 0x5f3a, got 998',
          evidence: `--- expected\n+++ actual\n@@ -1,3 +1,3 @@\n-rows=1000 checksum=0x5f3a\n+rows=998 checksum=0x11c0\n\nEvents:\n  Warning  FailedMount  kubelet  MountVolume.SetUp failed: exit status 32 ${HOSTILE}\n{"user":"admin","password":"${SAMPLE_SECRET}","token":"abc123"}`,
        };
      }
      if (id === 'reclaim' && vi === 2) {
        r.status = 'error';
        r.message = `mock Datera API at 127.0.0.1:7717 stopped answering (login as admin/${SAMPLE_SECRET})`;
        r.checks.push({ name: 'backend volume deleted under Delete', status: 'error', message: 'ECONNREFUSED 127.0.0.1:7717', evidence: 'connect ECONNREFUSED 127.0.0.1:7717\n    at TCPConnectWrap.afterConnect' });
      }
      if (id === 'scale' && vi === 0) {
        r.status = 'skipped';
        r.message = 'persistentVolumeClaimRetentionPolicy needs v1.27+';
        r.checks = [{ name: 'retention whenScaled', status: 'skipped', message: r.message }];
      }
      if (id === 'security-lint') {
        r.status = 'failed';
        r.message = 'PV datera-pv-1 carries credentials in flexVolume options';
        r.checks[1] = { name: 'no credentials in PV options', status: 'failed', evidence: `options:\n  username: admin\n  password: ${SAMPLE_SECRET}\n  secret: plain` };
      }
      if (vi === versions.length - 1 && si >= 8) {
        r.status = 'missing';
        r.message = 'the run was interrupted (SIGINT) before this scenario started';
        r.durationMs = 0;
        r.checks = [];
        r.artifacts = [];
      }
    });
  });
  return {
    schemaVersion: 1,
    tool: { name: 'dkc', version: '0.1.0' },
    startedAt: '2025-06-01T10:00:00.000Z',
    durationMs: results.reduce((s, r) => s + r.durationMs, 0) + 45_000,
    summary: summarize(results),
    environment: {
      provider: 'embedded',
      driver: { path: 'drivers/flexvolume/datera~iscsi/iscsi', version: '0.1.0' },
      backend: { kind: 'mock', server: '127.0.0.1:7717' },
      clusters,
      host: { os: 'Linux (Debian 12)', kernel: '6.1.0-37-amd64', node: 'v20.20.2' },
    },
    results,
  };
}
