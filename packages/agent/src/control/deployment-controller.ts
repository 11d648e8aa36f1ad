import type { KubeObject } from '@shoal/core'
import { controllerOf, objectKey } from '@shoal/core/controllers/common.ts'
import { deploymentKeysForReplicaSet, reconcileDeployments, untilProgressDeadlineMs } from '@shoal/core/controllers/deployment.ts'
import { keyParts, listOf, storeController, writeAll, type ControllerDeps, type StoreController } from './keyed.ts'

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

export interface DeploymentControllerInit extends ControllerDeps {
  readonly eventName: (object: string) => string
}

export function createDeploymentController (c: DeploymentControllerInit): StoreController {
  const list = (resource: string, namespace?: string): readonly KubeObject[] => listOf(c.store(), resource, namespace)

  const reconcile = async (key: string): Promise<number | undefined> => {
    const [namespace, name] = keyParts(key)
    const d = c.store().get('deployments', namespace, name)
    if (d === undefined) return undefined
    const commands = reconcileDeployments({ deployments: [d], replicaSets: list('replicasets', namespace), pods: list('pods', namespace), now: c.now(), eventName: c.eventName })
    await writeAll(c.write, commands, key)
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

  return storeController(c, {
    name: 'deployment',
    reconcile,
    keys: () => list('deployments').map(objectKey),
    handlers: {
      deployments: (_type, d) => [objectKey(d)],
      replicasets: (_type, rs) => deploymentKeysForReplicaSet(rs, list('deployments', rs.metadata.namespace ?? '')),
      pods: (type, pod) => type === 'DELETED' ? ownerOfPod(pod) : []
    }
  })
}
