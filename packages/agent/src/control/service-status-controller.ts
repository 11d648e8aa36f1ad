import type { KubeObject } from '@shoal/core'
import { reconcileServiceStatus, type ProxyFailure } from '@shoal/core/controllers/endpoints.ts'
import { objectKey } from '@shoal/core/controllers/common.ts'
import { keyParts, listOf, storeController, writeAll, type ControllerDeps, type StoreController } from './keyed.ts'

/**
 * Services' status on a work queue, keyed by Service: a Service's change
 * queues it; a Node's change queues every Service (a LoadBalancer lists the
 * Ready nodes, and Nodes change seldom); a change in what the nodes' proxies
 * report they could not listen for (heartbeats, not the store: `check`,
 * called on every control-plane tick) queues the Services it names. A
 * key's reconcile is the pure reconcileServiceStatus over that one Service.
 */

export interface ServiceStatusControllerInit extends ControllerDeps {
  /** What the alive members' proxies say they could not listen for. */
  readonly failures: () => readonly ProxyFailure[]
}

export interface ServiceStatusController extends StoreController {
  /** Queue the Services whose proxy failures changed since the last check. */
  check: () => void
}

const failureLine = (f: ProxyFailure): string => JSON.stringify([f.service, f.node, f.message])

export function createServiceStatusController (c: ServiceStatusControllerInit): ServiceStatusController {
  const serviceKeys = (): string[] => listOf(c.store(), 'services').map(objectKey)
  /** The failures last seen, one line each, and the Service each names. */
  let seen = new Map<string, string>()

  const reconcile = async (key: string): Promise<undefined> => {
    const [namespace, name] = keyParts(key)
    const svc = c.store().get('services', namespace, name)
    if (svc === undefined) return undefined
    const commands = reconcileServiceStatus({ services: [svc], nodes: listOf(c.store(), 'nodes'), failures: c.failures().filter(f => f.service === key), now: c.now() })
    await writeAll(c.write, commands, key)
    return undefined
  }

  const controller = storeController(c, {
    name: 'service',
    reconcile,
    keys: serviceKeys,
    handlers: {
      services: (_type, svc: KubeObject) => [objectKey(svc)],
      nodes: () => serviceKeys()
    }
  })

  return {
    ...controller,
    check () {
      const now = new Map(c.failures().map(f => [failureLine(f), f.service]))
      if (!c.active()) {
        seen = now
        return
      }
      const changed = new Set<string>()
      for (const [line, service] of now) if (!seen.has(line)) changed.add(service)
      for (const [line, service] of seen) if (!now.has(line)) changed.add(service)
      seen = now
      for (const key of changed) controller.enqueue(key)
    }
  }
}
