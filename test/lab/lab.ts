import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { closeConnections } from '@shoal/cli/http.ts'
import { DataDir, encodeToken } from '@shoal/agent'
import { waitFor } from '../helpers/wait.ts'
import { cleanupLab, leftoversExist } from './cleanup.ts'
import { saveImages } from './engine.ts'
import { exec, type RunResult } from './exec.ts'
import { LabHost } from './host.ts'
import { BRIDGE, defaultLabDir, MAX_HOSTS, SPLIT_BRIDGE } from './layout.ts'
import { isMountPoint } from './leftovers.ts'
import { attachTo, createBridges, setNetem } from './net.ts'
import { readState, writeState, type LabState } from './state.ts'

export { NetemUnsupportedError } from './net.ts'
export type { RunResult } from './exec.ts'

/** The images every host's engine gets at `up`, copied from the main engine (built by test/images/build.sh). */
export const LAB_IMAGES: readonly string[] = ['shoal-test/busybox:1', 'shoal-test/web:1', 'shoal-test/web:2']

export interface LabOptions {
  /** Where hosts keep their state; default $SHOAL_LAB_DIR, else /tmp/shoal-lab. */
  dir?: string
  /** More `shoal agent` flags for every host, e.g. ['--controllers', 'nodes']. */
  agentArgs?: readonly string[]
  /** More environment for every agent (SHOAL_LOG_LEVEL is info unless given). */
  agentEnv?: Readonly<Record<string, string>>
  images?: readonly string[]
  /**
   * False: boot the hosts' engines (with the images) but start no agents;
   * the test brings its own, e.g. installed by vagrant/install.sh in a
   * container on the host's engine. `start` after `kill` then boots the
   * engine alone too. Default true.
   */
  agents?: boolean
  /** Progress, one line at a time (the CLI prints it). */
  log?: (line: string) => void
}

type Json = any

/** Like Promise.all, but waits for every promise to settle before it throws the first failure: nothing is left running behind a cleanup. */
async function settleAll (promises: ReadonlyArray<Promise<unknown>>): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find(r => r.status === 'rejected')
  if (failed !== undefined) throw failed.reason
}

/** A node's Ready condition: 'True', 'False', 'Unknown', or undefined without one. */
export function readyStatus (node: Json): string | undefined {
  return (node.status?.conditions as Json[] | undefined)?.find(c => c.type === 'Ready')?.status
}

/**
 * A lab of simulated hosts on this machine (see README.md). Every verb works
 * on what exists, found through the lab's directory, names and cgroups, so
 * a Lab opened by another process (the CLI) drives a lab a test brought up,
 * and the other way round.
 */
export class Lab {
  readonly dir: string
  readonly hosts: readonly LabHost[]
  #state: LabState

  private constructor (dir: string, state: LabState) {
    this.dir = dir
    this.#state = state
    this.hosts = Array.from({ length: state.hosts }, (_v, i) => new LabHost(dir, i + 1))
  }

  /**
   * Bring up `n` hosts: remove a previous lab's leftovers, make the bridges,
   * boot every host (namespace, link, engine) and load the images in
   * parallel, start host 1's agent, join the others to it, and resolve when
   * all n nodes are Ready. On failure it removes what it made and throws.
   */
  static async up (n: number, opts: LabOptions = {}): Promise<Lab> {
    if (!Number.isInteger(n) || n < 1 || n > MAX_HOSTS) throw new Error(`a lab has 1 … ${MAX_HOSTS} hosts, not ${n}`)
    const dir = opts.dir ?? defaultLabDir()
    const log = opts.log ?? (() => {})
    if (leftoversExist(dir)) {
      log(`removing what a previous lab left in ${dir} and under the name shoal-lab`)
      await cleanupLab(dir)
    }
    mkdirSync(dir, { recursive: true })
    // Written before anything is made, so that a crash half-way still leaves cleanup its notes.
    const state: LabState = {
      version: 1,
      hosts: n,
      agentArgs: opts.agentArgs ?? [],
      agentEnv: opts.agentEnv ?? {},
      agents: opts.agents ?? true,
      partition: [],
      hadRunContainerd: existsSync('/run/containerd'),
      hadNetnsMount: isMountPoint('/run/netns')
    }
    writeState(dir, state)
    const lab = new Lab(dir, state)
    try {
      await createBridges()
      const tar = join(dir, 'images.tar')
      log(`booting ${n} hosts`)
      await settleAll([saveImages(opts.images ?? LAB_IMAGES, tar), ...lab.hosts.map(async h => await h.boot(BRIDGE))])
      const load = lab.hosts.map(async h => await h.docker(['load', '--quiet', '--input', tar]))
      if (!lab.#agents) {
        log('loading images into every engine (no agents)')
        await settleAll(load)
        return lab
      }
      log('loading images into every engine and starting the agents: host 1 creates the cluster, the others join it')
      await settleAll([...load, lab.#startClusterAgents()])
      log('waiting for every node to be Ready')
      await lab.waitReady()
      return lab
    } catch (err) {
      await lab.down().catch(() => {})
      throw err
    }
  }

  /** The lab another process brought up in `dir`. */
  static open (dir = defaultLabDir()): Lab {
    const state = readState(dir)
    if (state === undefined) throw new Error(`no lab in ${dir} (no lab.json): bring one up with \`npm run lab -- up N\``)
    return new Lab(dir, state)
  }

  /** Remove whatever a lab (running, or left by a killed run) made; one line per thing removed. */
  static async cleanup (dir = defaultLabDir()): Promise<string[]> {
    return await cleanupLab(dir)
  }

  /** Host 1 creates the cluster, the others join it with its token, all at once. */
  async #startClusterAgents (): Promise<void> {
    const [first, ...rest] = this.hosts
    const { agentArgs, agentEnv } = this.#state
    await first!.agent.start(agentArgs, agentEnv)
    // What `shoal token --data-dir` prints, without paying for another process's start.
    const cluster = await new DataDir(first!.layout.agentData).loadCluster()
    if (cluster === undefined) throw new Error(`host 1's agent made no cluster in ${first!.layout.agentData}`)
    const token = encodeToken(cluster)
    await settleAll(rest.map(async h => await h.agent.start(['--join', first!.ip, '--token', token, ...agentArgs], agentEnv)))
  }

  /** Whether the lab runs its own agents on the hosts (LabOptions.agents). */
  get #agents (): boolean { return this.#state.agents !== false }

  host (k: number): LabHost {
    const h = this.hosts[k - 1]
    if (h === undefined) throw new Error(`no host ${k}: this lab has hosts 1 … ${this.hosts.length}`)
    return h
  }

  /** Hosts split off by `partition`, empty when healed. */
  get partitioned (): readonly number[] { return this.#state.partition }

  /** Remove everything the lab made (the same as cleanup); safe to call twice. */
  async down (): Promise<void> {
    closeConnections()
    await cleanupLab(this.dir)
  }

  /** Run a command inside host k: its network namespace, DOCKER_HOST its engine, KUBECONFIG its agent's. */
  async run (k: number, cmd: readonly string[], opts: { timeoutMs?: number, input?: string } = {}): Promise<RunResult> {
    const h = this.host(k)
    const [bin, ...args] = h.argv(cmd)
    return await exec(bin!, args, { env: h.env(), ...opts })
  }

  /** `docker …` against host k's engine; its stdout, or an error quoting docker's stderr. */
  async docker (k: number, args: readonly string[]): Promise<string> {
    return await this.host(k).docker(args)
  }

  /** True when host `from` can open a TCP connection to ip:port within timeoutMs. */
  async reaches (from: number, ip: string, port = 6443, timeoutMs = 1000): Promise<boolean> {
    const probe = `const s = require('node:net').connect({ host: ${JSON.stringify(ip)}, port: ${port}, timeout: ${timeoutMs} });` +
      "s.on('connect', () => process.exit(0)); s.on('timeout', () => process.exit(2)); s.on('error', () => process.exit(1))"
    return (await this.run(from, [process.execPath, '-e', probe], { timeoutMs: timeoutMs + 5000 })).code === 0
  }

  /** Power cut of host k: agent, engine and containers die at once; its namespace is made anew, empty; data stays. */
  async kill (k: number): Promise<void> {
    await this.host(k).powerCut()
  }

  /** Power host k on again after `kill`: link, engine (which finds its dead containers), agent (rejoins by itself). */
  async start (k: number): Promise<void> {
    const h = this.host(k)
    if (h.cgroup.pids().length > 0) throw new Error(`host ${k} is running: \`kill ${k}\` it first (or start-agent ${k} for its agent alone)`)
    await h.boot(this.#bridgeOf(k))
    if (this.#agents) await h.agent.start(this.#state.agentArgs, this.#state.agentEnv)
  }

  /** Stop host k's agent only (SIGKILL: a crash; SIGTERM: a graceful stop); resolves when it is gone. */
  async stopAgent (k: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const agent = this.host(k).agent
    agent.kill(signal)
    await agent.waitExit()
  }

  /** Start host k's agent again from its data dir: it rejoins by itself. */
  async startAgent (k: number): Promise<void> {
    if (!this.#agents) throw new Error('this lab runs no agents of its own (brought up with agents: false)')
    await this.host(k).agent.start(this.#state.agentArgs, this.#state.agentEnv)
  }

  /**
   * Split `ks` from the other hosts at L2: their links move onto a second
   * bridge that has no root-namespace address. They still reach each other;
   * the rest, and the test process, reach only the majority. Replaces an
   * earlier partition.
   */
  async partition (ks: readonly number[]): Promise<void> {
    for (const k of ks) this.host(k)
    const minority = [...new Set(ks)].sort((a, b) => a - b)
    if (minority.length === 0 || minority.length === this.hosts.length) throw new Error(`a partition splits some hosts from the others: give 1 … ${this.hosts.length - 1} of hosts 1 … ${this.hosts.length}`)
    this.#setState({ partition: minority })
    await this.#attachAll()
  }

  /** End the partition: every link back on the lab bridge. */
  async heal (): Promise<void> {
    this.#setState({ partition: [] })
    await this.#attachAll()
  }

  /** Impair what host k sends (`delay=100ms`, `loss=5%`, `jitter=…`, `rate=…`, or `off`); NetemUnsupportedError without sch_netem. */
  async netem (k: number, spec: readonly string[]): Promise<void> {
    await setNetem(this.host(k).layout, spec)
  }

  /** The Nodes as host `via` (default: the first host on the main side) serves them. */
  async nodes (via = this.#observer()): Promise<Json[]> {
    return (await this.host(via).agent.getJson('/api/v1/nodes', 5000)).items as Json[]
  }

  /** Wait until the nodes of `hosts` (default: all) are Ready, as host `via` sees them. */
  async waitReady (opts: { hosts?: readonly number[], via?: number, timeoutMs?: number } = {}): Promise<void> {
    const names = (opts.hosts ?? this.hosts.map(h => h.k)).map(k => this.host(k).name)
    await waitFor(`nodes ${names.join(', ')} Ready`, async () => {
      const nodes = await this.nodes(opts.via)
      return names.every(n => readyStatus(nodes.find(node => node.metadata.name === n)) === 'True')
    }, { timeoutMs: opts.timeoutMs ?? 60_000, intervalMs: 200 })
  }

  #observer (): number {
    return this.hosts.find(h => !this.#state.partition.includes(h.k))!.k
  }

  #bridgeOf (k: number): string {
    return this.#state.partition.includes(k) ? SPLIT_BRIDGE : BRIDGE
  }

  /** Every live host's link onto the bridge the partition gives it (a killed host gets its own at `start`). */
  async #attachAll (): Promise<void> {
    for (const h of this.hosts) {
      if (existsSync(`/sys/class/net/${h.layout.veth}`)) await attachTo(h.layout, this.#bridgeOf(h.k))
    }
  }

  #setState (change: Partial<LabState>): void {
    this.#state = { ...this.#state, ...change }
    writeState(this.dir, this.#state)
  }
}
