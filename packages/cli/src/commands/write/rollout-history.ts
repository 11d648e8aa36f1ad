import { stringify as toYaml } from 'yaml'
import { infoForKind, type KindInfo } from '@shoal/core/api/index.ts'
import { isJsonEqual } from '@shoal/core/store/merge-patch.ts'
import { CliError, type Target } from '../../client.ts'
import { resourcePath } from '../../kube.ts'
import { request } from '../../api.ts'
import { objectRef } from './refs.ts'

/**
 * `rollout history` and `rollout undo`: a Deployment's revisions are the
 * ReplicaSets it controls (an ownerReference with controller: true and the
 * Deployment's uid), numbered by their `deployment.kubernetes.io/revision`
 * annotation. Undo copies a revision's pod template back into the Deployment,
 * as kubectl's DeploymentRollbacker does.
 */

type Rec = Record<string, unknown>

export const REVISION = 'deployment.kubernetes.io/revision'
const CHANGE_CAUSE = 'kubernetes.io/change-cause'
const POD_TEMPLATE_HASH = 'pod-template-hash'

/** Deployment annotations a rollback keeps from the Deployment instead of taking the ReplicaSet's. */
const KEEP_ON_ROLLBACK = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to'
])

interface Meta { name?: string, uid?: string, annotations?: Record<string, string>, labels?: Record<string, string>, ownerReferences?: Array<{ uid?: string, controller?: boolean }> }
export interface ReplicaSetView { metadata?: Meta, spec?: { template?: Rec } }
interface DeploymentView { metadata?: Meta, spec?: { paused?: boolean, template?: Rec, selector?: { matchLabels?: Record<string, string> } } }

/** The revisions of a Deployment's ReplicaSets, ascending; ReplicaSets without a numeric revision are left out. */
export function revisionsOf (deployment: Rec, replicaSets: readonly ReplicaSetView[]): Array<{ revision: number, rs: ReplicaSetView }> {
  const uid = (deployment as DeploymentView).metadata?.uid
  return replicaSets
    .filter(rs => rs.metadata?.ownerReferences?.some(o => o.controller === true && o.uid === uid) === true)
    .map(rs => ({ revision: Number(rs.metadata?.annotations?.[REVISION]), rs }))
    .filter(r => Number.isSafeInteger(r.revision) && r.revision >= 0)
    .sort((a, b) => a.revision - b.revision)
}

/** kubectl's history table: REVISION and CHANGE-CAUSE, padded as its tabwriter pads them. */
export function formatHistory (revisions: ReadonlyArray<{ revision: number, rs: ReplicaSetView }>): string {
  if (revisions.length === 0) return 'No rollout history found.\n'
  const rows = revisions.map(r => [String(r.revision), r.rs.metadata?.annotations?.[CHANGE_CAUSE] || '<none>'] as const)
  const width = Math.max('REVISION'.length, ...rows.map(r => r[0].length)) + 2
  return ['REVISION'.padEnd(width) + 'CHANGE-CAUSE', ...rows.map(([rev, cause]) => rev.padEnd(width) + cause)].join('\n') + '\n'
}

/** A pod template without the label the Deployment controller adds to each ReplicaSet's copy. */
function withoutHash (template: Rec | undefined): Rec {
  const t = structuredClone(template ?? {}) as { metadata?: { labels?: Record<string, string> } }
  if (t.metadata?.labels !== undefined) {
    delete t.metadata.labels[POD_TEMPLATE_HASH]
  }
  return t as Rec
}

/** The revision undo goes back to: --to-revision, else the one before the newest. */
export function rollbackTarget (deployment: Rec, revisions: ReadonlyArray<{ revision: number, rs: ReplicaSetView }>, toRevision: number): { revision: number, rs: ReplicaSetView } {
  if (toRevision > 0) {
    const found = revisions.find(r => r.revision === toRevision)
    if (found === undefined) throw new CliError(`unable to find specified revision ${toRevision} in history`)
    return found
  }
  const previous = revisions.length >= 2 ? revisions[revisions.length - 2] : undefined
  if (previous === undefined) throw new CliError(`no rollout history found for deployment ${JSON.stringify((deployment as DeploymentView).metadata?.name ?? '')}`)
  return previous
}

/**
 * The JSON patch that rolls back to `rs`, or undefined when the Deployment's
 * template already is that revision's: the template without its
 * pod-template-hash label, and the ReplicaSet's annotations (change-cause …)
 * except those the Deployment keeps for itself.
 */
export function rollbackPatch (deployment: Rec, rs: ReplicaSetView): unknown[] | undefined {
  const d = deployment as DeploymentView
  const template = withoutHash(rs.spec?.template)
  if (isJsonEqual(withoutHash(d.spec?.template), template)) return undefined
  const annotations: Record<string, string> = {}
  for (const [k, v] of Object.entries(d.metadata?.annotations ?? {})) if (KEEP_ON_ROLLBACK.has(k)) annotations[k] = v
  for (const [k, v] of Object.entries(rs.metadata?.annotations ?? {})) if (!KEEP_ON_ROLLBACK.has(k)) annotations[k] = v
  return [
    { op: 'replace', path: '/spec/template', value: template },
    // `add` replaces an existing map and, unlike kubectl's `replace`, also works when the Deployment has no annotations yet.
    { op: 'add', path: '/metadata/annotations', value: annotations }
  ]
}

/** The Deployment and the ReplicaSets that may be its revisions (those its selector matches). */
async function deploymentAndReplicaSets (target: Target, k: KindInfo, name: string): Promise<{ deployment: Rec, replicaSets: ReplicaSetView[] }> {
  const deployment = await request<Rec>(target, 'GET', resourcePath(k, target.namespace, name))
  const matchLabels = (deployment as DeploymentView).spec?.selector?.matchLabels ?? {}
  const selector = Object.entries(matchLabels).map(([key, v]) => `${key}=${v}`).join(',')
  const rsKind = infoForKind('ReplicaSet')!
  const list = await request<{ items: ReplicaSetView[] }>(target, 'GET', `${resourcePath(rsKind, target.namespace)}${selector !== '' ? `?labelSelector=${encodeURIComponent(selector)}` : ''}`)
  return { deployment, replicaSets: list.items }
}

export async function rolloutHistory (target: Target, k: KindInfo, name: string, revision: number): Promise<void> {
  const { deployment, replicaSets } = await deploymentAndReplicaSets(target, k, name)
  const revisions = revisionsOf(deployment, replicaSets)
  if (revision > 0) {
    const found = revisions.find(r => r.revision === revision)
    if (found === undefined) throw new CliError(`unable to find the specified revision ${revision}`)
    const template = toYaml(withoutHash(found.rs.spec?.template)).trimEnd().split('\n').map(l => `  ${l}`).join('\n')
    process.stdout.write(`${objectRef(k, name)} with revision #${revision}\nPod Template:\n${template}\n`)
    return
  }
  process.stdout.write(`${objectRef(k, name)}\n${formatHistory(revisions)}\n`)
}

export async function rolloutUndo (target: Target, k: KindInfo, name: string, toRevision: number): Promise<void> {
  const { deployment, replicaSets } = await deploymentAndReplicaSets(target, k, name)
  if ((deployment as DeploymentView).spec?.paused === true) throw new CliError('you cannot rollback a paused deployment; resume it first and try again')
  const { revision, rs } = rollbackTarget(deployment, revisionsOf(deployment, replicaSets), toRevision)
  const patch = rollbackPatch(deployment, rs)
  if (patch === undefined) {
    process.stdout.write(`${objectRef(k, name)} skipped rollback (current template already matches revision ${revision})\n`)
    return
  }
  await request(target, 'PATCH', resourcePath(k, target.namespace, name), { body: patch, contentType: 'application/json-patch+json' })
  process.stdout.write(`${objectRef(k, name)} rolled back\n`)
}
