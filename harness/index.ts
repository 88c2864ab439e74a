/**
 * The table of contents of what suites see. A scenario imports `tap`, `@kubernetes/client-node` and this file,
 * nothing else from the repository, so one scenario runs unchanged on every provider.
 */
export { scenario, Scenario, loadContext, suitesRoot, type Need, type ScenarioOptions, type CheckOptions } from './fixture/scenario.js';
export { Kube, podReady, podSummary, notFound, type KObj, type ExecResult } from './fixture/kube.js';
export { NodeInspector, type NodeSession, type NodeMount } from './fixture/nodes.js';
export { BackendInspector, type BackendVolume, type BackendTemplate, type TargetSession } from './fixture/backend.js';
export { MySql, checksum, MYSQL_CONTAINER, type MySqlOptions } from './fixture/mysql.js';
export { CONTEXT_SCHEMA, readContext, writeContext, contextFor, type SuiteContext, type ResultLine, type NodeAccess, type BackendAccess } from './fixture/context.js';
