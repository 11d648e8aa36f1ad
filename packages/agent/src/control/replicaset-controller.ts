import { randomUUID } from 'node:crypto'
import type { KubeObject, ObjectCommand, ObjectStore, Result } from '@shoal/core'
import { reconcileReplicaSets, replicaSetKey, replicaSetKeysForPod, untilNextAvailableMs } from '@shoal/core/controllers/replicaset.ts'
import type { Logger } from '../log.ts'
import { keyParts, listOf, storeController, type KeyedControllerInit, type StoreController } from './keyed.ts'

/**
 * ReplicaSets on a work queue, as Kubernetes' replicaset controller: keyed
 * by ReplicaSet. A ReplicaSet's change enqueues it; a pod's change enqueues
 * its controlling ReplicaSet, or for an orphan the ReplicaSets that would
 * adopt it. A key's reconcile is the pure reconcileReplicaSets over that one
 * ReplicaSet (with its namespace's pods, and its siblings for spreading),
 * its writes awaited before the key is done, so the next reconcile counts
 * the pods it made (that is Kubernetes' expectations). A ReplicaSet whose
 * pods turn available only with time (minReadySeconds) is looked at again
 * then.
 */

export interface ReplicaSetControllerInit {
  readonly store: () => ObjectStore
  readonly write: (cmd: ObjectCommand) => Promise<Result>
  readonly active: () => boolean
  readonly now: () => string
  readonly podNameSuffix: () => string
  readonly eventName: (object: string) => string
  readonly log: Logger
  readonly queue?: KeyedControllerInit['queue']
}

export function createReplicaSetController (c: ReplicaSetControllerInit): StoreController {
  const list = (resource: string, namespace?: string): readonly KubeObject[] => listOf(c.store(), resource, namespace)

  const reconcile = async (key: string): Promise<number | undefined> => {
    const [namespace, name] = keyParts(key)
    const rs = c.store().get('replicasets', namespace, name)
    if (rs === undefined) return undefined
    const now = c.now()
    const commands = reconcileReplicaSets({ replicaSets: list('replicasets', namespace), pods: list('pods', namespace), now, podNameSuffix: c.podNameSuffix, eventName: c.eventName, only: new Set([key]) })
    // In parallel, as a burst of creations should be; every one awaited before the key is done.
    const results = await Promise.all(commands.map(async cmd => await c.write(cmd.op === 'create' && cmd.uid === '' ? { ...cmd, uid: randomUUID() } : cmd)))
    // NotFound: what was to change went meanwhile, and its own event brings the key back.
    const refused = results.filter(r => !r.ok && r.reason !== 'NotFound')
    if (refused.length > 0) throw new Error(`${refused.length} of ${commands.length} writes refused: ${refused.map(r => r.ok ? '' : `${r.reason}: ${r.message}`).join('; ')}`)
    const after = c.store().get('replicasets', namespace, name)
    return after !== undefined ? untilNextAvailableMs(after, list('pods', namespace), Date.parse(c.now())) : undefined
  }

  return storeController({
    name: 'replicaset',
    store: c.store,
    reconcile,
    keys: () => list('replicasets').map(replicaSetKey),
    handlers: {
      replicasets: (_type, rs) => [replicaSetKey(rs)],
      pods: (_type, pod) => replicaSetKeysForPod(pod, list('replicasets', pod.metadata.namespace ?? ''))
    },
    active: c.active,
    log: c.log,
    ...(c.queue !== undefined ? { queue: c.queue } : {})
  })
}
