/**
 * What the kind provider applies after Calico, as Datera's FlexVolume-era Kubernetes guide installs it: namespace `datera`, the credentials Secret `datera-secret` (type datera/iscsi: username,
 * password, server) that StorageClasses and secretRef PVs name, the installer DaemonSet `datera-installer-agent`
 * that copies the driver into the kubelet plugin dir of every node (a node added later gets it too, and a removed
 * copy is put back), and the provisioner Deployment from drivers/provisioner/deploy/provisioner.yaml.
 *
 * Installer image contract (for `--driver <image>`): a POSIX sh with cp, mv, mkdir, chmod, cmp, basename and sleep
 * (busybox is enough), and either the plugin directory at /opt/datera/datera~iscsi (the executable `iscsi` and what it
 * needs beside it), or the images/driver layout (dkc/driver: /opt/dkc and Node, see INSTALLER_SCRIPT).
 *
 * Node credentials: the reference driver needs credentials at attach and mountdevice time, before the kubelet
 * hands it the secretRef (only mount gets secrets). They come from a node file ($DATERA_CREDENTIALS_FILE). The
 * Secret `datera-node-credentials` holds that file; the installer writes it to /etc/datera/credentials.json (0600)
 * on every node, beside the driver.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { HarnessError } from '../../lib/errors.js';
import { PLUGIN_DIR } from './cluster-config.js';

export const DATERA_NAMESPACE = 'datera';
export const SECRET_NAME = 'datera-secret';
export const SECRET_TYPE = 'datera/iscsi';
export const NODE_CREDENTIALS_SECRET = 'datera-node-credentials';
export const NODE_CREDENTIALS_FILE = '/etc/datera/credentials.json';
export const INSTALLER_NAME = 'datera-installer-agent';
export const PROVISIONER_DEPLOYMENT = 'datera-provisioner-agent';
/** Where the driver directory lives in a driver image. */
export const IMAGE_DRIVER_DIR = '/opt/datera/datera~iscsi';
export const DRIVER_DIR_NAME = 'datera~iscsi';
const PART_OF = { 'app.kubernetes.io/part-of': 'datera-k8s-conformance' };

/** The checkout root (or the installed package root): the nearest directory above this file with a package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++, dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'drivers'))) return dir;
  }
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

export interface Credentials {
  server: string;
  user: string;
  password: string;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Namespace, the guide's Secret and the node credentials Secret, as one YAML stream (for `kubectl create -f -`: never on argv or disk). */
export function credentialsManifest(c: Credentials): string {
  const docs = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: DATERA_NAMESPACE, labels: { ...PART_OF } } },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: SECRET_NAME, namespace: DATERA_NAMESPACE, labels: { ...PART_OF } },
      type: SECRET_TYPE,
      data: { username: b64(c.user), password: b64(c.password), server: b64(c.server) },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: NODE_CREDENTIALS_SECRET, namespace: DATERA_NAMESPACE, labels: { ...PART_OF } },
      type: 'Opaque',
      data: { 'credentials.json': b64(JSON.stringify({ server: c.server, user: c.user, password: c.password })) },
    },
  ];
  return docs.map((d) => stringify(d)).join('---\n');
}

/**
 * The `iscsi` executable the installer puts into the plugin dir: it points the driver beside it (.dkc/driver) at the
 * node credentials file and a log, and for the reference driver at its bundled Node runtime and dist/.
 */
export function driverWrapper(reference: boolean): string {
  return `#!/bin/sh
# datera/iscsi as installed by dkc: the node credentials file and the log for the driver beside this file.
d=$(cd "$(dirname "$0")" && pwd)
: "\${DATERA_CREDENTIALS_FILE:=${NODE_CREDENTIALS_FILE}}"
: "\${DATERA_FLEX_LOG:=/var/log/datera-flex.log}"
export DATERA_CREDENTIALS_FILE DATERA_FLEX_LOG
${reference ? 'export DKC_DRIVER_JS="$d/.dkc/dist/drivers/flexvolume/main.js"\nexport PATH="$d/.dkc/runtime/bin:$PATH"\n' : ''}exec "$d/.dkc/driver" "$@"
`;
}

/**
 * The installer's script. Two image layouts are accepted:
 * - plugin-dir layout: /opt/datera/datera~iscsi with the executable `iscsi` (a user's installer image, or the thin
 *   image this provider builds for a driver file), copied as it is;
 * - images/driver layout (dkc/driver): the reference driver's wrapper and dist/ under /opt/dkc and Node at
 *   /usr/local/bin/node. Kind nodes have no Node.js (nor necessarily the libstdc++ it needs), so the script bundles
 *   Node with every shared object ldd lists and the dynamic loader, started through that loader: the node's own
 *   libraries do not matter.
 * Files other than the executable go first and the executable last, each through a rename, so the kubelet's prober
 * never runs a half-written driver. Then it keeps the copy (and the credentials file) in place.
 */
export const INSTALLER_SCRIPT = `set -eu
src=${IMAGE_DRIVER_DIR}
dkc=/opt/dkc
node_bin=/usr/local/bin/node
bundle=/tmp/dkc-bundle/${DRIVER_DIR_NAME}
dst=/flexmnt/${DRIVER_DIR_NAME}
creds=/etc/datera-node-credentials/credentials.json
host_etc=/host/etc/datera
bundle_reference() {
  rt="$bundle/.dkc/runtime"
  rm -rf "$bundle"
  mkdir -p "$rt/bin" "$rt/lib" "$rt/libexec"
  cp -R "$dkc/dist" "$bundle/.dkc/dist"
  cp "$dkc/package.json" "$bundle/.dkc/package.json"
  cp "$dkc/drivers/flexvolume/${DRIVER_DIR_NAME}/iscsi" "$bundle/.dkc/driver"
  loader=$(ldd "$node_bin" 2>/dev/null | sed -n 's/^[[:space:]]*\\(\\/[^ ]*\\) (0x.*$/\\1/p' | head -n 1) || loader=
  if [ -n "$loader" ]; then
    for lib in $(ldd "$node_bin" | sed -n 's/^.*=> \\(\\/[^ ]*\\) (0x.*$/\\1/p') "$loader"; do cp -L "$lib" "$rt/lib/"; done
    cp "$node_bin" "$rt/libexec/node"
    printf '#!/bin/sh\\nd=$(cd "$(dirname "$0")/.." && pwd)\\nexec "$d/lib/%s" --library-path "$d/lib" "$d/libexec/node" "$@"\\n' "$(basename "$loader")" > "$rt/bin/node"
  else
    cp "$node_bin" "$rt/bin/node"
  fi
  chmod 0755 "$rt/bin/node"
  cat > "$bundle/iscsi" <<'DKC_WRAPPER'
${driverWrapper(true)}DKC_WRAPPER
  src="$bundle"
}
install_driver() {
  mkdir -p "$dst"
  for f in "$src"/* "$src"/.[!.]*; do
    [ -e "$f" ] || continue
    n=$(basename "$f")
    [ "$n" = iscsi ] && continue
    rm -rf "$dst/.$n.new"
    cp -a "$f" "$dst/.$n.new"
    rm -rf "$dst/$n"
    mv "$dst/.$n.new" "$dst/$n"
  done
  cp "$src/iscsi" "$dst/.iscsi.new"
  chmod 0755 "$dst/.iscsi.new"
  mv -f "$dst/.iscsi.new" "$dst/iscsi"
  if [ -f "$creds" ]; then
    mkdir -p "$host_etc"
    cp "$creds" "$host_etc/.credentials.json.new"
    chmod 0600 "$host_etc/.credentials.json.new"
    mv -f "$host_etc/.credentials.json.new" "$host_etc/credentials.json"
  fi
  echo "installed datera/iscsi into $dst"
}
if [ ! -x "$src/iscsi" ]; then
  if [ -x "$dkc/drivers/flexvolume/${DRIVER_DIR_NAME}/iscsi" ] && [ -x "$node_bin" ]; then
    bundle_reference
  else
    echo "this image has no driver: neither $src/iscsi nor $dkc/drivers/flexvolume/${DRIVER_DIR_NAME}/iscsi with $node_bin" >&2
    exit 1
  fi
fi
install_driver
while true; do
  sleep 30
  if ! cmp -s "$src/iscsi" "$dst/iscsi" || { [ -f "$creds" ] && ! cmp -s "$creds" "$host_etc/credentials.json"; }; then install_driver; fi
done
`;

export interface InstallerOptions {
  image: string;
  pluginDir?: string;
}

/** The guide's installer DaemonSet: hostPID, hostIPC, hostNetwork, privileged; the plugin dir, /etc/udev/rules.d, /sbin and /var/log from the node. */
export function driverInstallerManifest(o: InstallerOptions): string {
  const labels = { app: INSTALLER_NAME, ...PART_OF };
  const hostPath = (name: string, path: string, type?: string) => ({ name, hostPath: { path, ...(type ? { type } : {}) } });
  const ds = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: INSTALLER_NAME, namespace: DATERA_NAMESPACE, labels },
    spec: {
      selector: { matchLabels: { app: INSTALLER_NAME } },
      updateStrategy: { type: 'RollingUpdate' },
      template: {
        metadata: { labels },
        spec: {
          hostPID: true,
          hostIPC: true,
          hostNetwork: true,
          // Every node, the control plane included: a pod of a test may land anywhere the scheduler allows.
          tolerations: [{ operator: 'Exists' }],
          terminationGracePeriodSeconds: 5,
          containers: [
            {
              name: 'installer',
              image: o.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['sh', '-c', INSTALLER_SCRIPT],
              securityContext: { privileged: true },
              // Ready once the driver is in place: `rollout status` then means "installed on every node".
              readinessProbe: { exec: { command: ['test', '-x', `/flexmnt/${DRIVER_DIR_NAME}/iscsi`] }, periodSeconds: 2 },
              resources: { requests: { cpu: '5m', memory: '16Mi' } },
              volumeMounts: [
                { name: 'flexvolume-dir', mountPath: '/flexmnt' },
                { name: 'node-credentials', mountPath: '/etc/datera-node-credentials', readOnly: true },
                { name: 'etc-datera', mountPath: '/host/etc/datera' },
                { name: 'udev-rules', mountPath: '/etc/udev/rules.d' },
                { name: 'sbin', mountPath: '/host/sbin', readOnly: true },
                { name: 'var-log', mountPath: '/var/log' },
              ],
            },
          ],
          volumes: [
            hostPath('flexvolume-dir', o.pluginDir ?? PLUGIN_DIR, 'DirectoryOrCreate'),
            { name: 'node-credentials', secret: { secretName: NODE_CREDENTIALS_SECRET, defaultMode: 0o400 } },
            hostPath('etc-datera', '/etc/datera', 'DirectoryOrCreate'),
            hostPath('udev-rules', '/etc/udev/rules.d', 'DirectoryOrCreate'),
            hostPath('sbin', '/sbin'),
            hostPath('var-log', '/var/log'),
          ],
        },
      },
    },
  };
  return `# The Datera driver installer as the guide deploys it; written by dkc (clusters/kind/manifests.ts)\n${stringify(ds, { lineWidth: 0 })}`;
}

/** drivers/provisioner/deploy/provisioner.yaml with the provisioner container's image replaced. */
export function provisionerManifest(image: string, root: string = repoRoot()): string {
  const file = join(root, 'drivers/provisioner/deploy/provisioner.yaml');
  const text = readFileSync(file, 'utf8');
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [];
  let replaced = 0;
  const out = list.map((doc) => {
    const obj = doc.toJS() as { kind?: string; metadata?: { name?: string } } | null;
    if (obj?.kind === 'Deployment' && obj.metadata?.name === PROVISIONER_DEPLOYMENT) {
      const containers = doc.getIn(['spec', 'template', 'spec', 'containers']) as { items: unknown[] } | undefined;
      containers?.items.forEach((_, i) => {
        if (doc.getIn(['spec', 'template', 'spec', 'containers', i, 'name']) === 'provisioner') {
          doc.setIn(['spec', 'template', 'spec', 'containers', i, 'image'], image);
          replaced++;
        }
      });
    }
    return doc.toString({ lineWidth: 0 }).replace(/^---\n/, '');
  });
  if (replaced !== 1) throw new HarnessError('INTERNAL', `${file}: expected one provisioner container in Deployment ${PROVISIONER_DEPLOYMENT}, found ${replaced}`);
  return out.join('---\n');
}
