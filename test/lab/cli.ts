import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { cleanupLab } from './cleanup.ts'
import { defaultLabDir } from './layout.ts'
// Only `down` and `cleanup` must work when the agent's code does not load (a
// tree in the middle of a change): they do without it; the other verbs load
// the Lab, which loads the agent's client code, when they run.
import type { Lab } from './lab.ts'

/**
 * `npm run lab -- VERB …`: the lab by hand. `up` brings hosts up and returns;
 * they keep running (detached) until `down`. The lab dir is $SHOAL_LAB_DIR or
 * /tmp/shoal-lab. See README.md beside this file.
 */
const USAGE = `usage: npm run lab -- VERB …
  up N [AGENT-FLAG…]     bring up N hosts (flags go to every \`shoal agent\`), print them, return
  status                 the hosts of the running lab
  down                   remove the lab, everything it made
  cleanup                remove whatever a killed run left behind
  run K CMD…             run CMD inside host K (DOCKER_HOST, KUBECONFIG, SHOAL_DATA_DIR set)
  shell K                an interactive shell inside host K
  kill K                 power cut: agent, engine, containers SIGKILLed at once, namespace reset
  start K                power host K on again after kill
  stop-agent K [TERM]    stop host K's agent only: SIGKILL, or SIGTERM (graceful)
  start-agent K          start host K's agent again
  partition K[,K…]       split these hosts from the others (L2), \`heal\` to end it
  heal                   end the partition
  netem K SPEC…|off      impair what host K sends: delay=100ms jitter=10ms loss=5% rate=1mbit
                         (rate alone works without sch_netem: a token bucket)`

function hostNumber (arg: string | undefined): number {
  const k = Number(arg)
  if (arg === undefined || !Number.isInteger(k)) throw new UsageError(`expected a host number, got ${arg ?? 'nothing'}`)
  return k
}

class UsageError extends Error {}

function describe (lab: Lab): string {
  const lines = lab.hosts.map(h => {
    const up = h.cgroup.pids().length > 0 ? (h.agent.running ? 'up' : 'engine only') : 'off'
    const split = lab.partitioned.includes(h.k) ? ' (partitioned)' : ''
    return [
      `host ${h.k} (${h.name}, ${up}${split}): ${h.ip}`,
      `  kubeconfig ${h.layout.kubeconfig}`,
      `  docker     unix://${h.layout.dockerSock}`,
      `  logs       ${h.layout.agentLog} ${h.layout.dockerdLog}`,
      `  shell      npm run lab -- shell ${h.k}`
    ].join('\n')
  })
  return [`lab in ${lab.dir}; from this machine: KUBECONFIG=${lab.host(1).layout.kubeconfig} kubectl get nodes`, ...lines].join('\n')
}

async function interactive (lab: Lab, k: number, cmd: readonly string[]): Promise<number> {
  const h = lab.host(k)
  const [bin, ...args] = h.argv(cmd)
  const child = spawn(bin!, args, { stdio: 'inherit', env: { ...h.env(), PS1: `lab-${h.name}:\\w# ` } })
  const [code, signal] = await once(child, 'exit') as [number | null, string | null]
  return code ?? (signal !== null ? 128 : 1)
}

async function main (argv: readonly string[]): Promise<number> {
  const [verb, ...rest] = argv
  const say = (line: string): void => { console.log(line) }
  if (verb === 'down' || verb === 'cleanup') {
    // The same for both: remove what exists, whatever made it.
    const done = await cleanupLab(defaultLabDir())
    say(verb === 'down' ? 'lab removed' : done.length > 0 ? done.join('\n') : 'nothing to remove')
    return 0
  }
  const { Lab } = await import('./lab.ts')
  try {
    return await runVerb(Lab, verb, rest, say)
  } finally {
    (await import('@shoal/cli/http.ts')).closeConnections()
  }
}

async function runVerb (Lab: typeof import('./lab.ts').Lab, verb: string | undefined, rest: readonly string[], say: (line: string) => void): Promise<number> {
  switch (verb) {
    case 'up': {
      const started = performance.now()
      const progress = (line: string): void => { say(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${line}`) }
      const lab = await Lab.up(hostNumber(rest[0]), { agentArgs: rest.slice(1), log: progress })
      progress('up')
      say(describe(lab))
      return 0
    }
    case 'status': say(describe(Lab.open())); return 0
    case 'run': {
      if (rest.length < 2) throw new UsageError('run K CMD…')
      return await interactive(Lab.open(), hostNumber(rest[0]), rest.slice(1))
    }
    case 'shell': return await interactive(Lab.open(), hostNumber(rest[0]), ['bash', '--norc', '-i'])
    case 'kill': await Lab.open().kill(hostNumber(rest[0])); say(`host ${rest[0]} is off`); return 0
    case 'start': await Lab.open().start(hostNumber(rest[0])); say(`host ${rest[0]} is up`); return 0
    case 'stop-agent': {
      const signal = rest[1] === undefined ? 'SIGKILL' : `SIG${rest[1].replace(/^SIG/, '')}`
      if (signal !== 'SIGKILL' && signal !== 'SIGTERM') throw new UsageError('stop-agent K [KILL|TERM]')
      await Lab.open().stopAgent(hostNumber(rest[0]), signal)
      say(`agent of host ${rest[0]} stopped (${signal})`)
      return 0
    }
    case 'start-agent': await Lab.open().startAgent(hostNumber(rest[0])); say(`agent of host ${rest[0]} started`); return 0
    case 'partition': {
      const ks = (rest[0] ?? '').split(',').map(hostNumber)
      await Lab.open().partition(ks)
      say(`hosts ${ks.join(', ')} split from the others`)
      return 0
    }
    case 'heal': await Lab.open().heal(); say('partition healed'); return 0
    case 'netem': await Lab.open().netem(hostNumber(rest[0]), rest.slice(1)); say(`host ${rest[0]}: netem ${rest.slice(1).join(' ')}`); return 0
    default: throw new UsageError(verb === undefined ? 'no verb' : `unknown verb ${verb}`)
  }
}

try {
  process.exitCode = await main(process.argv.slice(2))
} catch (err) {
  console.error(err instanceof UsageError ? `${err.message}\n${USAGE}` : `lab: ${(err as Error).message}`)
  process.exitCode = err instanceof UsageError ? 2 : 1
}
