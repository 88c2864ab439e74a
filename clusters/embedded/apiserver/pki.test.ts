import t from 'tap';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { parse } from 'yaml';
import { which } from '../../../lib/exec.js';
import { createPki, kubeconfigYaml, type Pki } from './pki.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

t.test('createPki', async (t) => {
  if (!(await which('openssl'))) {
    t.comment('openssl is not installed: createPki cannot run here');
    t.skip('pki: needs openssl', () => undefined);
    return;
  }
  const base = await mkdtemp(join(tmpdir(), 'dkc-pki-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const dir = join(base, 'pki');
  const before = Date.now();
  const pki = await createPki(dir, ['127.0.0.1', 'api.example.test']);

  t.equal((await stat(dir)).mode & 0o777, 0o700, 'the key directory is private');
  const ca = new X509Certificate(pki.caPem);
  const cert = new X509Certificate(pki.certPem);

  t.test('CA', async (t) => {
    t.equal(ca.ca, true, 'basicConstraints CA:TRUE');
    t.match(ca.subject, /CN=dkc-embedded-ca/);
    t.ok(ca.checkIssued(ca), 'self-signed');
    t.ok(ca.verify(ca.publicKey));
  });

  t.test('serving certificate', async (t) => {
    t.equal(cert.ca, false);
    t.match(cert.subject, /CN=kube-apiserver/);
    t.ok(cert.checkIssued(ca), 'issued by the CA');
    t.ok(cert.verify(ca.publicKey), 'signature verifies with the CA key');
    t.notOk(cert.verify(cert.publicKey), 'and not with its own key');
    const san = cert.subjectAltName ?? '';
    for (const name of ['DNS:localhost', 'DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc', 'IP Address:127.0.0.1', 'DNS:api.example.test'])
      t.ok(san.split(', ').includes(name), `SAN ${name}`);
    t.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
    t.equal(cert.checkHost('localhost'), 'localhost');
    t.equal(cert.checkHost('api.example.test'), 'api.example.test');
    t.equal(cert.checkHost('other.example.test'), undefined, 'no wildcard or unrelated names');
    t.equal(cert.checkIP('10.0.0.1'), undefined);
    t.ok(cert.keyUsage?.includes(SERVER_AUTH), 'extendedKeyUsage serverAuth');
    const from = Date.parse(cert.validFrom);
    const to = Date.parse(cert.validTo);
    t.ok(from <= Date.now() && from >= before - 120_000, 'valid from now');
    t.ok(to - from >= 29 * 86_400_000 && to - from <= 31 * 86_400_000, 'valid for 30 days');
  });

  t.test('key matches the certificate', async (t) => {
    const key = createPrivateKey(pki.keyPem);
    t.ok(cert.checkPrivateKey(key));
    t.notOk(ca.checkPrivateKey(key), 'not the CA key');
    t.equal(key.asymmetricKeyType, 'ec');
    t.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    t.same(createPublicKey(key).export({ format: 'der', type: 'spki' }), cert.publicKey.export({ format: 'der', type: 'spki' }));
  });

  t.test('token', async (t) => {
    t.match(pki.token, /^[A-Za-z0-9_-]{32}$/, '24 random bytes, base64url');
    const again = await createPki(join(base, 'again'));
    t.not(again.token, pki.token, 'fresh token each time');
    t.not(again.caPem, pki.caPem, 'fresh CA each time');
    t.ok((new X509Certificate(again.certPem).subjectAltName ?? '').includes('IP Address:127.0.0.1'), 'default host 127.0.0.1');
  });

  t.test('a TLS client verifies the server against the CA with default checks', async (t) => {
    const server = createServer({ cert: pki.certPem, key: pki.keyPem }, (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const handshake = (opts: { ca: string; servername?: string }) =>
      new Promise<{ authorized: boolean; error?: string }>((resolve) => {
        const s = connect({ host: '127.0.0.1', port, ca: opts.ca, servername: opts.servername, rejectUnauthorized: false }, () => {
          resolve({ authorized: s.authorized, error: s.authorizationError ? String(s.authorizationError) : undefined });
          s.end();
        });
        s.on('error', (err) => resolve({ authorized: false, error: err.message }));
      });
    // Node checks the hostname only when rejectUnauthorized is on; authorized covers the chain.
    t.same(await handshake({ ca: pki.caPem }), { authorized: true, error: undefined }, 'chain verifies with our CA');
    const other = await createPki(join(base, 'other'));
    const wrong = await handshake({ ca: other.caPem });
    t.equal(wrong.authorized, false, 'another CA does not verify it');
    // The real client path: default checks (rejectUnauthorized, hostname against the SANs).
    const strict = (servername?: string) =>
      new Promise<string>((resolve) => {
        const s = connect({ host: '127.0.0.1', port, ca: pki.caPem, ...(servername ? { servername } : {}) }, () => {
          resolve(s.authorized ? 'ok' : 'unauthorized');
          s.end();
        });
        s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      });
    t.equal(await strict(), 'ok', 'strict TLS to 127.0.0.1 (IP SAN)');
    t.equal(await strict('localhost'), 'ok', 'strict TLS to localhost');
    t.equal(await strict('kubernetes.default.svc'), 'ok', 'strict TLS to the in-cluster name');
    t.equal(await strict('wrong.example.test'), 'ERR_TLS_CERT_ALTNAME_INVALID', 'an unlisted name fails the hostname check');
  });
});

t.test('kubeconfigYaml', async (t) => {
  const pki: Pki = { caPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', certPem: '', keyPem: '', token: 'tok_en-1' };
  const text = kubeconfigYaml('v1-32', 'https://127.0.0.1:6443', pki);
  const cfg = parse(text);
  t.same(cfg, {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'dkc-v1-32', cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority-data': Buffer.from(pki.caPem).toString('base64') } }],
    users: [{ name: 'dkc-v1-32-admin', user: { token: 'tok_en-1' } }],
    contexts: [{ name: 'dkc-v1-32', context: { cluster: 'dkc-v1-32', user: 'dkc-v1-32-admin', namespace: 'default' } }],
    'current-context': 'dkc-v1-32',
  });
  t.equal(Buffer.from(cfg.clusters[0].cluster['certificate-authority-data'], 'base64').toString(), pki.caPem, 'CA data round-trips');
  t.notOk(text.includes('insecure-skip-tls-verify'), 'the CA is verified, never skipped');
  t.ok(text.endsWith('\n'));
});
