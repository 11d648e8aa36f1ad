import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { orphans, type ObservedContainer, type PodAction } from '@shoal/core/kubelet/index.ts'
import type { ContainerRuntime } from './runtime.ts'
import type { Prober } from './prober.ts'
import type { PodState } from './pod-worker.ts'
import type { Logger } from '../log.ts'

/**
 * The kubelet's cleanup of what no pod here owns any more (Kubernetes'
 * kubelet does it in HandlePodCleanups and its orphaned-pod directory
 * removal): the containers and emptyDir volumes of a pod deleted or bound
 * elsewhere, containers of pods this kubelet never saw (left by an agent
 * before a restart), and, when the agent leaves the cluster, every
 * container of this node. At most one cleanup per pod runs at a time.
 */
export interface Cleanup {
  /** A pod was removed from this node: clean it up in the background (a failure is logged). */
  removed: (uid: string) => void
  /** A relist of the runtime: clean up, in the background, the pods of containers no pod here owns. */
  leftovers: (observed: readonly ObservedContainer[]) => void
  /** Resolves once every cleanup started so far has settled. */
  idle: () => Promise<void>
  /** Stop and remove every container of this node, and the pods' directories (the agent left). Failures are logged. */
  removeAll: () => Promise<void>
}

export interface CleanupDeps {
  readonly runtime: ContainerRuntime
  /** Where pods' directories live: DIR/UID. */
  readonly podsDir: string
  /** The pods bound here: their containers are not leftovers. */
  readonly pods: ReadonlyMap<string, PodState>
  /** The grace period of pods that are gone, by uid: their containers are stopped with it; a pod's entry goes with its cleanup. */
  readonly graceOf: Map<string, number>
  /** Which pod each container id belongs to: a cleaned-up pod's entries go. */
  readonly owners: Map<string, string>
  /** A pod's containers as the runtime has them now. */
  readonly observedOf: (uid: string) => Promise<ObservedContainer[]>
  readonly prober: Pick<Prober, 'forget'>
  /** True when `err` says the runtime is down (and the health then says so): not worth a warning of its own. */
  readonly runtimeDown: (err: unknown) => boolean
  readonly log: Logger
}

/** The grace period for containers of a pod whose spec is unknown: Kubernetes' minimumGracePeriodInSeconds. */
const UNKNOWN_POD_GRACE_SECONDS = 2

export function createCleanup (d: CleanupDeps): Cleanup {
  const { graceOf, log } = d
  const cleanups = new Map<string, Promise<void>>()

  /** Stop and remove a gone pod's containers (apps first, with its grace period, then the sandbox) and its volumes. */
  const cleanup = async (uid: string): Promise<void> => {
    const running = cleanups.get(uid)
    if (running !== undefined) return await running
    const work = (async () => {
      // A pod this kubelet never saw (its containers outlived it): Kubernetes' minimum grace period, 2 s.
      const grace = graceOf.get(uid) ?? UNKNOWN_POD_GRACE_SECONDS
      const actions = orphans(await d.observedOf(uid), [], grace)
      await runOrphanActions(d.runtime, actions)
      d.prober.forget(uid)
      for (const [id, owner] of d.owners) if (owner === uid) d.owners.delete(id)
      await rm(join(d.podsDir, uid), { recursive: true, force: true })
      graceOf.delete(uid)
    })()
    cleanups.set(uid, work)
    try {
      await work
    } finally {
      cleanups.delete(uid)
    }
  }

  return {
    removed (uid) {
      cleanup(uid).catch((err: Error) => {
        if (!d.runtimeDown(err)) log.warn({ uid, err: err.message }, 'cleanup of a removed pod failed')
      })
    },
    leftovers (observed) {
      const lost = observed.filter(o => !d.pods.has(o.podUid) && !cleanups.has(o.podUid))
      for (const uid of new Set(lost.map(o => o.podUid))) {
        cleanup(uid).catch((err: Error) => { if (!d.runtimeDown(err)) log.warn({ uid, err: err.message }, 'cleanup of a leftover pod failed') })
      }
    },
    async idle () {
      await Promise.allSettled([...cleanups.values()])
    },
    async removeAll () {
      try {
        const all = await d.runtime.list()
        await runOrphanActions(d.runtime, orphans(all, [], 0).map(a => a.kind === 'stopContainer' ? { ...a, graceSeconds: graceOf.get(all.find(o => o.id === a.id)?.podUid ?? '') ?? a.graceSeconds } : a))
        await rm(d.podsDir, { recursive: true, force: true })
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'could not remove the containers of this node')
      }
    }
  }
}

/** Stops run in parallel (each waits out its own grace), apps before sandboxes; then the removes. */
async function runOrphanActions (runtime: ContainerRuntime, actions: readonly PodAction[]): Promise<void> {
  const stops = actions.filter(a => a.kind === 'stopContainer')
  const apps = stops.filter(a => a.containerName !== '')
  await Promise.all(apps.map(async a => { if (a.kind === 'stopContainer') await runtime.stopContainer(a.id, a.graceSeconds) }))
  await Promise.all(stops.filter(a => a.containerName === '').map(async a => { if (a.kind === 'stopContainer') await runtime.stopContainer(a.id, a.graceSeconds) }))
  for (const a of actions) if (a.kind === 'removeContainer') await runtime.removeContainer(a.id)
}
