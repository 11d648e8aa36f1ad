import type { KubeObject } from '@shoal/core'
import { MANAGED_BY, MANAGER, reconcileEndpoints, serviceKeysForPod } from '@shoal/core/controllers/endpoints.ts'
import { objectKey } from '@shoal/core/controllers/common.ts'
import { keyParts, listOf, storeController, writeAll, type ControllerDeps, type StoreController } from './keyed.ts'

/**
 * Services' Endpoints, as Kubernetes' endpoints controller keeps them: keyed
 * by Service (`namespace/name`). A Service's change enqueues it; a pod's
 * change enqueues only the Services of its namespace that select it or list
 * it; a deleted Endpoints enqueues its Service, to be made again. A key's
 * reconcile is the pure reconcileEndpoints over that one Service, its
 * namespace's pods and its Endpoints. An update refused as stale
 * (Conflict) is retried with backoff.
 */

export function createEndpointsController (c: ControllerDeps): StoreController {
  const list = (resource: string, namespace?: string): readonly KubeObject[] => listOf(c.store(), resource, namespace)

  const reconcile = async (key: string): Promise<undefined> => {
    const [namespace, name] = keyParts(key)
    const store = c.store()
    const svc = store.get('services', namespace, name)
    const endpoints = store.get('endpoints', namespace, name)
    const commands = reconcileEndpoints({
      services: svc !== undefined ? [svc] : [],
      pods: svc !== undefined ? list('pods', namespace) : [],
      endpoints: endpoints !== undefined ? [endpoints] : [],
      now: c.now()
    })
    await writeAll(c.write, commands, key)
    return undefined
  }

  return storeController(c, {
    name: 'endpoint',
    reconcile,
    // Every Service, and the Endpoints this controller keeps (those of a Service gone while no agent led).
    keys: () => [...new Set([...list('services').map(objectKey), ...list('endpoints').filter(e => e.metadata.labels?.[MANAGED_BY] === MANAGER).map(objectKey)])],
    handlers: {
      services: (_type, svc) => [objectKey(svc)],
      endpoints: (type, e) => type === 'DELETED' ? [objectKey(e)] : [],
      pods: (_type, pod) => {
        const ns = pod.metadata.namespace ?? ''
        return serviceKeysForPod(pod, list('services', ns), list('endpoints', ns))
      }
    }
  })
}
