import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import Docker from 'dockerode'
import type { KubeObject } from '@shoal/core'
import { bindingCommands, schedule } from '@shoal/core/scheduler/index.ts'
import { closeConnections, open } from '@shoal/cli/http.ts'
import { AgentProcess, removeNodeContainers, scratchDir, shoal } from '../helpers/agents.ts'
import { raftStatus } from '../helpers/store.ts'
import { waitFor } from '../helpers/wait.ts'
import { benchFailure, percentile } from './stats.ts'
import { enterSwarm, leaveSwarm } from './swarm.ts'

/**
 * Control plane benchmark (issue 6's "Measure"):
 * 1. Scheduling throughput.
 *    (a) The pure scheduler: `schedule()` (and `bindingCommands()`) for 1,000
 *        and 10,000 pending pods over 100 Ready Nodes, pods/s.
 *    (b) Through Raft: one real agent with `--controllers nodes,scheduler`,
 *        100 fake Ready Nodes written through the API (labelled
 *        shoal.bench/fake=true; the node controller leaves Nodes that are not
 *        members alone) and pods whose nodeSelector only those match, so the
 *        agent's own kubelet never runs them. The pods are written in raw
 *        store batches; a watch stamps when each pod got spec.nodeName.
 *    The bar: 1,000 pods/s (kube-scheduler does a few hundred).
 * 2. Deployment convergence on three real agents with every controller:
 *    `create deployment --replicas=0`, `scale --replicas=30` until 30 pods
 *    Ready; then SIGKILL of an agent holding pods until 30 are Ready again,
 *    none on the dead node. Yardstick: Docker Swarm on the one local engine
 *    (`docker service scale X=30`, then `docker kill` of task containers).
 */

const RAFT_IP = '127.0.0.190'
const CONV_IPS = ['127.0.0.191', '127.0.0.192', '127.0.0.193']
const WEB = 'shoal-test/web:1'
/** debug (AgentProcess's default) logs every request and would measure pino. */
const AGENT_ENV = { SHOAL_LOG_LEVEL: 'info' }
const FAKE_NODES = 100
const FAKE_LABEL = 'shoal.bench/fake'
const POD_LABEL = { bench: 'control' }
/** Pods per raw batch write: ~500 × ~0.7 KB stays under the API's 1 MiB body limit (as the api bench writes). */
const BULK_BATCH = 500
const REPLICAS = 30
const GOAL_PODS_PER_S = 1000
const BIND_TIMEOUT_MS = 180_000
const CONVERGE_TIMEOUT_MS = 120_000
/** On the bench's swarm service's containers (ContainerSpec.Labels). */
const SWARM_LABEL = 'io.shoal.bench'
const SWARM_SERVICE = 'shoal-bench-conv'

/**
 * The Node shapes. The brief's 4 cpu / 16 Gi holds 40 pods of 100m each, 4,000
 * on 100 nodes: enough for 1,000 pods, not for 10,000 (1,000 cpu). The
 * 10,000-pod rounds use 16 cpu / 64 Gi / 250 pods, so that every pod fits and
 * the figure is one of bindings, not of FailedScheduling. Per pod, the
 * scheduler's work (filter and score every node) does not depend on the shape.
 */
const SMALL = { cpu: '4', memory: '16Gi', pods: '110' }
const LARGE = { cpu: '16', memory: '64Gi', pods: '250' }
const POD_REQUESTS = { cpu: '100m', memory: '128Mi' }

const run = promisify(execFile)
const epochNow = (): number => performance.timeOrigin + performance.now()
const ms = (x: number): string => Number.isNaN(x) ? '–' : x < 10 ? x.toFixed(1) : x.toFixed(0)
const rate = (n: number, msTaken: number): string => `${(n / (msTaken / 1000)).toFixed(0)} pods/s`
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`
const fakeName = (i: number): string => `fake-${String(i).padStart(3, '0')}`

type Json = any

// ---------------------------------------------------------------- 1a: the pure scheduler

const NOW = '2026-01-01T00:00:00Z'

/** A Node as the node controller writes one for a Ready member (nodes.ts), with the fake label. */
function readyNode (name: string, shape: typeof SMALL): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, uid: `uid-${name}`, resourceVersion: '1', creationTimestamp: NOW, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', [FAKE_LABEL]: 'true' } },
    spec: {},
    status: {
      capacity: shape,
      allocatable: shape,
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'shoal agent is posting ready status', lastHeartbeatTime: NOW, lastTransitionTime: NOW }],
      addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: name }]
    }
  }
}

function pendingPod (name: string, i: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: String(100 + i), creationTimestamp: new Date(Date.parse(NOW) + i).toISOString(), labels: { ...POD_LABEL } },
    spec: {
      nodeSelector: { [FAKE_LABEL]: 'true' },
      schedulerName: 'default-scheduler',
      containers: [{ name: 'c', image: WEB, resources: { requests: POD_REQUESTS } }]
    },
    status: { phase: 'Pending' }
  }
}

/** Wall times of `runs` calls after three not counted (the JIT's warm-up). */
function timeIt (runs: number, f: () => void): number[] {
  for (let i = 0; i < 3; i++) f()
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    f()
    times.push(performance.now() - t0)
  }
  return times
}

export function pureBench (lines: string[]): Map<number, number> {
  const rates = new Map<number, number>()
  for (const [count, shape, runs] of [[1000, SMALL, 15], [10_000, LARGE, 5]] as const) {
    const nodes = Array.from({ length: FAKE_NODES }, (_, i) => readyNode(fakeName(i), shape))
    const pods = Array.from({ length: count }, (_, i) => pendingPod(`p-${String(i).padStart(5, '0')}`, i))
    const input = { pending: pods, nodes, bound: [], now: NOW }
    let bound = 0
    const sched = timeIt(runs, () => { bound = schedule(input).bindings.length })
    if (bound !== count) throw new Error(`pure scheduler: ${bound} of ${count} pods bound`)
    const ids = { eventName: (p: KubeObject) => `${p.metadata.name}.e`, uid: () => 'u' }
    const withCommands = timeIt(runs, () => { bindingCommands(schedule(input), NOW, ids) })
    const p50 = percentile(sched, 50)
    rates.set(count, count / (p50 / 1000))
    lines.push(`pure schedule(), ${count} pending pods over ${FAKE_NODES} Ready nodes (${shape.cpu} cpu/${shape.memory}, pods ${POD_REQUESTS.cpu}/${POD_REQUESTS.memory}): p50 ${ms(p50)} ms (min ${ms(Math.min(...sched))}, n=${runs}) → ${rate(count, p50)}; with bindingCommands() p50 ${ms(percentile(withCommands, 50))} ms → ${rate(count, percentile(withCommands, 50))}`)
  }
  return rates
}

// ---------------------------------------------------------------- a pod watch

/** The latest view of each pod a watch showed, and a predicate checked after every event, stamped with its receipt time. */
class PodWatch {
  readonly pods = new Map<string, Json>()
  /** When each pod was first seen with spec.nodeName, epoch ms. */
  readonly boundAt = new Map<string, number>()
  failure: string | undefined
  #close: () => void = () => {}
  #closed = false
  #waiters: Array<{ pred: (w: PodWatch) => boolean, resolve: (at: number) => void }> = []

  static async open (a: AgentProcess, query: string): Promise<PodWatch> {
    const w = new PodWatch()
    const path = `/api/v1/pods?${query}`
    const list = await a.getJson<{ metadata: { resourceVersion: string }, items: Json[] }>(path, 60_000)
    for (const p of list.items) w.#see(p, epochNow())
    const res = await open(a.endpoint(), 'GET', `${path}&watch=true&resourceVersion=${list.metadata.resourceVersion}&timeoutSeconds=3600`, { headers: { accept: 'application/json' } })
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
        if (ev.type === 'BOOKMARK') continue
        if (ev.type === 'DELETED') w.pods.delete(String(ev.object?.metadata?.name))
        else w.#see(ev.object, at)
      }
      w.#check(at)
    })
    res.on('end', () => { if (!w.#closed) w.failure ??= 'the watch ended' })
    res.on('error', (err: Error) => { if (!w.#closed) w.failure ??= err.message })
    w.#close = () => { res.destroy() }
    return w
  }

  #see (p: Json, at: number): void {
    const name = String(p?.metadata?.name)
    this.pods.set(name, p)
    if (typeof p?.spec?.nodeName === 'string' && !this.boundAt.has(name)) this.boundAt.set(name, at)
  }

  #check (at: number): void {
    this.#waiters = this.#waiters.filter(x => {
      if (!x.pred(this)) return true
      x.resolve(at)
      return false
    })
  }

  /** The receipt time of the event after which `pred` first held (now, if it holds already). */
  async until (what: string, pred: (w: PodWatch) => boolean, timeoutMs: number): Promise<number> {
    if (pred(this)) return epochNow()
    let timer: ReturnType<typeof setTimeout> | undefined
    let poll: ReturnType<typeof setInterval> | undefined
    try {
      return await new Promise<number>((resolve, reject) => {
        this.#waiters.push({ pred, resolve })
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs)
        poll = setInterval(() => { if (this.failure !== undefined) reject(new Error(`pod watch: ${this.failure}`)) }, 100)
      })
    } finally {
      clearTimeout(timer)
      clearInterval(poll)
      this.#waiters = this.#waiters.filter(x => x.pred !== pred)
    }
  }

  close (): void {
    this.#closed = true
    this.#close()
  }
}

const isReady = (p: Json): boolean => p?.metadata?.deletionTimestamp === undefined && p?.status?.phase === 'Running' &&
  (p?.status?.conditions ?? []).some((c: Json) => c.type === 'Ready' && c.status === 'True')

// ---------------------------------------------------------------- 1b: scheduling through Raft

async function expect (a: AgentProcess, status: number, method: string, path: string, json?: unknown, timeoutMs = 60_000): Promise<Json> {
  const res = await a.request(method, path, { ...(json !== undefined ? { json } : {}), timeoutMs })
  if (res.status !== status) throw new Error(`${method} ${path}: HTTP ${res.status} ${res.text.slice(0, 200)}`)
  return JSON.parse(res.text)
}

/** Create the fake nodes, or set their allocatable to `shape`, through the API (the object, then its status). */
async function putFakeNodes (a: AgentProcess, shape: typeof SMALL, create: boolean): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
  await Promise.all(Array.from({ length: FAKE_NODES }, async (_, i) => {
    const name = fakeName(i)
    const node = create
      ? await expect(a, 201, 'POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', [FAKE_LABEL]: 'true' } }, spec: {} })
      : await expect(a, 200, 'GET', `/api/v1/nodes/${name}`)
    const status = {
      capacity: shape,
      allocatable: shape,
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'a fake node of the control bench', lastHeartbeatTime: now, lastTransitionTime: now }],
      addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: name }]
    }
    await expect(a, 200, 'PUT', `/api/v1/nodes/${name}/status`, { ...node, status })
  }))
}

async function raftSchedulingBench (lines: string[], root: string): Promise<Map<number, number>> {
  const rates = new Map<number, number>()
  const a = new AgentProcess(root, 'ctl-sched', RAFT_IP)
  let watch: PodWatch | undefined
  try {
    await a.start(['--controllers', 'nodes,scheduler'], AGENT_ENV)
    await waitFor('the agent\'s own node Ready', async () => {
      const n = await expect(a, 200, 'GET', `/api/v1/nodes/${a.name}`).catch(() => undefined)
      return n?.status?.conditions?.some((c: Json) => c.type === 'Ready' && c.status === 'True') === true
    }, { timeoutMs: 30_000, intervalMs: 100 })
    await putFakeNodes(a, SMALL, true)

    // A pod as the API stores it (defaults, status Pending), held from the scheduler by its schedulerName: the raw batch skips only admission.
    const tpl = await expect(a, 201, 'POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'template', labels: POD_LABEL },
      spec: { schedulerName: 'shoal-bench-hold', nodeSelector: { [FAKE_LABEL]: 'true' }, containers: [{ name: 'c', image: WEB, resources: { requests: POD_REQUESTS } }] }
    })
    await expect(a, 200, 'DELETE', '/api/v1/namespaces/default/pods/template')
    const { uid: _u, resourceVersion: _rv, creationTimestamp: _ct, generation: _g, name: _n, ...meta } = tpl.metadata
    const spec = { ...tpl.spec, schedulerName: 'default-scheduler' }
    const podBytes = Buffer.byteLength(JSON.stringify(tpl))

    watch = await PodWatch.open(a, `labelSelector=bench%3Dcontrol`)
    const w = watch
    for (const [round, count] of [['r1', 1000], ['r2', 10_000]] as const) {
      if (count > 1000) await putFakeNodes(a, LARGE, false)
      const names = Array.from({ length: count }, (_, i) => `${round}-${String(i).padStart(5, '0')}`)
      const t0 = epochNow()
      for (let i = 0; i < names.length; i += BULK_BATCH) {
        const commands = names.slice(i, i + BULK_BATCH).map(name => ({ op: 'create', resource: 'pods', object: { ...tpl, metadata: { ...meta, name, namespace: 'default' }, spec } }))
        const r = await expect(a, 200, 'POST', '/api/shoal/v1/store', { op: 'batch', commands })
        if (r.ok !== true) throw new Error(`batch of ${commands.length} failed: ${JSON.stringify(r).slice(0, 200)}`)
      }
      const tLast = epochNow()
      const boundByLast = names.filter(n => (w.boundAt.get(n) ?? Infinity) <= tLast).length
      // Every bench pod of the earlier rounds is bound already: the count says when this round's are.
      const want = w.boundAt.size + names.filter(n => !w.boundAt.has(n)).length
      await w.until(`${count} pods bound`, x => x.boundAt.size >= want, BIND_TIMEOUT_MS)
      const unbound = names.filter(n => !w.boundAt.has(n))
      if (unbound.length > 0) throw new Error(`${unbound.length} pods of ${round} not bound (e.g. ${unbound[0]})`)
      const tAll = Math.max(...names.map(n => w.boundAt.get(n)!))
      const firstBound = Math.min(...names.map(n => w.boundAt.get(n)!))
      // Where they went: only fake nodes, spread evenly.
      const perNode = new Map<string, number>()
      for (const n of names) {
        const node = String(w.pods.get(n)?.spec?.nodeName)
        if (!node.startsWith('fake-')) throw new Error(`pod ${n} bound to ${node}, not a fake node`)
        perNode.set(node, (perNode.get(node) ?? 0) + 1)
      }
      const backlog = count - boundByLast
      const backlogMs = tAll - tLast
      const endToEnd = tAll - t0
      rates.set(count, backlog > 0 ? backlog / (backlogMs / 1000) : NaN)
      const shape = count > 1000 ? LARGE : SMALL
      lines.push(`raft, ${count} pods (${podBytes} B each) written in ${Math.ceil(count / BULK_BATCH)} raw batches of ${BULK_BATCH} in ${ms(tLast - t0)} ms (${rate(count, tLast - t0)} written), ${FAKE_NODES} fake nodes of ${shape.cpu} cpu/${shape.memory}` +
        `${round === 'r2' ? `, ${1000} pods of the first round bound already` : ''}: first bound ${ms(firstBound - t0)} ms after the first write; ${boundByLast} bound by the last write`)
      lines.push(`raft, ${count} pods: last write → all bound ${ms(backlogMs)} ms (the ${backlog} still pending then: ${backlog > 0 ? rate(backlog, backlogMs) : '–'}); first write → all bound ${ms(endToEnd)} ms → ${rate(count, endToEnd)} end to end, writes included; pods per node ${Math.min(...perNode.values())}–${Math.max(...perNode.values())} over ${perNode.size} nodes`)
    }
    return rates
  } finally {
    watch?.close()
    closeConnections()
    await a.destroy()
  }
}

// ---------------------------------------------------------------- 2: deployment convergence, Shoal

interface Convergence { readonly scaleFromStart: number, readonly scaleFromExit: number, readonly killed: number, readonly lost: number }

async function shoalConvergence (lines: string[], root: string): Promise<Convergence> {
  const agents = CONV_IPS.map((ip, i) => new AgentProcess(root, `ctl-conv-${i + 1}`, ip))
  const [a1] = agents as [AgentProcess, AgentProcess, AgentProcess]
  let watch: PodWatch | undefined
  try {
    await a1.start([], AGENT_ENV)
    const token = (await shoal(['token', '--data-dir', a1.dataDir])).stdout.trim()
    for (const a of agents.slice(1)) await a.start(['--join', a1.ip, '--token', token], AGENT_ENV)
    await waitFor('three Ready nodes', async () => {
      const nodes = (await a1.getJson('/api/v1/nodes')).items as Json[]
      return nodes.length === 3 && nodes.every(n => n.status.conditions.some((c: Json) => c.type === 'Ready' && c.status === 'True'))
    }, { timeoutMs: 30_000, intervalMs: 200 })
    await waitFor('three voters', async () => (await raftStatus(a1)).conf.voters.length === 3, { timeoutMs: 30_000, intervalMs: 200 })
    const leaderName = (await raftStatus(a1)).leader
    const leader = agents.find(a => a.name === leaderName) ?? a1
    const sh = async (args: readonly string[]): Promise<void> => {
      const r = await shoal([...args, '--kubeconfig', leader.kubeconfig], { timeoutMs: 60_000 })
      if (r.code !== 0) throw new Error(`shoal ${args.join(' ')}: ${r.stderr}`)
    }

    // Warm up: one pod of the image on each node (the sandbox image, the agents' JIT), then gone.
    await sh(['create', 'deployment', 'warm', `--image=${WEB}`, '--replicas=3'])
    await waitFor('3 warm-up pods Ready', async () => {
      const items = (await leader.getJson('/api/v1/namespaces/default/pods?labelSelector=app%3Dwarm')).items as Json[]
      return items.length === 3 && items.every(isReady)
    }, { timeoutMs: 60_000, intervalMs: 200 })
    await sh(['delete', 'deployment', 'warm'])

    watch = await PodWatch.open(leader, 'labelSelector=app%3Dconv')
    const w = watch
    await sh(['create', 'deployment', 'conv', `--image=${WEB}`, '--replicas=0'])
    const ready = (x: PodWatch, not?: string): number => [...x.pods.values()].filter(p => isReady(p) && p.spec?.nodeName !== not).length
    const t0 = epochNow()
    await sh(['scale', 'deployment', 'conv', `--replicas=${REPLICAS}`])
    const t1 = epochNow()
    const all = await w.until(`${REPLICAS} conv pods Ready`, x => ready(x) === REPLICAS, CONVERGE_TIMEOUT_MS)
    const firstBound = Math.min(...w.boundAt.values())
    const perNode = new Map<string, number>()
    for (const p of w.pods.values()) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1)
    lines.push(`shoal, 3 agents, scale deployment 0 → ${REPLICAS} (${WEB}): \`shoal scale\` started → all ${REPLICAS} Ready ${ms(all - t0)} ms (CLI took ${ms(t1 - t0)} ms; from its exit ${ms(all - t1)} ms); first pod bound ${ms(firstBound - t0)} ms; per node ${[...perNode.values()].join('/')}`)

    // SIGKILL an agent holding pods, not the leader (an election would add to what is measured).
    const victim = agents.filter(a => a !== leader).sort((x, y) => (perNode.get(y.name) ?? 0) - (perNode.get(x.name) ?? 0))[0]!
    const lost = perNode.get(victim.name) ?? 0
    const k0 = epochNow()
    victim.kill('SIGKILL')
    await victim.waitExit()
    const onVictim = [...w.pods.values()].filter(p => p.spec?.nodeName === victim.name).map(p => String(p.metadata.name))
    let evictedAt: number | undefined
    const back = await w.until(`${REPLICAS} Ready again, none on ${victim.name}`, x => {
      // Evicted: marked for deletion, or deleted outright (no kubelet is there to finish a graceful delete).
      if (evictedAt === undefined && onVictim.some(n => x.pods.get(n) === undefined || x.pods.get(n).metadata?.deletionTimestamp !== undefined)) evictedAt = epochNow()
      return ready(x, victim.name) === REPLICAS && ![...x.pods.values()].some(p => p.spec?.nodeName === victim.name && p.metadata?.deletionTimestamp === undefined)
    }, CONVERGE_TIMEOUT_MS)
    lines.push(`shoal, SIGKILL of ${victim.name} (a follower, ${lost} of the ${REPLICAS} pods): → ${REPLICAS} Ready again, none on it, ${ms(back - k0)} ms (its first pod evicted after ${evictedAt !== undefined ? ms(evictedAt - k0) : '–'} ms; the pod eviction timeout is 3 s by default)`)
    return { scaleFromStart: all - t0, scaleFromExit: all - t1, killed: back - k0, lost }
  } finally {
    watch?.close()
    closeConnections()
    await Promise.all(agents.map(async a => await a.destroy()))
  }
}

// ---------------------------------------------------------------- 2: the same on Docker Swarm

interface SwarmConvergence { readonly scaleFromStart: number, readonly scaleFromExit: number, readonly killOne: number, readonly killThird: number }

async function swarmRunning (docker: Docker): Promise<Docker.ContainerInfo[]> {
  return await docker.listContainers({ filters: { label: [`${SWARM_LABEL}=control`], status: ['running'] } })
}

async function removeService (docker: Docker): Promise<void> {
  for (const s of await docker.listServices()) if (s.Spec?.Name === SWARM_SERVICE) await docker.getService(s.ID).remove().catch(() => {})
  try {
    await waitFor('the swarm service\'s containers gone', async () => (await docker.listContainers({ all: true, filters: { label: [`${SWARM_LABEL}=control`] } })).length === 0, { timeoutMs: 60_000, intervalMs: 200 })
  } catch {
    const left = await docker.listContainers({ all: true, filters: { label: [`${SWARM_LABEL}=control`] } })
    if (left.length > 0) await run('docker', ['rm', '-f', ...left.map(c => c.Id)]).catch(() => {})
  }
}

/** Epoch ms when `pred` first held over the running containers, polled every 25 ms. */
async function pollRunning (docker: Docker, what: string, pred: (running: Docker.ContainerInfo[]) => boolean): Promise<number> {
  return await waitFor(what, async () => pred(await swarmRunning(docker)) ? epochNow() : false, { timeoutMs: CONVERGE_TIMEOUT_MS, intervalMs: 25 })
}

async function swarmConvergence (lines: string[], docker: Docker): Promise<SwarmConvergence | undefined> {
  const swarm = await enterSwarm(lines, docker)
  if (swarm === undefined) return undefined
  try {
    await removeService(docker)
    // By image ID: the swarm executor then skips asking a registry (none is reachable here), as Shoal's IfNotPresent does.
    const imageId = (await docker.getImage(WEB).inspect()).Id
    await docker.createService({
      Name: SWARM_SERVICE,
      TaskTemplate: { ContainerSpec: { Image: imageId, Labels: { [SWARM_LABEL]: 'control' }, StopGracePeriod: 1_000_000_000 } },
      Mode: { Replicated: { Replicas: 0 } }
    })
    const t0 = epochNow()
    await run('docker', ['service', 'scale', '--detach', `${SWARM_SERVICE}=${REPLICAS}`])
    const t1 = epochNow()
    const all = await pollRunning(docker, `${REPLICAS} swarm containers running`, r => r.length >= REPLICAS)
    lines.push(`swarm (${swarm.initialised ? 'initialised for the bench' : 'the engine\'s swarm'}, one engine), \`docker service scale ${SWARM_SERVICE}=${REPLICAS} --detach\` from 0: → ${REPLICAS} containers running ${ms(all - t0)} ms (CLI took ${ms(t1 - t0)} ms; from its exit ${ms(all - t1)} ms)`)

    const kill = async (n: number): Promise<number> => {
      const victims = (await swarmRunning(docker)).slice(0, n).map(c => c.Id)
      const k0 = epochNow()
      await run('docker', ['kill', ...victims])
      const back = await pollRunning(docker, `${REPLICAS} running again after docker kill`, r => r.length >= REPLICAS && r.every(c => !victims.includes(c.Id)))
      return back - k0
    }
    const killOne = await kill(1)
    const third = Math.round(REPLICAS / 3)
    const killThird = await kill(third)
    lines.push(`swarm, docker kill of 1 task container → ${REPLICAS} running again ${ms(killOne)} ms; of ${third} at once (a node's share on three) ${ms(killThird)} ms (Swarm's default restart delay is 5 s)`)
    return { scaleFromStart: all - t0, scaleFromExit: all - t1, killOne, killThird }
  } finally {
    await removeService(docker).catch(() => {})
    await leaveSwarm(lines, swarm)
  }
}

// ---------------------------------------------------------------- the whole

export async function controlBench (): Promise<string[]> {
  const scratch = scratchDir('bench-control')
  const docker = new Docker()
  const lines: string[] = []
  const t0 = performance.now()
  try {
    const pure = pureBench(lines)
    await run('bash', [new URL('../images/build.sh', import.meta.url).pathname])
    const raft = await raftSchedulingBench(lines, scratch.path)
    const best = (m: Map<number, number>): string => [...m].map(([n, r]) => `${n}: ${r.toFixed(0)} pods/s`).join(', ')
    const raftMin = Math.min(...raft.values())
    lines.push(`goal, ${GOAL_PODS_PER_S} pods/s scheduled: pure ${Math.min(...pure.values()) >= GOAL_PODS_PER_S ? 'MET' : 'MISSED'} (${best(pure)}); through Raft, the backlog at the last write ${raftMin >= GOAL_PODS_PER_S ? 'MET' : 'MISSED'} (${best(raft)})`)
    const conv = await shoalConvergence(lines, scratch.path)
    const swarm = await swarmConvergence(lines, docker)
    if (swarm !== undefined) {
      lines.push(`shoal/swarm (below 1 is Shoal faster): scale 0 → ${REPLICAS} ${ratio(conv.scaleFromStart, swarm.scaleFromStart)} from the command's start, ${ratio(conv.scaleFromExit, swarm.scaleFromExit)} from its exit; ` +
        `a node killed (${conv.lost} pods) vs 1 container killed ${ratio(conv.killed, swarm.killOne)}, vs ${Math.round(REPLICAS / 3)} containers killed ${ratio(conv.killed, swarm.killThird)}`)
    }
    lines.push(`took ${((performance.now() - t0) / 1000).toFixed(0)} s`)
    return lines
  } catch (err) {
    throw benchFailure('control', lines, err)
  } finally {
    closeConnections()
    for (const name of ['ctl-sched', 'ctl-conv-1', 'ctl-conv-2', 'ctl-conv-3']) await removeNodeContainers(name)
    scratch.remove()
  }
}
