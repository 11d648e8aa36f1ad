import type { KubeObject } from '@shoal/core'
import { objectKey } from '@shoal/core/controllers/common.ts'
import { reconcileReplicaSets, replicaSetKeysForPod, untilNextAvailableMs } from '@shoal/core/controllers/replicaset.ts'
import { keyParts, listOf, storeController, writeAll, type ControllerDeps, type StoreController } from './keyed.ts'

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

export interface ReplicaSetControllerInit extends ControllerDeps {
  readonly podNameSuffix: () => string
  readonly eventName: (object: string) => string
}

export function createReplicaSetController (c: ReplicaSetControllerInit): StoreController {
  const list = (resource: string, namespace?: string): readonly KubeObject[] => listOf(c.store(), resource, namespace)

  const reconcile = async (key: string): Promise<number | undefined> => {
    const [namespace, name] = keyParts(key)
    const rs = c.store().get('replicasets', namespace, name)
    if (rs === undefined) return undefined
    const now = c.now()
    const commands = reconcileReplicaSets({ replicaSets: list('replicasets', namespace), pods: list('pods', namespace), now, podNameSuffix: c.podNameSuffix, eventName: c.eventName, only: new Set([key]) })
    await writeAll(c.write, commands, key)
    const after = c.store().get('replicasets', namespace, name)
    return after !== undefined ? untilNextAvailableMs(after, list('pods', namespace), Date.parse(c.now())) : undefined
  }

  return storeController(c, {
    name: 'replicaset',
    reconcile,
    keys: () => list('replicasets').map(objectKey),
    handlers: {
      replicasets: (_type, rs) => [objectKey(rs)],
      pods: (_type, pod) => replicaSetKeysForPod(pod, list('replicasets', pod.metadata.namespace ?? ''))
    }
  })
}
