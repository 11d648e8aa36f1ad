import { randomUUID } from 'node:crypto'
import type { KubeObject, ObjectCommand, ObjectStore, Result } from '@shoal/core'
import { endpointsKey, MANAGED_BY, MANAGER, reconcileEndpoints, serviceKeysForPod } from '@shoal/core/controllers/endpoints.ts'
import type { Logger } from '../log.ts'
import { keyedController, type KeyedController, type KeyedControllerInit } from './keyed.ts'

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

export interface EndpointsController extends KeyedController {
  /** Watch the store again when it was replaced (a snapshot installed): call on every tick. */
  follow: () => void
}

const keyParts = (key: string): [string, string] => {
  const slash = key.indexOf('/')
  return [key.slice(0, slash), key.slice(slash + 1)]
}

export function createEndpointsController (c: EndpointsControllerInit): EndpointsController {
  const list = (resource: string, namespace?: string): readonly KubeObject[] => {
    const r = c.store().list(resource, namespace !== undefined ? { namespace } : {})
    return r.ok ? r.items : []
  }

  const reconcile = async (key: string): Promise<void> => {
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
  }

  const controller = keyedController({
    name: 'endpoint',
    reconcile,
    // Every Service, and the Endpoints this controller keeps (those of a Service gone while no agent led).
    keys: () => [...new Set([...list('services').map(endpointsKey), ...list('endpoints').filter(e => e.metadata.labels?.[MANAGED_BY] === MANAGER).map(endpointsKey)])],
    active: c.active,
    log: c.log,
    ...(c.queue !== undefined ? { queue: c.queue } : {})
  })

  let watched: ObjectStore | undefined
  let stops: Array<() => void> = []
  const follow = (): void => {
    const store = c.store()
    if (store === watched) return
    for (const stop of stops) stop()
    stops = []
    watched = store
    const watch = (resource: string, on: (type: string, o: KubeObject) => void): void => {
      const w = store.watch({ resource }, e => { on(e.type, e.object) })
      if (w.ok) stops.push(w.stop)
    }
    // A follower takes no keys: the resync on becoming active covers what it let pass.
    watch('services', (_type, svc) => { if (c.active()) controller.enqueue(endpointsKey(svc)) })
    watch('endpoints', (type, e) => { if (type === 'DELETED' && c.active()) controller.enqueue(endpointsKey(e)) })
    watch('pods', (_type, pod) => {
      if (!c.active()) return
      const ns = pod.metadata.namespace ?? ''
      for (const key of serviceKeysForPod(pod, list('services', ns), list('endpoints', ns))) controller.enqueue(key)
    })
    // What changed in a replaced store went unseen.
    if (c.active()) controller.resync()
  }

  return {
    ...controller,
    follow,
    start () {
      follow()
      controller.start()
    },
    async stop () {
      for (const stop of stops) stop()
      stops = []
      await controller.stop()
    }
  }
}
