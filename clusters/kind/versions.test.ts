import t from 'tap';
import { KIND_VERSIONS, NODE_IMAGE_RE, calicoPinned, kindVersion, kindVersionRange, nodeImageRelease, parseK8sVersion } from './versions.js';

const DIGEST = 'a'.repeat(64);

t.test('the table covers 1.19 to 1.37, one row per minor, each image pinned by digest and matching its release', async (t) => {
  const minors = KIND_VERSIONS.map((r) => r.minor);
  t.same(minors, Array.from({ length: 19 }, (_, i) => 19 + i));
  for (const r of KIND_VERSIONS) {
    const m = NODE_IMAGE_RE.exec(r.nodeImage);
    t.ok(m, `${r.version}: ${r.nodeImage} is name:tag@sha256`);
    t.equal(m?.[1], r.release, `${r.version}: the image tag is the release`);
    t.equal(r.version, `v1.${r.minor}`);
    t.match(r.kindRelease, /^v0\.\d+\.0$/);
    t.match(r.calico, /^v3\.\d+$/);
  }
  t.equal(kindVersionRange(), 'v1.19 to v1.37');
});

t.test('kind releases, kubeadm API and Calico follow the reference per minor', async (t) => {
  const by = (v: string) => kindVersion(v);
  // "Kubernetes minor -> last kind release that ships an image for it" (kind-calico.md section 1).
  t.equal(by('1.19').kindRelease, 'v0.17.0');
  t.equal(by('1.20').kindRelease, 'v0.17.0');
  t.equal(by('1.22').kindRelease, 'v0.20.0');
  t.equal(by('1.24').kindRelease, 'v0.22.0');
  t.equal(by('1.25').kindRelease, 'v0.24.0');
  t.equal(by('1.28').kindRelease, 'v0.25.0');
  t.equal(by('1.29').kindRelease, 'v0.27.0');
  t.equal(by('1.30').kindRelease, 'v0.29.0');
  t.equal(by('1.32').kindRelease, 'v0.31.0');
  t.equal(by('1.33').kindRelease, 'v0.32.0');
  t.equal(by('1.37').kindRelease, 'v0.33.0');
  t.equal(by('1.22').kubeadmApi, 'v1beta2');
  t.equal(by('1.23').kubeadmApi, 'v1beta3');
  t.equal(by('1.35').kubeadmApi, 'v1beta3');
  t.equal(by('1.36').kubeadmApi, 'v1beta4');
  t.equal(by('1.19').calico, 'v3.20');
  t.equal(by('1.30').calico, 'v3.29');
  t.equal(by('1.31').calico, 'v3.30');
  t.equal(by('1.33').calico, 'v3.31');
  t.equal(by('1.33').calicoTested, true);
  t.equal(by('1.37').calicoTested, false);
  t.match(by('1.37').notes.join('\n'), /Calico v3\.31 is not listed as tested with v1\.37/);
  t.match(by('1.19').notes.join('\n'), /unverified/);
  t.same(by('1.30').notes, []);
});

t.test('version specs: minor, v-prefixed, exact patch; other patches and unknown minors name what is accepted', async (t) => {
  t.same(parseK8sVersion('1.32'), { minor: 32 });
  t.same(parseK8sVersion(' v1.32.11 '), { minor: 32, release: 'v1.32.11' });
  t.equal(parseK8sVersion('2.0'), undefined);
  t.equal(parseK8sVersion('latest'), undefined);
  t.equal(kindVersion('v1.32.11').release, 'v1.32.11');
  t.throws(() => kindVersion('v1.32.5'), { code: 'BAD_INPUT', message: /pins v1\.32\.11 for v1\.32 \(kind v0\.31\.0\), not v1\.32\.5.*kind\.versions\.v1\.32\.nodeImage/ });
  t.throws(() => kindVersion('1.18'), { message: /no kind node image known for Kubernetes v1\.18; accepted: v1\.19 to v1\.37; to add one, set kind\.versions\.v1\.18/ });
  t.throws(() => kindVersion('soon'), { message: /'soon' is not a Kubernetes version/ });
});

t.test('overrides replace parts of a row, or add a minor when complete', async (t) => {
  const img = `kindest/node:v1.32.5@sha256:${DIGEST}`;
  const r = kindVersion('v1.32.5', { 'v1.32': { kindRelease: 'v0.29.0', nodeImage: img } });
  t.equal(r.release, 'v1.32.5');
  t.equal(r.kindRelease, 'v0.29.0');
  t.equal(r.nodeImage, img);
  t.equal(r.calico, 'v3.31', 'calico kept from the table');
  t.equal(r.calicoTested, true);
  t.match(r.notes.at(-1), /overridden in the config file: kindRelease, nodeImage/);
  const c = kindVersion('1.30', { 'v1.30': { calico: 'v3.30.2' } });
  t.equal(c.calico, 'v3.30.2');
  t.equal(c.calicoTested, false, 'an overridden Calico is not vouched for by the table');
  t.equal(c.nodeImage, kindVersion('1.30').nodeImage);
  const added = kindVersion('1.38', { 'v1.38': { kindRelease: 'v0.34.0', nodeImage: `kindest/node:v1.38.1@sha256:${DIGEST}`, calico: 'v3.32' } });
  t.equal(added.release, 'v1.38.1');
  t.equal(added.kubeadmApi, 'v1beta4');
  t.match(added.notes[0], /not in the built-in table/);
  t.throws(() => kindVersion('1.38', { 'v1.38': { calico: 'v3.32' } }), { message: /kind\.versions\.v1\.38 needs kindRelease, nodeImage and calico/ });
  t.throws(() => kindVersion('1.30', { 'v1.30': { nodeImage: `kindest/node:v1.31.1@sha256:${DIGEST}` } }), { message: /is not a v1\.30 image pinned by digest/ });
});

t.test('nodeImageRelease and calicoPinned', async (t) => {
  t.equal(nodeImageRelease(`registry.local:5000/kindest/node:v1.30.2@sha256:${DIGEST}`, 30), 'v1.30.2');
  t.throws(() => nodeImageRelease('kindest/node:v1.30.2', 30), { message: /pinned by digest/ });
  t.equal(calicoPinned('v3.31'), false);
  t.equal(calicoPinned('v3.31.2'), true);
});
