// What the kind provider applies for Datera: the credentials, the guide's installer DaemonSet (and its script, run
// here for real with sh against temp dirs), and the provisioner Deployment with this run's image.
import t from 'tap';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { run } from '../../lib/exec.js';
import { PLUGIN_DIR } from './cluster-config.js';
import {
  DATERA_NAMESPACE,
  INSTALLER_SCRIPT,
  NODE_CREDENTIALS_FILE,
  credentialsManifest,
  driverInstallerManifest,
  driverWrapper,
  provisionerManifest,
  repoRoot,
} from './manifests.js';

const docs = (text: string) => (parseAllDocuments(text) as any[]).map((d) => {
  t.same(d.errors, [], 'valid YAML');
  return d.toJS();
});
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

t.test('credentials: namespace datera, the guide\'s Secret of type datera/iscsi, the node credentials file', async (t) => {
  const [ns, secret, node] = docs(credentialsManifest({ server: '172.18.0.1:7717', user: 'admin', password: 'pa"ss\'w0rd' }));
  t.same(ns, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'datera', labels: { 'app.kubernetes.io/part-of': 'datera-k8s-conformance' } } });
  t.match(secret, { kind: 'Secret', type: 'datera/iscsi', metadata: { name: 'datera-secret', namespace: 'datera' } });
  t.same(Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, unb64(v as string)])), { username: 'admin', password: 'pa"ss\'w0rd', server: '172.18.0.1:7717' });
  t.match(node, { kind: 'Secret', type: 'Opaque', metadata: { name: 'datera-node-credentials', namespace: 'datera' } });
  t.same(JSON.parse(unb64(node.data['credentials.json'])), { server: '172.18.0.1:7717', user: 'admin', password: 'pa"ss\'w0rd' }, 'JSON survives quotes in the password');
  t.notMatch(credentialsManifest({ server: 's', user: 'u', password: 'CLEARTEXT' }), /CLEARTEXT/, 'no clear text in the stream');
});

t.test('installer DaemonSet: the guide\'s shape, the image, the plugin dir from the host, namespace datera', async (t) => {
  const [ds] = docs(driverInstallerManifest({ image: 'registry.example/datera/installer:1.2' }));
  t.match(ds, { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'datera-installer-agent', namespace: DATERA_NAMESPACE } });
  const pod = ds.spec.template.spec;
  t.same([pod.hostPID, pod.hostIPC, pod.hostNetwork], [true, true, true]);
  t.same(pod.tolerations, [{ operator: 'Exists' }], 'on every node, the control plane too');
  t.equal(ds.spec.selector.matchLabels.app, ds.spec.template.metadata.labels.app);
  const [c] = pod.containers;
  t.equal(c.image, 'registry.example/datera/installer:1.2');
  t.equal(c.imagePullPolicy, 'IfNotPresent', 'a loaded image is used, never re-pulled');
  t.same(c.securityContext, { privileged: true });
  t.same(c.command, ['sh', '-c', INSTALLER_SCRIPT]);
  t.same(c.readinessProbe.exec.command, ['test', '-x', '/flexmnt/datera~iscsi/iscsi']);
  const mount = (name: string) => c.volumeMounts.find((m: any) => m.name === name);
  const vol = (name: string) => pod.volumes.find((v: any) => v.name === name);
  t.equal(mount('flexvolume-dir').mountPath, '/flexmnt');
  t.same(vol('flexvolume-dir').hostPath, { path: PLUGIN_DIR, type: 'DirectoryOrCreate' }, 'the kubelet plugin dir of the node');
  t.equal(PLUGIN_DIR, '/usr/libexec/kubernetes/kubelet-plugins/volume/exec');
  t.same(vol('node-credentials').secret, { secretName: 'datera-node-credentials', defaultMode: 0o400 });
  for (const [name, path] of [
    ['udev-rules', '/etc/udev/rules.d'],
    ['sbin', '/sbin'],
    ['var-log', '/var/log'],
    ['etc-datera', '/etc/datera'],
  ]) t.equal(vol(name!).hostPath.path, path, `hostPath ${path} (guide)`);
  const [other] = docs(driverInstallerManifest({ image: 'x:1', pluginDir: '/var/lib/kubelet/volumeplugins' }));
  t.equal(other.spec.template.spec.volumes[0].hostPath.path, '/var/lib/kubelet/volumeplugins');
});

/** The installer script with its paths moved under `dir`, and its keep-it-there loop run once (after `tamper`). */
function localScript(dir: string, tamper = ''): string {
  const vars: Record<string, string> = {
    src: join(dir, 'image/opt/datera/datera~iscsi'),
    dkc: join(dir, 'image/opt/dkc'),
    node_bin: join(dir, 'image/usr/local/bin/node'),
    bundle: join(dir, 'image/tmp/dkc-bundle/datera~iscsi'),
    dst: join(dir, 'flexmnt/datera~iscsi'),
    creds: join(dir, 'secret/credentials.json'),
    host_etc: join(dir, 'host-etc-datera'),
  };
  let s = INSTALLER_SCRIPT;
  for (const [k, v] of Object.entries(vars)) {
    const re = new RegExp(`^${k}=.*$`, 'm');
    t.match(s, re, `the script sets ${k}`);
    s = s.replace(re, `${k}='${v}'`);
  }
  return s.replace('while true; do\n  sleep 30\n', `for _ in once; do\n${tamper}`);
}

t.test('the installer script, run with sh: the plugin-dir layout, the executable last, credentials 0600, kept in place', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-installer-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const src = join(dir, 'image/opt/datera/datera~iscsi');
  await mkdir(join(src, '.dkc/bin'), { recursive: true });
  await writeFile(join(src, 'iscsi'), '#!/bin/sh\necho v1\n', { mode: 0o755 });
  await writeFile(join(src, '.dkc/bin/helper'), 'helper\n');
  await writeFile(join(src, 'README'), 'readme\n');
  await mkdir(join(dir, 'secret'), { recursive: true });
  await writeFile(join(dir, 'secret/credentials.json'), '{"server":"s"}');
  const script = localScript(dir);
  t.notMatch(script, /sleep 30/, 'the loop was replaced');
  const first = await run(['sh', '-c', script]);
  t.equal(first.stdout.match(/installed datera\/iscsi into .*flexmnt\/datera~iscsi/g)?.length, 1, 'installed once; an intact copy is left alone by the loop');
  const dst = join(dir, 'flexmnt/datera~iscsi');
  t.equal((await stat(join(dst, 'iscsi'))).mode & 0o777, 0o755, 'the driver is executable');
  t.equal(await readFile(join(dst, '.dkc/bin/helper'), 'utf8'), 'helper\n', 'hidden dirs beside it come along');
  t.equal(await readFile(join(dst, 'README'), 'utf8'), 'readme\n');
  t.notOk(existsSync(join(dst, '.iscsi.new')) || existsSync(join(dst, '.README.new')), 'no temporary files left');
  t.notOk(existsSync(join(dir, 'image/tmp')), 'the plugin-dir layout is copied as it is, not bundled');
  const host = join(dir, 'host-etc-datera');
  t.equal((await stat(join(host, 'credentials.json'))).mode & 0o777, 0o600, 'credentials readable by root only');
  t.equal(await readFile(join(host, 'credentials.json'), 'utf8'), '{"server":"s"}');
  t.equal(NODE_CREDENTIALS_FILE, '/etc/datera/credentials.json', 'where the wrapper points the driver');

  // A copy changed behind the installer's back is put back by the loop.
  const again = await run(['sh', '-c', localScript(dir, '  printf tampered > "$dst/iscsi"\n')]);
  t.equal(again.stdout.match(/installed/g)?.length, 2, 'installed at start, then again by the loop on the difference');
  t.equal(await readFile(join(dst, 'iscsi'), 'utf8'), '#!/bin/sh\necho v1\n');
  const creds = await run(['sh', '-c', localScript(dir, `  printf changed > '${join(dir, 'secret/credentials.json')}'\n`)]);
  t.equal(creds.stdout.match(/installed/g)?.length, 2, 'a changed Secret reaches the node file too');
  t.equal(await readFile(join(host, 'credentials.json'), 'utf8'), 'changed');
});

t.test('the installer script on the dkc/driver layout: Node bundled with its libraries and loader, started through them', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dkc-installer-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const dkc = join(dir, 'image/opt/dkc');
  await mkdir(join(dkc, 'dist/drivers/flexvolume'), { recursive: true });
  await mkdir(join(dkc, 'drivers/flexvolume/datera~iscsi'), { recursive: true });
  await mkdir(join(dir, 'image/usr/local/bin'), { recursive: true });
  await writeFile(join(dkc, 'dist/drivers/flexvolume/main.js'), '// main\n');
  await writeFile(join(dkc, 'package.json'), '{"type":"module"}\n');
  // The reference wrapper: runs `node $DKC_DRIVER_JS "$@"`; here node is /bin/echo, so the output shows the call.
  await writeFile(join(dkc, 'drivers/flexvolume/datera~iscsi/iscsi'), '#!/bin/sh\nexec node "$DKC_DRIVER_JS" "$@"\n', { mode: 0o755 });
  await copyFile('/bin/echo', join(dir, 'image/usr/local/bin/node'));
  await chmod(join(dir, 'image/usr/local/bin/node'), 0o755);
  const r = await run(['sh', '-c', localScript(dir)]);
  t.match(r.stdout, /installed datera\/iscsi/);
  const dst = join(dir, 'flexmnt/datera~iscsi');
  for (const f of ['iscsi', '.dkc/driver', '.dkc/package.json', '.dkc/dist/drivers/flexvolume/main.js', '.dkc/runtime/bin/node', '.dkc/runtime/libexec/node']) t.ok(existsSync(join(dst, f)), f);
  const libs = await readdir(join(dst, '.dkc/runtime/lib'));
  t.ok(libs.some((l) => l.startsWith('libc.so')), 'libc bundled');
  t.ok(libs.some((l) => l.startsWith('ld-linux')), 'the loader bundled');
  t.equal(await readFile(join(dst, 'iscsi'), 'utf8'), driverWrapper(true), 'the reference wrapper');
  t.match(await readFile(join(dst, '.dkc/runtime/bin/node'), 'utf8'), /exec "\$d\/lib\/ld-linux[^"]*" --library-path "\$d\/lib" "\$d\/libexec\/node" "\$@"/);
  // The installed driver, called as the kubelet calls it, with a PATH that has no node: the bundle answers.
  const call = await run([join(dst, 'iscsi'), 'init'], { env: { PATH: '/usr/bin:/bin' } });
  t.equal(call.stdout, `${join(dst, '.dkc/dist/drivers/flexvolume/main.js')} init\n`, 'the bundled "node" ran the bundled dist with the call-out');

  // A static Node is copied as it is.
  await copyFile('/sbin/ldconfig', join(dir, 'image/usr/local/bin/node'));
  await run(['sh', '-c', localScript(dir)]);
  t.notOk(existsSync(join(dir, 'image/tmp/dkc-bundle/datera~iscsi/.dkc/runtime/libexec/node')), 'no loader indirection for a static binary');

  // Neither layout: a clear refusal.
  await rm(join(dir, 'image'), { recursive: true });
  const none = await run(['sh', '-c', localScript(dir)], { nothrow: true });
  t.equal(none.exitCode, 1);
  t.match(none.stderr, /this image has no driver: neither .*opt\/datera\/datera~iscsi\/iscsi nor .*opt\/dkc\/drivers\/flexvolume\/datera~iscsi\/iscsi with .*node/);
});

t.test('provisioner: deploy/provisioner.yaml with this run\'s image, everything else as written', async (t) => {
  const text = provisionerManifest('dkc/datera-provisioner:k1234');
  const all = docs(text);
  const dep = all.find((d) => d.kind === 'Deployment');
  t.match(dep.metadata, { name: 'datera-provisioner-agent', namespace: 'datera' });
  t.equal(dep.spec.template.spec.containers[0].image, 'dkc/datera-provisioner:k1234');
  t.same(dep.spec.template.spec.containers[0].command, ['node', 'dist/drivers/provisioner/main.js']);
  t.same(all.map((d) => d.kind), ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Deployment']);
  t.match(text, /# The Datera dynamic provisioner as Datera's FlexVolume-era guide deploys it/, 'comments kept');
  t.ok(existsSync(join(repoRoot(), 'drivers/provisioner/deploy/provisioner.yaml')), 'repoRoot is the checkout');
  const dir = await mkdtemp(join(tmpdir(), 'dkc-prov-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'drivers/provisioner/deploy'), { recursive: true });
  await writeFile(join(dir, 'drivers/provisioner/deploy/provisioner.yaml'), 'kind: Deployment\nmetadata: {name: datera-provisioner-agent}\nspec: {template: {spec: {containers: [{name: other}]}}}\n');
  t.throws(() => provisionerManifest('x:1', dir), { code: 'INTERNAL', message: /expected one provisioner container .* found 0/ });
});
