import { readFileSync, statSync } from 'node:fs'
import { closeConnections, send, type Answer, type Endpoint } from '@shoal/cli/http.ts'
import { AgentProcess, scratchDir, shoal } from '../helpers/agents.ts'
import { raftStatus } from '../helpers/store.ts'
import { waitFor } from '../helpers/wait.ts'
import { closedLoop, cpuMs, type LoadResult, type WriteFn } from './load.ts'
import { benchFailure, percentile } from './stats.ts'
import { openWatcher, type Watcher } from './watch-fanout.ts'

/**
 * Kubernetes API benchmark (the API issue): three agents on loopback, then
 * - a list of 10,000 pods, as JSON and as kubectl's Table, and the agents'
 *   RSS with those pods in the store (first, while the store holds nothing else);
 * - create and get latency (p50/p99) and requests/s for 1 and 32 closed-loop
 *   clients, each sent to the leader and to a follower (a follower forwards a
 *   create to the leader over the mesh, and reads its own replica);
 * - watch fan-out: 100 watchers, each on its own HTTPS connection, and the
 *   time from a create to every watcher seeing its event, checking that
 *   every watcher got every event, in order (the bench fails if not).
 * The yardsticks: Kubernetes' SLO (mutating call p99 ≤ 1 s; get ≤ 1 s,
 * namespaced list ≤ 5 s) is the floor; the goal is p99 ≤ 50 ms on loopback.
 */

const IPS = ['127.0.0.141', '127.0.0.142', '127.0.0.143']
/** debug (AgentProcess's default) logs every request and would measure pino. */
// The API alone: no scheduler or workload controllers, so the 10,000 pods stay stored, not run.
const AGENT_ENV = { SHOAL_LOG_LEVEL: 'info', SHOAL_CONTROLLERS: 'nodes' }
const LEVELS = [1, 32] as const
/** A fresh agent runs cold: its JIT has not warmed up and throughput still climbs over the first seconds. */
const CLUSTER_WARMUP_MS = 3000
const WARMUP_MS = 1000
const DURATION_MS = 5000
const REQUEST_TIMEOUT_MS = 15_000
/** The create and get runs write here, apart from the list part's 10,000 pods in `default`. */
const BENCH_NS = 'api-bench'
const LIST_PODS = 10_000
/** Pods per raw batch write: ~500 × ~0.5 KB stays well under the API's 1 MiB body limit. */
const BULK_BATCH = 500
const LIST_RUNS = 5
const WATCHERS = 100
const WATCH_WRITES = 200
const WATCH_INTERVAL_MS = 20
/** How long every watcher may take to see the last write before the bench calls the events lost. */
const DELIVERY_TIMEOUT_MS = 30_000
const GOAL_P99_MS = 50
const SLO_MUTATING_P99_MS = 1000
const SLO_LIST_P99_MS = 5000
const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json'

/** A p99 to hold against the goal (unless `goal` is false: a 10,000-pod list is not a 50 ms call) and against Kubernetes' SLO, where it has one. */
interface Goal { readonly what: string, readonly p99: number, readonly goal: boolean, readonly slo?: number }

const pod = (name: string): unknown => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox' }] } })
const podsPath = (ns: string): string => `/api/v1/namespaces/${ns}/pods`
const ms = (x: number): string => x < 10 ? x.toFixed(1) : x.toFixed(0)
const clients = (n: number): string => `${n} client${n === 1 ? '' : 's'}`
const sleep = async (t: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, t)) }

/** The cluster's agents, their endpoints read once (the kubeconfig does not change during the bench). */
class Cluster {
  readonly agents: AgentProcess[]
  readonly #endpoints = new Map<AgentProcess, Endpoint>()
  constructor (root: string) {
    this.agents = IPS.map((ip, i) => new AgentProcess(root, `api-bench-${i + 1}`, ip))
  }

  async start (): Promise<void> {
    const first = this.agents[0]!
    await first.start([], AGENT_ENV)
    const token = (await shoal(['token', '--data-dir', first.dataDir])).stdout.trim()
    for (const a of this.agents.slice(1)) await a.start(['--join', first.ip, '--token', token], AGENT_ENV)
    await waitFor('three voters with one leader', async () => await this.healthy(), { timeoutMs: 30_000 })
    for (const a of this.agents) this.#endpoints.set(a, a.endpoint())
  }

  /** Three voters, one leader in one term seen by all, every replica caught up. */
  async healthy (): Promise<boolean> {
    const views = await Promise.all(this.agents.map(raftStatus))
    const first = views[0]!
    const commit = Math.max(...views.map(v => v.commit))
    return views.every(v => v.conf.voters.length === 3 && v.leader !== null && v.leader === first.leader && v.term === first.term && commit - v.applied <= 5)
  }

  async roles (): Promise<{ leader: AgentProcess, followers: AgentProcess[], term: number }> {
    const views = await Promise.all(this.agents.map(raftStatus))
    const i = views.findIndex(v => v.role === 'leader')
    if (i < 0) throw new Error('no leader')
    return { leader: this.agents[i]!, followers: this.agents.filter((_a, j) => j !== i), term: views[i]!.term }
  }

  endpoint (a: AgentProcess): Endpoint { return this.#endpoints.get(a) ?? a.endpoint() }

  /** One request through the CLI's pooled keep-alive HTTPS client, as `shoal` itself sends it. */
  async call (a: AgentProcess, method: string, path: string, opts: { json?: unknown, accept?: string, timeoutMs?: number } = {}): Promise<Answer> {
    const headers: Record<string, string> = { accept: opts.accept ?? 'application/json', ...(opts.json !== undefined ? { 'content-type': 'application/json' } : {}) }
    return await send(this.endpoint(a), method, path, { headers, timeoutMs: opts.timeoutMs ?? REQUEST_TIMEOUT_MS, ...(opts.json !== undefined ? { body: JSON.stringify(opts.json) } : {}) })
  }

  /** A request that must answer `status`; its JSON body. */
  async expect<T = any> (status: number, a: AgentProcess, method: string, path: string, opts: { json?: unknown, accept?: string, timeoutMs?: number } = {}): Promise<T> {
    const res = await this.call(a, method, path, opts)
    if (res.status !== status) throw new Error(`${method} ${path} on ${a.name}: HTTP ${res.status} ${reasonOf(res.text)}`)
    return JSON.parse(res.text) as T
  }
}

function reasonOf (text: string): string {
  try {
    const s = JSON.parse(text) as { reason?: unknown, message?: unknown }
    return `${String(s.reason ?? '')} ${String(s.message ?? '')}`.trim().slice(0, 120)
  } catch {
    return text.slice(0, 80)
  }
}

/** `p50 2.1 ms, p99 4.0 ms, max 9 ms, 412 req/s (2060 requests in 5 s, 0 errors)` */
function describeRequests (r: LoadResult): string {
  const errs = r.errors === 0 ? '0 errors' : `${r.errors} errors: ${[...r.errorKinds].map(([k, n]) => `${n}× ${k}`).join(', ')}`
  return `p50 ${ms(percentile(r.latenciesMs, 50))} ms, p99 ${ms(percentile(r.latenciesMs, 99))} ms, max ${ms(Math.max(...r.latenciesMs))} ms, ${(r.writes / r.seconds).toFixed(0)} req/s (${r.writes} requests in ${r.seconds.toFixed(0)} s, ${errs})`
}

/**
 * One closed-loop run, with the CPU the agents and this process burnt over
 * its measured window: on two shared cores, a p99 means little without
 * knowing whether the bench client itself was the bottleneck.
 */
async function measure (c: Cluster, n: number, target: AgentProcess, write: WriteFn): Promise<{ load: LoadResult, line: string }> {
  const pids = [target, ...c.agents].map(a => a.proc?.pid)
  let before: number[] = []
  let clientBefore = process.cpuUsage()
  let t0 = 0
  const t = setTimeout(() => {
    before = pids.map(cpuMs)
    clientBefore = process.cpuUsage()
    t0 = performance.now()
  }, WARMUP_MS)
  const load = await closedLoop({ clients: n, warmupMs: WARMUP_MS, durationMs: DURATION_MS, write })
  clearTimeout(t)
  const seconds = (performance.now() - t0) / 1000
  const after = pids.map(cpuMs)
  const client = process.cpuUsage(clientBefore)
  const pct = (i: number): number => (after[i]! - before[i]!) / 10 / seconds
  const all = c.agents.reduce((sum, _a, i) => sum + pct(i + 1), 0)
  return { load, line: `${describeRequests(load)}; CPU: that agent ${pct(0).toFixed(0)}%, all three ${all.toFixed(0)}%, bench client ${((client.user + client.system) / 1000 / 10 / seconds).toFixed(0)}% of a core` }
}

function vmRssMiB (a: AgentProcess): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${a.proc!.pid!}/status`, 'utf8'))
  return Number(m?.[1] ?? NaN) / 1024
}

// ---------------------------------------------------------------- create and get

async function createAndGet (c: Cluster, lines: string[], goals: Goal[]): Promise<void> {
  const { leader, followers } = await c.roles()
  const targets = [['leader', leader], ['follower', followers[0]!]] as const
  const created: string[] = []
  const creator = (to: (client: number) => AgentProcess, run: string): WriteFn => async (client, seq) => {
    const name = `${run}-${client}-${seq}`
    await c.expect(201, to(client), 'POST', podsPath(BENCH_NS), { json: pod(name) })
    created.push(name)
  }
  await closedLoop({ clients: 32, warmupMs: CLUSTER_WARMUP_MS, durationMs: 0, write: creator(i => c.agents[i % 3]!, 'w') })
  for (const n of LEVELS) {
    for (const [role, a] of targets) {
      const { load: r, line } = await measure(c, n, a, creator(() => a, `c${n}${role[0]}`))
      lines.push(`create, ${clients(n)} → ${role}: ${line}`)
      goals.push({ what: `create ${n}→${role}`, p99: percentile(r.latenciesMs, 99), goal: true, slo: SLO_MUTATING_P99_MS })
    }
  }
  // Reads of pods that exist, scattered over all of them, from the local replica.
  for (const n of LEVELS) {
    for (const [role, a] of targets) {
      const read: WriteFn = async (client, seq) => {
        const name = created[((seq * 32 + client) * 7919) % created.length]!
        await c.expect(200, a, 'GET', `${podsPath(BENCH_NS)}/${name}`)
      }
      const { load: r, line } = await measure(c, n, a, read)
      lines.push(`get, ${clients(n)} → ${role} (${created.length + LIST_PODS} pods in the store): ${line}`)
      goals.push({ what: `get ${n}→${role}`, p99: percentile(r.latenciesMs, 99), goal: true, slo: SLO_MUTATING_P99_MS })
    }
  }
}

// ---------------------------------------------------------------- list

/** A raw store batch, all or nothing; throws unless every command applied. */
async function batch (c: Cluster, a: AgentProcess, commands: unknown[]): Promise<void> {
  const r = await c.expect<{ ok?: boolean, message?: string }>(200, a, 'POST', '/api/shoal/v1/store', { json: { op: 'batch', commands }, timeoutMs: 60_000 })
  if (r.ok !== true) throw new Error(`batch of ${commands.length} failed: ${JSON.stringify(r).slice(0, 200)}`)
}

function chunks<T> (xs: readonly T[], n: number): T[][] {
  return Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, (i + 1) * n))
}

/**
 * Time LIST_RUNS lists of the pods in `default` after one that is not
 * counted (it runs the code cold), to the last byte and without the client's
 * JSON.parse; checks the count every time.
 */
async function timeList (c: Cluster, a: AgentProcess, accept: string, count: (body: any) => number): Promise<{ times: number[], bytes: number }> {
  const times: number[] = []
  let bytes = 0
  for (let i = 0; i <= LIST_RUNS; i++) {
    const t0 = performance.now()
    const res = await c.call(a, 'GET', podsPath('default'), { accept, timeoutMs: 60_000 })
    if (i > 0) times.push(performance.now() - t0)
    if (res.status !== 200) throw new Error(`list on ${a.name}: HTTP ${res.status} ${reasonOf(res.text)}`)
    bytes = Buffer.byteLength(res.text)
    const n = count(JSON.parse(res.text))
    if (n !== LIST_PODS) throw new Error(`list on ${a.name} returned ${n} pods, not ${LIST_PODS}`)
  }
  return { times, bytes }
}

/**
 * Runs first, on a fresh cluster, so that the RSS figures are those of an
 * empty store and of 10,000 pods, not of the garbage the create runs leave.
 */
async function listPart (c: Cluster, lines: string[], goals: Goal[]): Promise<void> {
  const { leader, followers } = await c.roles()
  const template = await c.expect<{ metadata: Record<string, unknown> }>(201, leader, 'POST', podsPath(BENCH_NS), { json: pod('template') })
  await c.expect(200, leader, 'DELETE', `${podsPath(BENCH_NS)}/template`)
  // A pod exactly as the API stored it (defaults, status), under another name: the raw batch skips only admission.
  const { uid: _u, resourceVersion: _rv, creationTimestamp: _ct, generation: _g, name: _n, ...meta } = template.metadata
  const rssBefore = c.agents.map(vmRssMiB)
  const t0 = performance.now()
  const names = Array.from({ length: LIST_PODS }, (_, i) => `list-${String(i).padStart(5, '0')}`)
  for (const part of chunks(names, BULK_BATCH)) {
    await batch(c, leader, part.map(name => ({ op: 'create', resource: 'pods', object: { ...template, metadata: { ...meta, name, namespace: 'default' } } })))
  }
  const bulkS = (performance.now() - t0) / 1000
  const podBytes = Buffer.byteLength(JSON.stringify(template))
  await waitFor('every replica caught up', async () => await c.healthy(), { timeoutMs: 30_000 })

  const target = followers[0]!
  const json = await timeList(c, target, 'application/json', b => b.items.length)
  const table = await timeList(c, target, TABLE_ACCEPT, b => b.rows.length)
  const rssAfter = c.agents.map(vmRssMiB)
  const mb = (b: number): string => (b / 1e6).toFixed(1)
  const listLine = (what: string, r: { times: number[], bytes: number }): string =>
    `list ${LIST_PODS} pods, ${what}, from a follower: p50 ${ms(percentile(r.times, 50))} ms, max ${ms(Math.max(...r.times))} ms over ${LIST_RUNS} runs after one not counted, ${mb(r.bytes)} MB (${(r.bytes / LIST_PODS).toFixed(0)} B a pod)`
  lines.push(`list setup: ${LIST_PODS} pods (each ${podBytes} B of JSON, as the API stores a minimal pod) written in ${Math.ceil(LIST_PODS / BULK_BATCH)} raw batches of ${BULK_BATCH} in ${bulkS.toFixed(1)} s`)
  lines.push(listLine('JSON', json))
  lines.push(listLine('Table (kubectl get)', table))
  const role = (a: AgentProcess): string => a === leader ? 'leader' : a === target ? 'follower, served the lists' : 'follower'
  lines.push(`agent RSS with ${LIST_PODS} pods, after the lists: ${c.agents.map((a, i) => `${role(a)} ${rssAfter[i]!.toFixed(0)} MiB (${rssBefore[i]!.toFixed(0)} with the store empty)`).join(', ')}`)
  goals.push({ what: 'list JSON', p99: Math.max(...json.times), goal: false, slo: SLO_LIST_P99_MS }, { what: 'list Table', p99: Math.max(...table.times), goal: false, slo: SLO_LIST_P99_MS })
}

// ---------------------------------------------------------------- watch fan-out

interface Ack { readonly name: string, readonly sentAt: number, readonly ackAt: number, readonly rv: number }

async function createPod (c: Cluster, a: AgentProcess, name: string): Promise<Ack> {
  const sentAt = performance.now()
  const o = await c.expect<{ metadata: { resourceVersion: string } }>(201, a, 'POST', podsPath('default'), { json: pod(name) })
  return { name, sentAt, ackAt: performance.now(), rv: Number(o.metadata.resourceVersion) }
}

/** Until every watcher has every one of `names`; throws at once if a stream fails, and after the deadline with what is missing. */
async function awaitDelivery (watchers: readonly Watcher[], names: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const failed = watchers.findIndex(w => w.failure !== undefined)
    if (failed >= 0) throw new Error(`watcher ${failed} failed: ${watchers[failed]!.failure}`)
    const missing = watchers.map(w => names.filter(n => !w.has(n)))
    const short = missing.filter(m => m.length > 0)
    if (short.length === 0) return
    if (performance.now() > deadline) {
      const worst = Math.max(...short.map(m => m.length))
      throw new Error(`events lost: ${short.length} of ${watchers.length} watchers still miss events ${timeoutMs} ms later (up to ${worst} of ${names.length} each; e.g. watcher ${missing.indexOf(short[0]!)} misses ${short[0]!.slice(0, 3).join(', ')})`)
    }
    await sleep(10)
  }
}

/** Each watcher must have exactly the acknowledged creates, once each, in resourceVersion order. */
function checkOrder (watchers: readonly Watcher[], expected: readonly Ack[]): void {
  watchers.forEach((w, i) => {
    if (w.events.length !== expected.length) throw new Error(`watcher ${i} got ${w.events.length} events, expected ${expected.length} (duplicates?)`)
    w.events.forEach((e, j) => {
      const want = expected[j]!
      if (e.name !== want.name || e.rv !== want.rv) throw new Error(`watcher ${i}, event ${j}: got ${e.name}@${e.rv}, expected ${want.name}@${want.rv}: out of order`)
    })
  })
}

async function fanOut (c: Cluster, placement: string, on: readonly AgentProcess[], round: string, goals: Goal[]): Promise<string> {
  const { leader } = await c.roles()
  const prime = await createPod(c, leader, `${round}-prime`)
  const watchers: Watcher[] = []
  try {
    const t0 = performance.now()
    for (let i = 0; i < WATCHERS; i++) watchers.push(openWatcher(c.endpoint(on[i % on.length]!), podsPath('default'), String(prime.rv), round))
    // A first event every watcher must see: then all streams are live before the measured writes.
    const ready = await createPod(c, leader, `${round}-ready`)
    await awaitDelivery(watchers, [ready.name], DELIVERY_TIMEOUT_MS)
    const setupMs = performance.now() - t0

    const pending: Array<Promise<Ack>> = []
    const start = performance.now()
    for (let i = 0; i < WATCH_WRITES; i++) {
      const wait = start + i * WATCH_INTERVAL_MS - performance.now()
      if (wait > 0) await sleep(wait)
      pending.push(createPod(c, leader, `${round}-${String(i).padStart(4, '0')}`))
    }
    const acks = await Promise.all(pending)
    await awaitDelivery(watchers, acks.map(a => a.name), DELIVERY_TIMEOUT_MS)
    checkOrder(watchers, [ready, ...[...acks].sort((a, b) => a.rv - b.rv)])

    const byName = new Map(acks.map(a => [a.name, a]))
    const fromSend: number[] = []
    const fromAck: number[] = []
    for (const w of watchers) {
      for (const e of w.events) {
        const a = byName.get(e.name)
        if (a === undefined) continue
        fromSend.push(e.at - a.sentAt)
        fromAck.push(e.at - a.ackAt)
      }
    }
    const beforeAck = fromAck.filter(x => x < 0).length / fromAck.length * 100
    const createMs = acks.map(a => a.ackAt - a.sentAt)
    goals.push({ what: `watch ${placement}`, p99: percentile(fromSend, 99), goal: true })
    return `watch fan-out, ${WATCHERS} watchers ${placement}, ${WATCH_WRITES} creates to the leader one every ${WATCH_INTERVAL_MS} ms: ` +
      `create sent → event delivered p50 ${ms(percentile(fromSend, 50))} ms, p99 ${ms(percentile(fromSend, 99))} ms, max ${ms(Math.max(...fromSend))} ms; ` +
      `create acknowledged → delivered p50 ${ms(percentile(fromAck, 50))} ms, p99 ${ms(percentile(fromAck, 99))} ms, max ${ms(Math.max(...fromAck))} ms (${beforeAck.toFixed(0)}% arrived before the ack); ` +
      `${fromSend.length} deliveries, every watcher got every event once, in resourceVersion order; creates meanwhile p50 ${ms(percentile(createMs, 50))} ms, p99 ${ms(percentile(createMs, 99))} ms; ${WATCHERS} watches live in ${setupMs.toFixed(0)} ms`
  } finally {
    for (const w of watchers) w.close()
  }
}

// ---------------------------------------------------------------- the whole

function goalLines (all: readonly Goal[]): string[] {
  const goals = all.filter(g => g.goal)
  const met = goals.filter(g => g.p99 <= GOAL_P99_MS)
  const missed = goals.filter(g => g.p99 > GOAL_P99_MS)
  const floor = all.filter(g => g.slo !== undefined)
  const overSlo = floor.filter(g => g.p99 > g.slo!)
  const list = (gs: readonly Goal[]): string => gs.map(g => `${g.what} ${ms(g.p99)} ms`).join(', ')
  return [
    `p99 goal ≤ ${GOAL_P99_MS} ms on loopback (create, get, watch delivery): ${missed.length === 0 ? 'met by all' : `met by ${met.length} of ${goals.length}`}${met.length > 0 ? ` (${list(met)})` : ''}${missed.length > 0 ? `; MISSED by ${list(missed)}` : ''}`,
    `Kubernetes SLO floor (create and get p99 ≤ ${SLO_MUTATING_P99_MS / 1000} s, namespaced list ≤ ${SLO_LIST_P99_MS / 1000} s, here the slowest of ${LIST_RUNS}): ${overSlo.length === 0 ? `met by all ${floor.length}` : `BROKEN by ${list(overSlo)}`}`
  ]
}

/** Warnings and worse, and leader elections, that the agents logged after `marks`: a figure taken meanwhile may not be what it seems. */
function logNotes (marks: ReadonlyMap<string, number>): string | undefined {
  const counts = new Map<string, number>()
  for (const [path, offset] of marks) {
    for (const line of readFileSync(path).subarray(offset).toString('utf8').split('\n')) {
      if (!line.startsWith('{')) continue
      let e: { level?: number, msg?: string }
      try { e = JSON.parse(line) } catch { continue }
      const key = Number(e.level) >= 40 ? `warn+ "${String(e.msg)}"` : e.msg === 'raft: leading' ? 'leader elected' : undefined
      if (key !== undefined) counts.set(key, (counts.get(key) ?? 0) + 1)
    }
  }
  return counts.size === 0 ? undefined : `agent logs during the bench: ${[...counts].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, n]) => `${n}× ${k}`).join('; ')}`
}

export async function apiBench (): Promise<string[]> {
  const scratch = scratchDir('bench-api')
  const c = new Cluster(scratch.path)
  const lines: string[] = []
  const goals: Goal[] = []
  const t0 = performance.now()
  try {
    await c.start()
    const marks = new Map(c.agents.map(a => [a.logPath, statSync(a.logPath).size]))
    const before = await c.roles()
    await listPart(c, lines, goals)
    await createAndGet(c, lines, goals)
    const { leader } = await c.roles()
    lines.push(await fanOut(c, 'on the leader', [leader], 'wl', goals))
    lines.push(await fanOut(c, 'spread over the three agents', c.agents, 'ws', goals))
    lines.push(...goalLines(goals))
    const after = await c.roles()
    if (after.term !== before.term) lines.push(`the leader changed during the bench (term ${before.term} → ${after.term}): figures include an election`)
    const notes = logNotes(marks)
    if (notes !== undefined) lines.push(notes)
    lines.push(`took ${((performance.now() - t0) / 1000).toFixed(0)} s`)
    return lines
  } catch (err) {
    throw benchFailure('api', lines, err)
  } finally {
    closeConnections()
    await Promise.all(c.agents.map(async a => await a.destroy()))
    scratch.remove()
  }
}
