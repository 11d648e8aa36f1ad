import { Agent, request } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { readFileSync } from 'node:fs'
import { percentile } from './stats.ts'

/**
 * The load generator shared by the consensus benchmarks, so that Shoal and
 * etcd are driven by exactly the same client code: a keep-alive HTTP client
 * (so that a write costs consensus, not a TCP handshake), a closed loop of N
 * clients each writing back to back for a fixed time, and an open-loop prober
 * that sends a write every few milliseconds whatever happens to the earlier
 * ones (a closed loop would sit in one stuck request for seconds while the
 * leader is dead, and see the new leader late).
 */

export interface HttpAnswer { status: number, body: string }

export interface PostOptions {
  readonly timeoutMs: number
  readonly signal?: AbortSignal
  /** For https: the CA to trust. */
  readonly ca?: string
  /** Sent as `Authorization: Bearer`. */
  readonly token?: string
}

export interface HttpClient {
  /** POST a JSON body; rejects on a network error or when `timeoutMs` passes (or `signal` aborts). */
  post: (url: string, body: string, opts: PostOptions) => Promise<HttpAnswer>
  /** Close every kept-alive socket. */
  close: () => void
}

/**
 * node:http with a keep-alive agent: cheaper per request than fetch, which
 * matters because the client shares the machine's two cores with the cluster.
 */
export function httpClient (): HttpClient {
  const agent = new Agent({ keepAlive: true, maxSockets: 512 })
  const tlsAgents = new Map<string, HttpsAgent>()
  const tlsAgent = (ca: string | undefined): HttpsAgent => {
    let a = tlsAgents.get(ca ?? '')
    if (a === undefined) {
      a = new HttpsAgent({ keepAlive: true, maxSockets: 512, ...(ca !== undefined ? { ca } : {}) })
      tlsAgents.set(ca ?? '', a)
    }
    return a
  }
  return {
    async post (url, body, opts) {
      const signal = opts.signal === undefined ? AbortSignal.timeout(opts.timeoutMs) : AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)])
      const tls = url.startsWith('https:')
      return await new Promise<HttpAnswer>((resolve, reject) => {
        const req = (tls ? httpsRequest : request)(url, {
          method: 'POST',
          agent: tls ? tlsAgent(opts.ca) : agent,
          signal,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(opts.token !== undefined ? { authorization: `Bearer ${opts.token}` } : {}) }
        }, res => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
          res.on('error', reject)
        })
        req.on('error', reject)
        req.end(body)
      })
    },
    close () {
      agent.destroy()
      for (const a of tlsAgents.values()) a.destroy()
    }
  }
}

/** One write of a load: resolves when it was acknowledged, throws (with a short reason) when it failed. */
export type WriteFn = (client: number, seq: number) => Promise<void>

export interface LoadResult {
  /** Acknowledged writes started inside the measured window. */
  readonly writes: number
  readonly errors: number
  /** Failed writes by reason, for the report. */
  readonly errorKinds: ReadonlyMap<string, number>
  readonly seconds: number
  readonly latenciesMs: readonly number[]
}

/**
 * `clients` loops, each sending its next write as soon as the previous one
 * is answered, for `warmupMs` (not counted) then `durationMs`. A failed write
 * is counted, and its loop pauses 10 ms so that a refusing server does not
 * turn the bench into a busy loop.
 */
export async function closedLoop (opts: { clients: number, warmupMs: number, durationMs: number, write: WriteFn }): Promise<LoadResult> {
  const start = performance.now()
  const measureFrom = start + opts.warmupMs
  const end = measureFrom + opts.durationMs
  const latenciesMs: number[] = []
  const errorKinds = new Map<string, number>()
  let errors = 0
  const loop = async (client: number): Promise<void> => {
    for (let seq = 0; performance.now() < end; seq++) {
      const t0 = performance.now()
      try {
        await opts.write(client, seq)
        const t1 = performance.now()
        if (t0 >= measureFrom && t1 <= end) latenciesMs.push(t1 - t0)
      } catch (err) {
        if (t0 >= measureFrom) {
          errors++
          const kind = errorKind(err)
          errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1)
        }
        await new Promise(resolve => setTimeout(resolve, 10))
      }
    }
  }
  await Promise.all(Array.from({ length: opts.clients }, async (_, i) => await loop(i)))
  return { writes: latenciesMs.length, errors, errorKinds, seconds: opts.durationMs / 1000, latenciesMs }
}

export function errorKind (err: unknown): string {
  const e = err as Error & { code?: string, cause?: { code?: string } }
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'client timeout'
  return e.code ?? e.cause?.code ?? e.message.slice(0, 80)
}

/** `412 writes/s, p50 2.3 ms, p99 4.1 ms, max 9 ms (2060 writes, 0 errors)` */
export function describeLoad (r: LoadResult): string {
  const errs = r.errors === 0 ? '0 errors' : `${r.errors} errors: ${[...r.errorKinds].map(([k, n]) => `${n}× ${k}`).join(', ')}`
  return `${throughput(r).toFixed(0)} writes/s, p50 ${percentile(r.latenciesMs, 50).toFixed(1)} ms, p99 ${percentile(r.latenciesMs, 99).toFixed(1)} ms, max ${Math.max(...r.latenciesMs).toFixed(0)} ms (${r.writes} writes in ${r.seconds.toFixed(0)} s, ${errs})`
}

export function throughput (r: LoadResult): number {
  return r.writes / r.seconds
}

export interface ProbeResult<T> {
  readonly sentAt: number
  readonly doneAt: number
  readonly ok: boolean
  readonly value: T | undefined
}

export interface Prober<T> {
  readonly results: readonly ProbeResult<T>[]
  /** Stop sending, abort what is still in flight and wait until it has settled. */
  stop: () => Promise<void>
}

/**
 * An open-loop writer: a new write every `intervalMs` (at most `maxInFlight`
 * unanswered), each given an abort signal that `stop()` fires. Every outcome
 * is kept with its send and answer times (performance.now()).
 */
export function startProber<T> (opts: { intervalMs: number, maxInFlight: number, write: (seq: number, signal: AbortSignal) => Promise<T> }): Prober<T> {
  const results: Array<ProbeResult<T>> = []
  const inFlight = new Set<Promise<void>>()
  const abort = new AbortController()
  let seq = 0
  const fire = (): void => {
    if (inFlight.size >= opts.maxInFlight) return
    const sentAt = performance.now()
    const p = opts.write(seq++, abort.signal).then(
      value => { results.push({ sentAt, doneAt: performance.now(), ok: true, value }) },
      () => { if (!abort.signal.aborted) results.push({ sentAt, doneAt: performance.now(), ok: false, value: undefined }) }
    ).finally(() => inFlight.delete(p))
    inFlight.add(p)
  }
  fire()
  const timer = setInterval(fire, opts.intervalMs)
  return {
    results,
    async stop () {
      clearInterval(timer)
      abort.abort()
      await Promise.allSettled([...inFlight])
    }
  }
}

/** CPU time (user + system) a process has used, in ms; NaN once it is gone. Assumes 100 ticks a second, as Linux does. */
export function cpuMs (pid: number | undefined): number {
  if (pid === undefined) return NaN
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return NaN
  }
}
