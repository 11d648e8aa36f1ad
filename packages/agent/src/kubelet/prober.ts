import { connect } from 'node:net'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import {
  containerVerdict, dueProbes, initialProbeState, newestFirst, podSpecOf, probeSpecOf, recordProbeResult, timeMs, unhealthyEvent,
  type ContainerProbes, type ContainerSpec, type KubeletEvent, type ObservedContainer, type PodMemory, type ProbeFields, type ProbeKind, type ProbeResult
} from '@shoal/core/kubelet/index.ts'
import type { KubeObject } from '@shoal/core'
import type { ContainerRuntime } from './runtime.ts'
import type { Logger } from '../log.ts'

/**
 * Runs the pods' liveness, readiness and startup probes (httpGet, tcpSocket,
 * exec) when core's bookkeeping says they are due, and feeds the results
 * back into each pod's memory. The verdicts (ready, started, restart) are
 * core's (probes.ts); this only runs the checks and keeps the timers.
 */
export interface Prober {
  /** (Re)arm the probes of a pod's running containers, after a sync. */
  track: (uid: string, pod: KubeObject, observed: readonly ObservedContainer[]) => void
  forget: (uid: string) => void
  stop: () => void
}

export interface ProberComponents {
  readonly runtime: ContainerRuntime
  readonly now: () => number
  readonly log: Logger
  readonly memory: (uid: string) => PodMemory | undefined
  readonly setMemory: (uid: string, update: (m: PodMemory) => PodMemory) => void
  /** A container's verdict changed (ready, started, restart due): sync its pod. */
  readonly onVerdict: (uid: string) => void
  readonly onUnhealthy: (uid: string, event: KubeletEvent) => void
  /**
   * Pod IPs are reachable from the agent (the engine runs beside it); default
   * true. When false (--publish-address), httpGet and tcpSocket probes go to
   * where the port is published instead.
   */
  readonly podNetworkLocal?: boolean
}

/** Where a probe of container port `port` connects. */
type Reach = (port: number) => { host: string, port: number } | undefined

interface Tracked {
  pod: KubeObject
  observed: readonly ObservedContainer[]
  timer?: ReturnType<typeof setTimeout> | undefined
  /** `container/kind` of the probes running now. */
  readonly inFlight: Set<string>
}

export function createProber (c: ProberComponents): Prober {
  const pods = new Map<string, Tracked>()
  let stopped = false

  const arm = (uid: string): void => {
    const t = pods.get(uid)
    if (t === undefined || stopped) return
    clearTimeout(t.timer)
    t.timer = undefined
    const now = c.now()
    const sandbox = t.observed.filter(o => o.role === 'sandbox' && o.state === 'running').sort(newestFirst)[0]
    let next: number | undefined
    for (const spec of podSpecOf(t.pod).containers) {
      if (spec.livenessProbe === undefined && spec.readinessProbe === undefined && spec.startupProbe === undefined) continue
      const latest = t.observed.filter(o => o.role === 'app' && o.containerName === spec.name).sort(newestFirst)[0]
      if (latest === undefined || latest.state !== 'running') continue
      const startedAt = timeMs(latest.startedAt) ?? now
      const { due, nextAtMs } = dueProbes(spec, latest.id, startedAt, c.memory(uid)?.probes?.[spec.name], now)
      for (const d of due) {
        const key = `${spec.name}/${d.kind}`
        if (t.inFlight.has(key)) continue
        t.inFlight.add(key)
        const reach: Reach = c.podNetworkLocal === false
          ? port => {
            const p = sandbox?.ports?.find(x => x.containerPort === port && x.protocol === 'TCP')
            return p !== undefined ? { host: p.hostIP, port: p.hostPort } : undefined
          }
          : port => sandbox?.podIP !== undefined ? { host: sandbox.podIP, port } : undefined
        runProbe(c.runtime, d.probe, spec, latest, reach, d.spec.timeoutSeconds)
          .then(result => { settle(uid, spec, latest.id, d.kind, { ...result, atMs: c.now() }) })
          .catch((err: Error) => { c.log.debug({ err: err.message }, 'probe failed to run') })
          .finally(() => {
            t.inFlight.delete(key)
            arm(uid)
          })
      }
      if (nextAtMs !== undefined) next = Math.min(next ?? nextAtMs, nextAtMs)
    }
    if (next !== undefined) t.timer = setTimeout(() => { arm(uid) }, Math.max(0, next - now))
  }

  const settle = (uid: string, spec: ContainerSpec, id: string, kind: ProbeKind, result: ProbeResult): void => {
    if (!pods.has(uid)) return
    const probe = kind === 'liveness' ? spec.livenessProbe : kind === 'readiness' ? spec.readinessProbe : spec.startupProbe
    if (probe === undefined) return
    let changed = false
    c.setMemory(uid, m => {
      const old = m.probes?.[spec.name]
      const current: ContainerProbes = old?.containerId === id ? old : { containerId: id }
      const before = containerVerdict(spec, id, current)
      const next: ContainerProbes = { ...current, [kind]: recordProbeResult(probeSpecOf(probe), current[kind] ?? initialProbeState(kind), result) }
      const after = containerVerdict(spec, id, next)
      changed = before.ready !== after.ready || before.started !== after.started || (before.restart === undefined) !== (after.restart === undefined)
      return { ...m, probes: { ...m.probes, [spec.name]: next } }
    })
    if (!result.ok) {
      const t = pods.get(uid)
      if (t !== undefined) c.onUnhealthy(uid, unhealthyEvent(spec.name, kind, result.message ?? 'probe failed'))
    }
    if (changed) c.onVerdict(uid)
  }

  return {
    track (uid, pod, observed) {
      const t = pods.get(uid)
      if (t === undefined) pods.set(uid, { pod, observed, inFlight: new Set() })
      else {
        t.pod = pod
        t.observed = observed
      }
      arm(uid)
    },
    forget (uid) {
      clearTimeout(pods.get(uid)?.timer)
      pods.delete(uid)
    },
    stop () {
      stopped = true
      for (const t of pods.values()) clearTimeout(t.timer)
      pods.clear()
    }
  }
}

/** A named port of the container (`port: http`) → its number. */
function portOf (port: unknown, spec: ContainerSpec): number | undefined {
  if (typeof port === 'number') return port
  if (typeof port === 'string' && /^\d+$/.test(port)) return Number(port)
  return spec.ports?.find(p => p.name === port)?.containerPort
}

/** One run of a probe's handler, with Kubernetes' failure messages. */
async function runProbe (runtime: ContainerRuntime, probe: ProbeFields, spec: ContainerSpec, container: ObservedContainer, reach: Reach, timeoutSeconds: number): Promise<{ ok: boolean, message?: string }> {
  const timeoutMs = timeoutSeconds * 1000
  const http = probe.httpGet as { host?: string, port?: unknown, path?: string, scheme?: string, httpHeaders?: Array<{ name: string, value: string }> } | undefined
  const tcp = probe.tcpSocket as { host?: string, port?: unknown } | undefined
  const exec = probe.exec as { command?: string[] } | undefined
  if (http !== undefined) {
    const to = target(http, spec, reach)
    if (typeof to === 'string') return { ok: false, message: to }
    const { host, port } = to
    const scheme = (http.scheme ?? 'HTTP').toLowerCase()
    const url = `${scheme}://${host}:${port}${http.path ?? '/'}`
    return await new Promise(resolve => {
      const headers: Record<string, string> = { 'user-agent': 'kube-probe/1.32', accept: '*/*' }
      for (const h of http.httpHeaders ?? []) headers[h.name] = h.value
      const send = scheme === 'https' ? httpsRequest : httpRequest
      const req = send(url, { headers, timeout: timeoutMs, rejectUnauthorized: false }, res => {
        res.resume()
        const code = res.statusCode ?? 0
        resolve(code >= 200 && code < 400 ? { ok: true } : { ok: false, message: `HTTP probe failed with statuscode: ${code}` })
      })
      req.on('timeout', () => { req.destroy(new Error('timeout')) })
      req.on('error', (err: NodeJS.ErrnoException) => {
        resolve({ ok: false, message: err.message === 'timeout' ? `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` : `Get "${url}": ${dialError(host, port, err)}` })
      })
      req.end()
    })
  }
  if (tcp !== undefined) {
    const to = target(tcp, spec, reach)
    if (typeof to === 'string') return { ok: false, message: to }
    const { host, port } = to
    return await new Promise(resolve => {
      const socket = connect({ host, port, timeout: timeoutMs })
      socket.once('connect', () => { socket.destroy(); resolve({ ok: true }) })
      socket.once('timeout', () => { socket.destroy(); resolve({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` }) })
      socket.once('error', (err: NodeJS.ErrnoException) => { resolve({ ok: false, message: dialError(host, port, err) }) })
    })
  }
  if (exec !== undefined && Array.isArray(exec.command)) return await execProbe(runtime, exec.command, container, timeoutMs)
  return { ok: false, message: 'the probe has no handler Shoal runs (exec, httpGet, tcpSocket)' }
}

/** Where an httpGet or tcpSocket probe connects: its `host`, else the pod (or where its port is published); or why there is nowhere. */
function target (handler: { host?: string, port?: unknown }, spec: ContainerSpec, reach: Reach): { host: string, port: number } | string {
  const port = portOf(handler.port, spec)
  if (port === undefined) return `no address to probe (unknown port ${String(handler.port)})`
  if (handler.host !== undefined && handler.host !== '') return { host: handler.host, port }
  return reach(port) ?? `no address to probe (no pod IP, or port ${port} is not published where this agent reaches it)`
}

/** An exec probe: the command's exit code decides; its output is the failure message, as in Kubernetes. */
async function execProbe (runtime: ContainerRuntime, command: string[], container: ObservedContainer, timeoutMs: number): Promise<{ ok: boolean, message?: string }> {
  const signal = AbortSignal.timeout(timeoutMs)
  const session = await runtime.exec(container.id, command, { tty: false, signal })
  let output = ''
  session.stdout.on('data', (b: Buffer) => { if (output.length < 1024) output += b.toString() })
  session.stderr.on('data', (b: Buffer) => { if (output.length < 1024) output += b.toString() })
  const code = await Promise.race([session.exitCode, new Promise<number>((_resolve, reject) => { signal.addEventListener('abort', () => { reject(new Error('timeout')) }, { once: true }) })])
    .catch(() => undefined)
  if (code === undefined) return { ok: false, message: `command timed out: "${command.join(' ')}" timed out after ${timeoutMs / 1000}s` }
  if (code === 0) return { ok: true }
  const text = output.trim()
  return { ok: false, message: text !== '' ? text : `command "${command.join(' ')}" exited with ${code}` }
}

function dialError (host: string, port: number, err: NodeJS.ErrnoException): string {
  if (err.code === 'ECONNREFUSED') return `dial tcp ${host}:${port}: connect: connection refused`
  if (err.code === 'EHOSTUNREACH') return `dial tcp ${host}:${port}: connect: no route to host`
  return `dial tcp ${host}:${port}: ${err.message}`
}
