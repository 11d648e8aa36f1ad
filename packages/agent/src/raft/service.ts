import { rm } from 'node:fs/promises'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import type { Member } from '@shoal/core'
import { CLUSTER_CONFIG } from '@shoal/core/store/pod-cidrs.ts'
import { RaftNode, bootstrapState, planVoterChange, resolveRaftConfig, type NodeId, type RaftConfig, type RaftStatus } from '@shoal/core/raft/index.ts'
import type { MeshNode } from '../mesh/mesh.ts'
import type { Logger } from '../log.ts'
import { LevelRaftStorage } from './storage.ts'
import { createRaftTransport } from './transport.ts'
import { createRaftDriver, type RaftDriver } from './driver.ts'
import { StoreStateMachine } from '../store/state-machine.ts'
import { createReplicatedStore, type ReplicatedStore } from '../store/replicated-store.ts'

/** Where the cluster-wide settings live in the store (defined in core: the store reads them to allocate pod ranges). */
export { CLUSTER_CONFIG }

export interface RaftServiceInit {
  /** Folder of the LevelDB log. */
  readonly dir: string
  readonly self: NodeId
  /** Start a new cluster with this node as its only voter (when the log is empty). */
  readonly bootstrap: boolean
  /** Voters wanted; written into the cluster's settings by the agent that creates the cluster. */
  readonly voters: number
  /** The pods' addresses (IPv4 CIDR) and the prefix length of each node's range; written beside voters. */
  readonly clusterCIDR: string
  readonly nodeCIDRMaskSize: number
  /** One Raft tick, ms. */
  readonly tickMs: number
  /** A voter down longer than this is replaced, ms. */
  readonly voterGraceMs: number
  /** Compact the log after this many entries. */
  readonly compactEvery: number
  readonly raft?: Partial<RaftConfig>
}

export interface RaftServiceComponents {
  readonly node: MeshNode
  /** The current membership as gossip sees it. */
  readonly members: () => Member[]
  readonly log: Logger
  /** Raft failed for good (a disk error, a broken invariant): the agent must stop. */
  readonly onFatal: (err: Error) => void
}

export interface RaftRole { readonly role: 'leader' | 'voter' | 'learner' | 'none', readonly match: number | null }

export interface RaftService {
  start: () => Promise<void>
  stop: () => Promise<void>
  readonly store: ReplicatedStore
  status: () => RaftStatus
  /** Each member's place in Raft, from one look at the status. */
  roles: () => (name: NodeId) => RaftRole
  /** If this node leads, hand leadership to a caught-up voter and wait (bounded) until it has. */
  handOff: (timeoutMs: number) => Promise<void>
}

/** How often the leader looks at membership to adjust the voters, ms. */
const VOTER_CHECK_MS = 500
/** A learner at most this many entries behind may be promoted. */
const PROMOTE_MAX_LAG = 64

/** Remove a cluster's Raft log (the agent left it, or moves to another). */
export async function removeRaftData (dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
}

/**
 * Consensus for one agent: the LevelDB log, the pure Raft node, the libp2p
 * transport and the driver loop; the object store it replicates; and, while
 * this agent leads, the voter manager that keeps the voter set at its target
 * as members come, go and die.
 */
export async function createRaftService (c: RaftServiceComponents, init: RaftServiceInit): Promise<RaftService> {
  const { log } = c
  const storage = await LevelRaftStorage.open(init.dir)
  let persisted = await storage.load()
  const empty = persisted.hardState.term === 0 && persisted.entries.length === 0 && persisted.snapshot === null
  if (init.bootstrap && empty) {
    await storage.save(bootstrapState({ voters: [init.self], learners: [] }))
    persisted = await storage.load()
    log.info({ voter: init.self }, 'raft: bootstrapped a new cluster')
  }
  const raft = new RaftNode({ id: init.self, config: resolveRaftConfig(init.raft), persisted, rng: Math.random, logger: log })
  const machine = new StoreStateMachine(log)

  const memberByName = (name: NodeId): Member | undefined => c.members().find(m => m.name === name)
  const peerOf = (name: NodeId): PeerId | undefined => {
    const m = memberByName(name)
    return m === undefined ? undefined : peerIdFromString(m.peerId)
  }
  const transport = createRaftTransport({
    node: c.node,
    resolve: peerOf,
    nameOf: peer => c.members().find(m => m.peerId === peer.toString())?.name,
    log
  })
  const driver: RaftDriver = createRaftDriver({ raft, storage, transport, log }, {
    tickMs: init.tickMs,
    compactEvery: init.compactEvery,
    apply: (entries, snapshot) => machine.apply(entries, snapshot),
    snapshotData: () => machine.snapshot(),
    onFatal: c.onFatal
  })
  const store = createReplicatedStore({ node: c.node, driver, machine, peerOf, self: init.self, log })

  // A closed connection to the leader usually means it died: elect at once rather than after a timeout.
  const onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const name = c.members().find(m => m.peerId === evt.detail.toString())?.name
    if (name !== undefined) driver.peerLost(name)
  }

  let voterTimer: ReturnType<typeof setInterval> | undefined
  let changing = false
  let wroteConfig = false

  /** While leading: one membership change at a time towards the wanted voter set. */
  const manageVoters = async (): Promise<void> => {
    const status = driver.status()
    if (status.role !== 'leader' || changing) return
    changing = true
    try {
      if (!wroteConfig) await writeClusterConfig()
      const target = Number((store.local.get(CLUSTER_CONFIG.resource, '', CLUSTER_CONFIG.name)?.spec as { voters?: unknown } | undefined)?.voters ?? 3)
      const change = planVoterChange({
        self: init.self,
        conf: status.conf,
        members: c.members().map(m => ({ name: m.name, state: m.state, leaveReason: m.leaveReason, stateSinceMs: m.stateSinceMs })),
        match: new Map(status.progress.map(p => [p.id, p.match])),
        lastIndex: status.lastIndex,
        target,
        now: Date.now(),
        graceMs: init.voterGraceMs,
        maxLag: PROMOTE_MAX_LAG
      })
      if (change !== undefined) {
        log.info({ change }, 'raft: changing membership')
        await driver.proposeConfChange(change)
      }
    } catch (err) {
      log.debug({ err: (err as Error).message }, 'raft: membership change not made')
    } finally {
      changing = false
    }
  }

  /**
   * What a new cluster starts with, written once by the agent that created it
   * when it first leads: the cluster settings, and the namespaces Kubernetes
   * always has (`default`, `kube-system`).
   *
   * The ClusterConfig is the first entry after the bootstrap, and until it is
   * applied the creating agent is the only voter (voter changes come after
   * it, below), so only it can lead then. Should it crash before writing it,
   * it restarts as an ordinary member: then any agent that leads and finds
   * no ClusterConfig once its replica is current writes its own settings.
   * Either way one ClusterConfig, ordered by Raft, and Nodes get pod ranges
   * only from it (core store/pod-cidrs.ts), never from defaults that might
   * differ from it.
   */
  const writeClusterConfig = async (): Promise<void> => {
    if (!init.bootstrap) {
      await store.barrier()
      if (store.local.get(CLUSTER_CONFIG.resource, '', CLUSTER_CONFIG.name) !== undefined) {
        wroteConfig = true
        return
      }
      log.warn('raft: the cluster has no ClusterConfig (its creator stopped before writing it); writing this agent\'s settings')
    }
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
    const spec = { voters: init.voters, clusterCIDR: init.clusterCIDR, nodeCIDRMaskSize: init.nodeCIDRMaskSize }
    const initial = [
      { resource: CLUSTER_CONFIG.resource, object: { apiVersion: 'shoal.dev/v1', kind: 'ClusterConfig', metadata: { name: CLUSTER_CONFIG.name }, spec } },
      ...['default', 'kube-system'].map(name => ({ resource: 'namespaces', object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } } }))
    ]
    for (const { resource, object } of initial) {
      if (store.local.get(resource, '', object.metadata.name) !== undefined) continue
      await store.write({ op: 'create', resource, uid: '', now, object })
    }
    wroteConfig = true
  }

  return {
    async start () {
      await driver.start()
      await store.start()
      c.node.addEventListener('peer:disconnect', onDisconnect)
      voterTimer = setInterval(() => { void manageVoters() }, VOTER_CHECK_MS)
    },
    async stop () {
      c.node.removeEventListener('peer:disconnect', onDisconnect)
      clearInterval(voterTimer)
      await store.stop()
      await driver.stop()
    },
    store,
    status: () => driver.status(),
    roles () {
      const s = driver.status()
      const match = new Map(s.progress.map(p => [p.id, p.match]))
      const reported = new Map(c.members().map(m => [m.name, m.raftIndex]))
      return (name) => {
        // The leader knows how far each log matches; elsewhere, what each member reports of itself.
        const m = s.role === 'leader' ? (match.get(name) ?? null) : name === init.self ? s.lastIndex : (reported.get(name) ?? null)
        if (s.leader === name) return { role: 'leader', match: name === init.self ? s.lastIndex : m }
        if (s.conf.voters.includes(name)) return { role: 'voter', match: m }
        if (s.conf.learners.includes(name)) return { role: 'learner', match: m }
        return { role: 'none', match: m }
      }
    },
    async handOff (timeoutMs) {
      const s = driver.status()
      if (s.role !== 'leader') return
      const to = s.progress
        .filter(p => p.id !== init.self && s.conf.voters.includes(p.id) && memberByName(p.id)?.state === 'alive')
        .sort((a, b) => b.match - a.match)[0]
      if (to === undefined) return
      log.info({ to: to.id }, 'raft: handing leadership over before leaving')
      await driver.transferLeadership(to.id).catch(() => {})
      const deadline = Date.now() + timeoutMs
      while (driver.status().role === 'leader' && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 10))
    }
  }
}
