/**
 * The embedded kube-controller-manager (plus the scheduler): which controllers run, in what order, and the objects
 * a fresh cluster has before anyone asks (system namespaces, default service accounts, the root CA ConfigMap).
 */
import type { ClusterProfile } from '../profiles.js';
import type { Store } from '../apiserver/store.js';
import type { EmbeddedAdmission } from '../apiserver/admission.js';
import type { Controller, ControllerContext } from './framework.js';
import { bootstrap, NamespaceController } from './namespace.js';
import { ServiceAccountsController } from './service-accounts.js';
import { GarbageCollector } from './garbage-collector.js';
import { PVCProtectionController, PVProtectionController } from './protection.js';
import { PersistentVolumeController } from './persistentvolume.js';
import { StatefulSetController } from './statefulset.js';
import { Scheduler } from './scheduler.js';
import { EndpointsController } from './endpoints.js';

let caForBootstrap: string | undefined;

export function bootstrapCluster(store: Store, profile: ClusterProfile, caPem?: string): void {
  caForBootstrap = caPem;
  bootstrap(store, profile);
}

export interface RunningControllers {
  controllers: Controller[];
  stop(): void;
}

export function startControllers(ctx: ControllerContext, admission?: EmbeddedAdmission): RunningControllers {
  const controllers: Controller[] = [
    new NamespaceController({ ...(caForBootstrap ? { caPem: caForBootstrap } : {}) }),
    new ServiceAccountsController(),
    new GarbageCollector(),
    new PersistentVolumeController(),
    new StatefulSetController(),
    new Scheduler(),
    new EndpointsController(),
  ];
  if (ctx.profile.pvcProtection) controllers.push(new PVCProtectionController());
  if (ctx.profile.pvProtection) controllers.push(new PVProtectionController());
  for (const c of controllers) c.start(ctx);
  if (admission) admission.enforceServiceAccounts = true;
  return {
    controllers,
    stop: () => {
      for (const c of controllers.reverse()) c.stop();
    },
  };
}
