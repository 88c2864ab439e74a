import t from 'tap';
import { alreadyExists, ApiError, badRequest, conflict, forbidden, gone, invalid, methodNotAllowed, notFound, qualified } from './status.js';

// The metav1.Status a real kube-apiserver sends, field for field and in its JSON order.
const status = (code: number, reason: string, message: string, details?: object) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  ...(details ? { details } : {}),
  code,
});

t.test('ApiError', async (t) => {
  const e = new ApiError(418, 'Teapot', 'short and stout', { name: 'pot' });
  t.ok(e instanceof Error);
  t.equal(e.name, 'ApiError');
  t.equal(e.message, 'short and stout');
  t.equal(e.code, 418);
  t.equal(e.reason, 'Teapot');
  t.same(e.toStatus(), status(418, 'Teapot', 'short and stout', { name: 'pot' }));
  t.same(Object.keys(e.toStatus()), ['kind', 'apiVersion', 'metadata', 'status', 'message', 'reason', 'details', 'code'], 'key order of the Go struct');
  t.notOk('details' in new ApiError(500, 'InternalError', 'x').toStatus(), 'no details key without details');
});

t.test('qualified resource names', async (t) => {
  t.equal(qualified('', 'pods'), 'pods');
  t.equal(qualified('apps', 'statefulsets'), 'statefulsets.apps');
  t.equal(qualified('storage.k8s.io', 'storageclasses'), 'storageclasses.storage.k8s.io');
});

t.test('NotFound and AlreadyExists', async (t) => {
  t.same(notFound('', 'pods', 'web-0').toStatus(), status(404, 'NotFound', 'pods "web-0" not found', { name: 'web-0', kind: 'pods' }));
  t.same(notFound('apps', 'statefulsets', 'web').toStatus(), status(404, 'NotFound', 'statefulsets.apps "web" not found', { name: 'web', group: 'apps', kind: 'statefulsets' }));
  t.same(alreadyExists('', 'persistentvolumes', 'pv1').toStatus(), status(409, 'AlreadyExists', 'persistentvolumes "pv1" already exists', { name: 'pv1', kind: 'persistentvolumes' }));
  t.same(
    alreadyExists('storage.k8s.io', 'storageclasses', 'fast').toStatus(),
    status(409, 'AlreadyExists', 'storageclasses.storage.k8s.io "fast" already exists', { name: 'fast', group: 'storage.k8s.io', kind: 'storageclasses' }),
  );
});

t.test('Conflict', async (t) => {
  const why = 'the object has been modified; please apply your changes to the latest version and try again';
  t.same(conflict('', 'configmaps', 'c', why).toStatus(), status(409, 'Conflict', `Operation cannot be fulfilled on configmaps "c": ${why}`, { name: 'c', kind: 'configmaps' }));
  t.match(conflict('apps', 'statefulsets', 's', why).toStatus(), { message: /^Operation cannot be fulfilled on statefulsets\.apps "s": /, details: { group: 'apps' } });
});

t.test('reasons without details', async (t) => {
  t.same(badRequest('invalid resource version "x"').toStatus(), status(400, 'BadRequest', 'invalid resource version "x"'));
  t.same(methodNotAllowed('the server does not allow this method on the requested resource').toStatus(), status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
  // Watching from a compacted resourceVersion is 410 with reason Expired (NewResourceExpired), which clients relist on.
  t.same(gone('too old resource version: 5 (10)').toStatus(), status(410, 'Expired', 'too old resource version: 5 (10)'));
});

t.test('Forbidden', async (t) => {
  t.same(
    forbidden('', 'pods', 'p', 'error looking up service account default/sa: serviceaccount "sa" not found').toStatus(),
    status(403, 'Forbidden', 'pods "p" is forbidden: error looking up service account default/sa: serviceaccount "sa" not found', { name: 'p', kind: 'pods' }),
  );
  t.same(forbidden('apps', 'statefulsets', 's', 'no').toStatus().details, { name: 's', group: 'apps', kind: 'statefulsets' });
  // apierrors.NewForbidden without a name, and without a resource.
  t.equal(forbidden('', 'persistentvolumeclaims', '', 'Internal error occurred: 2 default StorageClasses were found').message, 'persistentvolumeclaims is forbidden: Internal error occurred: 2 default StorageClasses were found');
  t.equal(forbidden('', '', '', 'nope').message, 'forbidden: nope');
});

t.test('Invalid', async (t) => {
  const one = invalid('', 'PersistentVolumeClaim', 'c', [{ field: 'spec.resources.requests[storage]', type: 'Required value', detail: '' }]);
  t.same(
    one.toStatus(),
    status(422, 'Invalid', 'PersistentVolumeClaim "c" is invalid: spec.resources.requests[storage]: Required value', {
      name: 'c',
      kind: 'PersistentVolumeClaim',
      causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.resources.requests[storage]' }],
    }),
  );

  // Several causes: a bracketed list; values shown as Go's %v of the JSON value, not for Forbidden/Required.
  const many = invalid('apps', 'StatefulSet', 'web', [
    { field: 'spec.replicas', type: 'Invalid value', value: -1, detail: 'must be greater than or equal to 0' },
    { field: 'spec.podManagementPolicy', type: 'Unsupported value', value: 'Random', detail: 'supported values: "OrderedReady", "Parallel"' },
    { field: 'spec', type: 'Forbidden', value: 'ignored', detail: 'updates to statefulset spec for fields other than ... are forbidden' },
  ]);
  t.equal(many.code, 422);
  t.equal(
    many.message,
    'StatefulSet.apps "web" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, spec.podManagementPolicy: Unsupported value: "Random": supported values: "OrderedReady", "Parallel", spec: Forbidden: updates to statefulset spec for fields other than ... are forbidden]',
  );
  t.same(many.details, {
    name: 'web',
    group: 'apps',
    kind: 'StatefulSet',
    causes: [
      { reason: 'FieldValueInvalid', message: 'Invalid value: -1: must be greater than or equal to 0', field: 'spec.replicas' },
      { reason: 'FieldValueNotSupported', message: 'Unsupported value: "Random": supported values: "OrderedReady", "Parallel"', field: 'spec.podManagementPolicy' },
      { reason: 'FieldValueForbidden', message: 'Forbidden: updates to statefulset spec for fields other than ... are forbidden', field: 'spec' },
    ],
  });

  // Every field.ErrorType maps to its CauseType.
  const types: [string, string][] = [
    ['Not found', 'FieldValueNotFound'],
    ['Required value', 'FieldValueRequired'],
    ['Duplicate value', 'FieldValueDuplicate'],
    ['Invalid value', 'FieldValueInvalid'],
    ['Unsupported value', 'FieldValueNotSupported'],
    ['Forbidden', 'FieldValueForbidden'],
    ['Too long', 'FieldValueTooLong'],
    ['Too many', 'FieldValueTooMany'],
    ['Internal error', 'InternalError'],
  ];
  for (const [type, reason] of types) t.equal(invalid('', 'Pod', 'p', [{ field: 'f', type, detail: 'd' }]).details?.causes?.[0]?.reason, reason, type);
  t.equal(invalid('', 'Pod', 'p', [{ field: 'f', type: 'Something else', detail: '' }]).details?.causes?.[0]?.reason, 'FieldSomethingelse', 'unknown types keep a Field prefix');
  t.equal(invalid('', 'Pod', 'p', [{ field: 'metadata.name', type: 'Invalid value', value: 'A_b', detail: '' }]).message, 'Pod "p" is invalid: metadata.name: Invalid value: "A_b"');
  t.equal(invalid('', 'Pod', 'p', [{ field: 'f', type: 'Too long', value: 'x'.repeat(3), detail: 'may not be more than 2 bytes' }]).message, 'Pod "p" is invalid: f: Too long: may not be more than 2 bytes');
  t.equal(invalid('', 'Pod', '', []).message, 'Pod "" is invalid: []', 'an empty list prints as []');
});
