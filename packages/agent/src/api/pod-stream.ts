import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import { ShoalError, type ObjectStore } from '@shoal/core'
import type { PodExecOptions, PodIO, PodLogOptions } from '../kubelet/pod-io.ts'
import { StreamReply, statusFor } from './status.ts'
import type { PodIOFor } from './kube.ts'

/**
 * `pods/NAME/log` and `pods/NAME/exec` are answered by the kubelet of the
 * pod's node: this agent's own, or another's over libp2p (kubelet/remote.ts).
 * The pod comes from the local replica; the PodIO from the node's name.
 */
export function podTarget (store: ObjectStore, podIO: PodIOFor, namespace: string, name: string): PodIO {
  const pod = store.get('pods', namespace, name)
  if (pod === undefined) throw new ShoalError('NotFound', 404, `pods "${name}" not found`)
  const node = (pod.spec as { nodeName?: string } | undefined)?.nodeName
  if (node === undefined || node === '') throw new ShoalError('BadRequest', 400, `pod "${name}" is not running on any node yet`)
  const io = podIO(node)
  if (io === undefined) throw new ShoalError('ServiceUnavailable', 503, `node "${node}" is not reachable`)
  return io
}

/** A query parameter as Kubernetes' booleans are written (`true`, `1`). */
export function queryFlag (query: URLSearchParams, name: string): boolean {
  const v = query.get(name)
  return v === 'true' || v === '1' || v === 'True'
}

/** An integer query parameter, at least `min`; undefined when absent. */
function queryInt (query: URLSearchParams, name: string, min: number): number | undefined {
  const v = query.get(name)
  if (v === null || v === '') return undefined
  if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new ShoalError('BadRequest', 400, `${name}: invalid value ${JSON.stringify(v)}: must be an integer`)
  const n = Number(v)
  if (n < min) throw new ShoalError('Invalid', 422, `PodLogOptions "" is invalid: ${name}: Invalid value: ${n}: must be greater than${min === 0 ? ' or equal to' : ''} ${min === 0 ? 0 : min - 1}`)
  return n
}

/** `kubectl logs` options from the query, by Kubernetes' names; `sinceTime` becomes seconds. */
export function logOptions (query: URLSearchParams): Omit<PodLogOptions, 'signal'> {
  const container = query.get('container') ?? ''
  let sinceSeconds = queryInt(query, 'sinceSeconds', 1)
  const sinceTime = query.get('sinceTime')
  if (sinceTime !== null && sinceTime !== '') {
    if (sinceSeconds !== undefined) throw new ShoalError('Invalid', 422, 'PodLogOptions "" is invalid: sinceSeconds: Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified')
    const at = Date.parse(sinceTime)
    if (Number.isNaN(at)) throw new ShoalError('BadRequest', 400, `sinceTime: invalid value ${JSON.stringify(sinceTime)}: must be an RFC 3339 time`)
    sinceSeconds = Math.max(1, Math.ceil((Date.now() - at) / 1000))
  }
  const tailLines = queryInt(query, 'tailLines', 0)
  return {
    ...(container !== '' ? { container } : {}),
    follow: queryFlag(query, 'follow'),
    previous: queryFlag(query, 'previous'),
    timestamps: queryFlag(query, 'timestamps'),
    ...(tailLines !== undefined ? { tailLines } : {}),
    ...(sinceSeconds !== undefined ? { sinceSeconds } : {})
  }
}

/** Answer a refusal that came once the route had taken over the response. */
function replyFailure (res: ServerResponse, err: unknown): void {
  if (res.headersSent || res.destroyed) {
    res.destroy()
    return
  }
  const status = statusFor(err)
  res.writeHead(status.code, { 'content-type': 'application/json' }).end(JSON.stringify(status))
}

/** The log as `text/plain`, streamed; the headers go out at once so a follow shows as soon as it starts. */
export function streamLogs (io: PodIO, namespace: string, name: string, opts: Omit<PodLogOptions, 'signal'>): StreamReply {
  return new StreamReply(res => {
    const ac = new AbortController()
    res.once('close', () => { ac.abort() })
    io.logs(namespace, name, { ...opts, signal: ac.signal }).then(out => {
      if (res.destroyed) {
        out.destroy()
        return
      }
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' })
      res.flushHeaders()
      res.once('close', () => { out.destroy() })
      // A log cut short by a failure must not look complete: drop the connection.
      out.once('error', () => { res.destroy() })
      out.pipe(res)
    }, (err: unknown) => { replyFailure(res, err) })
  })
}

/**
 * Shoal's exec protocol (see packages/cli/src/commands/write/exec.ts): the
 * request body, streamed, is the command's stdin; the answer is ndjson
 * frames of base64 output, then `{"exit":N}`, or `{"error":...}` when the
 * session broke.
 */
export function streamExec (io: PodIO, req: IncomingMessage, namespace: string, name: string, opts: Omit<PodExecOptions, 'signal' | 'stdin'>, withStdin: boolean): StreamReply {
  return new StreamReply(res => {
    const ac = new AbortController()
    res.once('close', () => { ac.abort() })
    if (!withStdin) req.resume()
    io.exec(namespace, name, { ...opts, ...(withStdin ? { stdin: req } : {}), signal: ac.signal }).then(session => {
      if (res.destroyed) return
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' })
      res.flushHeaders()
      const frame = (f: unknown): boolean => res.writableEnded || res.destroyed ? true : res.write(JSON.stringify(f) + '\n')
      let broken: Error | undefined
      const relay = async (r: Readable, stream: 'stdout' | 'stderr'): Promise<void> => {
        await new Promise<void>(resolve => {
          r.on('data', (b: Buffer | string) => {
            if (!frame({ stream, data: Buffer.from(b).toString('base64') })) {
              r.pause()
              res.once('drain', () => r.resume())
            }
          })
          r.once('error', (err: Error) => { broken ??= err; resolve() })
          r.once('end', resolve)
          r.once('close', resolve)
        })
      }
      Promise.all([relay(session.stdout, 'stdout'), relay(session.stderr, 'stderr')])
        .then(async () => {
          if (broken !== undefined) throw broken
          return await session.exitCode
        })
        .then(code => { frame({ exit: code }) }, (err: Error) => { frame({ error: err.message }) })
        .finally(() => { if (!res.writableEnded) res.end() })
    }, (err: unknown) => { replyFailure(res, err) })
  })
}

