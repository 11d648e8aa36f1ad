import { readFileSync } from 'node:fs'
import { open } from '@shoal/cli/http.ts'
import { AgentProcess, scratchDir, shoal } from '../helpers/agents.ts'
import { raftStatus } from '../helpers/store.ts'
import { waitFor } from '../helpers/wait.ts'
import { cpuMs } from './load.ts'
import { benchFailure, percentile } from './stats.ts'

/**
 * Scale (issue 17): agents on this machine (see AGENTS), each with a hollow runtime
 * (`--runtime hollow`: the real agent, kubelet and control plane over a
 * simulated engine that runs nothing, as Kubernetes' kubemark does), then
 * 3,000 pods through 30 Deployments of 100. Reported:
 * - the time from the first Deployment's create until all 30 report 100
 *   ready replicas (and a list then finds 3,000 pods Running);
 * - the leader's CPU while converging and when idle, in % of one core;
 * - the API's p50/p99 for a get (one Deployment) and a list (one
 *   Deployment's 100 pods, by label) during convergence, sent to the
 *   leader, one after another;
 * - reconciles per controller per pod change: the leader's work-queue
 *   counters (GET /api/shoal/v1/controllers) over the pod changes the
 *   convergence made, counted by a watch.
 * The goal: an idle leader with 3,000 pods uses at most 5 % of a core.
 */

/**
 * Agents (SHOAL_SCALE_AGENTS, default 10). The issue asks for 30, and this
 * 2-core machine cannot carry them: an idle agent costs 2 % of a core
 * alone and 8 % among 10 members (membership heartbeats every 500 ms to
 * every member, Raft heartbeats, libp2p upkeep), so 30 would want about 4
 * cores before a pod exists, and agents then miss their joins' deadlines.
 * 10 carry the same 3,000 pods, 300 each.
 */
const AGENTS = Number(process.env.SHOAL_SCALE_AGENTS ?? 10)
const DEPLOYMENTS = 30
const PODS = 3000
const REPLICAS = PODS / DEPLOYMENTS
const IP = (i: number): string => `127.0.4.${i + 1}`
if (!Number.isInteger(AGENTS) || AGENTS < 1 || AGENTS > 250) throw new Error(`SHOAL_SCALE_AGENTS must be 1 to 250, got ${String(process.env.SHOAL_SCALE_AGENTS)}`)
/** Agents at info would log every pod; warn keeps the log what it is for. */
const ENV = { SHOAL_LOG_LEVEL: 'warn' }
/** Room for every pod with a node to spare (a kubelet takes 110 by default, as Kubernetes' does). */
const ARGS = ['--runtime', 'hollow', '--max-pods', String(Math.ceil(PODS / Math.max(1, AGENTS - 1)) + 10)]
const CONVERGE_TIMEOUT_MS = 600_000
const IDLE_SETTLE_MS = 10_000
const IDLE_MEASURE_MS = 30_000
const GOAL_IDLE_PERCENT = 5

type Json = any

const deployment = (i: number): Json => {
  const name = `scale-${String(i).padStart(2, '0')}`
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: { replicas: REPLICAS, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image: 'shoal-test/web:1' }] } } }
  }
}

const pct = (cpu: number, wall: number): string => `${(100 * cpu / wall).toFixed(1)} %`
const ms = (x: number): string => x < 10 ? x.toFixed(1) : x.toFixed(0)

interface Counters { readonly reconciles: number, readonly failures: number, readonly retries: number }

async function counters (a: AgentProcess): Promise<Record<string, Counters>> {
  return (await a.getJson<{ controllers: Record<string, Counters> }>('/api/shoal/v1/controllers')).controllers
}

/** Pod ADDED/MODIFIED/DELETED events a watch from `rv` sees until stopped. */
async function countPodEvents (a: AgentProcess, rv: string): Promise<{ count: () => number, stop: () => void }> {
  const res = await open(a.endpoint(), 'GET', `/api/v1/pods?watch=true&resourceVersion=${rv}&timeoutSeconds=3600`, { headers: { accept: 'application/json' } })
  if (res.statusCode !== 200) throw new Error(`pod watch: HTTP ${String(res.statusCode)}`)
  let n = 0
  let partial = ''
  res.setEncoding('utf8')
  res.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n')
    partial = lines.pop() ?? ''
    n += lines.filter(l => l !== '' && !l.startsWith('{"type":"BOOKMARK"')).length
  })
  res.on('error', () => {})
  return { count: () => n, stop: () => { res.destroy() } }
}

export async function scaleBench (): Promise<string[]> {
  const lines: string[] = []
  const scratch = scratchDir('bench-scale')
  const agents = Array.from({ length: AGENTS }, (_, i) => new AgentProcess(scratch.path, `scale-${i + 1}`, IP(i)))
  try {
    const t0 = performance.now()
    const [first, ...rest] = agents
    await first!.start(ARGS, ENV)
    const token = (await shoal(['token', '--data-dir', first!.dataDir])).stdout.trim()
    // One after another, as people join machines: thirty Node.js start-ups at once on two cores is a herd no one runs.
    for (const a of rest) await a.start([...ARGS, '--join', first!.ip, '--token', token], ENV)
    await waitFor(`${AGENTS} Ready nodes`, async () => {
      const nodes = (await first!.getJson('/api/v1/nodes')).items as Json[]
      return nodes.length === AGENTS && nodes.every(n => n.status.conditions.some((c: Json) => c.type === 'Ready' && c.status === 'True'))
    }, { timeoutMs: 120_000, intervalMs: 500 })
    const leaderName = (await raftStatus(first!)).leader
    const leader = agents.find(a => a.name === leaderName)
    if (leader === undefined) throw new Error(`no leader among the agents (raft says ${String(leaderName)})`)
    const pid = leader.proc!.pid!
    const rssMiB = (): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024
    lines.push(`${AGENTS} agents (--runtime hollow) up and Ready in ${((performance.now() - t0) / 1000).toFixed(1)} s; the leader is ${leader.name}`)

    // Idle with no pods, for the baseline.
    let cpu0 = cpuMs(pid)
    let w0 = performance.now()
    await new Promise(resolve => setTimeout(resolve, IDLE_MEASURE_MS / 3))
    lines.push(`leader idle with 0 pods: ${pct(cpuMs(pid) - cpu0, performance.now() - w0)} of a core`)

    const before = await counters(leader)
    const rv = (await leader.getJson('/api/v1/pods?limit=1')).metadata.resourceVersion as string
    const events = await countPodEvents(leader, rv)

    // The API sampled one request after another: get a Deployment, list one Deployment's pods by label.
    const gets: number[] = []
    const lists: number[] = []
    let sampling = true
    const sample = async (into: { gets: number[], lists: number[] }, until: () => boolean): Promise<void> => {
      for (let i = 0; until(); i++) {
        const d = `scale-${String(i % DEPLOYMENTS).padStart(2, '0')}`
        let t = performance.now()
        const g = await leader.request('GET', `/apis/apps/v1/namespaces/default/deployments/${d}`, { timeoutMs: 30_000 })
        if (g.status === 200 || g.status === 404) into.gets.push(performance.now() - t)
        t = performance.now()
        const l = await leader.request('GET', `/api/v1/namespaces/default/pods?labelSelector=app%3D${d}`, { timeoutMs: 30_000 })
        if (l.status === 200) into.lists.push(performance.now() - t)
        await new Promise(resolve => setTimeout(resolve, 50))
      }
    }
    // First with nothing going on, for comparison.
    const quiet = { gets: [] as number[], lists: [] as number[] }
    const quietUntil = performance.now() + 3000
    await sample(quiet, () => performance.now() < quietUntil)
    lines.push(`API on the idle leader: get p50 ${ms(percentile(quiet.gets, 50))} ms, p99 ${ms(percentile(quiet.gets, 99))} ms; list p50 ${ms(percentile(quiet.lists, 50))} ms, p99 ${ms(percentile(quiet.lists, 99))} ms (n=${quiet.gets.length})`)
    const sampler = sample({ gets, lists }, () => sampling)
    cpu0 = cpuMs(pid)
    w0 = performance.now()
    await Promise.all(Array.from({ length: DEPLOYMENTS }, async (_, i) => {
      const res = await leader.request('POST', '/apis/apps/v1/namespaces/default/deployments', { json: deployment(i), timeoutMs: 30_000 })
      if (res.status !== 201) throw new Error(`create deployment ${i}: HTTP ${res.status} ${res.text.slice(0, 200)}`)
    }))
    await waitFor(`${DEPLOYMENTS} Deployments with ${REPLICAS} ready replicas each`, async () => {
      const items = (await leader.getJson('/apis/apps/v1/namespaces/default/deployments', 30_000)).items as Json[]
      return items.length === DEPLOYMENTS && items.every(d => d.status?.readyReplicas === REPLICAS && d.status?.updatedReplicas === REPLICAS)
    }, { timeoutMs: CONVERGE_TIMEOUT_MS, intervalMs: 250 })
    const converged = performance.now() - w0
    const convergeCpu = cpuMs(pid) - cpu0
    sampling = false
    await sampler
    const running = ((await leader.getJson('/api/v1/pods?fieldSelector=status.phase%3DRunning', 60_000)).items as Json[]).length
    if (running !== PODS) throw new Error(`${running} pods Running, not ${PODS}`)
    lines.push(`${PODS} pods through ${DEPLOYMENTS} Deployments of ${REPLICAS}: all ready in ${(converged / 1000).toFixed(1)} s (${(PODS / (converged / 1000)).toFixed(0)} pods/s), ${running} Running; leader CPU meanwhile ${pct(convergeCpu, converged)} of a core`)
    lines.push(`API on the leader during convergence: get deployment p50 ${ms(percentile(gets, 50))} ms, p99 ${ms(percentile(gets, 99))} ms (n=${gets.length}); list 100 pods by label p50 ${ms(percentile(lists, 50))} ms, p99 ${ms(percentile(lists, 99))} ms (n=${lists.length})`)

    // Idle with 3,000 pods.
    await new Promise(resolve => setTimeout(resolve, IDLE_SETTLE_MS))
    const changes = events.count()
    const after = await counters(leader)
    events.stop()
    const per = Object.entries(after).map(([name, c]) => `${name} ${((c.reconciles - (before[name]?.reconciles ?? 0)) / changes).toFixed(2)}`)
    lines.push(`reconciles per pod change (${changes} pod events while converging): ${per.join(', ')}`)
    cpu0 = cpuMs(pid)
    w0 = performance.now()
    await new Promise(resolve => setTimeout(resolve, IDLE_MEASURE_MS))
    const idle = 100 * (cpuMs(pid) - cpu0) / (performance.now() - w0)
    lines.push(`leader idle with ${PODS} pods: ${idle.toFixed(1)} % of a core over ${IDLE_MEASURE_MS / 1000} s (goal ≤ ${GOAL_IDLE_PERCENT} %: ${idle <= GOAL_IDLE_PERCENT ? 'met' : 'missed'}); RSS ${rssMiB().toFixed(0)} MiB`)
    return lines
  } catch (err) {
    throw benchFailure('scale', lines, err)
  } finally {
    await Promise.all(agents.map(async a => { if (a.running) { a.kill('SIGKILL'); await a.waitExit().catch(() => {}) } }))
    scratch.remove()
  }
}
