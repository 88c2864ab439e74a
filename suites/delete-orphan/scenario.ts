// delete-orphan: a non-cascading deletion of a MariaDB StatefulSet leaves its pods running and writable with their
// ownerReferences removed; the claims from the templates have no owner unless the retention policy made the
// StatefulSet one (1.27+, whenDeleted: Delete), and then lose it too and stay; a new StatefulSet with the same selector
// adopts the pods (and claims) without restarting them. The deletion goes through the kubectl of the cluster's
// version with the cascade flag form that kubectl speaks (--cascade=orphan from 1.20, --cascade=false before), or
// through the API with propagationPolicy Orphan when the context has no kubectl.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import type * as k8s from '@kubernetes/client-node';
import { scenario, MySql, notFound, podReady, podSummary, type Scenario } from '../../harness/index.js';

const REPLICAS = 2;
const run = promisify(execFile);

await scenario(
  'delete-orphan',
  async (s) => {
    const sc = await s.storageClass({}, 'Delete');
    // 1.27+: the retention policy is on by default; whenDeleted: Delete makes the StatefulSet the claims' owner, which
    // is what an orphaning delete must strip (kubernetes-semantics.md §3). Before, claims never have an owner.
    const retention = s.minor >= 27;
    const mysql = new MySql(s, { replicas: REPLICAS, storageClass: sc, podManagementPolicy: 'Parallel', ...(retention ? { retention: { whenDeleted: 'Delete', whenScaled: 'Retain' } } : {}) });
    const ordinals = Array.from({ length: REPLICAS }, (_, i) => i);
    const before = new Map<number, string[]>();
    const after = new Map<number, string[]>();
    const pods = new Map<number, { uid: string; restarts: number; node: string }>();
    let oldUid = '';

    await s.check(`the StatefulSet's pods are owned by it, and its claims ${retention ? 'too (retention whenDeleted: Delete)' : `have no owner (no retention policy on v1.${s.minor})`}`, async (t) => {
      await mysql.create();
      const sts = await s.kube.waitStatefulSetReady(s.ns, mysql.name, REPLICAS);
      oldUid = sts.metadata!.uid!;
      for (const i of ordinals) {
        const p = (await s.kube.pod(s.ns, mysql.pod(i)))!;
        pods.set(i, { uid: p.metadata!.uid!, restarts: restarts(p), node: p.spec!.nodeName! });
        const ref = p.metadata?.ownerReferences?.find((o) => o.controller);
        t.equal(ref?.uid, oldUid, `${mysql.pod(i)} has the StatefulSet as its controller`);
        t.equal(ref?.blockOwnerDeletion, true, `${mysql.pod(i)}'s controller reference blocks owner deletion`);
        before.set(i, await mysql.writeRows(mysql.pod(i), 'before_orphan', 3));
      }
      for (const i of ordinals) {
        if (retention) {
          const c = await s.kube.until(`claim ${mysql.claim(i)} owned by StatefulSet ${mysql.name}`, async () => {
            const c = await s.kube.pvc(s.ns, mysql.claim(i));
            return c?.metadata?.ownerReferences?.some((o) => o.uid === oldUid) ? c : undefined;
          }, { timeoutMs: 60_000, describe: async () => `ownerReferences ${JSON.stringify((await s.kube.pvc(s.ns, mysql.claim(i)))?.metadata?.ownerReferences ?? [])}` });
          t.ok(c, `${mysql.claim(i)} has the StatefulSet as an owner`);
        } else {
          const c = await s.kube.pvc(s.ns, mysql.claim(i));
          t.same(c?.metadata?.ownerReferences ?? [], [], `${mysql.claim(i)} has no ownerReferences`);
        }
      }
    });
    if (!oldUid || pods.size !== REPLICAS) return;

    const kubectl = s.ctx.kubectl ? await kubectlMinor(s.ctx.kubectl).catch((e: unknown) => ({ error: (e as Error).message })) : undefined;
    const how =
      kubectl && 'minor' in kubectl
        ? `kubectl v1.${kubectl.minor} delete statefulset ${mysql.name} ${kubectl.minor >= 20 ? '--cascade=orphan' : '--cascade=false'}`
        : `the API with propagationPolicy Orphan (${kubectl ? `the context's kubectl did not answer: ${kubectl.error}` : 'no kubectl in this context'})`;
    await s.check(`non-cascading delete through ${how}: the StatefulSet goes`, async (t) => {
      if (kubectl && 'minor' in kubectl) {
        // --cascade=orphan exists from kubectl 1.20 (PR #93384), which deprecated the boolean form.
        const flag = kubectl.minor >= 20 ? '--cascade=orphan' : '--cascade=false';
        const argv = ['delete', 'statefulset', mysql.name, '-n', s.ns, flag, `--timeout=${Math.round(s.kube.ms(120_000) / 1000)}s`];
        const r = await run(s.ctx.kubectl!, argv, { env: { ...process.env, KUBECONFIG: s.ctx.kubeconfig }, timeout: s.kube.ms(180_000) }).catch((e: { code?: number; stdout?: string; stderr?: string; message: string }) => {
          throw new Error(`kubectl ${argv.join(' ')} failed (exit ${e.code ?? '?'}): ${(e.stderr || e.stdout || e.message).trim().slice(-400)}`);
        });
        s.evidence(`kubectl ${argv.join(' ')}: stdout ${r.stdout.trim()} stderr ${r.stderr.trim()}`);
        t.match(r.stdout, new RegExp(`statefulset(\\.apps)? "${mysql.name}" deleted`), 'kubectl reports the deletion');
        if (kubectl.minor >= 20) t.notMatch(r.stderr, /deprecated/, `kubectl v1.${kubectl.minor} takes ${flag} without a deprecation warning`);
      } else {
        await s.kube.apps.deleteNamespacedStatefulSet({ name: mysql.name, namespace: s.ns, propagationPolicy: 'Orphan' });
      }
      await s.kube.waitGone(`StatefulSet ${s.ns}/${mysql.name} gone`, async () => ((await stsOf(s, mysql.name)) ? [mysql.name] : []), 60_000);
      t.pass(`StatefulSet ${mysql.name} (uid ${oldUid}) is gone`);
    });

    await s.check('the pods keep running, unrestarted, with their ownerReferences removed', async (t) => {
      for (const i of ordinals) {
        const p = await s.kube.pod(s.ns, mysql.pod(i));
        s.evidence(`${mysql.pod(i)}: ${p ? `${podSummary(p)}, uid ${p.metadata?.uid}, ownerReferences ${JSON.stringify(p.metadata?.ownerReferences ?? [])}` : 'absent'}`);
        t.ok(p, `${mysql.pod(i)} still exists`);
        if (!p) continue;
        t.notOk(p.metadata?.deletionTimestamp, `${mysql.pod(i)} is not being deleted`);
        t.equal(p.metadata?.uid, pods.get(i)!.uid, `${mysql.pod(i)} is the same pod (uid)`);
        t.ok(podReady(p), `${mysql.pod(i)} is Ready`);
        t.equal(restarts(p), pods.get(i)!.restarts, `${mysql.pod(i)}'s container did not restart`);
        t.same(p.metadata?.ownerReferences ?? [], [], `${mysql.pod(i)} has no ownerReferences`);
      }
    });

    await s.check('the orphaned pods are writable: rows written after the deletion read back with the earlier ones', async (t) => {
      for (const i of ordinals) {
        after.set(i, await mysql.writeRows(mysql.pod(i), 'after_orphan', 3));
        await verify(t, mysql, i, before, after);
      }
    });

    await s.check(`the claims stay Bound${retention ? ' and lose the StatefulSet as owner' : ' and still have no owner'}`, async (t) => {
      for (const i of ordinals) {
        const c = await s.kube.pvc(s.ns, mysql.claim(i));
        t.ok(c, `${mysql.claim(i)} still exists`);
        t.notOk(c?.metadata?.deletionTimestamp, `${mysql.claim(i)} is not being deleted`);
        t.equal(c?.status?.phase, 'Bound', `${mysql.claim(i)} is Bound`);
        t.same(c?.metadata?.ownerReferences ?? [], [], `${mysql.claim(i)} has no ownerReferences`);
      }
    });

    let newUid = '';
    await s.check('a new StatefulSet with the same selector adopts the pods without restarting them', async (t) => {
      const made = await s.create({ ...mysql.objects().statefulSet });
      newUid = made.metadata!.uid!;
      t.not(newUid, oldUid, 'the new StatefulSet is a new object');
      for (const i of ordinals) {
        const p = await s.kube.until(
          `${mysql.pod(i)} adopted by the new StatefulSet (uid ${newUid})`,
          async () => {
            const p = await s.kube.pod(s.ns, mysql.pod(i));
            return p?.metadata?.ownerReferences?.some((o) => o.controller && o.uid === newUid) ? p : undefined;
          },
          { timeoutMs: 60_000, describe: async () => { const p = await s.kube.pod(s.ns, mysql.pod(i)); return p ? `${podSummary(p)}, uid ${p.metadata?.uid}, ownerReferences ${JSON.stringify(p.metadata?.ownerReferences ?? [])}` : 'absent'; } },
        );
        const ref = p.metadata!.ownerReferences!.find((o) => o.controller)!;
        t.equal(ref.kind, 'StatefulSet', `${mysql.pod(i)}'s controller is a StatefulSet`);
        t.equal(ref.name, mysql.name, `${mysql.pod(i)}'s controller is ${mysql.name}`);
      }
      await s.kube.waitStatefulSetReady(s.ns, mysql.name, REPLICAS);
      const all = (await s.kube.core.listNamespacedPod({ namespace: s.ns, labelSelector: `app=${mysql.name}` })).items;
      t.same(all.map((p) => p.metadata?.name).sort(), ordinals.map((i) => mysql.pod(i)), 'no other pod was made');
      for (const i of ordinals) {
        const p = (await s.kube.pod(s.ns, mysql.pod(i)))!;
        t.equal(p.metadata?.uid, pods.get(i)!.uid, `${mysql.pod(i)} is the same pod after adoption (uid)`);
        t.notOk(p.metadata?.deletionTimestamp, `${mysql.pod(i)} is not being replaced`);
        t.equal(restarts(p), pods.get(i)!.restarts, `${mysql.pod(i)}'s container did not restart`);
        await verify(t, mysql, i, before, after);
      }
    });
    if (!newUid) return;

    await s.check(
      'the adopting StatefulSet becomes the owner of the claims (retention whenDeleted: Delete)',
      async (t) => {
        for (const i of ordinals) {
          const c = await s.kube.until(`claim ${mysql.claim(i)} owned by the new StatefulSet (uid ${newUid})`, async () => {
            const c = await s.kube.pvc(s.ns, mysql.claim(i));
            return c?.metadata?.ownerReferences?.some((o) => o.uid === newUid) ? c : undefined;
          }, { timeoutMs: 60_000, describe: async () => `ownerReferences ${JSON.stringify((await s.kube.pvc(s.ns, mysql.claim(i)))?.metadata?.ownerReferences ?? [])}` });
          t.notOk(c.metadata?.ownerReferences?.some((o) => o.uid === oldUid), `${mysql.claim(i)} does not name the deleted StatefulSet`);
        }
      },
      { skip: retention ? false : `no persistentVolumeClaimRetentionPolicy by default on v1.${s.minor} (beta, on by default from 1.27): claims never get an owner` },
    );
  },
  { needs: ['backend', 'provisioner', 'writable'] },
);

async function verify(t: Test, mysql: MySql, i: number, before: Map<number, string[]>, after: Map<number, string[]>): Promise<void> {
  for (const [table, want] of [['before_orphan', before.get(i)], ['after_orphan', after.get(i)]] as const) {
    if (!want) continue;
    const r = await mysql.verifyRows(mysql.pod(i), table, want);
    t.same(r.missing, [], `${mysql.pod(i)}: every row of ${table} is there`);
    t.same(r.corrupt, [], `${mysql.pod(i)}: every row of ${table} matches its checksum`);
  }
}

/** The client minor of a kubectl binary (`kubectl version --client -o json`). */
async function kubectlMinor(kubectl: string): Promise<{ minor: number }> {
  const r = await run(kubectl, ['version', '--client', '-o', 'json'], { timeout: 30_000 });
  const v = (JSON.parse(r.stdout) as { clientVersion?: { minor?: string } }).clientVersion;
  const minor = parseInt(v?.minor ?? '', 10);
  if (!Number.isInteger(minor)) throw new Error(`kubectl version --client printed no minor: ${r.stdout.slice(0, 200)}`);
  return { minor };
}

function restarts(p: k8s.V1Pod): number {
  return (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
}

function stsOf(s: Scenario, name: string): Promise<k8s.V1StatefulSet | undefined> {
  return s.kube.apps.readNamespacedStatefulSet({ name, namespace: s.ns }).catch(notFound);
}
