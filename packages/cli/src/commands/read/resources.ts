import { KINDS, type KindInfo } from '@shoal/core/api/index.ts'
import { CliError } from '../../client.ts'
import { kindOf } from '../../kube.ts'

/**
 * What a user asked for on the command line, read the way kubectl reads it:
 * `pods`, `pods,services`, `pod web db` (names of one or more kinds),
 * `deploy/web pod/x` (kind/name pairs), and `all`.
 */

export interface Selection {
  readonly kind: KindInfo
  /** Empty for the whole collection. */
  readonly names: readonly string[]
}

export interface Request {
  readonly selections: readonly Selection[]
  /** One object by name (`get pod x`, `get deploy/web`): -o json prints it, not a List. */
  readonly singleItem: boolean
  /** More than one kind was asked for: names print as `kind/name` and each kind gets its own table. */
  readonly multipleKinds: boolean
}

/** What `all` means, in kubectl's order (the kinds of its `all` category that Shoal serves). */
const ALL = ['pods', 'services', 'deployments', 'replicasets']

/** The kinds a user may type, for error messages. */
export function knownKinds (): string {
  return ['all', ...KINDS.map(k => k.resource).sort()].join(', ')
}

function kindsOf (typed: string): KindInfo[] {
  return typed.split(',').filter(t => t !== '').flatMap(t => t.toLowerCase() === 'all' ? ALL.map(kindOf) : [kindOf(t)])
}

/** Parse `args` of `verb` (get, describe). */
export function parseRequest (verb: string, args: readonly string[]): Request {
  const [first, ...rest] = args
  if (first === undefined) throw new CliError(`you must specify the type of resource to ${verb}, one of: ${knownKinds()}`)
  const selections = new Map<KindInfo, string[]>()
  const add = (k: KindInfo, names: readonly string[]): void => {
    const seen = selections.get(k)
    if (seen === undefined) selections.set(k, [...names])
    else for (const n of names) if (!seen.includes(n)) seen.push(n)
  }
  let all = false
  if (args.some(a => a.includes('/'))) {
    for (const a of args) {
      const slash = a.indexOf('/')
      if (slash <= 0 || slash === a.length - 1) {
        throw new CliError(`there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'shoal ${verb} resource/<resource_name>' instead of 'shoal ${verb} resource resource/<resource_name>')`)
      }
      add(kindOf(a.slice(0, slash)), [a.slice(slash + 1)])
    }
  } else {
    all = first.split(',').some(t => t.toLowerCase() === 'all')
    for (const k of kindsOf(first)) add(k, rest)
  }
  const list = [...selections].map(([kind, names]) => ({ kind, names }))
  const names = list.reduce((n, s) => n + s.names.length, 0)
  return { selections: list, singleItem: list.length === 1 && names === 1, multipleKinds: list.length > 1 || all }
}

/** `deployment.apps` / `pod`: how kubectl prefixes names (`deployment.apps/web`) and prints `-o name`. */
export function kindPrefix (k: KindInfo): string {
  return k.group === '' ? k.kind.toLowerCase() : `${k.kind.toLowerCase()}.${k.group}`
}
