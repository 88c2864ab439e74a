// The Deployment manifest deploys what the guide describes and grants every call kube-api.ts makes.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

const docs = parseAllDocuments(readFileSync(new URL('./deploy/provisioner.yaml', import.meta.url), 'utf8')).map((d) => {
  t.same(d.errors, [], 'valid YAML');
  return d.toJS() as { kind: string; metadata: { name: string; namespace?: string }; [k: string]: any };
});
const byKind = (kind: string) => docs.find((d) => d.kind === kind)!;

t.test('Deployment: namespace datera, one replica, the guide\'s service account, the process entry', async (t) => {
  const dep = byKind('Deployment');
  t.match(dep.metadata, { name: 'datera-provisioner-agent', namespace: 'datera' });
  t.equal(dep.spec.replicas, 1);
  const pod = dep.spec.template.spec;
  t.equal(pod.serviceAccountName, 'datera-k8s-external-provisioner');
  t.same(pod.containers[0].command, ['node', 'dist/drivers/provisioner/main.js']);
  t.match(byKind('ServiceAccount').metadata, { name: 'datera-k8s-external-provisioner', namespace: 'datera' });
  const binding = byKind('ClusterRoleBinding');
  t.same(binding.subjects, [{ kind: 'ServiceAccount', name: 'datera-k8s-external-provisioner', namespace: 'datera' }]);
  t.equal(binding.roleRef.name, byKind('ClusterRole').metadata.name);
});

t.test('ClusterRole grants what the provisioner calls', async (t) => {
  const rules = byKind('ClusterRole').rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  const can = (group: string, resource: string, verb: string) => rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
  const needed: [string, string, string][] = [
    ['', 'persistentvolumeclaims', 'list'],
    ['', 'persistentvolumeclaims', 'watch'],
    ['', 'persistentvolumes', 'list'],
    ['', 'persistentvolumes', 'watch'],
    ['', 'persistentvolumes', 'get'],
    ['', 'persistentvolumes', 'create'],
    ['', 'persistentvolumes', 'delete'],
    ['storage.k8s.io', 'storageclasses', 'get'],
    ['', 'secrets', 'get'],
    ['', 'events', 'create'],
  ];
  for (const [g, r, v] of needed) t.ok(can(g, r, v), `${v} ${g || 'core'}/${r}`);
  t.notOk(can('', 'secrets', 'list'), 'secrets: get only, never list');
});
