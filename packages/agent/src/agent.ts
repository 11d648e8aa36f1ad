import { availableParallelism, totalmem } from 'node:os'
import { connect } from 'node:net'
import { join as joinPath, resolve as resolvePath } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Command, MemberInfo } from '@shoal/core'
import { resolveAgentConfig, defaultDataDir, userKubeconfigPath, formatHostPort, type AgentConfig, type AgentInit } from './config.ts'
import { DataDir, type KnownPeer } from './data-dir.ts'
import { decodeToken, newCluster, type ClusterSecret } from './cluster/token.ts'
import { dialSeed } from './cluster/dial-seed.ts'
import { createMesh, type Mesh } from './mesh/mesh.ts'
import { createMembers, type Members } from './members/members.ts'
import { requestJoin } from './members/join.ts'
import { createApiServer, type AgentInfo, type ApiServer, type MemberView } from './api/server.ts'
import { apiCredentials, servingNames, type ApiCredentials } from './api/tls.ts'
import { createRaftService, removeRaftData, type RaftService } from './raft/service.ts'
import { createControlPlane, type ControlPlane } from './control/control-plane.ts'
import { createPodStatusSink, type PodStatusSink } from './control/pod-status.ts'
import { createDockerRuntime } from './kubelet/docker.ts'
import { createHollowRuntime } from './kubelet/hollow.ts'
import { createKubelet, type Kubelet } from './kubelet/kubelet.ts'
import { createStatusReporter, type StatusReporter } from './kubelet/status-reporter.ts'
import { podIOResolver, servePodIO, type PodIOServer } from './kubelet/remote.ts'
import type { PodIO } from './kubelet/pod-io.ts'
import { statusFor } from './api/status.ts'
import { ClusterMismatchError, ConflictError, DataDirBusyError, JoinFailedError, ShoalError } from './errors.ts'
import type { Logger } from './log.ts'
import { VERSION } from './version.ts'
import Docker from 'dockerode'
import { createClusterImages, type ClusterImages } from './images/images.ts'
import { archiveCache } from './images/cache.ts'
import { dockerImageStore, serveImages, type ImageServer, type ImageStore } from './images/transfer.ts'
import { createServiceProxy, type ServiceProxy } from './proxy/proxy.ts'
import { createKernelForwarding } from './proxy/kernel.ts'
import { loopbackClusterIPs } from './proxy/cluster-ips.ts'
import { createNodeNetwork, type NetworkHealth, type NodeNetwork } from './network/node-network.ts'
import { createPodNetwork, type PodNetwork } from './network/pod-network.ts'
import type { RuntimeHealth } from '@shoal/core/members/types.ts'

export interface Agent {
  readonly config: AgentConfig
  info: () => AgentInfo
  /** Stop. `announce` gossips a graceful shutdown first (SIGTERM does). */
  stop: (opts?: { announce?: boolean }) => Promise<void>
  /** Resolves once the agent has stopped, by `stop()` or by `shoal leave`. */
  readonly stopped: Promise<void>
  /** Set when the agent stopped because something failed for good. */
  readonly failure: () => Error | undefined
}

/** One membership of one cluster: the mesh with that cluster's key, gossip over it, and its Raft log. */
interface Session {
  readonly cluster: ClusterSecret
  readonly mesh: Mesh
  readonly members: Members
  readonly raft: RaftService
  /** The master's controllers: they act while this agent leads. */
  readonly control: ControlPlane
  /** Folds the kubelets' gossiped pod status into the store while this agent leads. */
  readonly podStatus: PodStatusSink
  /** This node's pods in Docker, their status gossiped by the reporter, their logs and exec served to other agents. */
  readonly kubelet: Kubelet
  readonly reporter: StatusReporter
  podIOServer?: PodIOServer
  readonly podIOFor: (nodeName: string) => PodIO | undefined
  /** Services: listens on this node, forwards to ready endpoints anywhere. */
  readonly proxy: ServiceProxy
  /** The pod network (--pod-network=shoal): this node's bridge, rules and routes, and its pods' addresses. */
  readonly nodeNetwork: NodeNetwork | undefined
  readonly podNetwork: PodNetwork | undefined
  /** The cluster as its own registry mirror: this engine's images reported and served, others' fetched. */
  readonly images: ClusterImages
  readonly imageStore: ImageStore
  imageServer?: ImageServer
}

/**
 * The runtime's health as the heartbeat carries it: not ready while the pod
 * network fails (Kubernetes' NetworkReady=false), but not for the moments a
 * new node waits for its pod range.
 */
function withNetwork (runtime: RuntimeHealth, network: NetworkHealth | undefined): RuntimeHealth {
  if (network === undefined || network.ready || network.starting === true || !runtime.ready) return runtime
  return { ...runtime, ready: false, message: `network not ready: ${network.message ?? 'not set up'}` }
}

/** The parts of a session whose state goes into every heartbeat, once each is built. */
interface HeartbeatParts {
  raft?: RaftService
  kubelet?: Kubelet
  proxy?: ServiceProxy
  nodeNetwork?: NodeNetwork | undefined
}

/**
 * The changing part of an agent's heartbeat: its Raft index, its runtime's
 * health (and its pod network's), what its proxy could not listen for.
 */
function describeSelf (parts: HeartbeatParts): Partial<Pick<MemberInfo, 'raftIndex' | 'runtime' | 'proxy'>> {
  let raftIndex: number | undefined
  try {
    raftIndex = parts.raft?.status().lastIndex
  } catch {}
  const failures = parts.proxy?.failures() ?? []
  return {
    ...(raftIndex !== undefined ? { raftIndex } : {}),
    ...(parts.kubelet !== undefined ? { runtime: withNetwork(parts.kubelet.health(), parts.nodeNetwork?.health()) } : {}),
    ...(failures.length > 0 ? { proxy: { failures } } : {})
  }
}

/**
 * Entries between log compactions. A compaction serialises the whole store
 * while the Raft loop waits, so it must be rare; 100,000 is etcd's default
 * snapshot count, and the log it keeps in memory is tens of MB at most.
 */
const COMPACT_EVERY = 100_000
/** Disk kept for image archives to serve from (images/cache.ts), bytes: the least recently used go first. */
const IMAGE_ARCHIVE_BYTES = 2 * 1024 ** 3

/** How long a leaving leader waits for its successor to take over, ms. */
const HANDOFF_TIMEOUT_MS = 2000

/**
 * The composition root: the only place that knows every module. Start order:
 * config checks → data dir lock → api (TCP) → mesh → join handshake → persist
 * identity and cluster → control socket → membership. Nothing is written to
 * the data dir until every check and the join have succeeded; a failure at any
 * step undoes the steps before it. Stop runs in reverse.
 */
export async function startAgent (init: AgentInit, log: Logger): Promise<Agent> {
  const config = resolveAgentConfig(init)
  // An agent on the default data dir leaves its user a kubeconfig at ~/.shoal/kubeconfig, where the CLI looks.
  const dataDir = new DataDir(config.dataDir, resolvePath(config.dataDir) === resolvePath(defaultDataDir()) ? { userKubeconfig: userKubeconfigPath() } : {})
  if (await isSocketLive(dataDir.socketPath)) throw new DataDirBusyError(config.dataDir)

  const stored = await dataDir.loadCluster()
  const fromToken = config.token !== undefined ? decodeToken(config.token) : undefined
  if (config.join !== undefined && fromToken === undefined && stored === undefined) {
    throw new ShoalError('Invalid', 422, '--join needs --token TOKEN (run `shoal token` on a member to print it)')
  }
  if (stored !== undefined && fromToken !== undefined && stored.id !== fromToken.id) {
    throw new ClusterMismatchError(config.dataDir, stored.id, fromToken.id)
  }
  const { key, stored: keyStored } = await dataDir.loadKey()
  const peerId = peerIdFromString(key.publicKey.toString()).toString()
  const api = `${formatHostPort(config.advertise, config.apiPort)}`
  const tlsNames = servingNames({ advertise: config.advertise, bind: config.bind, name: config.name })
  const selfInfo = (mesh: Mesh): MemberInfo => ({
    name: config.name, peerId, addrs: mesh.addrs, api, capacity: { cpus: availableParallelism(), memoryBytes: totalmem(), pods: config.maxPods }, version: VERSION
  })

  let session: Session | undefined
  let keyPersisted = keyStored
  let resolveStopped!: () => void
  const stopped = new Promise<void>(resolve => { resolveStopped = resolve })
  let stopping: Promise<void> | undefined

  /**
   * Start the mesh for `cluster`; when `seed` is given, join through it
   * before anything is persisted. A new cluster's Raft log is bootstrapped
   * before its cluster.json is written, so a restart never finds a cluster
   * without a log.
   */
  const openSession = async (cluster: ClusterSecret, seed: string | undefined, mode: 'create' | 'join' | 'rejoin'): Promise<Session> => {
    const mesh = await createMesh({ privateKey: key, cluster, bind: config.bind, advertise: config.advertise, port: config.port }, log.child({ module: 'mesh' }))
    await mesh.start()
    let seeds: KnownPeer[] = []
    let raft: RaftService | undefined
    let members: Members | undefined
    // What the heartbeat tells beyond who this agent is, from each part once it is built.
    const heartbeatParts: HeartbeatParts = {}
    try {
      if (seed !== undefined) {
        try {
          seeds = mode === 'join' ? await joinRetrying(mesh, cluster, seed) : await joinThrough(mesh, cluster, seed)
        } catch (err) {
          if (mode === 'join') throw err
          log.warn({ seed, err: (err as Error).message }, 'could not reach the --join address; rejoining through known peers')
        }
      }
      if (mode !== 'rejoin') await removeRaftData(dataDir.raftPath)
      if (!keyPersisted) {
        await dataDir.saveKey(key)
        keyPersisted = true
      }
      const m = createMembers(
        { node: mesh.node, dataDir, log: log.child({ module: 'members' }), now: Date.now },
        { config: config.members, self: selfInfo(mesh), clusterId: cluster.id, incarnation: Date.now(), seeds, describeSelf: () => describeSelf(heartbeatParts) }
      )
      members = m
      raft = await createRaftService({ node: mesh.node, members: () => m.list(), log: log.child({ module: 'raft' }), onFatal: fail }, {
        dir: dataDir.raftPath,
        self: config.name,
        bootstrap: mode === 'create',
        voters: config.voters, clusterCIDR: config.clusterCIDR, nodeCIDRMaskSize: config.nodeCIDRMaskSize,
        tickMs: config.raftTickMs,
        voterGraceMs: config.voterGraceMs,
        compactEvery: COMPACT_EVERY,
        // Heartbeat every other tick (100 ms at the default tick): five per
        // election timeout is plenty, and idle agents do half the work. A
        // leader that dies is noticed by its closed connections anyway.
        raft: { heartbeatTicks: 2 }
      })
      heartbeatParts.raft = raft
      // The peers the join answered with, before the cluster: an agent killed
      // right after joining must find its cluster again when it restarts.
      if (mode === 'join') await dataDir.savePeers(seeds)
      const current = await dataDir.loadCluster()
      if (current?.id !== cluster.id) await dataDir.saveCluster(cluster, new Date())
      const credentials = apiCredentials(cluster, tlsNames, new Date())
      await dataDir.saveKubeconfig(kubeconfigFor(cluster, `https://${api}`, credentials))
      apiServer.useCredentials(credentials)
    } catch (err) {
      await raft?.stop().catch(() => {})
      await mesh.stop().catch(() => {})
      throw err
    }
    const leading = (): boolean => raft.status().role === 'leader'
    const control = createControlPlane({ store: raft.store, members: () => members.list(), leading, log: log.child({ module: 'control' }), podEvictionTimeoutMs: config.podEvictionTimeoutMs, controllers: config.controllers })
    const podStatus = createPodStatusSink({ node: mesh.node, store: raft.store, leading, log: log.child({ module: 'pod-status' }), peerOf: name => members.list().find(m => m.name === name)?.peerId })
    const reporter = createStatusReporter({ node: mesh.node, nodeName: config.name, log: log.child({ module: 'pod-status' }), local: msg => { podStatus.deliver(msg) } })
    const kubeletLog = log.child({ module: 'kubelet' })
    const store = raft.store
    const nodeNetwork = config.podNetwork === 'shoal' ? createNodeNetwork({ node: config.name, store: () => store.local, backend: config.networkBackend, log: log.child({ module: 'network' }) }) : undefined
    const podNetwork = nodeNetwork !== undefined ? createPodNetwork({ node: nodeNetwork, log: log.child({ module: 'network' }) }) : undefined
    // The first barrier after this session started: from then on the replica is as new as the cluster's state.
    let caughtUp: Promise<void> | undefined
    const untilCurrent = async (signal: AbortSignal): Promise<void> => {
      const aborted = new Promise<void>(resolve => signal.addEventListener('abort', () => resolve(), { once: true }))
      while (!signal.aborted) {
        try {
          const barrier = store.barrier({ timeoutMs: 5000 })
          barrier.catch(() => {}) // still pending when the kubelet stops: nobody awaits it then
          await Promise.race([barrier, aborted])
          return
        } catch (err) {
          kubeletLog.debug({ err: (err as Error).message }, 'waiting for the replica to catch up before starting pods')
          await new Promise(resolve => setTimeout(resolve, 200))
        }
      }
    }
    const runtime = config.runtime === 'hollow'
      ? createHollowRuntime({ node: config.name })
      : createDockerRuntime({ node: config.name, socketPath: config.dockerSocket, log: kubeletLog, ...(podNetwork !== undefined ? { network: podNetwork } : {}) })
    const imageStore = archiveCache(dockerImageStore(new Docker({ socketPath: config.dockerSocket })), joinPath(config.dataDir, 'image-archives'), IMAGE_ARCHIVE_BYTES, log.child({ module: 'images' }))
    const images = createClusterImages({
      node: config.name,
      mesh: mesh.node,
      runtime,
      imageStore,
      archives: imageStore,
      store: () => store.local,
      write: async cmd => await store.write(cmd),
      members: () => members.list(),
      tmpDir: joinPath(config.dataDir, 'image-transfers'),
      log: log.child({ module: 'images' })
    })
    const kubelet = createKubelet({
      current: async signal => { await (caughtUp ??= untilCurrent(signal)) },
      node: config.name,
      hostIP: config.advertise,
      ...(config.publishAddress !== undefined ? { publishIP: config.publishAddress } : {}),
      podsDir: joinPath(config.dataDir, 'pods'),
      capacity: { cpuMilli: availableParallelism() * 1000, memoryBytes: totalmem(), pods: config.maxPods },
      store: () => store.local,
      writeEvent: async cmd => await store.write(cmd),
      runtime,
      images,
      report: changes => { reporter.report(changes) },
      reportFull: all => { reporter.reportFull(all).catch(() => {}) },
      log: kubeletLog,
      backoff: { initialMs: config.backoffInitialMs, maxMs: config.backoffMaxMs }
    })
    // Agents on loopback addresses (tests, a cluster on one machine) share one network stack: they relay in userland.
    const kernel = nodeNetwork !== undefined && !config.advertise.startsWith('127.') ? createKernelForwarding({ node: config.name }) : undefined
    const proxy = createServiceProxy({ node: config.name, address: config.advertise, store: () => store.local, writeEvent: async cmd => await store.write(cmd), clusterIPs: loopbackClusterIPs(log.child({ module: 'proxy' })), ...(kernel !== undefined ? { kernel } : {}), log: log.child({ module: 'proxy' }) })
    Object.assign(heartbeatParts, { kubelet, proxy, nodeNetwork })
    const podIOFor = podIOResolver({ node: mesh.node, self: config.name, local: kubelet.podIO, members: () => members.list() })
    return { cluster, mesh, members, raft, control, podStatus, kubelet, reporter, podIOFor, proxy, nodeNetwork, podNetwork, images, imageStore }
  }

  const startSession = async (s: Session): Promise<void> => {
    await s.members.start()
    await s.raft.start()
    s.control.start()
    s.podStatus.start()
    s.podIOServer = await servePodIO(s.mesh.node, s.kubelet.podIO, log.child({ module: 'pod-io' }))
    s.imageServer = await serveImages(s.mesh.node, s.imageStore, log.child({ module: 'images' }), { serves: async id => await s.images.serves(id) })
    s.images.start()
    s.nodeNetwork?.start()
    await s.kubelet.start()
    s.proxy.start()
  }

  const joinThrough = async (mesh: Mesh, cluster: ClusterSecret, seed: string): Promise<KnownPeer[]> => {
    const conn = await dialSeed(mesh.node, seed)
    const res = await requestJoin(conn, { name: config.name, peerId }, AbortSignal.timeout(10_000))
      .catch((err: Error) => { throw new JoinFailedError(seed, `the member did not answer the join request (${err.message})`, { cause: err }) })
    if (!res.ok) throw new JoinFailedError(seed, res.error)
    if (res.clusterId !== cluster.id) throw new JoinFailedError(seed, `it belongs to cluster ${res.clusterId}, not ${cluster.id}`)
    log.info({ seed, cluster: cluster.id, members: res.members.length + 1 }, 'joined cluster')
    return res.members
  }

  /**
   * The first join, tried again while the member does not answer (it may be
   * booting too) for up to --join-retry-ms, backing off from 1 s to 30 s. A
   * refusal (a wrong token, another cluster) is final at once.
   */
  const joinRetrying = async (mesh: Mesh, cluster: ClusterSecret, seed: string): Promise<KnownPeer[]> => {
    const deadline = Date.now() + config.joinRetryMs
    for (let delay = 1000; ; delay = Math.min(delay * 2, 30_000)) {
      try {
        return await joinThrough(mesh, cluster, seed)
      } catch (err) {
        const transient = err instanceof JoinFailedError && /refused|unreachable|no answer|reset|resolve|did not answer/.test(err.message)
        const wait = Math.min(delay, deadline - Date.now())
        if (!transient || wait <= 0 || stopping !== undefined) throw err
        log.warn({ seed, err: err.message, retryInMs: wait }, `cannot join through ${seed} yet; trying again in ${Math.round(wait / 1000)} s`)
        await new Promise(resolve => setTimeout(resolve, wait))
      }
    }
  }

  const info = (): AgentInfo => {
    if (session === undefined) throw new ConflictError('the agent is not running')
    return { name: config.name, peerId, clusterId: session.cluster.id, version: VERSION, api, addrs: session.mesh.addrs }
  }

  /**
   * Stop a session. Its containers keep running (a restarted agent adopts
   * them), unless `removeContainers`: the agent left the cluster for good.
   */
  const closeSession = async (s: Session, announce: 'leave' | 'shutdown' | undefined, removeContainers = false): Promise<void> => {
    if (announce !== undefined) {
      await s.raft.handOff(HANDOFF_TIMEOUT_MS).catch(() => {})
      await s.members.leave(announce).catch((err: Error) => log.warn({ err: err.message }, 'could not announce leave'))
    }
    await s.proxy.stop().catch((err: Error) => log.warn({ err: err.message }, 'proxy stop failed'))
    await s.kubelet.stop({ removeContainers }).catch((err: Error) => log.warn({ err: err.message }, 'kubelet stop failed'))
    s.podNetwork?.hostPorts.closeAll()
    await s.nodeNetwork?.stop()
    if (removeContainers) await s.nodeNetwork?.teardown().catch((err: Error) => log.warn({ err: err.message }, 'pod network teardown failed'))
    await s.reporter.stop().catch(() => {})
    await s.podIOServer?.stop()
    await s.imageServer?.stop()
    await s.images.stop()
    await s.podStatus.stop()
    await s.control.stop()
    await s.raft.stop().catch((err: Error) => log.warn({ err: err.message }, 'raft stop failed'))
    await s.members.stop()
    await s.mesh.stop()
  }

  let failure: Error | undefined
  /** Something failed that the agent cannot carry on after: stop, so a supervisor restarts us from disk. */
  const fail = (err: Error): void => {
    failure ??= err
    log.fatal({ err: err.message }, 'stopping after a fatal error')
    stop().catch(() => {})
  }

  let left = false
  const stop = async (opts: { announce?: boolean } = {}): Promise<void> => {
    stopping ??= (async () => {
      log.info({ left }, 'stopping')
      if (session !== undefined) await closeSession(session, opts.announce === true && !left ? 'shutdown' : undefined, left)
      if (left) await dataDir.forgetCluster()
      // Last: the control socket disappearing tells `shoal leave` we are done.
      await apiServer.stop().catch(() => {})
      log.info('stopped')
      resolveStopped()
    })()
    await stopping
  }

  let started = false
  const memberViews = (): MemberView[] => {
    const s = session
    if (s === undefined) return []
    const roleOf = s.raft.roles()
    return s.members.list().map(m => ({ ...m, raft: roleOf(m.name) }))
  }
  const apiServer: ApiServer = createApiServer({
    ready: () => started && session !== undefined,
    info,
    members: () => memberViews(),
    raft: () => {
      if (session === undefined) throw new ConflictError('the agent is not running')
      return session.raft.status()
    },
    controllers: () => {
      if (session === undefined) throw new ConflictError('the agent is not running')
      return { kind: 'ControllerCounters', apiVersion: 'shoal/v1', leading: session.raft.status().role === 'leader', controllers: session.control.counters() }
    },
    write: async (cmd) => {
      if (session === undefined) throw new ConflictError('the agent is not running')
      const result = await session.raft.store.write(cmd as Command)
      return result.ok ? result : { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', ...result }
    },
    writeRaw: async (cmd) => {
      if (session === undefined) throw new ConflictError('the agent is not running')
      return await session.raft.store.write(cmd as Command)
    },
    store: () => {
      if (session === undefined) throw new ConflictError('the agent is not running')
      return session.raft.store.local
    },
    podIO: nodeName => session?.podIOFor(nodeName),
    images: () => session?.images,
    read: async (resource, namespace, name, consistent) => {
      if (session === undefined) throw new ConflictError('the agent is not running')
      if (consistent) await session.raft.store.barrier()
      const store = session.raft.store.local
      if (name !== undefined) {
        const obj = store.get(resource, namespace, name)
        if (obj === undefined) throw new ShoalError('NotFound', 404, `${resource} "${name}" not found`)
        return obj
      }
      const list = store.list(resource, namespace === '' ? {} : { namespace })
      if (!list.ok) return statusFor(new ShoalError(list.reason, list.code, list.message))
      return { kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: list.resourceVersion }, items: list.items }
    },
    join: async (address, token) => {
      const target = decodeToken(token)
      const current = session
      if (current === undefined) throw new ConflictError('the agent is not running')
      if (target.id === current.cluster.id) return info()
      const others = current.members.list().filter(m => m.name !== config.name && m.state !== 'left')
      if (others.length > 0) {
        throw new ConflictError(`this agent is a member of cluster ${current.cluster.id} with ${others.length} other member(s); run \`shoal leave\` first, then start it with --join`)
      }
      log.info({ address, cluster: target.id }, 'switching to another cluster')
      await closeSession(current, undefined)
      session = undefined
      try {
        session = await openSession(target, address, 'join')
      } catch (err) {
        session = await openSession(current.cluster, undefined, 'rejoin')
        await startSession(session)
        throw err
      }
      await startSession(session)
      return info()
    },
    leave: async () => {
      // Announce and forget before answering, so `shoal leave` returns only
      // once the others have been told; then stop.
      const current = session
      if (current === undefined || left) throw new ConflictError('the agent is not running')
      left = true
      await current.raft.handOff(HANDOFF_TIMEOUT_MS).catch(() => {})
      await current.members.leave('leave')
      setImmediate(() => { stop().catch((err: Error) => log.error({ err: err.message }, 'stop failed')) })
    }
  }, { bind: config.bind, port: config.apiPort, socketPath: dataDir.socketPath, bootstrap: apiCredentials(newCluster(), tlsNames, new Date()) }, log.child({ module: 'api' }))

  await apiServer.listen()
  try {
    const mode = stored !== undefined ? 'rejoin' : fromToken !== undefined ? 'join' : 'create'
    session = await openSession(stored ?? fromToken ?? newCluster(), config.join, mode)
    await apiServer.listenControl()
    await startSession(session)
    started = true
    log.info({ name: config.name, peerId, cluster: session.cluster.id, mode, api }, mode === 'create' ? 'created a new cluster' : 'agent started')
  } catch (err) {
    await apiServer.stop().catch(() => {})
    if (session !== undefined) await closeSession(session, undefined).catch(() => {})
    throw err
  }

  return {
    config,
    info,
    stop,
    stopped,
    failure: () => failure
  }
}

/**
 * The admin kubeconfig for the cluster's API on this agent: stock kubectl
 * and `shoal --kubeconfig` use it. It trusts the cluster CA, so it works
 * against any agent once its server line is changed.
 */
export function kubeconfigFor (cluster: ClusterSecret, server: string, credentials: ApiCredentials): string {
  const name = `shoal-${cluster.id}`
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${Buffer.from(credentials.caPem).toString('base64')}`,
    'contexts:',
    `- name: ${name}`,
    '  context:',
    `    cluster: ${name}`,
    '    user: admin',
    '    namespace: default',
    `current-context: ${name}`,
    'users:',
    '- name: admin',
    '  user:',
    `    token: ${credentials.token}`,
    ''
  ].join('\n')
}

/** True if an agent answers on the control socket: the data dir is in use. */
async function isSocketLive (path: string): Promise<boolean> {
  return await new Promise(resolve => {
    const s = connect(path)
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}
