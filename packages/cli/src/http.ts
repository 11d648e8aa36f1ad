import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { formatHostPort } from '@shoal/agent/places.ts'

/**
 * How to reach an agent's API: its TCP port over HTTPS (trusting the cluster
 * CA, with the bearer token), or the local agent's control socket.
 */
export type Endpoint =
  | { readonly kind: 'tcp', readonly host: string, readonly port: number, readonly tls: boolean, readonly ca?: string, readonly insecure?: boolean, readonly token?: string }
  | { readonly kind: 'socket', readonly path: string }

export interface Answer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly text: string
}

export interface RequestOptions {
  readonly body?: string | Uint8Array
  /** A body streamed from here instead (sent chunked); a failure of it fails the request. */
  readonly upload?: NodeJS.ReadableStream
  readonly headers?: Readonly<Record<string, string>>
  /** Give up when no answer came in this long; default 30 s. */
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
}

export function describeEndpoint (e: Endpoint): string {
  return e.kind === 'tcp' ? formatHostPort(e.host, e.port) : `the local agent (${e.path})`
}

const TLS_TRUST_ERRORS = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_SIGNATURE_FAILURE'])

/** The network error of a request, as one line naming the endpoint. */
export class UnreachableError extends Error {
  readonly code: string | undefined
  constructor (e: Endpoint, err: NodeJS.ErrnoException) {
    const why = err.code === 'ECONNREFUSED' || err.code === 'ENOENT'
      ? 'connection refused (is the agent running?)'
      : err.code === 'ETIMEDOUT' || err.name === 'TimeoutError' || (err.cause as Error | undefined)?.name === 'TimeoutError'
        ? 'it did not answer in time'
        : TLS_TRUST_ERRORS.has(err.code ?? '')
          ? `its certificate is not signed by the CA this client trusts (${err.message}); use the cluster's kubeconfig (--kubeconfig FILE) or pass --certificate-authority FILE`
          : err.code === 'ERR_TLS_CERT_ALTNAME_INVALID'
            ? `its certificate does not name this address (${err.message})`
            : err.message
    super(`cannot reach ${describeEndpoint(e)}: ${why}`)
    this.code = err.code
  }
}

const agents = new Map<string, HttpAgent>()

/** One keep-alive connection pool per endpoint, so a benchmark pays for TLS once per socket. */
function agentFor (e: Endpoint): HttpAgent {
  const key = e.kind === 'socket' ? `unix:${e.path}` : `${e.tls ? 'https' : 'http'}://${e.host}:${e.port}/${e.ca ?? ''}/${e.insecure === true}`
  let a = agents.get(key)
  if (a === undefined) {
    a = e.kind === 'tcp' && e.tls
      ? new HttpsAgent({ keepAlive: true, maxSockets: 256, ...(e.ca !== undefined ? { ca: e.ca } : {}), rejectUnauthorized: e.insecure !== true })
      : new HttpAgent({ keepAlive: true, maxSockets: 256 })
    agents.set(key, a)
  }
  return a
}

/** Close every pooled connection (a short-lived CLI exits anyway; tests and benches call this). */
export function closeConnections (): void {
  for (const a of agents.values()) a.destroy()
  agents.clear()
}

/**
 * Start a request; resolves with the response as soon as its headers arrive
 * (for streams: watch, logs). `timeoutMs` bounds the wait for those headers
 * only: a stream then stays open as long as the server sends.
 */
export async function open (e: Endpoint, method: string, path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
  const headers: Record<string, string> = { ...opts.headers }
  if (e.kind === 'tcp' && e.token !== undefined) headers.authorization = `Bearer ${e.token}`
  if (opts.body !== undefined) headers['content-length'] = String(typeof opts.body === 'string' ? Buffer.byteLength(opts.body) : opts.body.length)
  const deadline = new AbortController()
  const timer = setTimeout(() => { deadline.abort(new DOMException('the request timed out', 'TimeoutError')) }, opts.timeoutMs ?? 30_000)
  const signal = opts.signal === undefined ? deadline.signal : AbortSignal.any([opts.signal, deadline.signal])
  const send = e.kind === 'tcp' && e.tls ? httpsRequest : httpRequest
  try {
    return await new Promise<IncomingMessage>((resolve, reject) => {
      const req = send({
        ...(e.kind === 'tcp' ? { host: e.host, port: e.port } : { socketPath: e.path }),
        method,
        path,
        headers,
        agent: agentFor(e),
        signal
      }, resolve)
      req.on('error', (err: NodeJS.ErrnoException) => { reject(new UnreachableError(e, err)) })
      if (opts.upload === undefined) {
        req.end(opts.body)
        return
      }
      const upload = opts.upload
      upload.on('error', (err: Error) => {
        req.destroy(err)
        reject(err)
      })
      upload.pipe(req)
    })
  } finally {
    clearTimeout(timer)
  }
}

/** One whole request and its whole answer, within `timeoutMs` (30 s) for all of it. */
export async function send (e: Endpoint, method: string, path: string, opts: RequestOptions = {}): Promise<Answer> {
  const timeoutMs = opts.timeoutMs ?? 30_000
  const started = Date.now()
  const res = await open(e, method, path, { ...opts, timeoutMs })
  const timer = setTimeout(() => { res.destroy(Object.assign(new Error('the answer timed out'), { code: 'ETIMEDOUT' })) }, Math.max(0, timeoutMs - (Date.now() - started)))
  const chunks: Buffer[] = []
  try {
    for await (const c of res) chunks.push(c as Buffer)
  } catch (err) {
    throw new UnreachableError(e, err as NodeJS.ErrnoException)
  } finally {
    clearTimeout(timer)
  }
  return { status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }
}
