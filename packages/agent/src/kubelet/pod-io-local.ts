import { ShoalError } from '@shoal/core'
import { newestFirst, podSpecOf, type ObservedContainer } from '@shoal/core/kubelet/index.ts'
import type { ContainerRuntime } from './runtime.ts'
import { containerNotRunning, containerNotValid, containerWaiting, noPreviousContainer, podNotRunningHere, type PodIO } from './pod-io.ts'
import { keyOf, type PodState } from './pod-worker.ts'

/**
 * Logs and exec of the pods this kubelet runs (Kubernetes' kubelet serves
 * them from its server, containerLogs and exec): the PodIO of pod-io.ts for
 * this node, as remote.ts's remotePodIO is for a pod on another agent. A
 * request names a pod and a container; this picks the container attempt
 * from what the kubelet last reported and what the runtime has.
 */
export interface LocalPodIODeps {
  /** This node's name, for the refusal of a pod not run here. */
  readonly node: string
  /** The pods bound here, by uid, with their last status. */
  readonly pods: ReadonlyMap<string, PodState>
  readonly runtime: ContainerRuntime
  /** A pod's containers as the runtime has them now. */
  readonly observedOf: (uid: string) => Promise<ObservedContainer[]>
}

export function createLocalPodIO (d: LocalPodIODeps): PodIO {
  const podFor = (namespace: string, name: string): PodState => {
    const s = [...d.pods.values()].find(p => p.pod.metadata.name === name && (p.pod.metadata.namespace ?? 'default') === namespace)
    if (s === undefined) throw podNotRunningHere(name, d.node)
    return s
  }

  /** The spec container a request means: the one named, or the only one. */
  const containerFor = (s: PodState, container: string | undefined): string => {
    const names = podSpecOf(s.pod).containers.map(x => x.name)
    if (container === undefined || container === '') {
      if (names.length === 1) return names[0]!
      throw new ShoalError('BadRequest', 400, `a container name must be specified for pod ${s.pod.metadata.name}, choose one of: [${names.join(' ')}]`)
    }
    if (!names.includes(container)) throw containerNotValid(s.pod.metadata.name, container)
    return container
  }

  /** A container's attempts, the newest first. */
  const attemptsOf = async (s: PodState, container: string): Promise<ObservedContainer[]> =>
    (await d.observedOf(keyOf(s.pod))).filter(o => o.role === 'app' && o.containerName === container).sort(newestFirst)

  return {
    /**
     * Which attempt's log, as Kubernetes' kubelet picks it from the status
     * (validateContainerLogStatus): `previous` is lastState's container; else
     * the current one, or while it waits to restart (CrashLoopBackOff) the
     * last that ran.
     */
    async logs (namespace, name, opts) {
      const s = podFor(namespace, name)
      const container = containerFor(s, opts.container)
      const attempts = await attemptsOf(s, container)
      const cs = s.lastStatus?.containerStatuses.find(x => x.name === container)
      const idOf = (containerID: string | undefined): string | undefined => containerID?.replace(/^docker:\/\//, '')
      const last = idOf((cs?.lastState as { terminated?: { containerID?: string } } | undefined)?.terminated?.containerID)
      const waiting = (cs?.state as { waiting?: { reason?: string } } | undefined)?.waiting
      const id = opts.previous ? last : waiting !== undefined ? last : idOf(cs?.containerID) ?? attempts[0]?.id
      const target = attempts.find(o => o.id === id)
      if (target === undefined) {
        if (opts.previous) throw noPreviousContainer(name, container)
        throw containerWaiting(name, container, waiting?.reason ?? 'ContainerCreating')
      }
      return await d.runtime.logs(target.id, {
        follow: opts.follow && !opts.previous,
        timestamps: opts.timestamps,
        signal: opts.signal,
        ...(opts.tailLines !== undefined ? { tailLines: opts.tailLines } : {}),
        ...(opts.sinceSeconds !== undefined ? { sinceSeconds: opts.sinceSeconds } : {})
      })
    },
    async exec (namespace, name, opts) {
      const s = podFor(namespace, name)
      const container = containerFor(s, opts.container)
      const running = (await attemptsOf(s, container)).find(o => o.state === 'running')
      if (running === undefined) throw containerNotRunning(name, container)
      return await d.runtime.exec(running.id, opts.command, { tty: opts.tty, signal: opts.signal, ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}) })
    }
  }
}
