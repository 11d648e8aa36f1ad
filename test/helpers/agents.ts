import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import type { Member } from '@shoal/core'
import { readKubeconfig } from '@shoal/cli/client.ts'
import { send, type Answer, type Endpoint, type RequestOptions } from '@shoal/cli/http.ts'
import { waitFor } from './wait.ts'
import { removeNetwork } from '@shoal/agent/network/node-network.ts'
import { CLUSTER_IP_LABEL } from '@shoal/agent/proxy/cluster-ips.ts'

/** Every agent process the tests spawned and that still runs: none outlives the test process. */
const live = new Set<ChildProcess>()
process.on('exit', () => { for (const p of live) p.kill('SIGKILL') })

export const SHOAL_BIN = new URL('../../packages/cli/bin/shoal.js', import.meta.url).pathname

export interface RunResult { code: number | null, stdout: string, stderr: string }

/**
 * Agent flags for tests of the API and the CLI alone: the leader keeps Nodes
 * but runs no scheduler or workload controllers, so the objects a test writes
 * stay as it wrote them (pods Pending, no ReplicaSets appearing).
 */
export const API_ONLY: readonly string[] = ['--controllers', 'nodes']

/** Run one `shoal` command to completion. */
export async function shoal (args: readonly string[], opts: { env?: NodeJS.ProcessEnv, timeoutMs?: number, input?: string } = {}): Promise<RunResult> {
  const child = spawn(process.execPath, [SHOAL_BIN, ...args], { env: { ...process.env, ...opts.env }, stdio: [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'] })
  if (opts.input !== undefined) child.stdin!.on('error', () => {}).end(opts.input) // a command that exits unread: its status tells
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000)
  const [code] = await once(child, 'exit') as [number | null]
  clearTimeout(timer)
  return { code, stdout, stderr }
}

/** A scratch folder for one test file's data dirs and logs, removed at the end. */
export function scratchDir (label: string): { path: string, remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `shoal-${label}-`))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

/** One `shoal agent` process on its own loopback address. */
export class AgentProcess {
  readonly name: string
  readonly ip: string
  readonly dataDir: string
  readonly logPath: string
  proc: ChildProcess | undefined
  #exit: Promise<number | null> | undefined
  #stderr = ''
  /** Set once start() has seen the API answer, cleared by kill(): an exit in between is a crash. */
  #up = false
  /** Read from the kubeconfig the agent wrote, again whenever it is rewritten. */
  #endpoint: Endpoint | undefined
  #endpointWritten = 0

  constructor (root: string, name: string, ip: string) {
    this.name = name
    this.ip = ip
    this.dataDir = join(root, name)
    this.logPath = join(root, `${name}.log`)
  }

  get api (): string { return `https://${this.ip}:6443` }
  get kubeconfig (): string { return join(this.dataDir, 'kubeconfig') }
  get stderr (): string { return this.#stderr }

  /** This agent's API, with the CA and token of the kubeconfig it wrote. */
  endpoint (): Endpoint {
    // `shoal join` moves an agent to another cluster, with another CA and token.
    const written = statSync(this.kubeconfig).mtimeMs
    if (this.#endpoint !== undefined && this.#endpointWritten === written) return this.#endpoint
    const k = readKubeconfig(this.kubeconfig)
    this.#endpointWritten = written
    this.#endpoint = { kind: 'tcp', host: this.ip, port: 6443, tls: true, ...(k.ca !== undefined ? { ca: k.ca } : {}), ...(k.token !== undefined ? { token: k.token } : {}) }
    return this.#endpoint
  }

  /** One authenticated request to this agent's API. */
  async request (method: string, path: string, opts: RequestOptions & { json?: unknown } = {}): Promise<Answer> {
    const { json, ...rest } = opts
    const req = json === undefined ? rest : { ...rest, body: JSON.stringify(json), headers: { 'content-type': 'application/json', ...rest.headers } }
    return await send(this.endpoint(), method, path, req)
  }

  /** GET a JSON document; throws on a failed answer. */
  async getJson<T = any> (path: string, timeoutMs = 15_000): Promise<T> {
    const res = await this.request('GET', path, { timeoutMs })
    if (res.status !== 200) throw new Error(`GET ${path} from ${this.name}: HTTP ${res.status} ${res.text.slice(0, 200)}`)
    return JSON.parse(res.text) as T
  }

  /** Spawn the agent; resolves once its API answers (or rejects if it exits first). */
  async start (extra: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<void> {
    const log = createWriteStream(this.logPath, { flags: 'a' })
    this.#stderr = ''
    const own = extra.includes('--join') || extra.includes('--cluster-cidr') || env.SHOAL_CLUSTER_CIDR !== undefined || existsSync(join(this.dataDir, 'cluster.json'))
    const cidr = own ? [] : ['--cluster-cidr', testClusterCIDR()]
    const proc = spawn(process.execPath, [SHOAL_BIN, 'agent', '--name', this.name, '--bind', this.ip, '--data-dir', this.dataDir, ...cidr, ...extra], {
      env: { ...process.env, SHOAL_LOG_LEVEL: 'debug', ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    this.proc = proc
    live.add(proc)
    proc.stdout.pipe(log)
    proc.stderr.on('data', (c: Buffer) => { this.#stderr += c.toString(); log.write(c) })
    this.#up = false
    this.#exit = once(proc, 'exit').then(([code, signal]) => {
      live.delete(proc)
      // Nothing else shows why an agent that was up died: its scratch folder goes with the test.
      if (this.#up && (code !== 0 || signal !== null)) {
        const tail = (text: string, lines: number): string => text.trimEnd().split('\n').slice(-lines).join('\n')
        let log = ''
        try { log = readFileSync(this.logPath, 'utf8').slice(-256 * 1024) } catch {}
        process.stderr.write(`\nagent ${this.name} died (exit code ${String(code)}, signal ${String(signal)})\n` +
          `the end of its log:\n${tail(log, 40)}\nits stderr:\n${tail(this.#stderr, 60)}\n\n`)
      }
      return code as number | null
    })
    const exited = this.#exit.then(code => { throw new Error(`agent ${this.name} exited with ${code}: ${this.#stderr.trim()}`) })
    const ready = async (): Promise<boolean> => {
      if (!existsSync(this.kubeconfig)) return false
      return (await this.request('GET', '/readyz', { timeoutMs: 2000 })).status === 200
    }
    await Promise.race([exited, waitFor(`agent ${this.name} API`, async () => await ready().catch(() => false), { timeoutMs: 20_000 })])
    const info = await this.getJson<{ name: string }>('/api/shoal/v1/info')
    if (info.name !== this.name) throw new Error(`another agent (${info.name}) answers on ${this.api}; is a stray agent running?`)
    this.#up = this.running
  }

  async waitExit (timeoutMs = 10_000): Promise<number | null> {
    if (this.#exit === undefined) return null
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`agent ${this.name} did not exit within ${timeoutMs} ms`)), timeoutMs) })
    try {
      return await Promise.race([this.#exit, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  get running (): boolean { return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null }

  kill (signal: NodeJS.Signals = 'SIGKILL'): void {
    this.#up = false
    this.proc?.kill(signal)
  }

  async members (): Promise<Member[]> {
    return (await this.getJson<{ items: Member[] }>('/api/shoal/v1/members')).items
  }

  /** The state this agent sees `name` in, or undefined if unknown. */
  async stateOf (name: string): Promise<string | undefined> {
    return (await this.members()).find(m => m.name === name)?.state
  }

  /**
   * Stop it for good at the end of a test: SIGKILL and wait, then remove the
   * containers its kubelet left in Docker; once no agent of this test runs,
   * the Services' cluster IPs their proxies put on lo (shared by the agents
   * of a host, so an agent leaves them).
   */
  async destroy (): Promise<void> {
    if (this.running) {
      this.kill('SIGKILL')
      await this.waitExit()
    }
    await removeNodeContainers(this.name)
    if (live.size === 0) await new Promise(resolve => { execFile('ip', ['addr', 'flush', 'label', CLUSTER_IP_LABEL], resolve) })
  }
}

/**
 * Remove every container the kubelet of node `name` made (by its label),
 * then its pod network (bridge, iptables chains): what an agent killed with
 * SIGKILL leaves behind. Nothing when Docker is not there.
 */
export async function removeNodeContainers (name: string): Promise<void> {
  const docker = async (args: string[]): Promise<string> => await new Promise(resolve => {
    execFile('docker', args, (err, stdout) => { resolve(err === null ? stdout : '') })
  })
  const ids = (await docker(['ps', '-aq', '--filter', `label=io.shoal.node=${name}`])).split('\n').filter(id => id !== '')
  if (ids.length > 0) await docker(['rm', '-f', ...ids])
  await removeNetwork(name)
}

let clusters = 0
/**
 * A cluster CIDR of its own for each cluster a test makes: clusters of
 * several test files (or of one file) on this one host must not claim the
 * same pod ranges, whose bridges would then collide.
 */
export function testClusterCIDR (): string {
  return `10.${128 + (process.pid + clusters++) % 120}.0.0/16`
}

/** True when every agent in `observers` sees exactly the members `expected` with `state`. */
export async function allSee (observers: readonly AgentProcess[], expected: Record<string, string>): Promise<boolean> {
  const views = await Promise.all(observers.map(async o => Object.fromEntries((await o.members()).map(m => [m.name, m.state]))))
  return views.every(seen => Object.entries(expected).every(([name, state]) => seen[name] === state))
}
