/**
 * `KubeApi` over @kubernetes/client-node 1.x (object-parameter calls; responses are the objects themselves).
 * Not-found reads answer undefined, a PV that already exists answers 'exists', other API errors become a
 * KubeApiError carrying the HTTP code and the API server's message.
 */
import { hostname } from 'node:os';
import * as k8s from '@kubernetes/client-node';
import type { EventSpec, KubeApi } from './provisioner.js';
import { PROVISIONER_NAME } from './provisioner.js';

export class KubeApiError extends Error {
  constructor(
    readonly what: string,
    readonly code: number | undefined,
    options: { cause: unknown },
  ) {
    const body = (options.cause as { body?: unknown }).body;
    let detail = '';
    try {
      const parsed = typeof body === 'string' ? (JSON.parse(body) as { message?: string }) : (body as { message?: string } | undefined);
      detail = parsed?.message ?? '';
    } catch {
      detail = String(body).slice(0, 200);
    }
    super(`${what}: Kubernetes API answered ${code ?? 'no status'}${detail ? `: ${detail}` : ''}`, options);
    this.name = 'KubeApiError';
  }
}

const codeOf = (err: unknown): number | undefined => (err instanceof k8s.ApiException ? err.code : undefined);

async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new KubeApiError(what, codeOf(err), { cause: err });
  }
}

async function orUndefined<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (codeOf(err) === 404) return undefined;
    throw new KubeApiError(what, codeOf(err), { cause: err });
  }
}

export class ClientNodeKubeApi implements KubeApi {
  private readonly core: k8s.CoreV1Api;
  private readonly storage: k8s.StorageV1Api;
  private readonly component = PROVISIONER_NAME;
  private readonly host = hostname();

  constructor(private readonly kc: k8s.KubeConfig) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.storage = kc.makeApiClient(k8s.StorageV1Api);
  }

  async listPvcs(): Promise<k8s.V1PersistentVolumeClaim[]> {
    return (await call('listing PVCs', () => this.core.listPersistentVolumeClaimForAllNamespaces())).items;
  }

  async listPvs(): Promise<k8s.V1PersistentVolume[]> {
    return (await call('listing PVs', () => this.core.listPersistentVolume())).items;
  }

  getStorageClass(name: string): Promise<k8s.V1StorageClass | undefined> {
    return orUndefined(`reading StorageClass ${name}`, () => this.storage.readStorageClass({ name }));
  }

  getSecret(namespace: string, name: string): Promise<k8s.V1Secret | undefined> {
    return orUndefined(`reading secret ${namespace}/${name}`, () => this.core.readNamespacedSecret({ namespace, name }));
  }

  getPv(name: string): Promise<k8s.V1PersistentVolume | undefined> {
    return orUndefined(`reading PV ${name}`, () => this.core.readPersistentVolume({ name }));
  }

  async createPv(pv: k8s.V1PersistentVolume): Promise<'created' | 'exists'> {
    try {
      await this.core.createPersistentVolume({ body: pv });
      return 'created';
    } catch (err) {
      if (codeOf(err) === 409) return 'exists';
      throw new KubeApiError(`creating PV ${pv.metadata?.name}`, codeOf(err), { cause: err });
    }
  }

  async deletePv(name: string): Promise<void> {
    try {
      await this.core.deletePersistentVolume({ name });
    } catch (err) {
      if (codeOf(err) !== 404) throw new KubeApiError(`deleting PV ${name}`, codeOf(err), { cause: err });
    }
  }

  async createEvent(ev: EventSpec): Promise<void> {
    // Events about cluster-scoped objects (PVs) live in `default`, as the PV controller's do.
    const namespace = ev.involvedObject.namespace ?? 'default';
    const now = new Date();
    await call(`recording event ${ev.reason} on ${ev.involvedObject.name}`, () =>
      this.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${ev.involvedObject.name}.`, namespace },
          involvedObject: ev.involvedObject,
          type: ev.type,
          reason: ev.reason,
          message: ev.message,
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: this.component },
          reportingComponent: this.component,
          reportingInstance: `${this.component}_${this.host}`.slice(0, 128),
        },
      }),
    );
  }

  async watch(kind: 'pvc' | 'pv', onChange: () => void, onEnd: (err?: unknown) => void): Promise<() => void> {
    const path = kind === 'pvc' ? '/api/v1/persistentvolumeclaims' : '/api/v1/persistentvolumes';
    let ended = false;
    const end = (err?: unknown) => {
      if (ended) return;
      ended = true;
      onEnd(err);
    };
    const ctrl = await new k8s.Watch(this.kc).watch(path, { allowWatchBookmarks: true }, (type) => type !== 'BOOKMARK' && onChange(), end);
    return () => {
      ended = true;
      ctrl.abort();
    };
  }
}
