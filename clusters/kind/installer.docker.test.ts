// Needs Docker and the images/ builds (dkc/driver, dkc/tgt): the installer DaemonSet's script run in the real
// dkc/driver image against a plugin dir on this host, then the installed driver called the way the kubelet calls it
// inside a container that has no Node.js (dkc/tgt, Debian 12 without node): the bundle must carry everything.
// kind itself is not used (no registry here for its node image); the kind node's role is played by that container.
// Also: the thin image for a driver file builds offline on dkc/driver, and the backend's network design holds: the
// mock listening on a bridge gateway is reached from a container on that bridge, and a container joined to the tgt
// host's networks reaches both portals.
import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../lib/exec.js';
import { startMockDatera } from './actions/start-backend.js';
import { writeDriverContext } from './images.js';
import { INSTALLER_SCRIPT } from './manifests.js';

const LABEL = ['--label', 'dkc.owner=datera-k8s-conformance', '--label', 'dkc.component=kind-installer-test'];

async function image(name: string): Promise<boolean> {
  return (await run(['docker', 'image', 'inspect', name], { nothrow: true }).catch(() => ({ exitCode: 1 }))).exitCode === 0;
}

const docker = await run(['docker', 'info', '--format', '{{.ServerVersion}}'], { nothrow: true, timeoutMs: 20_000 }).catch(() => ({ exitCode: 1, stdout: '', stderr: 'docker is not installed' }));
const DRIVER = 'dkc/driver:latest';
const NODE = 'dkc/tgt:latest';
if (docker.exitCode !== 0) {
  t.comment(`skipped: Docker is not reachable (${docker.stderr.trim().split('\n').pop()})`);
  t.pass('skipped: no Docker');
} else if (!(await image(DRIVER)) || !(await image(NODE))) {
  t.comment(`skipped: ${DRIVER} or ${NODE} is not built (sudo images/build driver tgt)`);
  t.pass('skipped: images missing');
} else {
  t.test('the installer bundles the reference driver from dkc/driver; it answers init on a node without Node.js', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'dkc-kind-installer-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    for (const d of ['flexmnt', 'etc-datera', 'secret']) await mkdir(join(dir, d));
    await writeFile(join(dir, 'secret/credentials.json'), '{"server":"10.0.0.1:7717","user":"admin","password":"pw"}');
    // One pass: install, then leave (the DaemonSet's loop would keep it in place).
    const script = INSTALLER_SCRIPT.replace(/while true; do[\s\S]*$/, 'echo done\n');
    t.not(script, INSTALLER_SCRIPT);
    const installed = await run(
      ['docker', 'run', '--rm', ...LABEL, '-v', `${dir}/flexmnt:/flexmnt`, '-v', `${dir}/etc-datera:/host/etc/datera`, '-v', `${dir}/secret:/etc/datera-node-credentials:ro`, '--entrypoint', 'sh', DRIVER, '-c', script],
      { timeoutMs: 120_000 },
    );
    t.match(installed.stdout, /installed datera\/iscsi into \/flexmnt\/datera~iscsi\ndone/);
    const plugin = join(dir, 'flexmnt/datera~iscsi');
    t.equal((await stat(join(plugin, 'iscsi'))).mode & 0o111, 0o111, 'the driver is executable');
    t.ok(existsSync(join(plugin, '.dkc/dist/drivers/flexvolume/main.js')), 'dist bundled');
    t.equal((await stat(join(dir, 'etc-datera/credentials.json'))).mode & 0o777, 0o600);
    t.match(await readFile(join(dir, 'etc-datera/credentials.json'), 'utf8'), /"server":"10\.0\.0\.1:7717"/);

    const exec = '/usr/libexec/kubernetes/kubelet-plugins/volume/exec';
    const noNode = await run(['docker', 'run', '--rm', ...LABEL, '--entrypoint', 'sh', NODE, '-c', 'command -v node || echo none'], { timeoutMs: 60_000 });
    t.equal(noNode.stdout.trim(), 'none', `${NODE} has no node: it stands for a kind node`);
    const init = await run(['docker', 'run', '--rm', ...LABEL, '-v', `${dir}/flexmnt:${exec}:ro`, '--entrypoint', `${exec}/datera~iscsi/iscsi`, NODE, 'init'], { timeoutMs: 60_000 });
    const status = JSON.parse(init.stdout) as { status: string; capabilities?: Record<string, boolean> };
    t.equal(status.status, 'Success', 'the bundled driver ran');
    t.equal(status.capabilities?.attach, true, 'and answered as the reference driver does');
  });

  t.test('a driver file: the thin image builds on dkc/driver without a registry and installs in the plugin-dir layout', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'dkc-kind-thin-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const tag = 'dkc/datera-iscsi-installer:dockertest';
    t.teardown(() => run(['docker', 'rmi', '--force', tag], { nothrow: true }));
    const driver = join(dir, 'drv');
    await writeFile(driver, '#!/bin/sh\necho "{\\"status\\":\\"Success\\",\\"creds\\":\\"$DATERA_CREDENTIALS_FILE\\"}"\n', { mode: 0o755 });
    await writeDriverContext(join(dir, 'ctx'), { driver, baseImage: DRIVER });
    await run(['docker', 'build', '--tag', tag, '--label', 'dkc.cluster=dockertest', '--label', 'dkc.owner=datera-k8s-conformance', join(dir, 'ctx')], { timeoutMs: 300_000 });
    await mkdir(join(dir, 'flexmnt'));
    const script = INSTALLER_SCRIPT.replace(/while true; do[\s\S]*$/, 'echo done\n');
    const r = await run(['docker', 'run', '--rm', ...LABEL, '-v', `${dir}/flexmnt:/flexmnt`, '--entrypoint', 'sh', tag, '-c', script], { timeoutMs: 120_000 });
    t.match(r.stdout, /installed datera\/iscsi/);
    t.notOk(existsSync(join(dir, 'flexmnt/datera~iscsi/.dkc/runtime')), 'the plugin-dir layout wins over the dkc/driver one beneath it');
    const exec = '/usr/libexec/kubernetes/kubelet-plugins/volume/exec';
    const init = await run(['docker', 'run', '--rm', ...LABEL, '-v', `${dir}/flexmnt:${exec}:ro`, '--entrypoint', `${exec}/datera~iscsi/iscsi`, NODE, 'init'], { timeoutMs: 60_000 });
    t.same(JSON.parse(init.stdout), { status: 'Success', creds: '/etc/datera/credentials.json' });
  });

  t.test('the mock on a bridge gateway is reached from a container on that bridge; joined containers reach both portals', async (t) => {
    const gateway = (await run(['docker', 'network', 'inspect', 'bridge', '--format', '{{(index .IPAM.Config 0).Gateway}}'])).stdout.trim();
    t.match(gateway, /^\d+\.\d+\.\d+\.\d+$/);
    const dir = await mkdtemp(join(tmpdir(), 'dkc-kind-mock-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const mock = await startMockDatera({ host: gateway, stateDir: join(dir, 'datera') });
    t.teardown(() => mock.stop());
    t.match(mock.url, new RegExp(`^http://${gateway.replaceAll('.', '\\.')}:\\d+$`));
    t.match(mock.tgtInstance, /^[0-9a-f]{8}$/);
    const nets = (await run(['docker', 'network', 'ls', '--filter', `label=dkc.instance=${mock.tgtInstance}`, '--format', '{{.Name}}'])).stdout.trim().split('\n').sort();
    t.equal(nets.length, 2, 'the tgt host has two networks, found by its label as start-backend finds them');
    const name = `dkc-kind-nettest-${mock.tgtInstance}`;
    await run(['docker', 'run', '--detach', '--name', name, ...LABEL, '--entrypoint', 'sleep', DRIVER, '300']);
    t.teardown(async () => {
      for (const n of nets) await run(['docker', 'network', 'disconnect', '--force', n, name], { nothrow: true });
      await run(['docker', 'rm', '--force', name], { nothrow: true });
    });
    for (const n of nets) await run(['docker', 'network', 'connect', n, name]);
    const probe = `
      const net = require('node:net');
      const reach = (host, port) => new Promise((ok) => { const s = net.connect({ host, port, timeout: 5000 }, () => { s.destroy(); ok('open'); }); s.on('error', (e) => ok(e.code)); s.on('timeout', () => { s.destroy(); ok('timeout'); }); });
      (async () => {
        const res = await fetch(process.argv[1] + '/v2/system', { signal: AbortSignal.timeout(5000) }).then((r) => r.status, (e) => String(e));
        const portals = [];
        for (const p of process.argv.slice(2)) portals.push(await reach(p.split(':')[0], 3260));
        console.log(JSON.stringify({ api: res, portals }));
      })();`;
    const r = await run(['docker', 'exec', name, 'node', '-e', probe, mock.url, ...mock.portals], { timeoutMs: 60_000 });
    const seen = JSON.parse(r.stdout) as { api: number | string; portals: string[] };
    t.equal(seen.api, 401, 'the mock API answers (401 without a session) from inside the container');
    t.same(seen.portals, ['open', 'open'], 'both portals accept iSCSI connections');
  });
}
