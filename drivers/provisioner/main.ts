/**
 * Process entry of the provisioner: `node dist/drivers/provisioner/main.js [flags]`, embedded beside a cluster or
 * as the Deployment in deploy/provisioner.yaml. Kubeconfig from $KUBECONFIG, ~/.kube/config or the in-cluster
 * service account. Logs JSON lines on stderr (secret-looking fields redacted). SIGTERM/SIGINT stop the watches,
 * let a running pass finish, and exit 0.
 */
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { redact, type Logger } from '../../lib/log.js';
import { errorMessage } from '../../lib/errors.js';
import { ClientNodeKubeApi } from './kube-api.js';
import { Provisioner } from './provisioner.js';

const USAGE = `usage: main.js [--resync SECONDS] [--accept-class-match] [--secret-namespace NS] [--backoff SECONDS]
  --resync             full pass every SECONDS (default 30; env DATERA_PROVISIONER_RESYNC)
  --accept-class-match act on pending claims of our classes even without the storage-provisioner annotation
                       (clusters without kube-controller-manager; env DATERA_PROVISIONER_ACCEPT_CLASS_MATCH=1)
  --secret-namespace   where secretName is looked up when a class gives no secretNamespace (default datera)
  --backoff            first retry delay after a failure (default 1; doubles up to 300)`;

function stderrLogger(bindings: Record<string, unknown> = {}): Logger {
  const write = (level: string, msg: string, fields?: Record<string, unknown>) =>
    process.stderr.write(JSON.stringify(redact({ level, time: new Date().toISOString(), msg, ...bindings, ...fields })) + '\n');
  return {
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (b) => stderrLogger({ ...bindings, ...b }),
  };
}

function seconds(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`--${name} must be a positive number of seconds, got "${v}"\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        resync: { type: 'string' },
        'accept-class-match': { type: 'boolean' },
        'secret-namespace': { type: 'string' },
        backoff: { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    console.error(`${errorMessage(err)}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const env = process.env;
  const log = stderrLogger({ component: 'datera-provisioner' });
  const resyncMs = seconds('resync', (values.resync as string | undefined) ?? env.DATERA_PROVISIONER_RESYNC, 30) * 1000;
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  const provisioner = new Provisioner({
    kube: new ClientNodeKubeApi(kc),
    log,
    resyncMs,
    backoffMs: seconds('backoff', values.backoff as string | undefined, 1) * 1000,
    requireProvisionerAnnotation: !(values['accept-class-match'] === true || env.DATERA_PROVISIONER_ACCEPT_CLASS_MATCH === '1'),
    defaultSecretNamespace: (values['secret-namespace'] as string | undefined) ?? env.DATERA_PROVISIONER_SECRET_NAMESPACE ?? 'datera',
  });
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal: sig });
    provisioner.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  log.info('starting', { cluster: kc.getCurrentCluster()?.server, resyncMs });
  await provisioner.start();
  log.info('started');
}

main().catch((err: unknown) => {
  process.stderr.write(JSON.stringify(redact({ level: 'error', time: new Date().toISOString(), msg: 'provisioner failed', error: errorMessage(err) })) + '\n');
  process.exit(1);
});
