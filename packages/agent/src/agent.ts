import { availableParallelism, totalmem } from 'node:os'
import { connect } from 'node:net'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Member, MemberInfo } from '@shoal/core'
import { resolveAgentConfig, formatHostPort, type AgentConfig, type AgentInit } from './config.ts'
import { DataDir, type KnownPeer } from './data-dir.ts'
import { decodeToken, newCluster, type ClusterSecret } from './cluster/token.ts'
import { dialSeed } from './cluster/dial-seed.ts'
import { createMesh, type Mesh } from './mesh/mesh.ts'
import { createMembers, type Members } from './members/members.ts'
import { requestJoin } from './members/join.ts'
import { createApiServer, type AgentInfo, type ApiServer } from './api/server.ts'
import { ClusterMismatchError, ConflictError, DataDirBusyError, JoinFailedError, ShoalError } from './errors.ts'
import type { Logger } from './log.ts'
import { VERSION } from './version.ts'

export interface Agent {
  readonly config: AgentConfig
  info: () => AgentInfo
  members: () => Member[]
  /** Stop. `announce` gossips a graceful shutdown first (SIGTERM does). */
  stop: (opts?: { announce?: boolean }) => Promise<void>
  /** Resolves once the agent has stopped, by `stop()` or by `shoal leave`. */
  readonly stopped: Promise<void>
}

/** One membership of one cluster: the mesh with that cluster's key, and gossip over it. */
interface Session {
  readonly cluster: ClusterSecret
  readonly mesh: Mesh
  readonly members: Members
}

/**
 * The composition root: the only place that knows every module. Start order:
 * config checks → data dir lock → api (TCP) → mesh → join handshake → persist
 * identity and cluster → control socket → membership. Nothing is written to
 * the data dir until every check and the join have succeeded; a failure at any
 * step undoes the steps before it. Stop runs in reverse.
 */
export async function startAgent (init: AgentInit, log: Logger): Promise<Agent> {
  const config = resolveAgentConfig(init)
  const dataDir = new DataDir(config.dataDir)
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
  const selfInfo = (mesh: Mesh): MemberInfo => ({
    name: config.name, peerId, addrs: mesh.addrs, api, capacity: { cpus: availableParallelism(), memoryBytes: totalmem() }, version: VERSION
  })

  let session: Session | undefined
  let resolveStopped!: () => void
  const stopped = new Promise<void>(resolve => { resolveStopped = resolve })
  let stopping: Promise<void> | undefined

  /** Start the mesh for `cluster`; when `seed` is given, join through it before anything is persisted. */
  const openSession = async (cluster: ClusterSecret, seed: string | undefined, mustJoin: boolean): Promise<Session> => {
    const mesh = await createMesh({ privateKey: key, cluster, bind: config.bind, advertise: config.advertise, port: config.port }, log.child({ module: 'mesh' }))
    await mesh.start()
    let seeds: KnownPeer[] = []
    try {
      if (seed !== undefined) {
        try {
          seeds = await joinThrough(mesh, cluster, seed)
        } catch (err) {
          if (mustJoin) throw err
          log.warn({ seed, err: (err as Error).message }, 'could not reach the --join address; rejoining through known peers')
        }
      }
      await persist(cluster)
    } catch (err) {
      await mesh.stop().catch(() => {})
      throw err
    }
    const members = createMembers(
      { node: mesh.node, dataDir, log: log.child({ module: 'members' }), now: Date.now },
      { config: config.members, self: selfInfo(mesh), clusterId: cluster.id, incarnation: Date.now(), seeds }
    )
    return { cluster, mesh, members }
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

  let keyPersisted = keyStored
  const persist = async (cluster: ClusterSecret): Promise<void> => {
    if (!keyPersisted) {
      await dataDir.saveKey(key)
      keyPersisted = true
    }
    const current = await dataDir.loadCluster()
    if (current?.id !== cluster.id) await dataDir.saveCluster(cluster, new Date())
  }

  const info = (): AgentInfo => {
    if (session === undefined) throw new ConflictError('the agent is not running')
    return { name: config.name, peerId, clusterId: session.cluster.id, version: VERSION, api, addrs: session.mesh.addrs }
  }

  const closeSession = async (s: Session, announce: 'leave' | 'shutdown' | undefined): Promise<void> => {
    if (announce !== undefined) await s.members.leave(announce).catch((err: Error) => log.warn({ err: err.message }, 'could not announce leave'))
    await s.members.stop()
    await s.mesh.stop()
  }

  let left = false
  const stop = async (opts: { announce?: boolean } = {}): Promise<void> => {
    stopping ??= (async () => {
      log.info({ left }, 'stopping')
      await apiServer.stop().catch(() => {})
      if (session !== undefined) await closeSession(session, opts.announce === true && !left ? 'shutdown' : undefined)
      log.info('stopped')
      resolveStopped()
    })()
    await stopping
  }

  let started = false
  const apiServer: ApiServer = createApiServer({
    ready: () => started && session !== undefined,
    info,
    members: () => session?.members.list() ?? [],
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
        session = await openSession(target, address, true)
      } catch (err) {
        session = await openSession(current.cluster, undefined, false)
        await session.members.start()
        throw err
      }
      await dataDir.savePeers([])
      await session.members.start()
      return info()
    },
    leave: async () => {
      // Announce and forget before answering, so `shoal leave` returns only
      // once the others have been told; then stop.
      const current = session
      if (current === undefined || left) throw new ConflictError('the agent is not running')
      left = true
      await current.members.leave('leave')
      await dataDir.forgetCluster()
      setImmediate(() => { stop().catch((err: Error) => log.error({ err: err.message }, 'stop failed')) })
    }
  }, { bind: config.bind, port: config.apiPort, socketPath: dataDir.socketPath }, log.child({ module: 'api' }))

  await apiServer.listen()
  try {
    const mode = stored !== undefined ? 'rejoin' : fromToken !== undefined ? 'join' : 'create'
    session = await openSession(stored ?? fromToken ?? newCluster(), config.join, mode === 'join')
    await apiServer.listenControl()
    await session.members.start()
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
    members: () => session?.members.list() ?? [],
    stop,
    stopped
  }
}

/** True if an agent answers on the control socket: the data dir is in use. */
async function isSocketLive (path: string): Promise<boolean> {
  return await new Promise(resolve => {
    const s = connect(path)
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}
