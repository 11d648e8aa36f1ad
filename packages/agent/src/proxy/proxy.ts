import { createServer, connect, type Server, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import type { KubeObject, ObjectStore } from '@shoal/core'
import type { ProxyHealth } from '@shoal/core/members/types.ts'
import { backendsFor, listenersFor, publishedTarget, Rotation, type Backend, type Listener } from '@shoal/core/proxy/plan.ts'
import { eventCommand } from '@shoal/core/controllers/common.ts'
import type { EventWriter } from '../kubelet/events.ts'
import type { Logger } from '../log.ts'
import type { ClusterIPs } from './cluster-ips.ts'
import type { KernelForwarding } from './kernel.ts'
import type { KernelService } from '@shoal/core/proxy/kernel-rules.ts'
import { coalescing } from '../serial.ts'
import { clusterCIDROf } from '../network/node-network.ts'
import { parseCIDR } from '@shoal/core/network/cidr.ts'
import { rangeContains } from '@shoal/core/network/ipam.ts'

/**
 * The service proxy every agent runs: it listens where core/proxy/plan.ts
 * says (cluster IPs, node ports, load balancer ports) and forwards each TCP
 * connection to a ready endpoint of the Service, on any node, reading the
 * Endpoints from the local replica at each new connection, so a change is
 * in effect as soon as this agent has applied it. An endpoint is reached
 * at its pod IP and port, which every node routes to, unless its pod
 * publishes that port (the pods of an agent with --publish-address, not on
 * the pod network): then at the published address and port
 * (core/proxy/plan.ts `publishedTarget`).
 *
 * A connection that an endpoint refuses, does not accept within
 * CONNECT_TIMEOUT_MS, or closes before answering a byte is tried on the next
 * endpoint, with what the client sent so far replayed (up to REPLAY_BYTES),
 * so the client sees no error while an endpoint dies: Docker's port proxy
 * accepts for a container that is gone and then closes, which looks like
 * that last case. Once an endpoint has answered, the two sockets are simply
 * piped, half-close included.
 */

export interface ProxyComponents {
  readonly node: string
  /** The node's advertised address: node ports and load balancer ports listen here. */
  readonly address: string
  /** The local replica (a function: a snapshot install replaces it). */
  readonly store: () => ObjectStore
  readonly writeEvent: EventWriter
  readonly clusterIPs: ClusterIPs
  /**
   * The kernel path (kernel.ts), on a node on the pod network: Services
   * whose ready backends all have pod IPs are DNATed by iptables, and the
   * listeners below serve only what it does not take (a Service with
   * ClientIP affinity, or with a backend off the pod network).
   */
  readonly kernel?: KernelForwarding
  readonly log: Logger
  readonly now?: () => number
}

export interface ServiceProxy {
  start: () => void
  stop: () => Promise<void>
  /** What this node cannot serve, for its heartbeat (the Service's status shows it). */
  failures: () => ProxyHealth['failures']
  /** The ready backends a new connection to `ip:port` would try now, in order; for tests and debugging. */
  backends: (key: string) => Backend[]
}

/** Whether `ip` is on the cluster's pod network (its cluster CIDR), rather than a Docker bridge of an agent with --pod-network=docker. */
function onPodNetwork (store: ObjectStore, ip: string): boolean {
  const cidr = parseCIDR(clusterCIDROf(store))
  return cidr !== undefined && rangeContains(cidr, ip)
}

const CONNECT_TIMEOUT_MS = 2000
const REPLAY_BYTES = 64 * 1024
/** How many endpoints one connection tries before giving up. */
const MAX_ATTEMPTS = 5
/** Failed listeners are tried again, and the whole table checked, this often, ms. */
const RESYNC_MS = 2000
const MAX_FAILURES = 32

interface Open {
  listener: Listener
  readonly server: Server
  readonly rotation: Rotation
  readonly sockets: Set<Socket>
}

const serviceParts = (service: string): [string, string] => {
  const i = service.indexOf('/')
  return [service.slice(0, i), service.slice(i + 1)]
}

export function createServiceProxy (c: ProxyComponents): ServiceProxy {
  const now = c.now ?? Date.now
  const open = new Map<string, Open>()
  /** Listeners that could not open, by key, with why. */
  const failed = new Map<string, { listener: Listener, message: string }>()
  let problems: Array<{ service: string, message: string }> = []
  const reported = new Set<string>()
  let stopped = false
  let timer: ReturnType<typeof setInterval> | undefined
  let unwatch: (() => void) | undefined
  let watchedStore: ObjectStore | undefined
  const cache = new Map<string, { rv: string, byPort: Map<string, Backend[]> }>()

  const backendsOf = (l: Listener): Backend[] => {
    const [namespace, name] = serviceParts(l.service)
    const ep = c.store().get('endpoints', namespace, name)
    if (ep === undefined) return []
    let entry = cache.get(l.service)
    if (entry?.rv !== ep.metadata.resourceVersion) cache.set(l.service, entry = { rv: ep.metadata.resourceVersion, byPort: new Map() })
    let b = entry.byPort.get(l.portName)
    if (b === undefined) entry.byPort.set(l.portName, b = backendsFor(ep, l.portName))
    return b
  }

  const event = (service: string, message: string): void => {
    const key = `${service}\u0000${message}`
    if (reported.has(key)) return
    reported.add(key)
    const [namespace, name] = serviceParts(service)
    const svc = c.store().get('services', namespace, name)
    if (svc === undefined) return
    const at = new Date(now()).toISOString().replace(/\.\d+Z$/, 'Z')
    const involved = { ...svc, metadata: { name, namespace, uid: svc.metadata.uid } } as KubeObject
    c.writeEvent(eventCommand({ name: `${name}.${randomBytes(8).toString('hex')}`, involved, reason: 'FailedToListen', message: `node ${c.node}: ${message}`, type: 'Warning', component: 'shoal-proxy', host: c.node, now: at }))
      .catch((err: Error) => { c.log.debug({ err: err.message }, 'could not record a proxy event') })
  }

  // ---------------------------------------------------------------- connections

  const forward = (o: Open, client: Socket): void => {
    const l = o.listener
    const clientIP = client.remoteAddress ?? ''
    const attempts = o.rotation.order(backendsOf(l), clientIP, now(), l.affinitySeconds).slice(0, MAX_ATTEMPTS)
    if (attempts.length === 0) {
      client.resetAndDestroy()
      return
    }
    /** What the client sent before an endpoint answered: written to each endpoint tried, while it fits REPLAY_BYTES. */
    const sent: Buffer[] = []
    let total = 0
    const replayable = (): boolean => total <= REPLAY_BYTES
    let clientEnded = false
    let committed = false
    let upstream: Socket | undefined
    let upstreamConnected = false

    const onClientData = (chunk: Buffer): void => {
      total += chunk.length
      if (replayable() || !upstreamConnected) sent.push(chunk)
      if (upstreamConnected) {
        if (upstream?.write(chunk) === false) {
          client.pause()
          upstream.once('drain', () => { client.resume() })
        }
      } else if (!replayable()) {
        // Too much to hold while the endpoint connects: wait for it.
        client.pause()
      }
    }
    const onClientEnd = (): void => {
      clientEnded = true
      if (upstreamConnected) upstream?.end()
    }
    client.on('data', onClientData)
    client.on('end', onClientEnd)
    client.on('error', () => { upstream?.destroy() })
    client.on('close', () => { upstream?.destroy(); o.sockets.delete(client) })

    const commit = (u: Socket, backend: Backend, first: Buffer): void => {
      committed = true
      o.rotation.chosen(backend, clientIP, now(), l.affinitySeconds)
      client.off('data', onClientData)
      client.off('end', onClientEnd)
      client.write(first)
      if (!clientEnded) client.pipe(u)
      u.pipe(client)
    }

    const attempt = (i: number): void => {
      if (stopped || client.destroyed) return
      const backend = attempts[i]
      if (backend === undefined) {
        // Every endpoint refused: as a Service without endpoints, the client gets a reset.
        client.resetAndDestroy()
        return
      }
      upstreamConnected = false
      const store = c.store()
      const target = publishedTarget(backend, store.get('pods', backend.namespace, backend.pod), ip => onPodNetwork(store, ip)) ?? backend
      const u = connect({ host: target.ip, port: target.port, allowHalfOpen: true, noDelay: true, timeout: CONNECT_TIMEOUT_MS })
      upstream = u
      let answered = false
      const next = (): void => {
        if (answered || committed) return
        answered = true
        u.destroy()
        // Sent more than can be replayed: the request may be half-written to that endpoint; give up rather than send half twice.
        if (!replayable()) {
          client.destroy()
          return
        }
        attempt(i + 1)
      }
      u.once('connect', () => {
        u.setTimeout(0)
        upstreamConnected = true
        for (const chunk of sent) u.write(chunk)
        if (!replayable()) sent.length = 0
        if (clientEnded) u.end()
        if (client.isPaused() && !committed) client.resume()
      })
      u.once('timeout', next)
      u.once('data', (first: Buffer) => {
        answered = true
        commit(u, backend, first)
      })
      u.on('error', () => {
        if (committed) client.destroy()
        else next()
      })
      u.once('end', () => { if (!committed) next() })
      u.once('close', () => { if (!committed) next() })
    }
    attempt(0)
  }

  // ---------------------------------------------------------------- listeners

  const listen = async (l: Listener): Promise<void> => {
    if (l.kind === 'ClusterIP') await c.clusterIPs.add(l.ip)
    const sockets = new Set<Socket>()
    const server = createServer({ allowHalfOpen: true, noDelay: true })
    const o: Open = { listener: l, server, rotation: new Rotation(), sockets }
    server.on('connection', (client: Socket) => {
      sockets.add(client)
      forward(o, client)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ host: l.ip, port: l.port, reusePort: l.reusePort }, () => {
        server.off('error', reject)
        server.on('error', (err: Error) => { c.log.warn({ listener: l.key, err: err.message }, 'service listener failed') })
        resolve()
      })
    })
    open.set(l.key, o)
  }

  const close = (o: Open): void => {
    open.delete(o.listener.key)
    o.server.close()
  }

  const sync = async (): Promise<void> => {
    const store = c.store()
    if (store !== watchedStore) {
      unwatch?.()
      const w = store.watch({ resource: 'services' }, () => { schedule() })
      // The kernel's rules name the backends: they follow every change of the Endpoints.
      const e = c.kernel !== undefined ? store.watch({ resource: 'endpoints' }, () => { schedule() }) : undefined
      unwatch = () => {
        if (w.ok) w.stop()
        if (e?.ok === true) e.stop()
      }
      watchedStore = store
      cache.clear()
    }
    const list = store.list('services', {})
    const services = list.ok ? list.items : []
    const plan = listenersFor(services, c.address)
    problems = plan.problems
    const wanted = new Map(plan.listeners.map(l => [l.key, l]))
    for (const o of [...open.values()]) {
      const w = wanted.get(o.listener.key)
      if (w === undefined || w.reusePort !== o.listener.reusePort) close(o)
      else o.listener = w
    }
    for (const key of [...failed.keys()]) if (!wanted.has(key)) failed.delete(key)
    const ips = new Set(plan.listeners.filter(l => l.kind === 'ClusterIP').map(l => l.ip))
    for (const ip of staleIPs) if (!ips.has(ip)) await c.clusterIPs.remove(ip)
    staleIPs = ips
    await Promise.all(plan.listeners.filter(l => !open.has(l.key)).map(async l => {
      try {
        await listen(l)
        failed.delete(l.key)
        c.log.info({ listener: l.key, service: l.service, kind: l.kind }, 'service listening')
      } catch (err) {
        const message = `cannot listen on ${l.key} (${l.kind}): ${(err as Error).message}`
        if (failed.get(l.key)?.message !== message) c.log.warn({ listener: l.key, service: l.service, err: (err as Error).message }, 'service listener failed')
        failed.set(l.key, { listener: l, message })
      }
    }))
    // Should iptables fail, the listeners serve everything: slower, not broken.
    await c.kernel?.sync(kernelServices(store), clusterCIDROf(store)).catch((err: Error) => { c.log.warn({ err: err.message }, 'could not write the Service rules') })
    const failing = failures()
    for (const f of failing) event(f.service, f.message)
    const current = new Set(failing.map(f => `${f.service}\u0000${f.message}`))
    for (const k of reported) if (!current.has(k)) reported.delete(k)
  }
  let staleIPs = new Set<string>()

  /** What the kernel forwards: open listeners without affinity whose ready backends are all on the pod network. */
  const kernelServices = (store: ObjectStore): KernelService[] => {
    const out: KernelService[] = []
    for (const o of open.values()) {
      const l = o.listener
      if (l.affinitySeconds !== undefined) continue
      const backends = backendsOf(l)
      if (backends.length === 0 || !backends.every(b => onPodNetwork(store, b.ip))) continue
      out.push({ ip: l.ip, port: l.port, backends: backends.map(b => ({ ip: b.ip, port: b.port })) })
    }
    return out
  }

  const syncs = coalescing(sync, err => { c.log.warn({ err: err.message }, 'service proxy sync failed') }, () => !stopped)
  const schedule = syncs.request

  const failures = (): ProxyHealth['failures'] => {
    const all = [...[...failed.values()].map(f => ({ service: f.listener.service, message: f.message })), ...problems]
    return all.slice(0, MAX_FAILURES)
  }

  return {
    start () {
      schedule()
      timer = setInterval(schedule, RESYNC_MS)
    },
    async stop () {
      stopped = true
      clearInterval(timer)
      unwatch?.()
      await syncs.idle()
      await c.kernel?.remove().catch((err: Error) => { c.log.warn({ err: err.message }, 'could not remove the Service rules') })
      for (const o of [...open.values()]) {
        close(o)
        for (const s of o.sockets) s.destroy()
      }
    },
    failures,
    backends (key) {
      const o = open.get(key)
      return o === undefined ? [] : backendsOf(o.listener)
    }
  }
}
