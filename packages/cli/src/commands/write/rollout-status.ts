import type { KindInfo } from '@shoal/core/api/index.ts'
import { CliError, type Target } from '../../client.ts'
import { resourcePath } from '../../kube.ts'
import { request } from '../../api.ts'
import { watchObject } from './watch.ts'

/**
 * `shoal rollout status deployment/NAME`: kubectl's DeploymentStatusViewer
 * evaluated on the Deployment as it is and on every watch event after, until
 * the rollout is done, its progress deadline is exceeded, or --timeout.
 */

type Rec = Record<string, unknown>

export interface RolloutState {
  readonly done: boolean
  /** The line kubectl prints for this state. */
  readonly message: string
}

interface DeploymentView {
  metadata?: { name?: string, generation?: number, annotations?: Record<string, string> }
  spec?: { replicas?: number }
  status?: {
    observedGeneration?: number
    replicas?: number
    updatedReplicas?: number
    availableReplicas?: number
    conditions?: Array<{ type?: string, reason?: string }>
  }
}

/**
 * The state of a Deployment's rollout, in kubectl's order of checks. A
 * `Progressing` condition with reason ProgressDeadlineExceeded is an error;
 * `revision` (from --revision) must match the Deployment's.
 */
export function deploymentRolloutState (obj: Rec, revision?: number): RolloutState {
  const d = obj as DeploymentView
  const name = JSON.stringify(d.metadata?.name ?? '')
  if (revision !== undefined && revision > 0) {
    const running = Number(d.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0)
    if (running !== revision) throw new CliError(`desired revision (${revision}) is different from the running revision (${running})`)
  }
  const status = d.status ?? {}
  if ((d.metadata?.generation ?? 0) > (status.observedGeneration ?? 0)) return { done: false, message: 'Waiting for deployment spec update to be observed...' }
  const progressing = status.conditions?.find(c => c.type === 'Progressing')
  if (progressing?.reason === 'ProgressDeadlineExceeded') throw new CliError(`deployment ${name} exceeded its progress deadline`)
  const updated = status.updatedReplicas ?? 0
  const replicas = status.replicas ?? 0
  const available = status.availableReplicas ?? 0
  const wanted = d.spec?.replicas
  if (wanted !== undefined && updated < wanted) return { done: false, message: `Waiting for deployment ${name} rollout to finish: ${updated} out of ${wanted} new replicas have been updated...` }
  if (replicas > updated) return { done: false, message: `Waiting for deployment ${name} rollout to finish: ${replicas - updated} old replicas are pending termination...` }
  if (available < updated) return { done: false, message: `Waiting for deployment ${name} rollout to finish: ${available} of ${updated} updated replicas are available...` }
  return { done: true, message: `deployment ${name} successfully rolled out` }
}

export interface StatusOptions {
  /** Keep watching until done (kubectl's --watch, default true); false prints the state once. */
  readonly watch: boolean
  /** Give up after this long, ms; 0 waits for ever. */
  readonly timeoutMs: number
  readonly revision?: number
}

/**
 * Print the rollout state of a Deployment on every event until it is done.
 * The first GET reports a missing Deployment as NotFound; the watch then
 * starts from the object as it is (its first event is the current state).
 */
export async function rolloutStatus (target: Target, k: KindInfo, name: string, opts: StatusOptions): Promise<void> {
  const namespace = target.namespace
  const current = await request<Rec>(target, 'GET', resourcePath(k, namespace, name))
  const first = deploymentRolloutState(current, opts.revision)
  if (first.done || !opts.watch) {
    process.stdout.write(`${first.message}\n`)
    return
  }
  const controller = new AbortController()
  const timer = opts.timeoutMs > 0 ? setTimeout(() => controller.abort(), opts.timeoutMs) : undefined
  try {
    for await (const event of watchObject(target, k, namespace, name, controller.signal)) {
      if (event.type === 'DELETED') throw new CliError(`deployment ${JSON.stringify(name)} has been deleted`)
      const state = deploymentRolloutState(event.object, opts.revision)
      process.stdout.write(`${state.message}\n`)
      if (state.done) return
    }
    if (controller.signal.aborted) throw new CliError('timed out waiting for the condition')
  } finally {
    clearTimeout(timer)
  }
}
