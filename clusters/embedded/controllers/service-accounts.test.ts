import t from 'tap';
import { waitFor } from '../../../lib/wait.js';
import { clusterProfile } from '../profiles.js';
import { resourcesFor } from '../apiserver/resources.js';
import { Store } from '../apiserver/store.js';
import { createAdmission } from '../apiserver/admission.js';
import { EventRecorder, type ControllerContext } from './framework.js';
import { ServiceAccountsController } from './service-accounts.js';

t.test('default service account per namespace, recreated, and admission enforced while running', async (t) => {
  const profile = clusterProfile('v1.27');
  const admission = createAdmission(profile);
  const store = new Store({ types: resourcesFor(profile), admission });
  store.create('core/namespaces', { metadata: { name: 'default' } });
  const ctx: ControllerContext = { store, profile, events: new EventRecorder(store), log: () => undefined };
  const c = new ServiceAccountsController();
  c.start(ctx);
  t.teardown(() => c.stop());
  t.ok(admission.enforceServiceAccounts);
  await waitFor('default sa', async () => store.get('core/serviceaccounts', 'default', 'default'));
  store.create('core/namespaces', { metadata: { name: 'team' } });
  await waitFor('team sa', async () => store.get('core/serviceaccounts', 'team', 'default'));
  store.delete('core/serviceaccounts', 'team', 'default');
  await waitFor('recreated', async () => store.get('core/serviceaccounts', 'team', 'default'));
  store.create('core/serviceaccounts', { metadata: { name: 'other', namespace: 'team' } });
  t.throws(() => store.create('core/pods', { metadata: { name: 'p', namespace: 'team' }, spec: { serviceAccountName: 'missing', containers: [{ name: 'c', image: 'x' }] } }), { code: 403 });
  t.ok(store.create('core/pods', { metadata: { name: 'p', namespace: 'team' }, spec: { containers: [{ name: 'c', image: 'x' }] } }).object);
  // Terminating namespaces get none.
  store.create('core/namespaces', { metadata: { name: 'dying', finalizers: ['x/y'] } });
  store.delete('core/namespaces', undefined, 'dying');
  await c.idle();
  t.equal(store.get('core/serviceaccounts', 'dying', 'default'), undefined);
  c.stop();
  t.notOk(admission.enforceServiceAccounts, 'switched off again');
});
