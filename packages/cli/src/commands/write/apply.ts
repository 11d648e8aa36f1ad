import type { CAC } from 'cac'
import type { JsonRecord } from '@shoal/core/store/merge-patch.ts'
import type { Target } from '../../client.ts'
import { connect, resourcePath, withConnectionFlags, type ConnectionFlags } from '../../kube.ts'
import { listFlag, validateFlag, type FieldValidation } from './flags.ts'
import { checkValid, loadManifests, type Manifest } from './manifests.ts'
import { failureLine, ReportedFailure, request, ServerError } from '../../api.ts'
import { objectRef } from './refs.ts'
import { isEmptyPatch, threeWayPatch } from './three-way.ts'

/**
 * `shoal apply -f FILE|DIR|-`: kubectl's client-side apply. An absent object
 * is created with its manifest saved in the last-applied annotation; a
 * present one gets the three-way patch of the last-applied manifest, the new
 * one and the live object (three-way.ts), or nothing at all when that patch
 * is empty (`unchanged`).
 */

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration'

type Rec = Record<string, unknown>

/** A JSON value with every object's keys sorted, as Go encodes a map: the same manifest always gives the same annotation. */
function sortKeys (v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys)
  if (typeof v !== 'object' || v === null) return v
  return Object.fromEntries(Object.keys(v).sort().map(k => [k, sortKeys((v as Rec)[k])]))
}

/**
 * The object apply sends: the manifest in its namespace, with the manifest
 * itself (without this annotation, `annotations: {}` when it had none, compact
 * JSON and a newline, as kubectl writes it) in the last-applied annotation.
 */
export function withLastApplied (object: Rec, namespace: string | undefined): Rec {
  const meta = { ...(object.metadata as Rec) }
  const annotations = { ...(meta.annotations as Record<string, string> | undefined) }
  delete annotations[LAST_APPLIED]
  meta.annotations = annotations
  if (namespace !== undefined) meta.namespace = namespace
  const manifest = { ...object, metadata: meta }
  return { ...manifest, metadata: { ...meta, annotations: { ...annotations, [LAST_APPLIED]: JSON.stringify(sortKeys(manifest)) + '\n' } } }
}

/** The manifest of the last apply, from the live object's annotation; undefined when there is none (or it is not JSON). */
export function lastAppliedOf (live: Rec): JsonRecord | undefined {
  const text = ((live.metadata as Rec | undefined)?.annotations as Record<string, unknown> | undefined)?.[LAST_APPLIED]
  if (typeof text !== 'string') return undefined
  try {
    const parsed = JSON.parse(text) as unknown
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed as JsonRecord : undefined
  } catch {
    return undefined
  }
}

/** The namespace an object goes to: its own, else -n, else the kubeconfig context's (both in target.namespace). */
export function namespaceFor (m: Manifest, target: Target): string | undefined {
  return m.kind.namespaced ? m.namespace ?? target.namespace : undefined
}

type Outcome = 'created' | 'configured' | 'unchanged'

async function applyOne (target: Target, m: Manifest, namespace: string | undefined, validation: FieldValidation): Promise<Outcome> {
  const modified = withLastApplied(m.object, namespace)
  let live: Rec | undefined
  try {
    live = await request<Rec>(target, 'GET', resourcePath(m.kind, namespace, m.name))
  } catch (err) {
    if (!(err instanceof ServerError && err.code === 404)) throw err
  }
  if (live === undefined) {
    await request(target, 'POST', `${resourcePath(m.kind, namespace)}?fieldManager=kubectl-client-side-apply&fieldValidation=${validation}`, { body: modified })
    return 'created'
  }
  const original = lastAppliedOf(live)
  if (original === undefined) {
    process.stderr.write(`Warning: resource ${m.kind.resource}/${m.name} is missing the ${LAST_APPLIED} annotation which is required by shoal apply. shoal apply should only be used on resources created by shoal apply. The missing annotation will be patched automatically.\n`)
  }
  const patch = threeWayPatch(original, modified, live)
  if (isEmptyPatch(patch)) return 'unchanged'
  await request(target, 'PATCH', `${resourcePath(m.kind, namespace, m.name)}?fieldManager=kubectl-client-side-apply&fieldValidation=${validation}`, { body: patch, contentType: 'application/strategic-merge-patch+json' })
  return 'configured'
}

/**
 * Apply every object of the manifests, in order. Every document is checked
 * (and validated as the server would) before the first write; a refusal of
 * one object is printed and the others still go, as kubectl does, and the
 * command then exits 1.
 */
export async function applyManifests (target: Target, paths: readonly string[], validation: FieldValidation = 'Strict'): Promise<void> {
  const manifests = await loadManifests(paths, 'apply')
  const placed = manifests.map(m => ({ m, namespace: namespaceFor(m, target) }))
  for (const { m, namespace } of placed) checkValid(m, namespace)
  let failed = false
  for (const { m, namespace } of placed) {
    try {
      const outcome = await applyOne(target, m, namespace, validation)
      process.stdout.write(`${objectRef(m.kind, m.name)} ${outcome}\n`)
    } catch (err) {
      if (!(err instanceof ServerError)) throw err
      process.stderr.write(`${failureLine(err, `error when applying "${m.source}": `)}\n`)
      failed = true
    }
  }
  if (failed) throw new ReportedFailure()
}

export function registerApply (cli: CAC): void {
  withConnectionFlags(cli.command('apply', 'Create or update objects from manifests (YAML, JSON, kind: List), as kubectl apply does'))
    .usage('apply -f FILE|DIR|- [-n NAMESPACE]\n\n  Creates the objects of the manifests that do not exist and patches those that do:\n  fields removed from a manifest since its last apply are removed, fields others set are kept.\n  Every document is checked before anything is written.')
    .option('-f, --filename <file>', 'a manifest file, a directory of them (.yaml, .yml, .json), or - for stdin; may repeat')
    .option('--validate <mode>', 'unknown fields: strict (refused; the default), warn (dropped with a warning) or ignore (dropped)')
    .example('shoal apply -f app.yaml')
    .example('shoal apply -f manifests/ -n staging')
    .example('cat app.yaml | shoal apply -f -')
    .action(async (flags: ConnectionFlags & { filename?: unknown, validate?: unknown }) => {
      const paths = listFlag(flags.filename, '--filename')
      const validation = validateFlag(flags.validate)
      await applyManifests(connect(flags), paths, validation)
    })
}
