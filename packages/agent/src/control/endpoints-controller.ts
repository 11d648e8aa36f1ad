import { randomUUID } from 'node:crypto'
import type { KubeObject, ObjectCommand, ObjectStore, Result } from '@shoal/core'
import { endpointsKey, MANAGED_BY, MANAGER, reconcileEndpoints, serviceKeysForPod } from '@shoal/core/controllers/endpoints.ts'
import type { Logger } from '../log.ts'
import { keyParts, listOf, storeController, type KeyedControllerInit, type StoreController } from './keyed.ts'

/**
 * Services' Endpoints, as Kubernetes' endpoints controller keeps them: keyed
 * by Service (`namespace/name`). A Service's change enqueues it; a pod's
 * change enqueues only the Services of its namespace that select it or list
 * it; a deleted Endpoints enqueues its Service, to be made again. A key's
 * reconcile is the pure reconcileEndpoints over that one Service, its
 * namespace's pods and its Endpoints. An update refused as stale
 * (Conflict) is retried with backoff.
 */

export interface EndpointsControllerInit {
  /** The local replica: the shared cache the controller reads and watches (replaced when a snapshot is installed). */
  readonly store: () => ObjectStore
  readonly write: (cmd: ObjectCommand) => Promise<Result>
  readonly active: () => boolean
  readonly now: () => string
  readonly log: Logger
  readonly queue?: KeyedControllerInit['queue']
}

export function createEndpointsController (c: EndpointsControllerInit): StoreController {
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
    for (const cmd of commands) {
      // The pure controller leaves a new object's uid to the writer, as every controller's writes do (control-plane.ts).
      const r = await c.write(cmd.op === 'create' && cmd.uid === '' ? { ...cmd, uid: randomUUID() } : cmd)
      // NotFound: what was to be updated or deleted went meanwhile, and its own event brings the key back.
      if (!r.ok && r.reason !== 'NotFound') throw new Error(`${cmd.op} endpoints ${key}: ${r.reason}: ${r.message}`)
    }
    return undefined
  }

  return storeController({
    name: 'endpoint',
    store: c.store,
    reconcile,
    // Every Service, and the Endpoints this controller keeps (those of a Service gone while no agent led).
    keys: () => [...new Set([...list('services').map(endpointsKey), ...list('endpoints').filter(e => e.metadata.labels?.[MANAGED_BY] === MANAGER).map(endpointsKey)])],
    handlers: {
      services: (_type, svc) => [endpointsKey(svc)],
      endpoints: (type, e) => type === 'DELETED' ? [endpointsKey(e)] : [],
      pods: (_type, pod) => {
        const ns = pod.metadata.namespace ?? ''
        return serviceKeysForPod(pod, list('services', ns), list('endpoints', ns))
      }
    },
    active: c.active,
    log: c.log,
    ...(c.queue !== undefined ? { queue: c.queue } : {})
  })
}
