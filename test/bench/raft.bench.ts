import { readFileSync, statSync } from 'node:fs'
import { AgentProcess, scratchDir, shoal } from '../helpers/agents.ts'
import { raftStatus } from '../helpers/store.ts'
import { waitFor } from '../helpers/wait.ts'
import { percentile } from './stats.ts'
import { EtcdCluster, ETCD_TIMING, etcdVersion, type EtcdMember } from './etcd.ts'
import { closedLoop, cpuMs, describeLoad, httpClient, startProber, throughput, type HttpClient, type LoadResult, type WriteFn } from './load.ts'

/**
 * Consensus benchmark, with etcd as the yardstick: three voters on
 * loopback, commit throughput and latency for 1, 16 and 64 closed-loop
 * clients writing to the leader (and 16 spread over all three members, whose
 * writes are forwarded), then leader failover: SIGKILL the leader while a
 * prober writes every 10 ms to the live members, and time the first write
 * sent after the kill that succeeds. Both systems get the same client, the
 * same ~100-byte value and the same Raft timing (etcd is started with Shoal's
 * 50 ms tick and 500 ms election timeout, and pre-vote).
 */

const LEVELS = [1, 16, 64] as const
const SPREAD_CLIENTS = 16
/** Before the first level: a fresh agent runs cold (its JIT has not warmed up: throughput still doubles over the first seconds). */
const CLUSTER_WARMUP_MS = 3000
const WARMUP_MS = 1000
const DURATION_MS = 5000
const FAILOVER_ROUNDS = 10
const PROBE_INTERVAL_MS = 10
/** Longer than the agent's own 10 s write deadline, so that its 503 shows rather than a client timeout. */
const WRITE_TIMEOUT_MS = 15_000
const PROBE_TIMEOUT_MS = 5000
const AGENT_ENV = { SHOAL_LOG_LEVEL: 'info' }

const SHOAL_IPS = ['127.0.0.71', '127.0.0.72', '127.0.0.73']
const ETCD_IPS = ['127.0.0.81', '127.0.0.82', '127.0.0.83']

/** The object both systems store: a ConfigMap of about 100 bytes of JSON (etcd stores the same bytes as its value). */
function configMap (name: string): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { v: 'x'.repeat(24) } }
}

/** What one run of the closed loop gave, with the CPU the servers (and this client) burnt meanwhile. */
interface Figures { load: LoadResult, leaderCpuPct: number, totalCpuPct: number, clientCpuPct: number }

interface Subject {
  /** `shoal` or `etcd 3.4.23`. */
  readonly label: string
  /** The write of one run: every client to the leader, or (`spread`) client i to member i mod 3. */
  writer: (http: HttpClient, run: string, spread: boolean) => Promise<WriteFn>
  pids: () => { leader: number | undefined, all: Array<number | undefined> }
}

async function measure (subject: Subject, clients: number, run: string, spread: boolean): Promise<Figures> {
  const http = httpClient()
  try {
    const write = await subject.writer(http, run, spread)
    const pids = subject.pids()
    // CPU over the measured window only: sampled when the warm-up ends.
    let before: number[] = []
    let clientBefore = process.cpuUsage()
    const t = setTimeout(() => {
      before = [pids.leader, ...pids.all].map(cpuMs)
      clientBefore = process.cpuUsage()
    }, WARMUP_MS)
    const t0 = performance.now() + WARMUP_MS
    const load = await closedLoop({ clients, warmupMs: WARMUP_MS, durationMs: DURATION_MS, write })
    clearTimeout(t)
    const seconds = (performance.now() - t0) / 1000
    const after = [pids.leader, ...pids.all].map(cpuMs)
    const client = process.cpuUsage(clientBefore)
    const pct = (i: number): number => (after[i]! - before[i]!) / 10 / seconds
    return {
      load,
      leaderCpuPct: pct(0),
      totalCpuPct: pids.all.reduce<number>((sum, _p, i) => sum + pct(i + 1), 0),
      clientCpuPct: (client.user + client.system) / 1000 / 10 / seconds
    }
  } finally {
    http.close()
  }
}

function describe (f: Figures): string {
  return `${describeLoad(f.load)}; CPU: leader ${f.leaderCpuPct.toFixed(0)}%, all three ${f.totalCpuPct.toFixed(0)}%, bench client ${f.clientCpuPct.toFixed(0)}% of a core`
}

const clientsLabel = (n: number): string => `${n} client${n === 1 ? '' : 's'}`

/** Throughput runs at every level, then the spread run; one line each, keyed for the ratios. */
async function throughputRuns (subject: Subject, prefix: string): Promise<{ lines: string[], figures: Map<string, Figures> }> {
  const lines: string[] = []
  const figures = new Map<string, Figures>()
  const http = httpClient()
  try {
    await closedLoop({ clients: SPREAD_CLIENTS, warmupMs: CLUSTER_WARMUP_MS, durationMs: 0, write: await subject.writer(http, `${prefix}w`, false) })
  } finally {
    http.close()
  }
  for (const n of LEVELS) {
    const f = await measure(subject, n, `${prefix}${n}`, false)
    figures.set(`${clientsLabel(n)} → leader`, f)
    lines.push(`${subject.label}, ${clientsLabel(n)} → leader: ${describe(f)}`)
  }
  const f = await measure(subject, SPREAD_CLIENTS, `${prefix}${SPREAD_CLIENTS}x`, true)
  figures.set(`${clientsLabel(SPREAD_CLIENTS)} → all three`, f)
  lines.push(`${subject.label}, ${clientsLabel(SPREAD_CLIENTS)} → all three members (followers forward): ${describe(f)}`)
  return { lines, figures }
}

interface Failover {
  /** Kill → first write sent after the kill that succeeded, ms. */
  readonly ms: number[]
  /** Kill → the time the new leader logged that it leads, ms (from its log, so to the millisecond). */
  readonly electedMs: number[]
  /** Writes sent after a kill that failed (not counting those the round's end aborted). */
  failed: number
}

function failoverSummary (label: string, f: Failover): string {
  const after = f.ms.flatMap((ms, i) => f.electedMs[i] === undefined ? [] : [ms - f.electedMs[i]!])
  return `${label} failover, SIGKILL the leader → first write sent after the kill that succeeds: p50 ${percentile(f.ms, 50).toFixed(0)} ms, max ${Math.max(...f.ms).toFixed(0)} ms (n=${f.ms.length}, all: ${f.ms.map(x => x.toFixed(0)).join(' ')}); ` +
    `of which the election (kill → new leader logs it leads) p50 ${percentile(f.electedMs, 50).toFixed(0)} ms, max ${Math.max(...f.electedMs).toFixed(0)} ms, and leading → first write p50 ${percentile(after, 50).toFixed(0)} ms, max ${Math.max(...after).toFixed(0)} ms; ` +
    `a write every ${PROBE_INTERVAL_MS} ms to the live members, ${f.failed} of those sent after a kill failed`
}

/** The first time at or after `sinceEpochMs` that one of `logPaths` says its process became leader, or undefined. */
function electedAt (logPaths: readonly string[], sinceEpochMs: number, parse: (entry: Record<string, unknown>) => number | undefined): number | undefined {
  let first: number | undefined
  for (const path of logPaths) {
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line.startsWith('{')) continue
      let entry: Record<string, unknown>
      try { entry = JSON.parse(line) as Record<string, unknown> } catch { continue }
      const at = parse(entry)
      if (at !== undefined && at >= sinceEpochMs && (first === undefined || at < first)) first = at
    }
  }
  return first
}

/** Shoal (pino): `{"time": epoch ms, "msg": "raft: leading"}`. */
const shoalLeading = (e: Record<string, unknown>): number | undefined => e.msg === 'raft: leading' ? Number(e.time) : undefined
/** etcd (zap): `{"ts": "2026-…T…Z", "msg": "aa9c… became leader at term 7"}`. */
const etcdLeading = (e: Record<string, unknown>): number | undefined => / became leader at term /.test(String(e.msg)) ? Date.parse(String(e.ts)) : undefined

// ---------------------------------------------------------------- Shoal

interface BenchResult { lines: string[], figures: Map<string, Figures>, failover: Failover }

async function leaderOf (agents: readonly AgentProcess[]): Promise<{ agent: AgentProcess, term: number } | undefined> {
  for (const a of agents.filter(x => x.running)) {
    try {
      const s = await raftStatus(a)
      if (s.role === 'leader') return { agent: a, term: s.term }
    } catch {}
  }
  return undefined
}

/** Three voters, one leader in one term seen by all, every replica caught up with the commit index. */
async function shoalHealthy (agents: readonly AgentProcess[]): Promise<boolean> {
  const views = await Promise.all(agents.map(raftStatus))
  const first = views[0]!
  const commit = Math.max(...views.map(v => v.commit))
  return views.every(v => v.conf.voters.length === 3 && v.leader !== null && v.leader === first.leader && v.term === first.term && commit - v.applied <= 5)
}

async function postShoal (http: HttpClient, a: AgentProcess, name: string, opts: { timeoutMs: number, signal?: AbortSignal }): Promise<void> {
  const body = JSON.stringify({ op: 'create', resource: 'configmaps', object: configMap(name) })
  const e = a.endpoint()
  const res = await http.post(`${a.api}/api/shoal/v1/store`, body, { ...opts, ...(e.kind === 'tcp' ? { ca: e.ca, token: e.token } : {}) })
  if (res.status !== 200) {
    let reason = res.body.slice(0, 80)
    try { reason = String((JSON.parse(res.body) as { reason?: unknown }).reason ?? reason) } catch {}
    throw new Error(`HTTP ${res.status} ${reason}`)
  }
}

/** Log lines (pino JSON) the agents wrote since `marks` was taken. */
function logMarks (agents: readonly AgentProcess[]): Map<string, number> {
  return new Map(agents.map(a => [a.logPath, statSync(a.logPath).size]))
}

function logsSince (marks: ReadonlyMap<string, number>): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = []
  for (const [path, offset] of marks) {
    for (const line of readFileSync(path).subarray(offset).toString('utf8').split('\n')) {
      if (!line.startsWith('{')) continue
      try { out.push(JSON.parse(line) as Record<string, unknown>) } catch {}
    }
  }
  return out
}

/** What the agents logged that a developer should look at: warnings and worse, leader changes, compactions, voter changes. */
function logFindings (phase: string, entries: ReadonlyArray<Record<string, unknown>>, infos: readonly string[]): string | undefined {
  const counts = new Map<string, number>()
  const add = (k: string): void => { counts.set(k, (counts.get(k) ?? 0) + 1) }
  for (const e of entries) {
    const level = Number(e.level)
    const msg = String(e.msg ?? '')
    if (level >= 40) add(`${level >= 60 ? 'fatal' : level >= 50 ? 'error' : 'warn'} "${msg}"${e.err !== undefined ? ` (${String(e.err).slice(0, 100)})` : ''}`)
    else if (infos.includes(msg)) add(`"${msg}"`)
  }
  if (counts.size === 0) return undefined
  const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, n]) => `${n}× ${k}`)
  return `shoal agent logs during ${phase}: ${top.join('; ')}${counts.size > 8 ? `; and ${counts.size - 8} more kinds` : ''}`
}

async function shoalBench (): Promise<BenchResult> {
  const scratch = scratchDir('bench-raft')
  const agents = SHOAL_IPS.map((ip, i) => new AgentProcess(scratch.path, `raft-bench-${i + 1}`, ip))
  const lines: string[] = []
  try {
    const first = agents[0]!
    await first.start([], AGENT_ENV)
    const token = (await shoal(['token', '--data-dir', first.dataDir])).stdout.trim()
    for (const a of agents.slice(1)) await a.start(['--join', first.ip, '--token', token], AGENT_ENV)
    await waitFor('three shoal voters with one leader', async () => await shoalHealthy(agents), { timeoutMs: 30_000 })

    let leader: AgentProcess = first
    const subject: Subject = {
      label: 'shoal',
      async writer (http, run, spread) {
        leader = (await waitFor('a shoal leader', async () => await leaderOf(agents), { timeoutMs: 15_000 })).agent
        return async (client, seq) => await postShoal(http, spread ? agents[client % agents.length]! : leader, `${run}-${client}-${seq}`, { timeoutMs: WRITE_TIMEOUT_MS })
      },
      pids: () => ({ leader: leader.proc?.pid, all: agents.map(a => a.proc?.pid) })
    }
    let marks = logMarks(agents)
    const runs = await throughputRuns(subject, 's')
    lines.push(...runs.lines)
    const duringLoad = logFindings('the throughput runs', logsSince(marks), ['raft: leading', 'raft: role changed', 'raft: log compacted', 'raft: changing membership'])
    if (duringLoad !== undefined) lines.push(duringLoad)

    marks = logMarks(agents)
    const failover: Failover = { ms: [], electedMs: [], failed: 0 }
    for (let round = 0; round < FAILOVER_ROUNDS; round++) {
      await waitFor('a healthy shoal cluster', async () => await shoalHealthy(agents), { timeoutMs: 30_000, intervalMs: 50 })
      const old = (await waitFor('a shoal leader', async () => await leaderOf(agents), { timeoutMs: 10_000 }))
      const alive = new Set(agents)
      const http = httpClient()
      let next = 0
      const prober = startProber({
        intervalMs: PROBE_INTERVAL_MS,
        maxInFlight: 500,
        write: async (seq, signal) => {
          const targets = agents.filter(a => alive.has(a))
          await postShoal(http, targets[next++ % targets.length]!, `f${round}-${seq}`, { timeoutMs: PROBE_TIMEOUT_MS, signal })
          return true
        }
      })
      let killAt = 0
      let killEpoch = 0
      try {
        await waitFor('probe writes flowing', () => prober.results.filter(r => r.ok).length >= 20, { timeoutMs: 10_000 })
        killAt = performance.now()
        killEpoch = Date.now()
        old.agent.kill('SIGKILL')
        alive.delete(old.agent)
        const firstOk = await waitFor('a shoal write after the leader was killed', () => prober.results.find(r => r.ok && r.sentAt >= killAt), { timeoutMs: 20_000, intervalMs: 5 })
        failover.ms.push(firstOk.doneAt - killAt)
      } finally {
        await prober.stop()
        http.close()
      }
      failover.failed += prober.results.filter(r => !r.ok && r.sentAt >= killAt).length
      // A write committed after the kill must have had a new leader; check that the survivors agree.
      const survivors = agents.filter(a => a !== old.agent)
      await waitFor('survivors agree on a new leader', async () => {
        const views = await Promise.all(survivors.map(raftStatus))
        return views.every(v => v.leader !== null && v.leader !== old.agent.name && v.leader === views[0]!.leader && v.term > old.term)
      }, { timeoutMs: 10_000 })
      const elected = electedAt(agents.filter(a => a !== old.agent).map(a => a.logPath), killEpoch, shoalLeading)
      if (elected !== undefined) failover.electedMs.push(elected - killEpoch)
      await old.agent.waitExit()
      await old.agent.start([], AGENT_ENV)
    }
    lines.push(failoverSummary('shoal', failover))
    const duringFailover = logFindings(`the ${FAILOVER_ROUNDS} failover rounds`, logsSince(marks), ['raft: leading', 'raft: log compacted', 'raft: changing membership'])
    if (duringFailover !== undefined) lines.push(duringFailover)
    return { lines, figures: runs.figures, failover }
  } finally {
    await Promise.all(agents.map(async a => await a.destroy()))
    scratch.remove()
  }
}

// ---------------------------------------------------------------- etcd

async function etcdBench (version: string): Promise<BenchResult> {
  const scratch = scratchDir('bench-etcd')
  const cluster = new EtcdCluster(scratch.path, ETCD_IPS)
  const label = `etcd ${version}`
  const lines: string[] = []
  try {
    await cluster.start()
    let leader: EtcdMember = cluster.members[0]!
    const subject: Subject = {
      label,
      async writer (http, run, spread) {
        leader = (await waitFor('an etcd leader', async () => await cluster.leader(), { timeoutMs: 15_000 })).member
        return async (client, seq) => {
          const name = `${run}-${client}-${seq}`
          const m = spread ? cluster.members[client % cluster.members.length]! : leader
          await cluster.put(http, m, `/bench/configmaps/default/${name}`, JSON.stringify(configMap(name)), { timeoutMs: WRITE_TIMEOUT_MS })
        }
      },
      pids: () => ({ leader: leader.proc?.pid, all: cluster.members.map(m => m.proc?.pid) })
    }
    const runs = await throughputRuns(subject, 'e')
    lines.push(...runs.lines)

    const failover: Failover = { ms: [], electedMs: [], failed: 0 }
    for (let round = 0; round < FAILOVER_ROUNDS; round++) {
      await waitFor('a healthy etcd cluster', async () => await cluster.healthy(), { timeoutMs: 30_000, intervalMs: 50 })
      const old = await waitFor('an etcd leader', async () => await cluster.leader(), { timeoutMs: 10_000 })
      const alive = new Set(cluster.members)
      const http = httpClient()
      let next = 0
      const prober = startProber({
        intervalMs: PROBE_INTERVAL_MS,
        maxInFlight: 500,
        write: async (seq, signal) => {
          const targets = cluster.members.filter(m => alive.has(m))
          const name = `f${round}-${seq}`
          return await cluster.put(http, targets[next++ % targets.length]!, `/bench/configmaps/default/${name}`, JSON.stringify(configMap(name)), { timeoutMs: PROBE_TIMEOUT_MS, signal })
        }
      })
      let killAt = 0
      let killEpoch = 0
      try {
        await waitFor('probe writes flowing', () => prober.results.filter(r => r.ok).length >= 20, { timeoutMs: 10_000 })
        killAt = performance.now()
        killEpoch = Date.now()
        old.member.kill('SIGKILL')
        alive.delete(old.member)
        // etcd answers with the term it committed in: a later term means a new leader.
        const firstOk = await waitFor('an etcd write after the leader was killed', () => prober.results.find(r => r.ok && r.sentAt >= killAt && (r.value ?? 0) > old.status.raftTerm), { timeoutMs: 20_000, intervalMs: 5 })
        failover.ms.push(firstOk.doneAt - killAt)
      } finally {
        await prober.stop()
        http.close()
      }
      failover.failed += prober.results.filter(r => !r.ok && r.sentAt >= killAt).length
      const elected = electedAt(cluster.members.filter(m => m !== old.member).map(m => m.logPath), killEpoch, etcdLeading)
      if (elected !== undefined) failover.electedMs.push(elected - killEpoch)
      await old.member.waitExit()
      await cluster.restart(old.member)
    }
    lines.push(failoverSummary(label, failover))
    return { lines, figures: runs.figures, failover }
  } finally {
    await cluster.destroy()
    scratch.remove()
  }
}

// ---------------------------------------------------------------- both

const ratio = (a: number, b: number): string => `×${(a / b).toFixed(2)}`

export async function consensusBench (): Promise<string[]> {
  const t0 = performance.now()
  const lines = [
    `setup: 3 voters on loopback, one process each, data dirs on local disk with synced writes; a write creates one ~100-byte ConfigMap (etcd: a put of the same bytes via its JSON gateway); a fresh cluster first gets ${CLUSTER_WARMUP_MS / 1000} s of ${SPREAD_CLIENTS} clients, then each level ${WARMUP_MS / 1000} s warm-up and ${DURATION_MS / 1000} s measured, keep-alive HTTP; raft timing for both: 50 ms tick/heartbeat, election after 10–20 ticks (etcd ${ETCD_TIMING.join(' ')})`
  ]
  let shoalResult: BenchResult | undefined
  try {
    shoalResult = await shoalBench()
    lines.push(...shoalResult.lines)
  } catch (err) {
    lines.push(`shoal part failed: ${(err as Error).message}`)
  }

  const v = etcdVersion()
  if (!v.ok) {
    lines.push(`etcd skipped: ${v.why}`)
  } else {
    let etcdResult: BenchResult | undefined
    try {
      etcdResult = await etcdBench(v.version)
      lines.push(...etcdResult.lines)
    } catch (err) {
      lines.push(`etcd part failed: ${(err as Error).message}`)
    }
    if (shoalResult !== undefined && etcdResult !== undefined) {
      for (const [key, s] of shoalResult.figures) {
        const e = etcdResult.figures.get(key)
        if (e === undefined) continue
        lines.push(`shoal/etcd, ${key}: throughput ${ratio(throughput(s.load), throughput(e.load))}, p50 ${ratio(percentile(s.load.latenciesMs, 50), percentile(e.load.latenciesMs, 50))}, p99 ${ratio(percentile(s.load.latenciesMs, 99), percentile(e.load.latenciesMs, 99))}`)
      }
      const sf = shoalResult.failover
      const ef = etcdResult.failover
      lines.push(`shoal/etcd, failover: p50 ${ratio(percentile(sf.ms, 50), percentile(ef.ms, 50))}, max ${ratio(Math.max(...sf.ms), Math.max(...ef.ms))}; election alone: p50 ${ratio(percentile(sf.electedMs, 50), percentile(ef.electedMs, 50))}`)
    }
  }
  lines.push(`took ${((performance.now() - t0) / 1000).toFixed(0)} s`)
  return lines
}
