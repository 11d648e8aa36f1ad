import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https'
import { rm, chmod } from 'node:fs/promises'
import { ShoalError, type BatchResult, type Command, type Member, type ObjectStore, type Result } from '@shoal/core'
import { kubeRoutes, type PodIOFor } from './kube.ts'
import type { Logger } from '../log.ts'
import { AddressInUseError } from '../errors.ts'
import { formatHostPort } from '../config.ts'
import { Reply, StreamReply, failure, statusFor, type Status } from './status.ts'
import { bearerMatches, type ApiCredentials } from './tls.ts'
import type { ClusterImages } from '../images/images.ts'

/** A member as the api shows it: gossip state plus its place in Raft. */
export type MemberView = Member & { readonly raft: { readonly role: string, readonly match: number | null } }

/** What the api needs from the running agent. */
export interface ApiBackend {
  /** False until the agent has fully started: /readyz answers 503 until then. */
  ready: () => boolean
  info: () => AgentInfo
  members: () => MemberView[]
  join: (address: string, token: string) => Promise<AgentInfo>
  leave: () => Promise<void>
  /** Raft status of this agent. */
  raft: () => unknown
  /** The control plane's work-queue counters on this agent (they move only while it leads). */
  controllers?: () => unknown
  /** Commit a store command; resolves with its result once applied here. */
  write: (cmd: unknown) => Promise<unknown>
  /** The local replica, for the Kubernetes read API. */
  store: () => ObjectStore
  /** Commit a store command and return the store's own result (the Kubernetes API shapes errors itself). */
  writeRaw: (cmd: Command) => Promise<Result | BatchResult>
  /** Read from the local replica; `consistent` waits for everything committed first. */
  read: (resource: string, namespace: string, name: string | undefined, consistent: boolean) => Promise<unknown>
  /**
   * Logs and exec of the pods on a node, by node name (kubelet/remote.ts
   * `podIOResolver`); undefined when the node cannot be reached. Without it,
   * no node can: pod logs and exec answer 503.
   */
  podIO?: PodIOFor
  /** The cluster's images (`shoal image push`, `rm`); undefined while the agent is not running. */
  images?: () => Pick<ClusterImages, 'push' | 'remove'> | undefined
}

export interface AgentInfo {
  readonly name: string
  readonly peerId: string
  readonly clusterId: string
  readonly version: string
  readonly api: string
  readonly addrs: readonly string[]
}

export interface ApiInit {
  readonly bind: string
  readonly port: number
  /** Unix socket for local control (join, leave): only the data dir's owner reaches it. */
  readonly socketPath: string
  /** What the TCP listener serves before the agent knows its cluster: a throwaway certificate, and no token matches. */
  readonly bootstrap: ApiCredentials
}

export interface ApiServer {
  /** Listen on TCP; throws AddressInUseError when the port is taken. */
  listen: () => Promise<void>
  /** Listen on the control socket. */
  listenControl: () => Promise<void>
  /** Serve with the cluster's certificate and check its token from now on (on start, and on `shoal join`). */
  useCredentials: (c: ApiCredentials) => void
  stop: () => Promise<void>
}

/** What a request without the token may still read: the probes a load balancer or supervisor sends. */
const OPEN_PATHS = new Set(['/healthz', '/readyz', '/livez'])

const MAX_BODY_BYTES = 1024 * 1024

/** A route; with `rawBody` it gets the request unread (as `req`, body undefined) to stream from. */
type Route = ((req: IncomingMessage, body: unknown, params: Record<string, string>, query: URLSearchParams) => Promise<unknown> | unknown) & { readonly rawBody?: true }

/**
 * The agent's API. The TCP listener speaks HTTPS with a certificate from the
 * cluster CA and wants the cluster's bearer token on everything but the health
 * probes; it serves the Kubernetes API and Shoal's own reads. The control
 * socket (plain HTTP, owner-only) serves the same plus the commands that
 * change this agent's cluster (join, leave): only someone with access to the
 * data dir can reach it, so it asks for no token.
 */
export function createApiServer (backend: ApiBackend, init: ApiInit, log: Logger): ApiServer {
  const imagesOf = (): Pick<ClusterImages, 'push' | 'remove'> => {
    const images = backend.images?.()
    if (images === undefined) throw new ShoalError('ServiceUnavailable', 503, 'the agent is not running')
    return images
  }
  const publicRoutes: Record<string, Route> = {
    'GET /healthz': () => 'ok',
    'GET /livez': () => 'ok',
    'GET /readyz': () => {
      if (!backend.ready()) throw new ShoalError('NotReady', 503, 'the agent is starting')
      return 'ok'
    },
    'GET /api/shoal/v1/info': () => backend.info(),
    'GET /api/shoal/v1/members': () => ({ kind: 'MemberList', apiVersion: 'shoal/v1', items: backend.members() }),
    'GET /api/shoal/v1/raft': () => backend.raft(),
    'GET /api/shoal/v1/controllers': () => {
      if (backend.controllers === undefined) throw new ShoalError('NotFound', 404, 'this agent has no control plane')
      return backend.controllers()
    },
    // The raw replicated store, for tools and tests; the Kubernetes API is built on top of it.
    'POST /api/shoal/v1/store': async (_req, body) => await backend.write(body),
    'GET /api/shoal/v1/store/:resource': async (_req, _body, p, q) => await backend.read(p.resource!, q.get('namespace') ?? '', undefined, q.has('consistent')),
    'GET /api/shoal/v1/store/:resource/:namespace/:name': async (_req, _body, p, q) => await backend.read(p.resource!, p.namespace === '_' ? '' : p.namespace!, p.name!, q.has('consistent')),
    // `shoal image push`: the body is the image's `docker save` archive, or empty when this node's engine holds it already.
    'POST /api/shoal/v1/images/push': Object.assign(async (req: IncomingMessage, _body: unknown, _p: Record<string, string>, q: URLSearchParams) => {
      const image = q.get('image') ?? ''
      const id = q.get('id') ?? ''
      if (image === '') throw new BadRequest('image: required, the name to push (NAME[:TAG])')
      if (id === '') throw new BadRequest('id: required, the image ID (sha256:…)')
      const images = imagesOf()
      const empty = req.headers['content-length'] === '0' || (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined)
      if (empty) return await images.push(image, id)
      const size = Number(q.get('size'))
      if (!Number.isSafeInteger(size) || size <= 0) throw new BadRequest('size: required with an archive, the image\'s size in bytes')
      return await images.push(image, id, { source: req, size })
    }, { rawBody: true as const }),
    'DELETE /api/shoal/v1/images': async (_req, _body, _p, q) => {
      const image = q.get('image') ?? ''
      if (image === '') throw new BadRequest('image: required, the name to remove (NAME[:TAG])')
      return await imagesOf().remove(image)
    }
  }
  for (const [key, handler] of Object.entries(kubeRoutes(() => backend.store(), backend.writeRaw, backend.podIO))) {
    publicRoutes[key] = handler.rawBody === true
      ? Object.assign(async (req: IncomingMessage, _body: unknown, params: Record<string, string>, query: URLSearchParams) => await handler(params, query, req, req.headers['content-type'] ?? '', req.headers.accept ?? ''), { rawBody: true as const })
      : async (req, body, params, query) => await handler(params, query, body, req.headers['content-type'] ?? '', req.headers.accept ?? '')
  }
  const controlRoutes: Record<string, Route> = {
    ...publicRoutes,
    'POST /api/shoal/v1/join': async (_req, body) => {
      const { address, token } = (body ?? {}) as { address?: unknown, token?: unknown }
      if (typeof address !== 'string' || address.length === 0) throw new BadRequest('address: required, HOST[:PORT]')
      if (typeof token !== 'string' || token.length === 0) throw new BadRequest('token: required')
      return await backend.join(address, token)
    },
    'POST /api/shoal/v1/leave': async () => {
      await backend.leave()
      return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', message: 'left the cluster', code: 200 }
    }
  }

  let token = init.bootstrap.token
  const handler = (routes: Record<string, Route>, authenticate: boolean) => (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://local')
    const path = url.pathname
    if (authenticate && !OPEN_PATHS.has(path) && !bearerMatches(req.headers.authorization, token)) {
      send(res, failure(401, 'Unauthorized', 'Unauthorized'))
      return
    }
    const found = matchRoute(routes, req.method ?? 'GET', path)
    if (found === undefined) {
      const known = Object.keys(routes).some(k => matchPattern(k.slice(k.indexOf(' ') + 1), path) !== undefined)
      send(res, known ? failure(405, 'MethodNotAllowed', `${req.method} is not allowed on ${path}`) : failure(404, 'NotFound', `the server could not find the requested resource ${path}`))
      return
    }
    const [route, params] = found
    ;(route.rawBody === true ? Promise.resolve(undefined) : readBody(req))
      .then(async body => await route(req, body, params, url.searchParams))
      .then(result => { send(res, result) })
      .catch((err: unknown) => {
        // A streaming route refused before it read the body: drain it, so the answer goes out.
        if (route.rawBody === true) req.resume()
        const status = err instanceof BadRequest ? failure(400, 'BadRequest', err.message) : statusFor(err)
        if (status.code >= 500 && status.code !== 503) log.warn({ err: (err as Error).message, path }, 'request failed')
        send(res, status)
      })
  }

  const tcp = createTlsServer({ key: init.bootstrap.keyPem, cert: init.bootstrap.certPem }, handler(publicRoutes, true))
  const control = createServer(handler(controlRoutes, false))

  return {
    async listen () {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', (err: NodeJS.ErrnoException) => {
          reject(err.code === 'EADDRINUSE' ? new AddressInUseError('api', formatHostPort(init.bind, init.port), { cause: err }) : err)
        })
        tcp.listen(init.port, init.bind, () => resolve())
      })
      log.info({ address: formatHostPort(init.bind, init.port) }, 'api listening')
    },
    async listenControl () {
      await rm(init.socketPath, { force: true })
      await new Promise<void>((resolve, reject) => {
        control.once('error', reject)
        control.listen(init.socketPath, () => resolve())
      })
      await chmod(init.socketPath, 0o600)
    },
    useCredentials (c) {
      tcp.setSecureContext({ key: c.keyPem, cert: c.certPem })
      token = c.token
    },
    async stop () {
      await Promise.all([close(tcp), close(control)])
      await rm(init.socketPath, { force: true })
    }
  }
}

class BadRequest extends Error {}

/** `/a/:x/b` against `/a/1/b` → { x: '1' }; undefined when it does not match. */
function matchPattern (pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/')
  const got = path.split('/')
  if (want.length !== got.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!
    if (w.startsWith(':')) {
      if (got[i] === '') return undefined
      params[w.slice(1)] = decodeURIComponent(got[i]!)
    } else if (w !== got[i]) {
      return undefined
    }
  }
  return params
}

function matchRoute (routes: Record<string, Route>, method: string, path: string): [Route, Record<string, string>] | undefined {
  for (const [key, route] of Object.entries(routes)) {
    const space = key.indexOf(' ')
    if (key.slice(0, space) !== method) continue
    const params = matchPattern(key.slice(space + 1), path)
    if (params !== undefined) return [route, params]
  }
  return undefined
}

async function close (server: Server | TlsServer): Promise<void> {
  if (!server.listening) return
  server.closeAllConnections()
  await new Promise<void>(resolve => server.close(() => resolve()))
}

async function readBody (req: IncomingMessage): Promise<unknown> {
  if (req.method === 'GET' || req.method === 'HEAD') return undefined
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) throw new BadRequest(`request body larger than ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk as Buffer)
  }
  if (size === 0) return undefined
  // kubectl create (1.32+) sends protobuf; the route decodes it.
  if ((req.headers['content-type'] ?? '').includes('protobuf')) return new Uint8Array(Buffer.concat(chunks))
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new BadRequest('request body is not valid JSON')
  }
}

function send (res: ServerResponse, reply: unknown): void {
  if (reply instanceof StreamReply) {
    reply.run(res)
    return
  }
  const body = reply instanceof Reply ? reply.body : reply
  const code = reply instanceof Reply ? reply.code : isStatus(body) ? body.code : 200
  if (reply instanceof Reply) for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value)
  if (typeof body === 'string') {
    res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' }).end(body)
    return
  }
  res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

function isStatus (v: unknown): v is Status {
  return typeof v === 'object' && v !== null && (v as Status).kind === 'Status'
}
