import type { CAC } from 'cac'
import { CliError } from '../../client.ts'
import { connect, withConnectionFlags, type ConnectionFlags } from '../../kube.ts'
import { boolFlag, durationFlag, textFlag } from './flags.ts'
import { request, ServerError } from '../../api.ts'

/**
 * `shoal cordon|uncordon|drain NODE...`, as kubectl does them: cordon is a
 * merge patch of the Node's spec.unschedulable; drain cordons, refuses (or,
 * with flags, skips or forces) the pods kubectl refuses, deletes the rest and
 * waits until each is gone or replaced by a pod with another uid.
 */

type Rec = Record<string, unknown>

/** What the commands need of the API: one JSON request (kubeRequest against the target, or a fake in tests). */
export interface NodeIo {
  request: <T = unknown>(method: string, path: string, body?: unknown, contentType?: string) => Promise<T>
  out: (line: string) => void
  err: (line: string) => void
  sleep: (ms: number) => Promise<void>
  /** Milliseconds, for --timeout. */
  now: () => number
}

export interface PodView {
  readonly metadata: {
    readonly name: string
    readonly namespace?: string
    readonly uid?: string
    readonly annotations?: Readonly<Record<string, string>>
    readonly ownerReferences?: ReadonlyArray<{ readonly kind?: string, readonly name?: string, readonly controller?: boolean }>
  }
  readonly spec?: { readonly volumes?: ReadonlyArray<Rec> }
  readonly status?: { readonly phase?: string }
}

const nodePath = (name: string): string => `/api/v1/nodes/${encodeURIComponent(name)}`
const podPath = (p: PodView): string => `/api/v1/namespaces/${encodeURIComponent(p.metadata.namespace ?? 'default')}/pods/${encodeURIComponent(p.metadata.name)}`
const podRef = (p: PodView): string => `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`

/** The node names typed, or those a label selector picks (GET /api/v1/nodes?labelSelector=). */
export async function nodeNames (io: NodeIo, verb: string, names: readonly string[], selector: string | undefined): Promise<string[]> {
  if (selector !== undefined) {
    if (names.length > 0) throw new CliError(`cannot specify both a node name and a --selector option: ${verb} NODE... or ${verb} -l SELECTOR`)
    const list = await io.request<{ items: Array<{ metadata: { name: string } }> }>('GET', `/api/v1/nodes?labelSelector=${encodeURIComponent(selector)}`)
    if (list.items.length === 0) throw new CliError('No resources found')
    return list.items.map(n => n.metadata.name)
  }
  if (names.length === 0) throw new CliError(`a node name is required: ${verb} NODE (or ${verb} -l SELECTOR)`)
  return [...names]
}

/**
 * Set spec.unschedulable (a merge patch; false removes the field, as
 * kubectl's two-way patch does) unless it is already so, and print
 * `node/NAME cordoned`, `already cordoned`, `uncordoned`, `already uncordoned`.
 */
export async function setUnschedulable (io: NodeIo, name: string, desired: boolean): Promise<void> {
  const node = await io.request<{ spec?: { unschedulable?: boolean } }>('GET', nodePath(name))
  const word = desired ? 'cordoned' : 'uncordoned'
  if ((node.spec?.unschedulable === true) === desired) {
    io.out(`node/${name} already ${word}`)
    return
  }
  await io.request('PATCH', nodePath(name), { spec: { unschedulable: desired ? true : null } }, 'application/merge-patch+json')
  io.out(`node/${name} ${word}`)
}

export interface DrainOptions {
  /** Delete pods without a controller too. */
  readonly force: boolean
  /** Leave DaemonSet pods in place (a DaemonSet would recreate them at once). */
  readonly ignoreDaemonsets: boolean
  /** Delete pods with emptyDir volumes (their data goes with them). */
  readonly deleteEmptydirData: boolean
  /** Seconds for each pod to stop; undefined: the pod's own terminationGracePeriodSeconds. */
  readonly gracePeriodSeconds?: number
  /** Give up after this long, ms; 0: wait for ever (kubectl's default). */
  readonly timeoutMs: number
  /** The --timeout as typed, for the error message. */
  readonly timeoutText?: string
  /** How often to check that the deleted pods are gone, ms (kubectl: 1 s). */
  readonly pollMs?: number
}

export interface DrainPlan {
  readonly evict: readonly PodView[]
  /** kubectl's warnings, each `what: ns/a, ns/b`; printed as one `Warning: …; …` line. */
  readonly warnings: readonly string[]
  /** kubectl's refusals, each `cannot delete what: ns/a, ns/b`. */
  readonly errors: readonly string[]
}

const isFinished = (p: PodView): boolean => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed'
const controllerOf = (p: PodView): { kind?: string } | undefined => p.metadata.ownerReferences?.find(r => r.controller === true)

/** One filter's verdict: delete or not, and why (a warning, or a refusal that fails the drain). */
interface Verdict { readonly delete: boolean, readonly warning?: string, readonly fatal?: string }

type DrainFilter = (p: PodView, o: Pick<DrainOptions, 'force' | 'ignoreDaemonsets' | 'deleteEmptydirData'>) => Verdict

const OKAY: Verdict = { delete: true }

/** kubectl's drain filters, in its order; the first that does not delete decides. */
const DRAIN_FILTERS: readonly DrainFilter[] = [
  (p, o) => controllerOf(p)?.kind !== 'DaemonSet' || isFinished(p)
    ? OKAY
    : o.ignoreDaemonsets ? { delete: false, warning: 'ignoring DaemonSet-managed Pods' } : { delete: false, fatal: 'DaemonSet-managed Pods (use --ignore-daemonsets to ignore)' },
  p => p.metadata.annotations?.['kubernetes.io/config.mirror'] !== undefined ? { delete: false } : OKAY,
  (p, o) => isFinished(p) || !(p.spec?.volumes ?? []).some(v => v.emptyDir !== undefined)
    ? OKAY
    : o.deleteEmptydirData ? { delete: true, warning: 'deleting Pods with local storage' } : { delete: false, fatal: 'Pods with local storage (use --delete-emptydir-data to override)' },
  (p, o) => isFinished(p) || controllerOf(p) !== undefined
    ? OKAY
    : o.force ? { delete: true, warning: 'deleting Pods that declare no controller' } : { delete: false, fatal: 'Pods declare no controller (use --force to override)' }
]

/**
 * What drain does with each pod, as kubectl's drain package decides and
 * words it: DaemonSet pods are refused (skipped, with a warning, under
 * --ignore-daemonsets); mirror pods are skipped silently; pods with emptyDir
 * volumes are refused (deleted, with a warning, under --delete-emptydir-data);
 * pods without a controller are refused (deleted, with a warning, under
 * --force). Finished pods are always deleted.
 */
export function drainPlan (pods: readonly PodView[], o: Pick<DrainOptions, 'force' | 'ignoreDaemonsets' | 'deleteEmptydirData'>): DrainPlan {
  const fatal = new Map<string, string[]>()
  const warn = new Map<string, string[]>()
  const add = (m: Map<string, string[]>, what: string, p: PodView): void => { m.set(what, [...m.get(what) ?? [], podRef(p)]) }
  const evict: PodView[] = []
  for (const p of pods) {
    let verdict = OKAY
    const warnings: string[] = []
    for (const filter of DRAIN_FILTERS) {
      verdict = filter(p, o)
      if (!verdict.delete) break
      if (verdict.warning !== undefined) warnings.push(verdict.warning)
    }
    if (verdict.delete) {
      // A pod that goes carries every filter's warning, joined as kubectl joins them.
      if (warnings.length > 0) add(warn, warnings.join(', '), p)
      evict.push(p)
    } else if (verdict.fatal !== undefined) add(fatal, verdict.fatal, p)
    else if (verdict.warning !== undefined) add(warn, verdict.warning, p)
  }
  return {
    evict,
    warnings: [...warn].map(([what, refs]) => `${what}: ${refs.join(', ')}`),
    errors: [...fatal].map(([what, refs]) => `cannot delete ${what}: ${refs.join(', ')}`)
  }
}

/** kubectl's utilerrors aggregate: one error as it is, several as `[a, b]`. */
function aggregate (errors: readonly string[]): string {
  return errors.length === 1 ? errors[0]! : `[${errors.join(', ')}]`
}

/** Whether the pod is gone, or its name now belongs to a new pod (another uid). */
async function isGone (io: NodeIo, p: PodView): Promise<boolean> {
  try {
    const now = await io.request<{ metadata?: { uid?: string } }>('GET', podPath(p))
    return p.metadata.uid !== undefined && now.metadata?.uid !== p.metadata.uid
  } catch (err) {
    if (err instanceof ServerError && err.code === 404) return true
    throw err
  }
}

/**
 * Cordon the node, then delete every pod bound to it that may go, and wait
 * until each is gone: `evicting pod NS/NAME`, `pod/NAME evicted`, `node/NAME
 * drained`. A refusal (pods kubectl would not delete without a flag) is an
 * error after the cordon, as in kubectl: the node stays cordoned.
 */
export async function drainNode (io: NodeIo, name: string, o: DrainOptions): Promise<void> {
  const started = io.now()
  await setUnschedulable(io, name, true)
  const list = await io.request<{ items: PodView[] }>('GET', `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${name}`)}`)
  const plan = drainPlan(list.items, o)
  if (plan.errors.length > 0) throw new CliError(aggregate(plan.errors))
  if (plan.warnings.length > 0) io.err(`Warning: ${plan.warnings.join('; ')}`)
  const options = o.gracePeriodSeconds !== undefined ? { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: o.gracePeriodSeconds } : undefined
  let waiting: PodView[] = []
  for (const p of plan.evict) {
    io.out(`evicting pod ${podRef(p)}`)
    try {
      await io.request('DELETE', podPath(p), options)
    } catch (err) {
      if (!(err instanceof ServerError && err.code === 404)) throw err
    }
    waiting.push(p)
  }
  const timedOut = (): boolean => o.timeoutMs > 0 && io.now() - started >= o.timeoutMs
  for (;;) {
    const still: PodView[] = []
    for (const p of waiting) {
      if (await isGone(io, p)) io.out(`pod/${p.metadata.name} evicted`)
      else still.push(p)
    }
    waiting = still
    if (waiting.length === 0) break
    if (timedOut()) throw new CliError(`drain did not complete within ${o.timeoutText ?? `${Math.round(o.timeoutMs / 1000)}s`}`)
    await io.sleep(o.pollMs ?? 1000)
  }
  io.out(`node/${name} drained`)
}

/** `--grace-period`: a whole number of seconds, or -1 (the default) for the pod's own. */
export function gracePeriodFlag (value: unknown): number | undefined {
  const text = textFlag(value, '--grace-period')
  if (text === undefined) return undefined
  if (!/^-?\d+$/.test(text.trim())) throw new CliError(`invalid argument ${JSON.stringify(text)} for "--grace-period" flag: must be a whole number of seconds`)
  const n = Number(text)
  return n < 0 ? undefined : n
}

interface NodeFlags extends ConnectionFlags {
  selector?: unknown
}

interface DrainFlags extends NodeFlags {
  gracePeriod?: unknown
  ignoreDaemonsets?: unknown
  deleteEmptydirData?: unknown
  force?: unknown
  timeout?: unknown
}

/** Read drain's flags, refusing a bad one before anything is sent. */
export function drainOptions (flags: DrainFlags): DrainOptions {
  const timeoutMs = durationFlag(flags.timeout, '--timeout') ?? 0
  const timeoutText = textFlag(flags.timeout, '--timeout')
  const grace = gracePeriodFlag(flags.gracePeriod)
  return {
    force: boolFlag(flags.force, '--force', false),
    ignoreDaemonsets: boolFlag(flags.ignoreDaemonsets, '--ignore-daemonsets', false),
    deleteEmptydirData: boolFlag(flags.deleteEmptydirData, '--delete-emptydir-data', false),
    timeoutMs,
    ...(timeoutText !== undefined ? { timeoutText } : {}),
    ...(grace !== undefined ? { gracePeriodSeconds: grace } : {})
  }
}

function realIo (flags: ConnectionFlags): NodeIo {
  const target = connect(flags)
  return {
    request: async <T>(method: string, path: string, body?: unknown, contentType?: string) => await request<T>(target, method, path, { body, contentType }),
    out: line => { process.stdout.write(`${line}\n`) },
    err: line => { process.stderr.write(`${line}\n`) },
    sleep: async ms => { await new Promise(resolve => setTimeout(resolve, ms)) },
    now: () => Date.now()
  }
}

export function registerCordon (cli: CAC): void {
  for (const [verb, desired] of [['cordon', true], ['uncordon', false]] as const) {
    withConnectionFlags(cli.command(`${verb} [...nodes]`, desired ? 'Mark nodes as unschedulable: new pods go elsewhere, running ones stay' : 'Mark nodes as schedulable again'), { namespaced: false })
      .usage(`${verb} NODE... | ${verb} -l SELECTOR`)
      .option('-l, --selector <selector>', 'the nodes whose labels match (disk=ssd)')
      .example(`shoal ${verb} node-2`)
      .example(`shoal ${verb} -l disk=hdd`)
      .action(async (names: string[], flags: NodeFlags) => {
        const io = realIo(flags)
        for (const name of await nodeNames(io, verb, names, textFlag(flags.selector, '--selector'))) await setUnschedulable(io, name, desired)
      })
  }
  withConnectionFlags(cli.command('drain [...nodes]', 'Cordon nodes, then delete their pods (controllers recreate them elsewhere) and wait until they are gone'), { namespaced: false })
    .usage('drain NODE... [--ignore-daemonsets] [--force] [--grace-period N] [--timeout 5m]')
    .option('-l, --selector <selector>', 'the nodes whose labels match (disk=ssd)')
    .option('--grace-period <seconds>', 'seconds each pod gets to stop; -1 (default): the pod\'s own terminationGracePeriodSeconds')
    .option('--ignore-daemonsets', 'leave DaemonSet-managed pods in place instead of refusing to drain')
    .option('--delete-emptydir-data', 'delete pods with emptyDir volumes too (their data is lost)')
    .option('--force', 'delete pods that no controller manages too (they are not recreated)')
    .option('--timeout <duration>', 'give up after this long (30s, 5m); 0 (default): wait for ever')
    .example('shoal drain node-2 --ignore-daemonsets')
    .example('shoal drain node-2 --force --grace-period 10 --timeout 2m')
    .example('shoal uncordon node-2        # when it is back')
    .action(async (names: string[], flags: DrainFlags) => {
      const options = drainOptions(flags)
      const io = realIo(flags)
      for (const name of await nodeNames(io, 'drain', names, textFlag(flags.selector, '--selector'))) await drainNode(io, name, options)
    })
}
