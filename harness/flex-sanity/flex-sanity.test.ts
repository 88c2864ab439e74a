// flex-sanity's pure half: version profiles (argv shapes and JSON keys), kubelet's output rules, §6 fallbacks, and
// the TAP / JUnit renderings of the results model.
import t from 'tap';
import {
  PROFILES,
  argvFor,
  checkId,
  exitCodeFor,
  fallbackFor,
  jsonArg,
  optionsFor,
  parseOutput,
  percentile,
  renderJUnit,
  renderTap,
  selectProfiles,
  suiteLabel,
  summarize,
  xmlEscape,
  type CheckResult,
  type K8sProfile,
  type VolumeSpec,
} from './flex-sanity.js';

const P = (v: string): K8sProfile => PROFILES.find((p) => p.version === v)!;
const vol: VolumeSpec = { pvName: 'pv-1', fsType: 'ext4', readOnly: false, options: { volumeID: 'vol-1' } };
const pod = { name: 'web-0', namespace: 'ns', uid: 'u-1', serviceAccount: 'sa', fsGroup: 2000 };
const secrets = { username: 'admin', password: 'pw' };

t.test('profiles and selection', async (t) => {
  t.same(PROFILES.map((p) => p.version), ['v1.5', 'v1.6', 'v1.10', 'v1.20', 'v1.27', 'v1.32', 'v1.35']);
  t.equal(selectProfiles(undefined).length, PROFILES.length, 'default: all');
  t.equal(selectProfiles(' ').length, PROFILES.length);
  t.same(selectProfiles('v1.35, 1.5,v1.35').map((p) => p.version), ['v1.35', 'v1.5'], 'v optional, duplicates dropped, order kept');
  t.throws(() => selectProfiles('v1.99'), /unknown Kubernetes version 'v1.99'; known profiles: v1.5, v1.6, v1.10, v1.20, v1.27, v1.32, v1.35/);
  t.throws(() => selectProfiles(','), /no Kubernetes version given/);
  t.equal(suiteLabel(P('v1.32')), 'v1.32 (emulated)');
  t.equal(checkId(P('v1.32'), 'lifecycle/data-survives-reattach'), 'flex-sanity/v1.32/lifecycle/data-survives-reattach');
});

t.test('argv shapes per version (flexvolume.md §4, §7)', async (t) => {
  const j = '{"a":"b"}';
  t.same(argvFor.init(), ['init']);
  t.same(argvFor.attach(P('v1.5'), j, 'n1'), ['attach', j], '1.5: attach <json>, no node');
  t.same(argvFor.attach(P('v1.6'), j, 'n1'), ['attach', j, 'n1']);
  t.same(argvFor.mount(P('v1.5'), '/pod', '/dev/sdb', j), ['mount', '/pod', '/dev/sdb', j], '1.5: mount <dir> <device> <json>');
  t.same(argvFor.mount(P('v1.35'), '/pod', '/dev/sdb', j), ['mount', '/pod', j]);
  t.same(argvFor.detach(P('v1.5'), 'pv-1', 'n1', '/dev/sdb'), ['detach', '/dev/sdb'], '1.5: detach <device>');
  t.same(argvFor.detach(P('v1.6'), 'pv-1', 'n1', '/dev/sdb'), ['detach', 'pv-1', 'n1'], '1.6+: detach <pv> <node>');
  t.same(argvFor.isattached(P('v1.6'), j, 'n1'), ['isattached', 'n1', j], '1.6: node first');
  t.same(argvFor.isattached(P('v1.10'), j, 'n1'), ['isattached', j, 'n1']);
  t.same(argvFor.waitforattach(P('v1.20'), '/dev/sdb', j), ['waitforattach', '/dev/sdb', j]);
  t.same(argvFor.mountdevice(P('v1.27'), '/g', '/dev/sdb', j), ['mountdevice', '/g', '/dev/sdb', j]);
  t.same(argvFor.unmountdevice(P('v1.32'), '/g'), ['unmountdevice', '/g']);
  t.same(argvFor.unmount('/pod'), ['unmount', '/pod']);
  t.same(argvFor.getvolumename(P('v1.6'), j), ['getvolumename', j]);
  for (const f of [argvFor.isattached(P('v1.5'), j, 'n'), argvFor.waitforattach(P('v1.5'), '/d', j), argvFor.mountdevice(P('v1.5'), '/g', '/d', j), argvFor.unmountdevice(P('v1.5'), '/g'), argvFor.getvolumename(P('v1.5'), j)])
    t.equal(f, undefined, '1.5 has no such call-out');
});

t.test('JSON keys per version (flexvolume.md §5)', async (t) => {
  const m15 = optionsFor(P('v1.5'), vol, 'mount', { pod, secrets });
  t.same(m15, { 'kubernetes.io/fsType': 'ext4', 'kubernetes.io/readwrite': 'rw', 'kubernetes.io/secret/username': 'admin', 'kubernetes.io/secret/password': 'pw', 'kubernetes.io/fsGroup': '2000', volumeID: 'vol-1' }, '1.5: raw secrets, no pv name, no pod info');
  const m16 = optionsFor(P('v1.6'), vol, 'mount', { pod, secrets });
  t.equal(m16['kubernetes.io/secret/password'], Buffer.from('pw').toString('base64'), '1.6: base64 secrets');
  t.equal(m16['kubernetes.io/pvOrVolumeName'], undefined, '1.6.0: no pvOrVolumeName yet');
  t.equal(m16['kubernetes.io/pod.name'], undefined, '1.6: no pod info');
  t.equal(m16['kubernetes.io/fsGroup'], '2000');
  const m110 = optionsFor(P('v1.10'), vol, 'mount', { pod, secrets });
  t.match(m110, { 'kubernetes.io/pvOrVolumeName': 'pv-1', 'kubernetes.io/pod.name': 'web-0', 'kubernetes.io/pod.namespace': 'ns', 'kubernetes.io/pod.uid': 'u-1', 'kubernetes.io/serviceAccount.name': 'sa', 'kubernetes.io/fsGroup': '2000' });
  t.notOk('kubernetes.io/pod.UID' in m110, 'lowercase pod.uid, as the code sends it');
  const m120 = optionsFor(P('v1.20'), vol, 'mount', { pod, secrets });
  t.equal(m120['kubernetes.io/mounterArgs.FsGroup'], '2000', '1.15+: mounterArgs.FsGroup');
  t.notOk('kubernetes.io/fsGroup' in m120);
  const noGroup = optionsFor(P('v1.35'), vol, 'mount', { pod: { ...pod, fsGroup: undefined } });
  t.notOk('kubernetes.io/mounterArgs.FsGroup' in noGroup, 'no fsGroup key when the pod has none');
  const att = optionsFor(P('v1.35'), { ...vol, readOnly: true }, 'attach', { pod, secrets });
  t.same(att, { 'kubernetes.io/fsType': 'ext4', 'kubernetes.io/readwrite': 'ro', 'kubernetes.io/pvOrVolumeName': 'pv-1', volumeID: 'vol-1' }, 'attach: no secrets, no pod info');
  t.equal(optionsFor(P('v1.35'), { ...vol, options: { 'kubernetes.io/fsType': 'xfs' } }, 'attach')['kubernetes.io/fsType'], 'xfs', 'user options override kubelet keys');
  t.equal(jsonArg({ a: 'b' }), '{"a":"b"}', 'compact');
});

t.test('output rules (kubelet handleCmdResponse)', async (t) => {
  t.match(parseOutput('init', '{"status":"Success","capabilities":{"attach":false}}\n', '', 0), { kind: 'success', status: { capabilities: { attach: false } }, violations: [] });
  t.match(parseOutput('attach', '{"Status":"Success","Device":"/dev/sdb"}', '', 0), { kind: 'success', status: { status: 'Success', device: '/dev/sdb' } }, 'keys are case-insensitive');
  t.match(parseOutput('isattached', '{"status":"Success","attached":false,"volumeName":"v"}', '', 0), { status: { attached: false, volumeName: 'v' } });
  t.match(parseOutput('attach', '{"status":"Success"}', '', 1), { kind: 'driver-bug', error: /driver bug: attach: exec error \(exit 1\)/ });
  t.match(parseOutput('attach', '{"status":"Success"}', '', null), { kind: 'driver-bug', error: /exit signal/ });
  t.match(parseOutput('getvolumename', '{"status":"Not supported"}', '', 1), { kind: 'not-supported' }, 'Not supported with any exit code');
  t.match(parseOutput('mount', '{"status":"Failure","message":"no creds"}', '', 1), { kind: 'failure', error: 'mount command failed, status: Failure, reason: no creds' });
  t.match(parseOutput('mount', '{"status":"Failed"}', '', 1), { kind: 'failure', error: /status: Failed, reason: $/ });
  const noisy = parseOutput('init', '{"status":"Success"}\n', 'W warning\n', 0);
  t.match(noisy, { kind: 'bad-output', error: /failed to unmarshal output for command: init/ }, 'stderr noise breaks the decode');
  t.match(noisy.violations, [/wrote to stderr/, /not one JSON object/]);
  const onlyStderr = parseOutput('init', '', '{"status":"Success"}', 0);
  t.equal(onlyStderr.kind, 'success', 'kubelet copes when the JSON is on stderr');
  t.match(onlyStderr.violations, [/wrote to stderr/]);
  t.match(parseOutput('init', '{"status":"Success"}{"status":"Success"}', '', 0), { kind: 'bad-output' }, 'two objects');
  t.match(parseOutput('init', '[1]', '', 0), { kind: 'bad-output', violations: [/not an object/] });
  t.match(parseOutput('init', 'null', '', 0), { kind: 'bad-output' });
  t.match(parseOutput('init', '', '', 0), { kind: 'bad-output' }, 'no output at all');
  const pretty = parseOutput('init', '{\n  "status": "Success"\n}\n', '', 0);
  t.equal(pretty.kind, 'success');
  t.match(pretty.violations, [/more than one line/]);
  t.same(parseOutput('x', '{"status":"Success","attached":"yes","capabilities":[1]}', '', 0).status, { status: 'Success' }, 'wrong-typed fields dropped');
});

t.test('fallbacks after Not supported (flexvolume.md §6)', async (t) => {
  const p = P('v1.35');
  t.same(fallbackFor(p, 'attach', {}), { action: 'none', device: '' });
  t.same(fallbackFor(p, 'waitforattach', { device: '/dev/sdb' }), { action: 'none', device: '/dev/sdb' });
  t.same(fallbackFor(p, 'waitforattach', {}), { action: 'none', device: '' });
  t.same(fallbackFor(p, 'mountdevice', { device: '/dev/sdb', dir: '/g' }), { action: 'format-and-mount', device: '/dev/sdb', dir: '/g' });
  t.same(fallbackFor(p, 'mountdevice', { device: '', dir: '/g' }), { action: 'none' });
  t.same(fallbackFor(p, 'mount', { dir: '/pod', globalDir: '/g' }), { action: 'bind-mount', from: '/g', dir: '/pod' });
  t.same(fallbackFor(P('v1.5'), 'mount', { dir: '/pod', device: '/dev/sdb' }), { action: 'mount-device', device: '/dev/sdb', dir: '/pod' });
  t.same(fallbackFor(P('v1.5'), 'mount', { dir: '/pod', device: '' }), { action: 'none' });
  t.same(fallbackFor(p, 'unmount', { dir: '/pod' }), { action: 'unmount', dir: '/pod' });
  t.same(fallbackFor(p, 'unmountdevice', { dir: '/g' }), { action: 'unmount', dir: '/g' });
  t.same(fallbackFor(p, 'isattached', {}), { action: 'none', attached: true });
  t.same(fallbackFor(p, 'detach', {}), { action: 'none' });
});

const results: CheckResult[] = [
  { id: 'flex-sanity/v1.32/lifecycle/set-up', suite: 'v1.32 (emulated)', status: 'passed', durationMs: 1234.4 },
  { id: 'flex-sanity/v1.32/fs/no-reformat', suite: 'v1.32 (emulated)', status: 'failed', durationMs: 10, message: 'uuid <a> & "b" changed #1' },
  { id: 'flex-sanity/v1.35/leaks/after-lifecycle', suite: 'v1.35 (emulated)', status: 'error', durationMs: 5, message: "tgtd crashed: 'x'\u0001" },
  { id: 'flex-sanity/v1.35/not-supported/getvolumename', suite: 'v1.35 (emulated)', status: 'skipped', durationMs: 0, message: 'no such call-out #here' },
  { id: 'flex-sanity/v1.35/init/capabilities', suite: 'v1.35 (emulated)', status: 'passed', durationMs: 3, message: 'capabilities {}' },
];

t.test('TAP 14', async (t) => {
  const tap = renderTap(results);
  const lines = tap.split('\n');
  t.equal(lines[0], 'TAP version 14');
  t.equal(lines[1], '1..5');
  t.ok(lines.includes('ok 1 - flex-sanity/v1.32/lifecycle/set-up # time=1234ms'));
  t.ok(lines.includes('not ok 2 - flex-sanity/v1.32/fs/no-reformat # time=10ms'));
  t.ok(lines.includes('  message: "uuid <a> & \\"b\\" changed #1"'), 'message as a YAML (JSON) string');
  t.ok(lines.includes('  status: error'), 'error kept apart from failed');
  t.ok(lines.includes('ok 4 - flex-sanity/v1.35/not-supported/getvolumename # SKIP no such call-out \\#here'), '# escaped in directives');
  t.ok(lines.includes('  message: "capabilities {}"'), 'a passed check with a note carries it');
  t.match(tap, /# flex-sanity: 2 passed, 1 failed, 1 error, 1 skipped\n$/);
  t.match(renderTap([{ id: 'a#b\nc', suite: 's', status: 'skipped', durationMs: 0 }]), /ok 1 - a\\#b c # SKIP no reason given/);
});

t.test('JUnit XML', async (t) => {
  const x = renderJUnit(results);
  t.match(x, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="flex-sanity" tests="5" failures="1" errors="1" skipped="1" time="1.252">/);
  t.match(x, /<testsuite name="flex-sanity v1.32 \(emulated\)" tests="2" failures="1" errors="0" skipped="0" time="1.244">/, 'one suite per version');
  t.match(x, /<testsuite name="flex-sanity v1.35 \(emulated\)" tests="3" failures="0" errors="1" skipped="1"/);
  t.match(x, /<testcase classname="flex-sanity.v1.32" name="flex-sanity\/v1.32\/lifecycle\/set-up" time="1.234"\/>/);
  t.match(x, /<failure message="uuid &lt;a&gt; &amp; &quot;b&quot; changed #1" type="failed">uuid &lt;a&gt; &amp; &quot;b&quot; changed #1<\/failure>/);
  t.match(x, /<error message="tgtd crashed: &apos;x&apos;\ufffd" type="error">/, 'control characters replaced, quotes escaped');
  t.match(x, /<skipped message="no such call-out #here"\/>/);
  t.equal((x.match(/<testcase /g) ?? []).length, 5);
  t.equal((x.match(/<testsuite /g) ?? []).length, 2);
  t.notMatch(x.replace(/&(amp|lt|gt|quot|apos);/g, ''), /&/, 'no bare ampersand');
  t.equal(xmlEscape('a\ud800b\ud83d\ude00'), 'a\ufffdb\ud83d\ude00', 'lone surrogates replaced, pairs kept');
  t.equal(xmlEscape('\udc00'), '\ufffd');
  t.equal(xmlEscape('tab\tnl\ncr\r'), 'tab\tnl\ncr\r', 'whitespace kept');
  t.match(renderJUnit([], 'x'), /<testsuites name="x" tests="0" failures="0" errors="0" skipped="0" time="0.000">\n<\/testsuites>/);
});

t.test('exit code, summary, percentiles', async (t) => {
  t.equal(exitCodeFor(results), 1);
  t.equal(exitCodeFor(results.filter((r) => r.status !== 'failed')), 1, 'an error alone is non-zero');
  t.equal(exitCodeFor(results.filter((r) => r.status === 'passed' || r.status === 'skipped')), 0, 'skips do not fail the run');
  t.equal(exitCodeFor([]), 0);
  t.same(summarize(results), { passed: 2, failed: 1, error: 1, skipped: 1 });
  t.equal(percentile([5, 1, 3, 2, 4], 50), 3);
  t.equal(percentile([5, 1, 3, 2, 4], 99), 5);
  t.equal(percentile([7], 0), 7);
  t.ok(Number.isNaN(percentile([], 50)));
});
