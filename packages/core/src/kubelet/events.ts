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
    : `Successfully pulled image "${image}" in ${(tookMs / 1000).toFixed(3).replace(/\.?0+$/, '')}s`
  return { type: 'Normal', reason: 'Pulled', message, containerName }
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
