import { randomUUID } from 'node:crypto'
import type { KubeObject, ObjectCommand, ObjectStore, Result } from '@shoal/core'
import { controllerOf } from '@shoal/core/controllers/common.ts'
import { deploymentKey, deploymentKeysForReplicaSet, reconcileDeployments, untilProgressDeadlineMs } from '@shoal/core/controllers/deployment.ts'
import type { Logger } from '../log.ts'
import { keyParts, listOf, storeController, type KeyedControllerInit, type StoreController } from './keyed.ts'

/**
 * Deployments on a work queue, as Kubernetes' deployment controller: keyed
 * by Deployment. A Deployment's change enqueues it; a ReplicaSet's change
 * its controlling Deployment (for an orphan, those that would adopt it);
 * a pod's deletion the Deployment above its ReplicaSet (Recreate waits for
 * the old pods to be gone). A key runs the pure reconcileDeployments over
 * that one Deployment, its writes awaited before the key is done. A
 * rollout still progressing is looked at again when its progress deadline
 * passes, for the ProgressDeadlineExceeded no event would bring.
 */

export interface DeploymentControllerInit {
  readonly store: () => ObjectStore
  readonly write: (cmd: ObjectCommand) => Promise<Result>
  readonly active: () => boolean
  readonly now: () => string
  readonly eventName: (object: string) => string
  readonly log: Logger
  readonly queue?: KeyedControllerInit['queue']
}

export function createDeploymentController (c: DeploymentControllerInit): StoreController {
  const list = (resource: string, namespace?: string): readonly KubeObject[] => listOf(c.store(), resource, namespace)

  const reconcile = async (key: string): Promise<number | undefined> => {
    const [namespace, name] = keyParts(key)
    const d = c.store().get('deployments', namespace, name)
    if (d === undefined) return undefined
    const commands = reconcileDeployments({ deployments: [d], replicaSets: list('replicasets', namespace), pods: list('pods', namespace), now: c.now(), eventName: c.eventName })
    const results = await Promise.all(commands.map(async cmd => await c.write(cmd.op === 'create' && cmd.uid === '' ? { ...cmd, uid: randomUUID() } : cmd)))
    // NotFound: what was to change went meanwhile, and its own event brings the key back.
    const refused = results.filter(r => !r.ok && r.reason !== 'NotFound')
    if (refused.length > 0) throw new Error(`${refused.length} of ${commands.length} writes refused: ${refused.map(r => r.ok ? '' : `${r.reason}: ${r.message}`).join('; ')}`)
    const after = c.store().get('deployments', namespace, name)
    return after !== undefined ? untilProgressDeadlineMs(after, Date.parse(c.now())) : undefined
  }

  /** The Deployment above a deleted pod's ReplicaSet. */
  const ownerOfPod = (pod: KubeObject): string[] => {
    const ref = controllerOf(pod)
    if (ref?.kind !== 'ReplicaSet') return []
    const rs = c.store().get('replicasets', pod.metadata.namespace ?? '', ref.name)
    return rs !== undefined ? deploymentKeysForReplicaSet(rs, []) : []
  }

  return storeController({
    name: 'deployment',
    store: c.store,
    reconcile,
    keys: () => list('deployments').map(deploymentKey),
    handlers: {
      deployments: (_type, d) => [deploymentKey(d)],
      replicasets: (_type, rs) => deploymentKeysForReplicaSet(rs, list('deployments', rs.metadata.namespace ?? '')),
      pods: (type, pod) => type === 'DELETED' ? ownerOfPod(pod) : []
    },
    active: c.active,
    log: c.log,
    ...(c.queue !== undefined ? { queue: c.queue } : {})
  })
}
