import type { KubeObject, WatchEventType } from '@shoal/core'
import { reconcileNodeLifecycle, untilEvictionMs } from '@shoal/core/controllers/node-lifecycle.ts'
import { nodeIsReady, podNodeName } from '@shoal/core/controllers/common.ts'
import { listOf, storeController, writeAll, type ControllerDeps, type StoreController } from './keyed.ts'

/**
 * Node lifecycle on a work queue, keyed by node name, as Kubernetes' node
 * lifecycle controller keeps a queue of nodes. Pods bound to a node that
 * has no Node are deleted (PodGC's orphans) only when no member of that
 * name is there either: a pod may be bound to a member that joined a
 * moment ago, whose Node the node controller has yet to write (Kubernetes
 * covers that with a 40 s quarantine). A Node's change queues every
 * node (whether any is Ready decides whether anything is evicted, and they
 * are few); a bound pod's change queues its node only when that node is not
 * Ready or gone. A key's reconcile is the pure reconcileNodeLifecycle over
 * that one node: a Ready node costs a taint check and no pod list; a node
 * not Ready or gone, its pods. A node whose pods are still to be evicted is
 * looked at again when the next one is due.
 */

export interface NodeLifecycleControllerInit extends ControllerDeps {
  readonly eventName: (object: string) => string
  /** How long a node may be not Ready before its pods are deleted, ms; default the core's. */
  readonly podEvictionTimeoutMs?: number
  /**
   * Whether the node controller keeps (or is about to make) a Node of this
   * name: a member that has not left for good. Its pods are not orphans
   * while its Node is still to be created.
   */
  readonly hasMember: (node: string) => boolean
}

/** A due eviction is looked at again no sooner than this, ms: the clock is read to the second. */
const MIN_RECHECK_MS = 100

export function createNodeLifecycleController (c: NodeLifecycleControllerInit): StoreController {
  const timeoutS = c.podEvictionTimeoutMs !== undefined ? c.podEvictionTimeoutMs / 1000 : undefined
  const podsOn = (node: string): KubeObject[] => listOf(c.store(), 'pods').filter(p => podNodeName(p) === node)

  const reconcile = async (name: string): Promise<number | undefined> => {
    const nodes = listOf(c.store(), 'nodes')
    const node = nodes.find(n => n.metadata.name === name)
    // A member's Node comes with the node controller's next tick; its creation queues this key again.
    if (node === undefined && c.hasMember(name)) return undefined
    const now = c.now()
    const watched = node === undefined || !nodeIsReady(node)
    const commands = reconcileNodeLifecycle({
      nodes,
      pods: watched ? podsOn(name) : [],
      now,
      eventName: c.eventName,
      only: new Set([name]),
      ...(timeoutS !== undefined ? { podEvictionTimeoutSeconds: timeoutS } : {})
    })
    await writeAll(c.write, commands, name)
    if (node === undefined || !watched || !nodes.some(nodeIsReady)) return undefined
    const after = c.store().get('nodes', '', name)
    const due = after !== undefined ? untilEvictionMs(after, podsOn(name), Date.parse(now), timeoutS) : undefined
    return due !== undefined ? Math.max(MIN_RECHECK_MS, due) : undefined
  }

  return storeController(c, {
    name: 'nodelifecycle',
    reconcile,
    // Every Node, and every node name pods are bound to (a Node deleted while no agent led).
    keys: () => [...new Set([...listOf(c.store(), 'nodes').map(n => n.metadata.name), ...listOf(c.store(), 'pods').map(podNodeName).filter(n => n !== '')])],
    handlers: {
      nodes: (_type: WatchEventType, node: KubeObject) => [...new Set([node.metadata.name, ...listOf(c.store(), 'nodes').map(n => n.metadata.name)])],
      pods: (type: WatchEventType, pod: KubeObject) => {
        const name = podNodeName(pod)
        if (name === '' || type === 'DELETED') return []
        const node = c.store().get('nodes', '', name)
        return node === undefined || !nodeIsReady(node) ? [name] : []
      }
    }
  })
}
