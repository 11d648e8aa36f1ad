import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { waitFor } from '../helpers/wait.ts'
import type { HttpClient } from './load.ts'

/**
 * A real etcd cluster on loopback, the yardstick for Shoal's Raft: each
 * member is an `etcd` process on its own 127.0.0.x (client port 2379, peer
 * port 2380) with its own data dir, driven through etcd's JSON gateway so that
 * the same HTTP load generator drives both systems.
 */

/** Every etcd process this bench spawned and that still runs: none outlives the bench. */
const live = new Set<ChildProcess>()
process.on('exit', () => { for (const p of live) p.kill('SIGKILL') })

/** Raft timing given to etcd: the same as Shoal's defaults (50 ms tick, campaign after 10–20 silent ticks), with pre-vote as Shoal has. */
export const ETCD_TIMING = ['--heartbeat-interval', '50', '--election-timeout', '500', '--pre-vote'] as const

/** The installed etcd's version, or why there is none. */
export function etcdVersion (): { ok: true, version: string } | { ok: false, why: string } {
  const r = spawnSync('etcd', ['--version'], { encoding: 'utf8', timeout: 10_000 })
  if (r.error !== undefined) return { ok: false, why: `\`etcd --version\` failed (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}); install it with \`apt-get install -y etcd-server etcd-client\`` }
  const m = /etcd Version:\s*(\S+)/.exec(r.stdout)
  if (m === null) return { ok: false, why: `\`etcd --version\` printed no version: ${(r.stdout + r.stderr).trim().slice(0, 200)}` }
  return { ok: true, version: m[1]! }
}

export interface EtcdStatus {
  readonly memberId: string
  readonly leader: string
  readonly raftTerm: number
  readonly raftIndex: number
}

export class EtcdMember {
  readonly name: string
  readonly ip: string
  readonly dataDir: string
  readonly logPath: string
  proc: ChildProcess | undefined
  #exit: Promise<number | null> | undefined

  constructor (root: string, name: string, ip: string) {
    this.name = name
    this.ip = ip
    this.dataDir = join(root, name)
    this.logPath = join(root, `${name}.log`)
  }

  get client (): string { return `http://${this.ip}:2379` }
  get peer (): string { return `http://${this.ip}:2380` }
  get running (): boolean { return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null }

  /**
   * Spawn etcd; resolves once its client port answers. The initial-cluster
   * flags only matter the first time: a restart finds its WAL in the data dir.
   */
  async start (initialCluster: string, token: string): Promise<void> {
    const log = createWriteStream(this.logPath, { flags: 'a' })
    const proc = spawn('etcd', [
      '--name', this.name,
      '--data-dir', this.dataDir,
      '--listen-client-urls', this.client,
      '--advertise-client-urls', this.client,
      '--listen-peer-urls', this.peer,
      '--initial-advertise-peer-urls', this.peer,
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', token,
      '--logger', 'zap',
      '--log-outputs', 'stderr',
      ...ETCD_TIMING
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.proc = proc
    live.add(proc)
    let stderr = ''
    proc.stdout.pipe(log)
    proc.stderr.on('data', (c: Buffer) => { if (stderr.length < 100_000) stderr += c.toString(); log.write(c) })
    this.#exit = once(proc, 'exit').then(([code]) => {
      live.delete(proc)
      return code as number | null
    })
    const exited = this.#exit.then(code => {
      const last = stderr.trim().split('\n').slice(-3).join(' | ')
      throw new Error(`etcd ${this.name} exited with ${code}: ${last}`)
    })
    await Promise.race([exited, waitFor(`etcd ${this.name} client port`, async () => {
      const res = await fetch(`${this.client}/version`, { signal: AbortSignal.timeout(1000) })
      return res.ok
    }, { timeoutMs: 20_000, intervalMs: 50 })])
  }

  kill (signal: NodeJS.Signals = 'SIGKILL'): void {
    this.proc?.kill(signal)
  }

  async waitExit (timeoutMs = 10_000): Promise<number | null> {
    if (this.#exit === undefined) return null
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`etcd ${this.name} did not exit within ${timeoutMs} ms`)), timeoutMs) })
    try {
      return await Promise.race([this.#exit, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  async destroy (): Promise<void> {
    if (this.running) {
      this.kill('SIGKILL')
      await this.waitExit()
    }
  }
}

/** etcd's JSON gateway speaks uint64 as strings. */
interface GatewayHeader { member_id?: string, raft_term?: string }

export class EtcdCluster {
  readonly members: EtcdMember[]
  readonly initialCluster: string
  readonly token: string
  /** The gateway's path prefix: `/v3` from etcd 3.4 on, `/v3beta` or `/v3alpha` before. */
  prefix = '/v3'

  constructor (root: string, ips: readonly string[]) {
    this.members = ips.map((ip, i) => new EtcdMember(root, `etcd-${i + 1}`, ip))
    this.initialCluster = this.members.map(m => `${m.name}=${m.peer}`).join(',')
    this.token = `shoal-bench-${randomUUID()}`
  }

  /** Start every member (they must all be up for the first election), find the gateway prefix, wait for a leader. */
  async start (): Promise<void> {
    await Promise.all(this.members.map(async m => await m.start(this.initialCluster, this.token)))
    this.prefix = await waitFor('the etcd JSON gateway', async () => {
      for (const prefix of ['/v3', '/v3beta', '/v3alpha']) {
        const res = await fetch(`${this.members[0]!.client}${prefix}/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(2000) })
        await res.arrayBuffer()
        if (res.status !== 404) return prefix
      }
      return undefined
    }, { timeoutMs: 10_000 })
    await waitFor('an etcd leader seen by all members', async () => await this.healthy(), { timeoutMs: 20_000 })
  }

  async restart (m: EtcdMember): Promise<void> {
    await m.start(this.initialCluster, this.token)
  }

  async status (m: EtcdMember): Promise<EtcdStatus> {
    const res = await fetch(`${m.client}${this.prefix}/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(2000) })
    if (!res.ok) throw new Error(`status of ${m.name}: HTTP ${res.status}`)
    const s = await res.json() as { header: GatewayHeader, leader?: string, raftTerm?: string, raftIndex?: string }
    return { memberId: s.header.member_id ?? '', leader: s.leader ?? '0', raftTerm: Number(s.header.raft_term ?? s.raftTerm ?? 0), raftIndex: Number(s.raftIndex ?? 0) }
  }

  /** The member that leads, as the leader itself says. */
  async leader (): Promise<{ member: EtcdMember, status: EtcdStatus } | undefined> {
    for (const m of this.members.filter(x => x.running)) {
      try {
        const s = await this.status(m)
        if (s.leader !== '0' && s.leader === s.memberId) return { member: m, status: s }
      } catch {}
    }
    return undefined
  }

  /** All members run and agree on one leader in one term. */
  async healthy (): Promise<boolean> {
    if (!this.members.every(m => m.running)) return false
    const views = await Promise.all(this.members.map(async m => await this.status(m)))
    const first = views[0]!
    return views.every(v => v.leader !== '0' && v.leader === first.leader && v.raftTerm === first.raftTerm) &&
      views.some(v => v.memberId === first.leader)
  }

  /** Put through `m`'s gateway; resolves with the Raft term etcd answered in, throws on any failure. */
  async put (http: HttpClient, m: EtcdMember, key: string, value: string, opts: { timeoutMs: number, signal?: AbortSignal }): Promise<number> {
    const body = JSON.stringify({ key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') })
    const res = await http.post(`${m.client}${this.prefix}/kv/put`, body, opts)
    if (res.status !== 200) throw new Error(`HTTP ${res.status} ${gatewayError(res.body)}`)
    return Number((JSON.parse(res.body) as { header?: GatewayHeader }).header?.raft_term ?? 0)
  }

  async destroy (): Promise<void> {
    await Promise.all(this.members.map(async m => await m.destroy()))
  }
}

function gatewayError (body: string): string {
  try {
    return String((JSON.parse(body) as { error?: unknown }).error ?? body).slice(0, 80)
  } catch {
    return body.slice(0, 80)
  }
}
