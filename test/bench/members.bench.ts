import { readFileSync } from 'node:fs'
import { AgentProcess, allSee, scratchDir, shoal } from '../helpers/agents.ts'
import { waitFor } from '../helpers/wait.ts'
import { percentile, summary } from './stats.ts'

/**
 * Membership benchmarks (issue 2): join convergence for N agent processes,
 * failure detection after SIGKILL (and after SIGSTOP, where no socket closes
 * and only the heartbeat timers can tell), and an idle agent's RSS and CPU.
 */

const ip = (i: number): string => `127.0.0.${100 + i}`

async function startCluster (root: string, n: number): Promise<{ agents: AgentProcess[], launchedMs: number, readyMs: number, convergedMs: number }> {
  const agents = Array.from({ length: n }, (_, i) => new AgentProcess(root, `bench-${i + 1}`, ip(i + 1)))
  const first = agents[0]!
  await first.start([], { SHOAL_LOG_LEVEL: 'info' })
  const token = (await shoal(['token', '--data-dir', first.dataDir])).stdout.trim()
  const t0 = performance.now()
  await Promise.all(agents.slice(1).map(async a => await a.start(['--join', first.ip, '--token', token], { SHOAL_LOG_LEVEL: 'info' })))
  const readyMs = performance.now() - t0
  const expected = Object.fromEntries(agents.map(a => [a.name, 'alive']))
  await waitFor(`${n} agents converged`, async () => await allSee(agents, expected), { timeoutMs: 60_000, intervalMs: n > 5 ? 200 : 25 })
  return { agents, launchedMs: t0, readyMs, convergedMs: performance.now() - t0 }
}

async function stopAll (agents: readonly AgentProcess[]): Promise<void> {
  await Promise.all(agents.map(async a => await a.destroy()))
}

export async function joinConvergence (n: number): Promise<string> {
  const scratch = scratchDir(`bench-join-${n}`)
  try {
    const { agents, readyMs, convergedMs } = await startCluster(scratch.path, n)
    await stopAll(agents)
    return `join convergence, ${n} agents: all see all ${convergedMs.toFixed(0)} ms after the ${n - 1} joiners were launched (their processes were up and joined at ${readyMs.toFixed(0)} ms; gossip took the remaining ${(convergedMs - readyMs).toFixed(0)} ms)`
  } finally {
    scratch.remove()
  }
}

async function detectionTimes (agents: AgentProcess[], rounds: number, signal: 'SIGKILL' | 'SIGSTOP'): Promise<number[]> {
  const times: number[] = []
  for (let r = 0; r < rounds; r++) {
    const victim = agents[1 + (r % (agents.length - 1))]!
    const others = agents.filter(a => a !== victim)
    const t0 = performance.now()
    victim.kill(signal)
    await waitFor(`${victim.name} dead everywhere`, async () => await allSee(others, { [victim.name]: 'dead' }), { timeoutMs: 15_000, intervalMs: 10 })
    times.push(performance.now() - t0)
    if (signal === 'SIGSTOP') victim.kill('SIGKILL')
    await victim.waitExit()
    await victim.start([], { SHOAL_LOG_LEVEL: 'info' })
    await waitFor('all alive again', async () => await allSee(agents, Object.fromEntries(agents.map(a => [a.name, 'alive']))), { timeoutMs: 15_000 })
  }
  return times
}

/** How many times any agent has logged a member turning suspect. */
function countSuspicions (agents: readonly AgentProcess[]): number {
  return agents.reduce((n, a) => n + (readFileSync(a.logPath, 'utf8').match(/"to":"suspect"/g)?.length ?? 0), 0)
}

function procStat (pid: number): { cpuTicks: number, rssKiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const cpuTicks = Number(fields[11]) + Number(fields[12])
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return { cpuTicks, rssKiB: Number(rss?.[1] ?? NaN) }
}

export async function failureDetectionAndIdle (rounds: number): Promise<string[]> {
  const scratch = scratchDir('bench-detect')
  try {
    const { agents } = await startCluster(scratch.path, 5)
    // Idle: 10 s of a converged 5-member cluster, nobody polling.
    const pids = agents.map(a => a.proc!.pid!)
    const suspicionsBefore = countSuspicions(agents)
    const before = pids.map(procStat)
    const t0 = performance.now()
    await new Promise(resolve => setTimeout(resolve, 10_000))
    const seconds = (performance.now() - t0) / 1000
    const after = pids.map(procStat)
    const cpuPct = after.map((a, i) => (a.cpuTicks - before[i]!.cpuTicks) / 100 / seconds * 100)
    const rssMiB = after.map(a => a.rssKiB / 1024)
    const falseSuspicions = countSuspicions(agents) - suspicionsBefore
    const idle = `idle agent, 5 members, over ${seconds.toFixed(0)} s: RSS p50 ${percentile(rssMiB, 50).toFixed(0)} MiB (max ${Math.max(...rssMiB).toFixed(0)} MiB), CPU p50 ${percentile(cpuPct, 50).toFixed(1)}% of a core (max ${Math.max(...cpuPct).toFixed(1)}%), false suspicions ${falseSuspicions}`

    const kill = await detectionTimes(agents, rounds, 'SIGKILL')
    const hang = await detectionTimes(agents, Math.max(3, Math.floor(rounds / 3)), 'SIGSTOP')
    await stopAll(agents)
    return [
      idle,
      `failure detection, SIGKILL → dead on all 4 others: ${summary(kill)}`,
      `failure detection, SIGSTOP (hung, sockets open) → dead on all 4 others: ${summary(hang)}`
    ]
  } finally {
    scratch.remove()
  }
}
