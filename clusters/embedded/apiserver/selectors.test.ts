import t from 'tap';
import { ApiError } from './status.js';
import { fieldValue, matchFields, matchRequirements, parseFieldSelector, parseLabelSelector, requirementsOf, selectorMatches, selectorString, type Requirement } from './selectors.js';

function errOf(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected an ApiError');
}

t.test('parseLabelSelector: equality-based', async (t) => {
  for (const empty of [undefined, null, '', '   ']) t.same(parseLabelSelector(empty), [], `${JSON.stringify(empty)} selects everything`);
  t.same(parseLabelSelector('app=mysql'), [{ key: 'app', op: '=', value: 'mysql' }]);
  t.same(parseLabelSelector('app==mysql'), [{ key: 'app', op: '=', value: 'mysql' }], '== is =');
  t.same(parseLabelSelector('app != mysql'), [{ key: 'app', op: '!=', value: 'mysql' }], 'spaces around the operator');
  t.same(parseLabelSelector('app='), [{ key: 'app', op: '=', value: '' }], 'empty value');
  t.same(parseLabelSelector('app.kubernetes.io/name=web,tier=db'), [
    { key: 'app.kubernetes.io/name', op: '=', value: 'web' },
    { key: 'tier', op: '=', value: 'db' },
  ]);
  t.same(parseLabelSelector(' a=1 , b=2 ,'), [
    { key: 'a', op: '=', value: '1' },
    { key: 'b', op: '=', value: '2' },
  ], 'whitespace and a trailing comma');
});

t.test('parseLabelSelector: set-based', async (t) => {
  t.same(parseLabelSelector('env in (prod, qa),tier notin (fe),partition,!canary'), [
    { key: 'env', op: 'in', values: ['prod', 'qa'] },
    { key: 'tier', op: 'notin', values: ['fe'] },
    { key: 'partition', op: 'exists' },
    { key: 'canary', op: '!' },
  ]);
  t.same(parseLabelSelector('! canary'), [{ key: 'canary', op: '!' }]);
  t.same(parseLabelSelector('example.com/k in (a,b,c)'), [{ key: 'example.com/k', op: 'in', values: ['a', 'b', 'c'] }], 'commas inside parentheses do not split terms');
});

t.test('parseLabelSelector: errors are 400 BadRequest', async (t) => {
  for (const bad of ['-app=x', 'app=x y', 'a!b', '!-x', 'Bad Key', 'in (x)', 'a/b/c=1', 'k in (x', '!a=b']) {
    const e = errOf(() => parseLabelSelector(bad));
    t.equal(e.code, 400, bad);
    t.equal(e.reason, 'BadRequest');
    t.match(e.message, /^unable to parse requirement: invalid label key ".*" in selector ".*"$/);
  }
  t.match(errOf(() => parseLabelSelector('ok=1,-bad in (x)')).message, 'invalid label key "-bad" in selector "ok=1,-bad in (x)"');
  t.match(errOf(() => parseLabelSelector('-bad=1')).message, 'invalid label key "-bad"');
  t.match(errOf(() => parseLabelSelector('!_x')).message, 'invalid label key "_x"');
});

t.test('matchRequirements', async (t) => {
  const l = { app: 'web', tier: 'db', empty: '' };
  const m = (s: string) => matchRequirements(parseLabelSelector(s), l);
  t.ok(m(''), 'no requirements match everything');
  t.ok(m('app=web'));
  t.notOk(m('app=api'));
  t.notOk(m('missing=x'));
  t.ok(m('empty='), 'empty value equals an empty label');
  t.notOk(m('missing='), 'but not a missing one');
  t.ok(m('app!=api'));
  t.notOk(m('app!=web'));
  t.ok(m('missing!=x'), '!= matches objects without the label');
  t.ok(m('app in (api,web)'));
  t.notOk(m('app in (api)'));
  t.notOk(m('missing in (x)'));
  t.ok(m('app notin (api)'));
  t.notOk(m('app notin (web)'));
  t.ok(m('missing notin (x)'), 'notin matches objects without the label');
  t.ok(m('tier'));
  t.notOk(m('missing'));
  t.ok(m('!missing'));
  t.notOk(m('!tier'));
  t.ok(m('app=web,tier in (db),!canary'), 'all requirements must hold');
  t.notOk(m('app=web,tier in (fe)'));
  t.notOk(matchRequirements(parseLabelSelector('app'), undefined), 'no labels at all');
  t.ok(matchRequirements(parseLabelSelector('!app,x!=y,x notin (z)'), undefined));
  t.notOk(matchRequirements([{ key: 'toString', op: 'exists' }], {}), 'only own labels count');
});

t.test('requirementsOf, selectorMatches and selectorString', async (t) => {
  const sel = {
    matchLabels: { app: 'mysql' },
    matchExpressions: [
      { key: 'tier', operator: 'In', values: ['db', 'cache'] },
      { key: 'env', operator: 'NotIn', values: ['dev'] },
      { key: 'zone', operator: 'Exists' },
      { key: 'canary', operator: 'DoesNotExist' },
    ],
  };
  t.same(requirementsOf(sel), [
    { key: 'app', op: '=', value: 'mysql' },
    { key: 'tier', op: 'in', values: ['db', 'cache'] },
    { key: 'env', op: 'notin', values: ['dev'] },
    { key: 'zone', op: 'exists' },
    { key: 'canary', op: '!' },
  ] satisfies Requirement[]);
  t.same(requirementsOf({ matchExpressions: [{ key: 'k', operator: 'In' }] }), [{ key: 'k', op: 'in', values: [] }], 'missing values are an empty set');
  t.same(requirementsOf({ matchExpressions: [{ key: 'k', operator: 'NotIn' }] }), [{ key: 'k', op: 'notin', values: [] }]);
  t.same(requirementsOf({}), []);
  const e = errOf(() => requirementsOf({ matchExpressions: [{ key: 'k', operator: 'Gt', values: ['1'] }] }));
  t.match(e, { code: 400, message: '"Gt" is not a valid label selector operator' });

  t.ok(selectorMatches(sel, { app: 'mysql', tier: 'db', zone: 'a' }));
  t.notOk(selectorMatches(sel, { app: 'mysql', tier: 'db', zone: 'a', canary: 'y' }));
  t.notOk(selectorMatches(sel, { app: 'mysql', tier: 'db', zone: 'a', env: 'dev' }));
  t.ok(selectorMatches({}, undefined), 'an empty selector matches everything');
  t.notOk(selectorMatches(null, { app: 'mysql' }), 'a null selector matches nothing');
  t.notOk(selectorMatches(undefined, {}));

  // labels.Selector.String(): requirements sorted by key, set values sorted.
  t.equal(selectorString(sel), 'app=mysql,!canary,env notin (dev),tier in (cache,db),zone');
  t.equal(selectorString({ matchLabels: { z: '1', a: '2' } }), 'a=2,z=1');
  t.equal(selectorString({}), '');
  t.same(sel.matchExpressions[0]!.values, ['db', 'cache'], 'sorting does not touch the selector');
  // The printed form parses back to the same meaning.
  const round = parseLabelSelector(selectorString(sel));
  t.ok(matchRequirements(round, { app: 'mysql', tier: 'cache', zone: 'b' }));
  t.notOk(matchRequirements(round, { app: 'mysql', tier: 'cache' }));
});

t.test('parseFieldSelector', async (t) => {
  for (const empty of [undefined, null, '', ' ']) t.same(parseFieldSelector(empty), []);
  t.same(parseFieldSelector('metadata.name=web-0,status.phase!=Running'), [
    { field: 'metadata.name', op: '=', value: 'web-0' },
    { field: 'status.phase', op: '!=', value: 'Running' },
  ]);
  t.same(parseFieldSelector('spec.nodeName=='), [{ field: 'spec.nodeName', op: '=', value: '' }], '== and an empty value');
  t.same(parseFieldSelector('involvedObject.name = a b'), [{ field: 'involvedObject.name', op: '=', value: 'a b' }]);
  const e = errOf(() => parseFieldSelector('metadata.name=a,bogus'));
  t.equal(e.code, 400);
  t.equal(e.reason, 'BadRequest');
  t.equal(e.message, "invalid selector: 'metadata.name=a,bogus'; can't understand 'bogus'");
});

t.test('fieldValue and matchFields', async (t) => {
  const pod = { metadata: { name: 'p', namespace: 'ns' }, spec: { nodeName: 'n1', restartPolicy: 'Always' }, status: { phase: 'Running', podIP: '10.0.0.5' } };
  t.equal(fieldValue('Pod', pod, 'metadata.name'), 'p');
  t.equal(fieldValue('Pod', pod, 'metadata.namespace'), 'ns');
  t.equal(fieldValue('Pod', pod, 'spec.nodeName'), 'n1');
  t.equal(fieldValue('Pod', pod, 'status.podIP'), '10.0.0.5');
  t.equal(fieldValue('Pod', pod, 'status.nominatedNodeName'), '', 'unset fields are the empty string');
  t.equal(fieldValue('Pod', { metadata: {} }, 'spec.schedulerName'), '');
  t.equal(fieldValue('ConfigMap', { metadata: { name: 'c' } }, 'metadata.name'), 'c', 'metadata fields for every kind');
  t.equal(fieldValue('Event', { metadata: {}, source: { component: 'kubelet', host: 'n1' } }, 'source'), 'kubelet', 'Event source is source.component');
  t.equal(fieldValue('Event', { metadata: {}, involvedObject: { kind: 'Pod', name: 'p' } }, 'involvedObject.kind'), 'Pod');
  t.equal(fieldValue('Secret', { metadata: {}, type: 'kubernetes.io/service-account-token' }, 'type'), 'kubernetes.io/service-account-token');
  t.equal(fieldValue('Namespace', { metadata: {}, status: { phase: 'Terminating' } }, 'status.phase'), 'Terminating');
  t.equal(fieldValue('PersistentVolume', { metadata: {}, spec: { storageClassName: 'fast' } }, 'spec.storageClassName'), 'fast');
  // Go zero values: an unset bool is "false", an unset int "0".
  t.equal(fieldValue('Node', { metadata: {} }, 'spec.unschedulable'), 'false');
  t.equal(fieldValue('Node', { metadata: {}, spec: { unschedulable: true } }, 'spec.unschedulable'), 'true');
  t.equal(fieldValue('StatefulSet', { metadata: {} }, 'status.replicas'), '0');
  t.equal(fieldValue('StatefulSet', { metadata: {}, status: { replicas: 3 } }, 'status.replicas'), '3');
  t.equal(fieldValue('Pod', { metadata: {}, spec: 'not an object' }, 'spec.nodeName'), '', 'a non-object on the path');

  const e = errOf(() => fieldValue('Pod', pod, 'spec.hostname'));
  t.match(e, { code: 400, reason: 'BadRequest', message: /"spec\.hostname" is not a known field selector/ });
  t.equal(errOf(() => fieldValue('ConfigMap', { metadata: {} }, 'data.k')).code, 400, 'kinds without extra fields');

  t.ok(matchFields('Pod', parseFieldSelector('spec.nodeName=n1,status.phase!=Pending'), pod));
  t.notOk(matchFields('Pod', parseFieldSelector('spec.nodeName=n2'), pod));
  t.notOk(matchFields('Pod', parseFieldSelector('status.phase!=Running'), pod));
  t.ok(matchFields('Pod', parseFieldSelector('spec.nodeName='), { metadata: {} }), 'unscheduled pods have spec.nodeName=""');
  t.ok(matchFields('Node', parseFieldSelector('spec.unschedulable=false'), { metadata: {}, spec: {} }), 'schedulable nodes without the field');
  t.ok(matchFields('Pod', [], pod));
});
