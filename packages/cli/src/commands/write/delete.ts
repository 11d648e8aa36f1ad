import type { CAC } from 'cac'
import type { KindInfo } from '@shoal/core/api/index.ts'
import { CliError, type Target } from '../../client.ts'
import { connect, kindOf, resourcePath, withConnectionFlags, type ConnectionFlags } from '../../kube.ts'
import { namespaceFor } from './apply.ts'
import { boolFlag, listFlag, textFlag } from './flags.ts'
import { loadManifests } from './manifests.ts'
import { failureLine, ReportedFailure, request, ServerError } from '../../api.ts'
import { quotedRef } from './refs.ts'

/**
 * `shoal delete KIND NAME... | KIND/NAME... | KIND -l SELECTOR | KIND --all |
 * -f FILE`. Each object is deleted on its own; a missing one is reported
 * (unless --ignore-not-found) and the rest still go, as kubectl does.
 */

interface Doomed {
  readonly kind: KindInfo
  readonly name: string
  readonly namespace: string | undefined
  /** The manifest it was named in, for `error when deleting "app.yaml"`. */
  readonly source?: string
}

interface DeleteFlags extends ConnectionFlags {
  filename?: unknown
  selector?: unknown
  all?: unknown
  ignoreNotFound?: unknown
  cascade?: unknown
}

/** `--cascade`: kubectl's background (the default, also `true`), foreground, or orphan (also `false`). */
export function cascadeFlag (value: unknown): 'Background' | 'Foreground' | 'Orphan' {
  const text = value === undefined || value === true ? 'background' : value === false ? 'orphan' : String(Array.isArray(value) ? value[value.length - 1] : value).toLowerCase()
  if (text === 'background' || text === 'true') return 'Background'
  if (text === 'foreground') return 'Foreground'
  if (text === 'orphan' || text === 'false') return 'Orphan'
  throw new CliError(`invalid cascade value (${String(value)}). Must be "background", "foreground", or "orphan"`)
}

/** `deploy web api`, `deploy,svc web`, `deploy/web svc/web`: the kinds and names typed. */
export function namedTargets (args: readonly string[]): Array<{ kind: KindInfo, name: string }> {
  if (args.length === 0) return []
  if (args.every(a => a.includes('/'))) {
    return args.map(a => {
      const slash = a.indexOf('/')
      const name = a.slice(slash + 1)
      if (slash === 0 || name === '') throw new CliError(`${a}: give KIND/NAME`)
      return { kind: kindOf(a.slice(0, slash)), name }
    })
  }
  if (args.some(a => a.includes('/'))) throw new CliError('there is no need to give a kind and then KIND/NAME: use either KIND NAME... or KIND/NAME...')
  const [kinds, ...names] = args as [string, ...string[]]
  const ks = kinds.split(',').filter(s => s !== '').map(kindOf)
  return ks.flatMap(kind => names.map(name => ({ kind, name })))
}

async function listNames (target: Target, k: KindInfo, namespace: string | undefined, selector: string | undefined): Promise<string[]> {
  const query = selector !== undefined ? `?labelSelector=${encodeURIComponent(selector)}` : ''
  const list = await request<{ items: Array<{ metadata: { name: string } }> }>(target, 'GET', `${resourcePath(k, namespace)}${query}`)
  return list.items.map(o => o.metadata.name)
}

/** What the flags and arguments name, resolved to objects (a selector lists them first). */
async function doomedOf (target: Target, args: readonly string[], flags: DeleteFlags): Promise<Doomed[]> {
  const files = listFlag(flags.filename, '--filename')
  const selector = textFlag(flags.selector, '--selector')
  const all = boolFlag(flags.all, '--all', false)
  if (files.length > 0) {
    if (args.length > 0 || selector !== undefined || all) throw new CliError('give either -f FILE or kinds and names, not both')
    return (await loadManifests(files, 'delete')).map(m => ({ kind: m.kind, name: m.name, namespace: namespaceFor(m, target), source: m.source }))
  }
  if (selector !== undefined || all) {
    if (selector !== undefined && all) throw new CliError('give either --selector or --all, not both')
    const [kinds, ...names] = args
    if (kinds === undefined || kinds.includes('/') || names.length > 0) throw new CliError(`${selector !== undefined ? '--selector' : '--all'} takes kinds only: delete KIND[,KIND...] ${selector !== undefined ? '-l SELECTOR' : '--all'}`)
    const out: Doomed[] = []
    for (const kind of kinds.split(',').filter(s => s !== '').map(kindOf)) {
      const namespace = kind.namespaced ? target.namespace : undefined
      for (const name of await listNames(target, kind, namespace, selector)) out.push({ kind, name, namespace })
    }
    if (out.length === 0) process.stderr.write('No resources found\n')
    return out
  }
  const named = namedTargets(args)
  if (named.length === 0) {
    throw new CliError(args.length === 1 ? `a name is required: delete ${args[0]} NAME (or -l SELECTOR, or --all)` : 'what to delete is required: delete KIND NAME..., delete KIND/NAME..., delete KIND -l SELECTOR, or delete -f FILE')
  }
  return named.map(({ kind, name }) => ({ kind, name, namespace: kind.namespaced ? target.namespace : undefined }))
}

async function remove (args: readonly string[], flags: DeleteFlags): Promise<void> {
  const ignoreNotFound = boolFlag(flags.ignoreNotFound, '--ignore-not-found', false)
  const propagationPolicy = cascadeFlag(flags.cascade)
  const target = connect(flags)
  const doomed = await doomedOf(target, args, flags)
  let failed = false
  for (const d of doomed) {
    try {
      await request(target, 'DELETE', resourcePath(d.kind, d.namespace, d.name), { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy } })
      process.stdout.write(`${quotedRef(d.kind, d.name)} deleted\n`)
    } catch (err) {
      if (!(err instanceof ServerError)) throw err
      if (err.code === 404 && ignoreNotFound) continue
      process.stderr.write(`${failureLine(err, d.source !== undefined ? `error when deleting "${d.source}": ` : '')}\n`)
      failed = true
    }
  }
  if (failed) throw new ReportedFailure()
}

export function registerDelete (cli: CAC): void {
  withConnectionFlags(cli.command('delete [...args]', 'Delete objects by kind and name, by label selector, or as named in manifests'))
    .usage('delete KIND NAME... | KIND/NAME... | KIND -l SELECTOR | KIND --all | -f FILE|DIR|-')
    .option('-f, --filename <file>', 'delete the objects of a manifest file, a directory of them, or - for stdin; may repeat')
    .option('-l, --selector <selector>', 'delete the objects of the kinds given whose labels match (app=web,tier!=db)')
    .option('--all', 'delete every object of the kinds given in the namespace')
    .option('--ignore-not-found', 'a missing object is not an error')
    .option('--cascade <policy>', 'background (default: dependents are removed after), foreground (with its dependents, at once) or orphan (dependents stay)')
    .example('shoal delete deployment web')
    .example('shoal delete deploy/web svc/web')
    .example('shoal delete deployments,services -l app=web')
    .example('shoal delete -f app.yaml')
    .action(async (args: string[], flags: DeleteFlags) => {
      await remove(args, flags)
    })
}
