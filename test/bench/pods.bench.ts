import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import Docker from 'dockerode'
import { closeConnections, open } from '@shoal/cli/http.ts'
import { AgentProcess, scratchDir } from '../helpers/agents.ts'
import { waitFor } from '../helpers/wait.ts'
import { cpuMs } from './load.ts'
import { benchFailure, percentile } from './stats.ts'
import { enterSwarm, leaveSwarm } from './swarm.ts'
import { PAUSE_IMAGE } from '@shoal/agent/kubelet/pause-image.ts'

/**
 * Pod startup benchmark (issue 5's "Measure"), with Docker Swarm as the
 * yardstick, both against the local engine:
 * - Shoal, one agent: pods bound to it by `spec.nodeName` (there is no
 *   scheduler yet). Latency runs from the create request being sent until
 *   the pod runs, seen two ways: (a) Docker's `start` event of the app
 *   container (the event's own timestamp, so no polling delay), and (b) the
 *   agent's pod watch showing it Running with every container ready. One
 *   pod at a time, deleted between rounds, and 50 pods created at once.
 * - Swarm: `docker service create` through the engine's API (as the CLI
 *   sends it), one replica at a time, then one service of 50 replicas,
 *   timed to the containers' `start` events.
 * - The engine alone, as the floor under both: 50 bare containers, then 50
 *   bare sandbox+app pairs, created and started at once through its API.
 * The bar: p99 under 1 s for one pod; faster than Swarm for 50.
 */

const IMAGE = 'shoal-test/busybox:1'
const NODE = 'pods-bench'
const IP = '127.0.0.181'
const PODS = '/api/v1/namespaces/default/pods'
/** debug (AgentProcess's default) logs every request and would measure pino. */
const AGENT_ENV = { SHOAL_LOG_LEVEL: 'info' }
const SINGLE_ROUNDS = 15
const BURST = 50
const GOAL_SINGLE_P99_MS = 1000
const RUN_TIMEOUT_MS = 30_000
const BURST_TIMEOUT_MS = 180_000
const GONE_TIMEOUT_MS = 60_000
/** On the bench's swarm services' containers (ContainerSpec.Labels), to find them and filter their events. */
const SWARM_LABEL = 'io.shoal.bench'
const SWARM_PREFIX = 'shoal-bench-'
const L = { node: 'io.shoal.node', pod: 'io.shoal.pod.name', role: 'io.shoal.role', service: 'com.docker.swarm.service.name' } as const

const run = promisify(execFile)
/** Wall-clock ms with sub-ms precision: comparable with the engine's event timeNano (same machine). */
const epochNow = (): number => performance.timeOrigin + performance.now()
const ms = (x: number): string => Number.isNaN(x) ? '–' : x < 10 ? x.toFixed(1) : x.toFixed(0)
const median = (xs: readonly number[]): number => percentile(xs, 50)
const dist = (xs: readonly number[]): string => `p50 ${ms(percentile(xs, 50))} ms, p99 ${ms(percentile(xs, 99))} ms, max ${ms(Math.max(...xs))} ms (n=${xs.length})`
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`

type Json = any

// ---------------------------------------------------------------- Docker's events

interface ContainerEvent { readonly action: string, readonly id: string, readonly at: number, readonly labels: Readonly<Record<string, string>> }

/** Docker's container create/start/die/destroy events with a label, stamped with the engine's own time. */
class EventLog {
  readonly events: ContainerEvent[] = []
  failure: string | undefined
  readonly #stream: NodeJS.ReadableStream & { destroy?: () => void }
  #closed = false

  private constructor (stream: NodeJS.ReadableStream) {
    this.#stream = stream
    let partial = ''
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) {
        if (line.trim() === '') continue
        try {
          const e = JSON.parse(line) as { Action?: string, id?: string, timeNano?: number, Actor?: { ID?: string, Attributes?: Record<string, string> } }
          this.events.push({ action: String(e.Action), id: String(e.Actor?.ID ?? e.id), at: Number(e.timeNano) / 1e6, labels: e.Actor?.Attributes ?? {} })
        } catch {
          this.failure ??= `unparsable event: ${line.slice(0, 80)}`
        }
      }
    })
    stream.on('end', () => { if (!this.#closed) this.failure ??= 'the event stream ended' })
    stream.on('error', (err: Error) => { if (!this.#closed) this.failure ??= err.message })
  }

  /** Subscribed once this resolves: the engine subscribes before it answers the request. */
  static async open (docker: Docker, label: string): Promise<EventLog> {
    const stream = await docker.getEvents({ filters: { type: ['container'], event: ['create', 'start', 'die', 'destroy'], label: [label] } })
    return new EventLog(stream)
  }

  first (pred: (e: ContainerEvent) => boolean): ContainerEvent | undefined {
    if (this.failure !== undefined) throw new Error(`docker events: ${this.failure}`)
    return this.events.find(pred)
  }

  close (): void {
    this.#closed = true
    this.#stream.destroy?.()
  }
}

// ---------------------------------------------------------------- the agent's pod watch

/** When the agent's watch first showed each pod Running with every container ready (receipt time, epoch ms). */
class PodWatch {
  readonly running = new Map<string, number>()
  failure: string | undefined
  #close: () => void = () => {}
  #closed = false

  static async open (a: AgentProcess): Promise<PodWatch> {
    const w = new PodWatch()
    const list = await a.getJson<{ metadata: { resourceVersion: string } }>(PODS)
    const res = await open(a.endpoint(), 'GET', `${PODS}?watch=true&resourceVersion=${list.metadata.resourceVersion}&timeoutSeconds=3600`, { headers: { accept: 'application/json' } })
    if (res.statusCode !== 200) throw new Error(`pod watch: HTTP ${res.statusCode}`)
    let partial = ''
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => {
      const at = epochNow()
      const lines = (partial + chunk).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) {
        if (line === '') continue
        let ev: { type?: string, object?: Json }
        try { ev = JSON.parse(line) } catch { w.failure ??= `unparsable line: ${line.slice(0, 80)}`; continue }
        if (ev.type === 'ERROR') { w.failure ??= `ERROR event: ${String(ev.object?.message)}`; continue }
        const p = ev.object
        const name = String(p?.metadata?.name)
        if (w.running.has(name) || ev.type === 'DELETED') continue
        const statuses: Json[] = p?.status?.containerStatuses ?? []
        const want: number = p?.spec?.containers?.length ?? 1
        if (p?.status?.phase === 'Running' && statuses.length === want && statuses.every(c => c.ready === true)) w.running.set(name, at)
      }
    })
    res.on('end', () => { if (!w.#closed) w.failure ??= 'the watch ended' })
    res.on('error', (err: Error) => { if (!w.#closed) w.failure ??= err.message })
    w.#close = () => { res.destroy() }
    return w
  }

  has (name: string): boolean {
    if (this.failure !== undefined) throw new Error(`pod watch: ${this.failure}`)
    return this.running.has(name)
  }

  close (): void {
    this.#closed = true
    this.#close()
  }
}

// ---------------------------------------------------------------- Shoal

/** One pod's way from the create request to Running, epoch ms. */
interface PodTiming {
  readonly name: string
  readonly sentAt: number
  ackAt?: number
  sandboxCreated?: number
  sandboxStarted?: number
  appCreated?: number
  appStarted?: number
  apiRunning?: number
}

const podManifest = (name: string): unknown => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { bench: 'pods' } },
  // busybox's sleep, as PID 1, ignores SIGTERM: a short grace period keeps deletes quick.
  spec: { nodeName: NODE, terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image: IMAGE, command: ['sleep', '3600'] }] }
})

class ShoalRun {
  readonly agent: AgentProcess
  readonly docker: Docker
  events!: EventLog
  watch!: PodWatch

  constructor (agent: AgentProcess, docker: Docker) {
    this.agent = agent
    this.docker = docker
  }

  async start (): Promise<void> {
    await this.agent.start([], AGENT_ENV)
    await waitFor(`node ${NODE} Ready`, async () => {
      const res = await this.agent.request('GET', `/api/v1/nodes/${NODE}`)
      if (res.status !== 200) return false
      return JSON.parse(res.text).status?.conditions?.some((c: Json) => c.type === 'Ready' && c.status === 'True') === true
    }, { timeoutMs: 30_000, intervalMs: 100 })
    this.events = await EventLog.open(this.docker, `${L.node}=${NODE}`)
    this.watch = await PodWatch.open(this.agent)
  }

  async create (name: string): Promise<PodTiming> {
    const t: PodTiming = { name, sentAt: epochNow() }
    const res = await this.agent.request('POST', PODS, { json: podManifest(name), timeoutMs: 30_000 })
    t.ackAt = epochNow()
    if (res.status !== 201) throw new Error(`create ${name}: HTTP ${res.status} ${res.text.slice(0, 200)}`)
    return t
  }

  /** Fill in what the events and the watch saw so far; true when both say the pod runs. */
  observe (t: PodTiming): boolean {
    const of = (role: string, action: string): number | undefined => this.events.first(e => e.labels[L.pod] === t.name && e.labels[L.role] === role && e.action === action)?.at
    t.sandboxCreated ??= of('sandbox', 'create')
    t.sandboxStarted ??= of('sandbox', 'start')
    t.appCreated ??= of('app', 'create')
    t.appStarted ??= of('app', 'start')
    if (this.watch.has(t.name)) t.apiRunning ??= this.watch.running.get(t.name)
    return t.appStarted !== undefined && t.apiRunning !== undefined
  }

  async waitRunning (ts: readonly PodTiming[], timeoutMs: number): Promise<void> {
    await waitFor(`${ts.length} pod(s) running`, () => {
      const pending = ts.filter(t => !this.observe(t))
      return pending.length === 0 ? true : false
    }, { timeoutMs, intervalMs: ts.length > 1 ? 20 : 5 }).catch(err => {
      const pending = ts.filter(t => !this.observe(t))
      throw new Error(`${(err as Error).message}; not yet running: ${pending.length} (e.g. ${pending.slice(0, 3).map(t => `${t.name}: docker start ${t.appStarted !== undefined}, API Running ${t.apiRunning !== undefined}`).join('; ')})`)
    })
  }

  async containers (pod?: string): Promise<Docker.ContainerInfo[]> {
    return await this.docker.listContainers({ all: true, filters: { label: [`${L.node}=${NODE}`, ...(pod !== undefined ? [`${L.pod}=${pod}`] : [])] } })
  }

  /** Delete, and wait until no container of these pods is left; how long that took, ms. */
  async delete (names: readonly string[]): Promise<number> {
    const t0 = epochNow()
    await Promise.all(names.map(async name => {
      const res = await this.agent.request('DELETE', `${PODS}/${name}`, { timeoutMs: 30_000 })
      if (res.status !== 200) throw new Error(`delete ${name}: HTTP ${res.status} ${res.text.slice(0, 200)}`)
    }))
    const wanted = new Set(names)
    await waitFor(`the containers of ${names.length} deleted pod(s) gone`, async () => (await this.containers()).every(c => !wanted.has(c.Labels[L.pod] ?? '')), { timeoutMs: GONE_TIMEOUT_MS, intervalMs: 50 })
    return epochNow() - t0
  }

  close (): void {
    this.events?.close()
    this.watch?.close()
  }
}

interface ShoalFigures { single: { docker: number[], api: number[] }, burst: { docker: number[], api: number[], totalDocker: number, totalApi: number } }

const defined = (xs: ReadonlyArray<number | undefined>): number[] => xs.filter((x): x is number => x !== undefined)

/** Medians of each step, for finding where the time goes. */
function breakdown (ts: readonly PodTiming[]): string {
  const step = (f: (t: PodTiming) => number | undefined): string => ms(median(defined(ts.map(f))))
  return `create acknowledged ${step(t => t.ackAt! - t.sentAt)} ms after sending; sent → sandbox created ${step(t => t.sandboxCreated! - t.sentAt)} ms` +
    ` → sandbox started +${step(t => t.sandboxStarted! - t.sandboxCreated!)} → app created +${step(t => t.appCreated! - t.sandboxStarted!)}` +
    ` → app started +${step(t => t.appStarted! - t.appCreated!)} → API Running +${step(t => t.apiRunning! - t.appStarted!)} ms`
}

async function shoalBench (lines: string[], root: string, docker: Docker): Promise<ShoalFigures> {
  const s = new ShoalRun(new AgentProcess(root, NODE, IP), docker)
  try {
    await s.start()
    // The first pod runs cold (the agent's JIT, the sandbox image built if missing): reported apart.
    const cold = await s.create('warmup')
    await s.waitRunning([cold], RUN_TIMEOUT_MS)
    lines.push(`shoal, first pod after the agent started (not counted): app running (docker) ${ms(cold.appStarted! - cold.sentAt)} ms, API Running ${ms(cold.apiRunning! - cold.sentAt)} ms`)
    await s.delete(['warmup'])

    const singles: PodTiming[] = []
    const deletes: number[] = []
    for (let i = 0; i < SINGLE_ROUNDS; i++) {
      const t = await s.create(`single-${String(i).padStart(2, '0')}`)
      await s.waitRunning([t], RUN_TIMEOUT_MS)
      singles.push(t)
      deletes.push(await s.delete([t.name]))
    }
    const single = { docker: singles.map(t => t.appStarted! - t.sentAt), api: singles.map(t => t.apiRunning! - t.sentAt) }
    lines.push(`shoal, 1 pod at a time, create sent → app container running (docker start event): ${dist(single.docker)}`)
    lines.push(`shoal, 1 pod at a time, create sent → API shows it Running and ready (watch): ${dist(single.api)}`)
    lines.push(`shoal, 1 pod at a time, medians: ${breakdown(singles)}; delete → every container gone ${dist(deletes)}`)

    const pid = s.agent.proc?.pid
    const cpu0 = cpuMs(pid)
    const names = Array.from({ length: BURST }, (_, i) => `burst-${String(i).padStart(2, '0')}`)
    const burstStart = epochNow()
    const burst = await Promise.all(names.map(async n => await s.create(n)))
    const acked = epochNow()
    await s.waitRunning(burst, BURST_TIMEOUT_MS)
    const cpu = cpuMs(pid) - cpu0
    const b = {
      docker: burst.map(t => t.appStarted! - t.sentAt),
      api: burst.map(t => t.apiRunning! - t.sentAt),
      totalDocker: Math.max(...burst.map(t => t.appStarted!)) - burstStart,
      totalApi: Math.max(...burst.map(t => t.apiRunning!)) - burstStart
    }
    const wall = Math.max(b.totalDocker, b.totalApi)
    lines.push(`shoal, ${BURST} pods created at once, create sent → app container running (docker): ${dist(b.docker)}; all ${BURST} running ${ms(b.totalDocker)} ms after the first create was sent`)
    lines.push(`shoal, ${BURST} pods created at once, create sent → API Running and ready: ${dist(b.api)}; all ${BURST} Running in the API after ${ms(b.totalApi)} ms`)
    const firstApp = Math.min(...burst.map(t => t.appStarted!))
    lines.push(`shoal, ${BURST} pods, medians: ${breakdown(burst)}; all ${BURST} creates acknowledged after ${ms(acked - burstStart)} ms, first app container started at ${ms(firstApp - burstStart)} ms; agent CPU ${(cpu / wall * 100).toFixed(0)}% of a core over the ${ms(wall)} ms`)
    const burstDelete = await s.delete(names)
    lines.push(`shoal, delete ${BURST} pods at once → every container gone: ${ms(burstDelete)} ms`)
    return { single, burst: b }
  } finally {
    s.close()
    closeConnections()
    await s.agent.destroy()
    const left = await s.containers().catch(() => [])
    if (left.length > 0) await run('docker', ['rm', '-f', ...left.map(c => c.Id)]).catch(() => {})
  }
}

// ---------------------------------------------------------------- the engine alone

interface EngineFigures { single: number, pairs: number }

const ENGINE_LABEL = 'io.shoal.bench.engine'

async function engineContainers (docker: Docker): Promise<Docker.ContainerInfo[]> {
  return await docker.listContainers({ all: true, filters: { label: [ENGINE_LABEL] } })
}

async function removeEngineContainers (docker: Docker): Promise<void> {
  const left = await engineContainers(docker)
  await Promise.all(left.map(async c => { await docker.getContainer(c.Id).remove({ force: true }).catch(() => {}) }))
}

/**
 * What the engine itself needs for BURST containers started at once through
 * its API, with no orchestrator in between: one container each on the
 * default bridge (what a swarm task is), and a pod's pair each (a sandbox
 * with Docker's network `none` holding the network namespace, which Shoal
 * wires itself, and the app container joining it, as Shoal and Kubernetes'
 * dockershim run a pod of one container). The time
 * until the last `start` returned, ms.
 */
async function engineBench (lines: string[], docker: Docker): Promise<EngineFigures> {
  const labels = { [ENGINE_LABEL]: 'pods' }
  const app = (i: number, network: Docker.HostConfig): Docker.ContainerCreateOptions => ({ Image: IMAGE, Cmd: ['sleep', '3600'], Labels: labels, StopSignal: 'SIGKILL', ...(network.NetworkMode === 'bridge' ? { Hostname: `engine-${i}` } : {}), HostConfig: network })
  const timed = async (one: (i: number) => Promise<void>): Promise<number> => {
    const t0 = performance.now()
    await Promise.all(Array.from({ length: BURST }, async (_, i) => { await one(i) }))
    const took = performance.now() - t0
    await removeEngineContainers(docker)
    return took
  }
  try {
    await removeEngineContainers(docker)
    const single = await timed(async i => { await (await docker.createContainer(app(i, { NetworkMode: 'bridge' }))).start() })
    const pairs = await timed(async i => {
      // As Shoal runs a pod of one container (docker-spec.ts): each with an IPC namespace of its own.
      const sandbox = await docker.createContainer({ Image: PAUSE_IMAGE, Hostname: `engine-${i}`, Labels: labels, StopSignal: 'SIGKILL', HostConfig: { NetworkMode: 'none', IpcMode: 'private' } })
      await sandbox.start()
      await (await docker.createContainer(app(i, { NetworkMode: `container:${sandbox.id}`, IpcMode: 'private' }))).start()
    })
    lines.push(`the engine alone, ${BURST} at once through its API: one container each on the bridge (a swarm task's shape) all running after ${ms(single)} ms; a pod's sandbox and app container each, ${ms(pairs)} ms`)
    return { single, pairs }
  } finally {
    await removeEngineContainers(docker).catch(() => {})
  }
}

// ---------------------------------------------------------------- Swarm

interface SwarmFigures { single: number[], burst: number[], total: number }

/** The running containers of a swarm service, by its tasks' start events. */
const startsOf = (events: EventLog, service: string): ContainerEvent[] => {
  if (events.failure !== undefined) throw new Error(`docker events: ${events.failure}`)
  return events.events.filter(e => e.action === 'start' && e.labels[L.service] === service)
}

async function swarmServices (docker: Docker): Promise<Docker.Service[]> {
  return (await docker.listServices()).filter(s => s.Spec?.Name?.startsWith(SWARM_PREFIX) === true)
}

async function swarmContainers (docker: Docker): Promise<Docker.ContainerInfo[]> {
  return await docker.listContainers({ all: true, filters: { label: [`${SWARM_LABEL}=pods`] } })
}

/** Remove the bench's services and wait for their containers to go (force-removing them after the timeout). */
async function removeSwarmServices (docker: Docker): Promise<void> {
  for (const svc of await swarmServices(docker)) await docker.getService(svc.ID).remove().catch(() => {})
  try {
    await waitFor('the swarm services\' containers gone', async () => (await swarmContainers(docker)).length === 0, { timeoutMs: GONE_TIMEOUT_MS, intervalMs: 100 })
  } catch {
    const left = await swarmContainers(docker)
    if (left.length > 0) await run('docker', ['rm', '-f', ...left.map(c => c.Id)]).catch(() => {})
  }
}

async function createService (docker: Docker, name: string, image: string, replicas: number): Promise<number> {
  const sentAt = epochNow()
  await docker.createService({
    Name: name,
    TaskTemplate: {
      ContainerSpec: { Image: image, Command: ['sleep', '3600'], Labels: { [SWARM_LABEL]: 'pods' }, StopGracePeriod: 1_000_000_000 }
    },
    Mode: { Replicated: { Replicas: replicas } }
  })
  return sentAt
}

async function swarmBench (lines: string[], docker: Docker): Promise<SwarmFigures | undefined> {
  const swarm = await enterSwarm(lines, docker)
  if (swarm === undefined) return undefined
  let events: EventLog | undefined
  try {
    await removeSwarmServices(docker) // leftovers of a run that was killed
    events = await EventLog.open(docker, `${SWARM_LABEL}=pods`)
    const ev = events
    // By image ID: the swarm executor skips its pull then, as Shoal's IfNotPresent does; by tag it asks the
    // registry first (--no-resolve-image only stops the CLI's own lookup), and no registry is reachable here.
    const imageId = (await docker.getImage(IMAGE).inspect()).Id
    const timeService = async (name: string, image: string, replicas: number, timeoutMs: number): Promise<{ sentAt: number, starts: number[] }> => {
      const sentAt = await createService(docker, name, image, replicas)
      await waitFor(`swarm service ${name}: ${replicas} container(s) started`, () => startsOf(ev, name).length >= replicas, { timeoutMs, intervalMs: 5 })
      return { sentAt, starts: startsOf(ev, name).slice(0, replicas).map(e => e.at - sentAt) }
    }

    const cold = await timeService(`${SWARM_PREFIX}warmup`, imageId, 1, RUN_TIMEOUT_MS)
    await removeSwarmServices(docker)
    let byTag = ''
    try {
      const t = await timeService(`${SWARM_PREFIX}bytag`, IMAGE, 1, RUN_TIMEOUT_MS)
      byTag = `; by tag (${IMAGE}, the executor tries the registry first): ${ms(t.starts[0]!)} ms`
    } catch (err) {
      byTag = `; by tag (${IMAGE}): no container within ${RUN_TIMEOUT_MS / 1000} s (${(err as Error).message.slice(0, 120)})`
    }
    await removeSwarmServices(docker)
    lines.push(`swarm (${swarm.initialised ? 'initialised for the bench' : 'the engine\'s existing swarm'}), first service (not counted): ${ms(cold.starts[0]!)} ms${byTag}`)

    const single: number[] = []
    for (let i = 0; i < SINGLE_ROUNDS; i++) {
      const t = await timeService(`${SWARM_PREFIX}single-${String(i).padStart(2, '0')}`, imageId, 1, RUN_TIMEOUT_MS)
      single.push(t.starts[0]!)
      await removeSwarmServices(docker)
    }
    lines.push(`swarm, 1 service of 1 replica at a time, service create sent → container running (docker start event): ${dist(single)}`)

    const b = await timeService(`${SWARM_PREFIX}burst`, imageId, BURST, BURST_TIMEOUT_MS)
    const total = Math.max(...b.starts)
    lines.push(`swarm, 1 service of ${BURST} replicas, service create sent → each container running: ${dist(b.starts)}; all ${BURST} running after ${ms(total)} ms`)
    return { single, burst: b.starts, total }
  } finally {
    events?.close()
    await removeSwarmServices(docker).catch(() => {})
    await leaveSwarm(lines, swarm)
  }
}

// ---------------------------------------------------------------- the whole

export async function podsBench (): Promise<string[]> {
  const scratch = scratchDir('bench-pods')
  const docker = new Docker()
  const lines: string[] = []
  const t0 = performance.now()
  try {
    await run('bash', [new URL('../images/build.sh', import.meta.url).pathname])
    const shoal = await shoalBench(lines, scratch.path, docker)
    const engine = await engineBench(lines, docker)
    const swarm = await swarmBench(lines, docker)
    const p99 = percentile(shoal.single.api, 99)
    lines.push(`goal, one pod p99 < ${GOAL_SINGLE_P99_MS} ms: ${p99 < GOAL_SINGLE_P99_MS ? 'MET' : 'MISSED'} (API Running p99 ${ms(p99)} ms, docker running p99 ${ms(percentile(shoal.single.docker, 99))} ms)`)
    if (swarm !== undefined) {
      const r = (what: string, sh: readonly number[], sw: readonly number[]): string =>
        `${what} p50 ${ratio(percentile(sh, 50), percentile(sw, 50))}, p99 ${ratio(percentile(sh, 99), percentile(sw, 99))}`
      lines.push(`shoal/swarm (below 1 is Shoal faster), 1 pod: ${r('docker running', shoal.single.docker, swarm.single)}; ${r('API Running', shoal.single.api, swarm.single)}`)
      lines.push(`shoal/swarm, ${BURST} at once: ${r('docker running', shoal.burst.docker, swarm.burst)}; all ${BURST} running ${ratio(shoal.burst.totalDocker, swarm.total)} (docker), ${ratio(shoal.burst.totalApi, swarm.total)} (API)`)
      lines.push(`goal, ${BURST} pods faster than swarm: ${shoal.burst.totalApi < swarm.total ? 'MET' : 'MISSED'} (shoal all Running in the API ${ms(shoal.burst.totalApi)} ms, all running in docker ${ms(shoal.burst.totalDocker)} ms; swarm ${ms(swarm.total)} ms)`)
      lines.push(`against the engine alone, ${BURST} at once: shoal ${ratio(shoal.burst.totalApi, engine.pairs)} of bare sandbox+app pairs; swarm ${ratio(swarm.total, engine.single)} of bare single containers; bare pairs ${ratio(engine.pairs, swarm.total)} of swarm`)
    }
    lines.push(`took ${((performance.now() - t0) / 1000).toFixed(0)} s`)
    return lines
  } catch (err) {
    throw benchFailure('pods', lines, err)
  } finally {
    scratch.remove()
  }
}
