import type { ImageProblem } from './types.ts'
import type { KubeletEvent } from './decide.ts'
import { probeFailureMessage } from './probes.ts'
import type { ProbeKind } from './probes.ts'

/**
 * The Events the agent records while it carries out a plan's actions, worded
 * as Kubernetes' kubelet words them (`kubectl describe pod` shows them), so
 * the agent never writes the text itself.
 */

/** Before a pull that will happen (policy Always, or IfNotPresent with the image absent). */
export function pullingEvent (containerName: string, image: string): KubeletEvent {
  return { type: 'Normal', reason: 'Pulling', message: `Pulling image "${image}"`, containerName }
}

/** After a successful pull (`tookMs`), or when the image was already there (`tookMs` undefined). */
export function pulledEvent (containerName: string, image: string, tookMs?: number): KubeletEvent {
  const message = tookMs === undefined
    ? `Container image "${image}" already present on machine`
    : `Successfully pulled image "${image}" in ${seconds(tookMs)}`
  return { type: 'Normal', reason: 'Pulled', message, containerName }
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(3).replace(/\.?0+$/, '')}s`

/** An image that came from another node of the cluster, not a registry (agent/images). */
export function pulledFromNodeEvent (containerName: string, image: string, from: { node: string, id: string, bytes: number, ms: number }): KubeletEvent {
  const mb = (from.bytes / 1e6).toFixed(1)
  return { type: 'Normal', reason: 'Pulled', message: `Successfully pulled image "${image}" (${from.id.slice(0, 19)}…, ${mb} MB) from node ${from.node} in ${seconds(from.ms)}`, containerName }
}

/**
 * A transfer from another node began (`received` undefined), or is under way:
 * `describe pod` shows where the image comes from, and how far it got.
 */
export function pullingFromNodeEvent (containerName: string, image: string, from: { node: string, total: number | undefined, received?: number }): KubeletEvent {
  const mb = (n: number): string => (n / 1e6).toFixed(1)
  const message = from.received === undefined
    ? `Pulling image "${image}" from node ${from.node}${from.total !== undefined ? ` (${mb(from.total)} MB)` : ''}`
    : `Pulling image "${image}" from node ${from.node}: ${mb(from.received)}${from.total !== undefined ? ` of ${mb(from.total)}` : ''} MB`
  return { type: 'Normal', reason: 'Pulling', message, containerName }
}

/**
 * Policy Always, and the registry failed: the cluster's copy is run instead,
 * as Docker Swarm runs a local copy, with a Warning saying whose copy and why.
 */
export function clusterCopyEvent (containerName: string, image: string, registryError: string, copy: { node: string, id: string }): KubeletEvent {
  const whose = copy.node === '' ? 'this node\'s own copy' : `node ${copy.node}'s copy`
  return { type: 'Warning', reason: 'PulledFromCluster', message: `Could not pull image "${image}" from its registry (${registryError}); using ${whose} (${copy.id.slice(0, 19)}…)`, containerName }
}

/** A failed ensureImage: Kubernetes records the cause, then `Error: <reason>`. */
export function imageFailedEvents (containerName: string, image: string, problem: ImageProblem): KubeletEvent[] {
  const cause = problem.reason === 'ErrImagePull' ? `Failed to pull image "${image}": ${problem.message}` : problem.message
  return [
    { type: 'Warning', reason: 'Failed', message: cause, containerName },
    { type: 'Warning', reason: 'Failed', message: `Error: ${problem.reason}`, containerName }
  ]
}

export function createdEvent (containerName: string): KubeletEvent {
  return { type: 'Normal', reason: 'Created', message: `Created container ${containerName}`, containerName }
}

export function startedEvent (containerName: string): KubeletEvent {
  return { type: 'Normal', reason: 'Started', message: `Started container ${containerName}`, containerName }
}

/** A create or start the runtime refused (CreateContainerError, RunContainerError): `Error: <the runtime's message>`. */
export function startFailedEvent (containerName: string, message: string): KubeletEvent {
  return { type: 'Warning', reason: 'Failed', message: `Error: ${message}`, containerName }
}

/** A failed probe run (the runner's message after the colon). */
export function unhealthyEvent (containerName: string, kind: ProbeKind, message: string): KubeletEvent {
  return { type: 'Warning', reason: 'Unhealthy', message: probeFailureMessage(kind, message), containerName }
}
