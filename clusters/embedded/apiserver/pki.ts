/**
 * The cluster's PKI, made with openssl at start: a CA, a serving certificate for 127.0.0.1/localhost/kubernetes
 * signed by it, and an admin bearer token. kubectl then verifies the server with default flags (no
 * insecure-skip-tls-verify) against the CA in the generated kubeconfig.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../../lib/exec.js';

export interface Pki {
  caPem: string;
  certPem: string;
  keyPem: string;
  /** Bearer token of the cluster admin. */
  token: string;
}

export async function createPki(dir: string, hosts: readonly string[] = ['127.0.0.1']): Promise<Pki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const f = (n: string) => join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run(['openssl', 'req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '30', '-subj', '/CN=dkc-embedded-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await run(['openssl', 'req', '-new', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=kube-apiserver']);
  const san = ['DNS:localhost', 'DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc', ...hosts.map((h) => (/^[\d.]+$/.test(h) ? `IP:${h}` : `DNS:${h}`))];
  await writeFile(f('server.ext'), `subjectAltName=${san.join(',')}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`);
  await run(['openssl', 'x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '30', '-extfile', f('server.ext')]);
  const token = randomBytes(24).toString('base64url');
  return { caPem: await readFile(f('ca.crt'), 'utf8'), certPem: await readFile(f('server.crt'), 'utf8'), keyPem: await readFile(f('server.key'), 'utf8'), token };
}

/** A kubeconfig for the admin: CA data, server URL and bearer token, context `dkc-<name>`. */
export function kubeconfigYaml(name: string, server: string, pki: Pki): string {
  const ca = Buffer.from(pki.caPem).toString('base64');
  const ctx = `dkc-${name}`;
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${ctx}`,
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    `- name: ${ctx}-admin`,
    '  user:',
    `    token: ${pki.token}`,
    'contexts:',
    `- name: ${ctx}`,
    '  context:',
    `    cluster: ${ctx}`,
    `    user: ${ctx}-admin`,
    '    namespace: default',
    `current-context: ${ctx}`,
    '',
  ].join('\n');
}
