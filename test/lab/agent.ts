import { mkdirSync, existsSync } from 'node:fs'
import { dirname } from 'node:path'
import { AgentProcess, SHOAL_BIN } from '../helpers/agents.ts'
import type { HostCgroup } from './cgroups.ts'
import { spawnDetached, tail, untilReady } from './exec.ts'
import type { HostLayout } from './layout.ts'

/**
 * The `shoal agent` of a lab host: the same API helpers as the tests' other
 * agents (`request`, `getJson`, `members`, `kubeconfig`, …), but the process
 * runs inside the host's network namespace and `agent` cgroup, against the
 * host's engine, detached, so a CLI that started it may exit and another
 * process (the CLI again, or a test) can stop it. It is therefore found by
 * its cgroup, not by a child-process handle.
 */
export class LabAgent extends AgentProcess {
  // Redeclared to follow the lab's layout (hK/agent-data, hK/agent.log) instead of AgentProcess's root/NAME.
  override readonly dataDir: string
  override readonly logPath: string
  readonly #host: HostLayout
  readonly #cgroup: HostCgroup

  constructor (host: HostLayout, cgroup: HostCgroup) {
    super(dirname(host.agentData), host.name, host.ip)
    this.dataDir = host.agentData
    this.logPath = host.agentLog
    this.#host = host
    this.#cgroup = cgroup
  }

  /** The end of the agent's log (stdout and stderr both go there). */
  override get stderr (): string { return tail(this.logPath) }

  override get running (): boolean { return this.#cgroup.pids('agent').length > 0 }

  /**
   * Start the agent in its host; resolves once its API answers as this node.
   * `extra` are more `shoal agent` flags (`--join`, `--token`, …); env adds to the test's environment.
   */
  override async start (extra: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<void> {
    if (this.running) throw new Error(`the agent of host ${this.#host.k} is already running`)
    mkdirSync(this.dataDir, { recursive: true })
    const h = this.#host
    const argv = [
      ...this.#cgroup.enter('agent'), 'nsenter', `--net=${h.netnsPath}`,
      process.execPath, SHOAL_BIN, 'agent', '--name', h.name, '--bind', h.ip, '--data-dir', h.agentData, '--docker-socket', h.dockerSock, ...extra
    ]
    const proc = spawnDetached(argv, h.agentLog, { ...process.env, SHOAL_LOG_LEVEL: process.env.SHOAL_LOG_LEVEL ?? 'info', ...env })
    this.proc = proc
    const ready = async (): Promise<boolean> => existsSync(this.kubeconfig) && (await this.request('GET', '/readyz', { timeoutMs: 2000 })).status === 200
    await untilReady(proc, `the agent of host ${h.k} (API ${this.api})`, () => this.stderr, ready, { timeoutMs: 30_000, intervalMs: 100 })
    const info = await this.getJson<{ name: string }>('/api/shoal/v1/info')
    if (info.name !== this.name) throw new Error(`another agent (${info.name}) answers on ${this.api}`)
  }

  /** SIGKILL (a crash) or SIGTERM (a graceful stop) to the agent; engine and containers are not touched. */
  override kill (signal: NodeJS.Signals = 'SIGKILL'): void {
    this.#cgroup.signal('agent', signal)
  }

  /** Wait until no agent process is left; resolves null (the exit code is its starter's to know). */
  override async waitExit (timeoutMs = 15_000): Promise<number | null> {
    await this.#cgroup.waitEmpty('agent', timeoutMs)
    return null
  }

  override async destroy (): Promise<void> {
    this.kill('SIGKILL')
    await this.waitExit()
  }
}
