import { existsSync, readFileSync, rmSync } from 'node:fs'
import { LabAgent } from './agent.ts'
import { HostCgroup } from './cgroups.ts'
import { docker, startEngine } from './engine.ts'
import { alive } from './exec.ts'
import { hostLayout, type HostLayout } from './layout.ts'
import { removeShimSockets, unmountUnder } from './leftovers.ts'
import { createNetns, resetNetns, wireHost } from './net.ts'

/** One simulated host: a network namespace with its own address, engine and agent. */
export class LabHost {
  readonly layout: HostLayout
  readonly cgroup: HostCgroup
  readonly agent: LabAgent

  constructor (labDir: string, k: number) {
    this.layout = hostLayout(labDir, k)
    this.cgroup = new HostCgroup(this.layout.cgroup)
    this.agent = new LabAgent(this.layout, this.cgroup)
  }

  get k (): number { return this.layout.k }
  get name (): string { return this.layout.name }
  get ip (): string { return this.layout.ip }

  /** What a command run in this host sees: its engine, its agent's kubeconfig and data dir. */
  env (): NodeJS.ProcessEnv {
    const h = this.layout
    return { ...process.env, DOCKER_HOST: `unix://${h.dockerSock}`, KUBECONFIG: h.kubeconfig, SHOAL_KUBECONFIG: h.kubeconfig, SHOAL_DATA_DIR: h.agentData }
  }

  /** argv that runs `cmd` inside this host's network namespace. */
  argv (cmd: readonly string[]): string[] {
    return ['nsenter', `--net=${this.layout.netnsPath}`, ...cmd]
  }

  /** Power on: link on `bridge`, address and routes, then the engine (the agent is the lab's to start). */
  async boot (bridge: string): Promise<void> {
    await createNetns(this.layout)
    await wireHost(this.layout, bridge)
    this.cgroup.create()
    await startEngine(this.layout, this.cgroup)
  }

  async docker (args: readonly string[]): Promise<string> {
    return await docker(this.layout, args)
  }

  /** The pid of dockerd, when it runs. */
  dockerdPid (): number | undefined {
    if (!existsSync(this.layout.dockerPid)) return undefined
    const pid = Number(readFileSync(this.layout.dockerPid, 'utf8').trim())
    return Number.isInteger(pid) && alive(pid) ? pid : undefined
  }

  /**
   * The power cut: agent, engine and containers SIGKILLed at once (frozen
   * first), then what a reboot clears: the mounts, /run-like state (exec root,
   * sockets, pid file, shim sockets), the cgroups and the network namespace
   * with its links, routes and rules. Data roots stay.
   */
  async powerCut (): Promise<number[]> {
    const h = this.layout
    const killed = await this.cgroup.killAll()
    await unmountUnder(h.dir)
    removeShimSockets(h)
    for (const volatile of [h.dockerExec, h.dockerSock, h.dockerPid]) rmSync(volatile, { recursive: true, force: true })
    this.cgroup.remove()
    await resetNetns(h)
    return killed
  }
}
