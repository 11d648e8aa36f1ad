import type { Readable } from 'node:stream'
import { ShoalError } from '@shoal/core'
import type { ExecSession } from './runtime.ts'

export interface PodLogOptions {
  /** The container; undefined: the pod's only (or first) container. */
  readonly container?: string
  readonly follow: boolean
  readonly tailLines?: number
  /** The previous, terminated instance of the container. */
  readonly previous: boolean
  readonly timestamps: boolean
  readonly sinceSeconds?: number
  /** Aborting ends the stream (a follow stays open until then). */
  readonly signal: AbortSignal
}

export interface PodExecOptions {
  /** The container; undefined: the pod's first container. */
  readonly container?: string
  readonly command: string[]
  /** The command's stdin; its end closes the command's stdin. Undefined: no stdin. */
  readonly stdin?: Readable
  readonly tty: boolean
  /** Aborting kills the session (its streams end, exitCode rejects). */
  readonly signal: AbortSignal
}

/**
 * Logs and exec of the pods a kubelet runs. The local kubelet implements it
 * (pod-io-local.ts); `remotePodIO` (remote.ts) gives the same interface for
 * a pod on another agent, over libp2p. Refusals are ShoalErrors, whose
 * reason and code become the HTTP Status (see the helpers below for
 * Kubernetes' wording).
 */
export interface PodIO {
  logs: (namespace: string, pod: string, opts: PodLogOptions) => Promise<Readable>
  exec: (namespace: string, pod: string, opts: PodExecOptions) => Promise<ExecSession>
}

/** `container "x" is not valid for pod "web"` (400), as the Kubernetes API says it. */
export function containerNotValid (pod: string, container: string): ShoalError {
  return new ShoalError('BadRequest', 400, `container "${container}" is not valid for pod "${pod}"`)
}

/** The pod is not (or no longer) run by the kubelet asked (400). */
export function podNotRunningHere (pod: string, node: string): ShoalError {
  return new ShoalError('BadRequest', 400, `pod "${pod}" is not running on node "${node}"`)
}

/** `container "c" in pod "web" is waiting to start: ContainerCreating` (400), as Kubernetes says it. */
export function containerWaiting (pod: string, container: string, reason: string): ShoalError {
  return new ShoalError('BadRequest', 400, `container "${container}" in pod "${pod}" is waiting to start: ${reason}`)
}

/** `previous terminated container "c" in pod "web" not found` (400), as Kubernetes says it. */
export function noPreviousContainer (pod: string, container: string): ShoalError {
  return new ShoalError('BadRequest', 400, `previous terminated container "${container}" in pod "${pod}" not found`)
}

/** Exec into a container that is not running (400). */
export function containerNotRunning (pod: string, container: string): ShoalError {
  return new ShoalError('BadRequest', 400, `unable to upgrade connection: container not found ("${container}") in pod "${pod}"`)
}
