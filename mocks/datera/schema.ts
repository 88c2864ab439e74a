/**
 * GET /v2.x/api: a schema document in the shape Datera's Python SDK loads at login (a dict keyed by endpoint path,
 * each with the operations it supports). The SDK needs the metrics endpoints' `metric` enum, and Cinder looks for
 * `template_override` under /app_instances create.
 */
const PARAM_NAMES: Record<string, string> = {
  ai: 'app_instance_id',
  si: 'storage_instance_id',
  vol: 'volume_id',
  ts: 'snapshot_id',
  id: 'initiator_id',
  name: 'name',
};

const OP_NAMES: Record<string, string> = { GET: 'read', POST: 'create', PUT: 'update', DELETE: 'delete' };

export function apiSchema(routes: { method: string; pattern: string[] }[]) {
  const doc: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = '/' + r.pattern.map((s) => (s.startsWith(':') ? `:${PARAM_NAMES[s.slice(1)] ?? s.slice(1)}` : s)).join('/');
    const entry = (doc[path] ??= { path });
    const isList = !r.pattern[r.pattern.length - 1]!.startsWith(':');
    const op = r.method === 'GET' && isList ? 'list' : OP_NAMES[r.method]!;
    entry[op] = { description: `${r.method} ${path}`, urlParamSchema: {}, bodyParamSchema: {} };
  }
  const create = doc['/app_instances']?.create as { bodyParamSchema: Record<string, unknown> } | undefined;
  if (create)
    create.bodyParamSchema = {
      name: { type: 'string' },
      storage_instances: { type: 'array' },
      app_template: { type: 'object' },
      template_override: { type: 'object' },
      clone_snapshot_src: { type: 'object' },
      clone_volume_src: { type: 'object' },
    };
  const metrics = ['reads', 'writes', 'bytes_read', 'bytes_written', 'iops_read', 'iops_write', 'thpt_read', 'thpt_write', 'lat_avg_read', 'lat_avg_write'];
  for (const kind of ['io', 'hw'])
    doc[`/metrics/${kind}/:metric`] = {
      path: `/metrics/${kind}/:metric`,
      read: { description: `metrics (${kind}); the mock returns no samples`, urlParamSchema: { metric: { type: 'string', enum: metrics } }, bodyParamSchema: {} },
    };
  return doc;
}
