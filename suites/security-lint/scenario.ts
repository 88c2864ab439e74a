// security-lint: credentials in a datera/iscsi PV's options (serverUser / serverPasswd, as the 1.5-era guide wrote
// them) rather than a secretRef are a finding. Every datera/iscsi PV in the cluster gets one check: a PV with
// credentials inline fails `credentials inline in PV <name>` with the fix, any other passes
// `no credentials inline in PV <name>`. The scenario makes one PV of each kind itself, so both outcomes show on
// every run: this suite is a warning (not required for the verdict), and its failed checks are findings about
// configuration, not driver failures.
//
// The password is never printed: findings, evidence and assertion names carry option names, never values, and
// each finding check asserts that its own text does not contain the PV's password.
import type { Test } from 'tap';
import type * as k8s from '@kubernetes/client-node';
import { scenario, notFound, type Scenario } from '../../harness/index.js';

/** Option keys that carry credentials (the guide's serverUser / serverPasswd, and spellings people use). */
const CREDENTIAL_KEY = /^(serverUser|serverPasswd|serverPassword|user|username|password|passwd)$/i;
const PASSWORD_KEY = /passw/i;
const SCENARIO_LABEL = 'dkc.datera.io/scenario';

await scenario(
  'security-lint',
  async (s) => {
    const ns = s.ns;
    // Reserved for a claim that is never made, so no claim anywhere binds them while the lint runs.
    const reserve = { namespace: ns, name: 'never-made' };
    const cannotMake = s.ctx.readOnly ? 'read-only run: the scenario does not create PVs' : !s.ctx.backend ? 'no backend in this context: the guide PV needs the management address' : '';
    const inlineName = `${ns}-inline`;
    const secretName = `${ns}-secret-ref`;
    const made: string[] = [];
    if (!cannotMake) {
      await s.create(s.guidePV(inlineName, { volumeID: inlineName, claimRef: reserve }));
      made.push(inlineName);
      if (s.ctx.secret) {
        await s.create(s.guidePV(secretName, { volumeID: secretName, claimRef: reserve, secretRef: true }));
        made.push(secretName);
      }
    }

    let pvs: k8s.V1PersistentVolume[] = [];
    await s.check(`the ${s.ctx.driver} PVs in the cluster are listed`, async (t) => {
      const all = (await s.kube.core.listPersistentVolume()).items;
      pvs = all.filter((pv) => pv.spec?.flexVolume?.driver === s.ctx.driver);
      // PVs other dkc scenarios make while this one runs are test fixtures written as the guide writes them, not
      // the cluster's configuration.
      const others = pvs.filter((pv) => (pv.metadata?.labels?.[SCENARIO_LABEL] ?? 'security-lint') !== 'security-lint');
      pvs = pvs.filter((pv) => !others.includes(pv));
      if (others.length) t.comment(`not linting ${others.length} PV(s) other dkc scenarios made: ${others.map((pv) => pv.metadata?.name).join(', ')}`);
      s.evidence(`${pvs.length} ${s.ctx.driver} PVs: ${pvs.map((pv) => `${pv.metadata?.name} (${credentialSource(pv)})`).join(', ')}`);
      t.comment(`${pvs.length} ${s.ctx.driver} PV(s) to lint: ${pvs.map((pv) => `${pv.metadata?.name} (${credentialSource(pv)})`).join(', ') || 'none'}`);
      const names = pvs.map((pv) => pv.metadata?.name);
      for (const m of made) t.ok(names.includes(m), `PV ${m} made by this scenario is listed`);
      t.ok(all.length >= pvs.length, 'the listing answered');
    });

    if (cannotMake) await s.check('the lint finds inline credentials and passes a secretRef (on PVs it makes)', () => undefined, { skip: cannotMake });
    else if (!s.ctx.secret) await s.check(`no credentials inline in PV ${secretName}`, () => undefined, { skip: 'no datera/iscsi Secret in this context to point a secretRef at' });

    // The scenario's own PVs first, so their outcomes lead the list.
    pvs.sort((a, b) => Number(!made.includes(a.metadata!.name!)) - Number(!made.includes(b.metadata!.name!)) || a.metadata!.name!.localeCompare(b.metadata!.name!));
    for (const pv of pvs) {
      const name = pv.metadata!.name!;
      const inline = inlineKeys(pv);
      if (inline.length) await s.check(`credentials inline in PV ${name}`, (t) => finding(s, t, pv, inline));
      else await s.check(`no credentials inline in PV ${name}`, (t) => clean(s, t, pv));
    }
    if (made.includes(inlineName) && !pvs.some((pv) => pv.metadata?.name === inlineName)) {
      // Listed by the first check or not, the lint must reach the PV it made with inline credentials.
      await s.check(`credentials inline in PV ${inlineName}`, (t) => {
        t.fail(`PV ${inlineName}, made with inline credentials, was not among the listed PVs`);
      });
    }
  },
  { needs: [] },
);

/** The finding: names the options (never their values) and says the fix. Always fails: it is a warning. */
function finding(s: Scenario, t: Test, pv: k8s.V1PersistentVolume, keys: string[]): void {
  const name = pv.metadata!.name!;
  const opts = pv.spec?.flexVolume?.options ?? {};
  // The PV's own password values, and the context's (the one the scenario's PV carries).
  const secrets = [...keys.filter((k) => PASSWORD_KEY.test(k)).map((k) => opts[k] ?? ''), s.ctx.backend?.password ?? ''].filter(Boolean);
  const server = 'backstoreServer' in opts ? ', server' : '';
  const text =
    `WARNING: PV ${name} carries ${keys.join(', ')} in clear in flexVolume.options, readable by anyone who may read PVs. ` +
    `Fix: put username, password${server} in a Secret of type ${s.ctx.driver} (as the Datera guide's secret example, normally in namespace datera) ` +
    `and recreate the PV (a PV's volume source cannot be edited; with reclaim policy Retain the Datera volume stays) with flexVolume.secretRef {name, namespace} naming it and without ${keys.join(', ')}${server ? ', backstoreServer' : ''} in its options.`;
  const evidence = `PV ${name}: credential options ${keys.join(', ')}; reclaim ${pv.spec?.persistentVolumeReclaimPolicy ?? '?'}; phase ${pv.status?.phase ?? '?'}; claim ${pv.spec?.claimRef ? `${pv.spec.claimRef.namespace}/${pv.spec.claimRef.name}` : 'none'}`;
  // Checked before anything is printed: neither the finding nor its evidence may contain the password.
  const leaks = secrets.filter((p) => text.includes(p) || evidence.includes(p)).length;
  t.equal(leaks, 0, 'the finding and its evidence do not contain the password');
  if (leaks) return;
  s.evidence(evidence);
  t.fail(text);
}

/** A PV without inline credentials: with a secretRef, the Secret it names must be usable by the kubelet. */
async function clean(s: Scenario, t: Test, pv: k8s.V1PersistentVolume): Promise<void> {
  const name = pv.metadata!.name!;
  const ref = pv.spec?.flexVolume?.secretRef;
  t.same(inlineKeys(pv), [], `PV ${name} has no credential options`);
  if (!ref?.name) {
    t.comment(`PV ${name} names no secretRef: the driver takes credentials from the node (DATERA_CREDENTIALS_FILE)`);
    return;
  }
  if (!ref.namespace) {
    t.comment(`PV ${name}: secretRef ${ref.name} has no namespace, so the kubelet looks in each pod's namespace; not checked here`);
    return;
  }
  let secret: k8s.V1Secret | undefined;
  try {
    secret = await s.kube.core.readNamespacedSecret({ name: ref.name, namespace: ref.namespace }).catch(notFound);
  } catch (err) {
    // Reading Secrets may be forbidden to the harness on an existing cluster: say so, do not guess.
    t.comment(`PV ${name}: could not read Secret ${ref.namespace}/${ref.name}: ${(err as Error).message.slice(0, 200)}`);
    return;
  }
  s.evidence(`PV ${name}: secretRef ${ref.namespace}/${ref.name}; Secret ${secret ? `type ${secret.type}, keys ${Object.keys(secret.data ?? {}).join(', ')}` : 'absent'}`);
  t.ok(secret, `Secret ${ref.namespace}/${ref.name} named by PV ${name} exists`);
  t.equal(secret?.type, s.ctx.driver, `Secret ${ref.namespace}/${ref.name} has type ${s.ctx.driver} (the kubelet passes no other type to the driver)`);
  const keys = Object.keys(secret?.data ?? {});
  t.same(['password', 'server', 'username'].filter((k) => !keys.includes(k)), [], `Secret ${ref.namespace}/${ref.name} has username, password and server`);
}

function inlineKeys(pv: k8s.V1PersistentVolume): string[] {
  return Object.keys(pv.spec?.flexVolume?.options ?? {})
    .filter((k) => CREDENTIAL_KEY.test(k))
    .sort();
}

function credentialSource(pv: k8s.V1PersistentVolume): string {
  if (inlineKeys(pv).length) return 'credentials inline';
  const ref = pv.spec?.flexVolume?.secretRef;
  return ref?.name ? `secretRef ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}` : 'no credentials';
}
