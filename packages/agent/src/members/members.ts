import { MemberTable, parseGossipMessage, type GossipMessage, type LeaveReason, type Member, type MemberInfo, type MemberOutput, type MembersConfig } from '@shoal/core'
import { multiaddr } from '@multiformats/multiaddr'
import type { Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { MeshNode } from '../mesh/mesh.ts'
import type { DataDir, KnownPeer } from '../data-dir.ts'
import type { Logger } from '../log.ts'
import { JOIN_PROTOCOL, answerJoin, serveJoin } from './join.ts'

export const MEMBERS_TOPIC = 'shoal/members/1'

/** How often the table's timers are evaluated, ms. Bounds detection latency jitter. */
const TICK_MS = 100
/** How often members we know but are not connected to are dialled again, ms. */
const REDIAL_MS = 2000
/** Known peers are written at most this often, ms. */
const SAVE_PEERS_MS = 1000
/** Time for the leave message to reach the wire before connections close, ms. */
const LEAVE_FLUSH_MS = 150

export interface MembersComponents {
  readonly node: MeshNode
  readonly dataDir: DataDir
  readonly log: Logger
  readonly now: () => number
}

export interface MembersInit {
  readonly config: MembersConfig
  readonly self: MemberInfo
  readonly clusterId: string
  /** Starting incarnation; the agent uses its boot time so a restart outranks its old life. */
  readonly incarnation: number
  /** Members to dial at start, besides the ones remembered in the data dir (from a join answer). */
  readonly seeds?: readonly KnownPeer[]
  /** What changes in our heartbeat from one to the next (Raft index, runtime health, proxy failures): asked before each. */
  readonly describeSelf?: () => Partial<Pick<MemberInfo, 'raftIndex' | 'runtime' | 'proxy'>>
}

export interface Members {
  start: () => Promise<void>
  stop: () => Promise<void>
  list: () => Member[]
  /** One member by node name, without sorting the table (the proxy asks on every connection). */
  get: (name: string) => Member | undefined
  /** Announce our departure to everyone connected. */
  leave: (reason: LeaveReason) => Promise<void>
}

/**
 * The gossip adapter around the pure `MemberTable`: publishes heartbeats,
 * feeds received gossip and closed connections into the table, publishes what
 * the table asks, dials the members it learns about and remembers them in the
 * data dir for the next start.
 */
export function createMembers (components: MembersComponents, init: MembersInit): Members {
  const { node, dataDir, now } = components
  const log = components.log
  const config = init.config
  const table = new MemberTable(init.self, init.incarnation, config, now())
  const pubsub = node.services.pubsub
  const dialing = new Set<string>()
  const timers: Array<ReturnType<typeof setTimeout>> = []
  let heartbeatTimer: ReturnType<typeof setTimeout> | undefined
  let savedPeers = ''
  let stopped = false
  const abort = new AbortController()

  const publish = (msg: GossipMessage): void => {
    pubsub.publish(MEMBERS_TOPIC, new TextEncoder().encode(JSON.stringify(msg))).catch((err: Error) => {
      if (!stopped) log.debug({ err: err.message, type: msg.type }, 'publish failed')
    })
  }

  const handleOutput = (out: MemberOutput): void => {
    for (const c of out.changes) {
      const m = table.get(c.name)
      log.info({ member: c.name, from: c.from ?? 'unknown', to: c.to, incarnation: m?.incarnation }, `member ${c.to}`)
    }
    for (const b of out.broadcasts) publish(b)
  }

  const isConnected = (peerId: string): boolean => node.getConnections().some(c => c.remotePeer.toString() === peerId)

  const dialMember = (peer: KnownPeer): void => {
    if (peer.peerId === init.self.peerId || dialing.has(peer.peerId) || isConnected(peer.peerId) || stopped) return
    const addrs = peer.addrs.flatMap(a => {
      try {
        return [multiaddr(`${a}/p2p/${peer.peerId}`)]
      } catch {
        return []
      }
    })
    if (addrs.length === 0) return
    dialing.add(peer.peerId)
    node.dial(addrs, { signal: AbortSignal.any([abort.signal, AbortSignal.timeout(5000)]) })
      .catch((err: Error) => log.debug({ member: peer.name, err: err.message }, 'dial failed'))
      .finally(() => dialing.delete(peer.peerId))
  }

  const onMessage = (evt: CustomEvent<Message>): void => {
    const msg = evt.detail
    if (msg.topic !== MEMBERS_TOPIC) return
    let parsed
    try {
      parsed = parseGossipMessage(JSON.parse(new TextDecoder().decode(msg.data)))
    } catch {
      parsed = { ok: false as const, error: 'not JSON' }
    }
    if (!parsed.ok) {
      log.warn({ error: parsed.error }, 'dropped malformed membership message')
      return
    }
    const gossip = parsed.value
    const sender = msg.type === 'signed' ? msg.from.toString() : undefined
    // Only a member speaks for itself: its heartbeat and its leave must be signed by its own key.
    if (gossip.type === 'alive' && sender !== gossip.info.peerId) return
    if (gossip.type === 'leave' && sender !== table.get(gossip.name)?.peerId) return
    handleOutput(table.receive(gossip, now()))
    if (gossip.type === 'alive') dialMember(gossip.info)
  }

  const onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const m = table.byPeerId(evt.detail.toString())
    if (m !== undefined) handleOutput(table.probeFailed(m.name, now()))
  }

  const sendHeartbeat = (): void => {
    if (init.describeSelf !== undefined) table.updateSelf({ ...init.self, ...init.describeSelf() })
    publish(table.heartbeat(now()))
    const jitter = (Math.random() * 2 - 1) * config.heartbeatJitterMs
    heartbeatTimer = setTimeout(sendHeartbeat, config.heartbeatIntervalMs + jitter)
  }

  const knownPeers = (): KnownPeer[] => table.list()
    .filter(m => m.name !== init.self.name && m.state !== 'left')
    .map(m => ({ name: m.name, peerId: m.peerId, addrs: m.addrs }))

  let saving: Promise<void> | undefined
  /** One save at a time: two at once would race on the same temporary file. */
  const savePeers = async (): Promise<void> => {
    while (saving !== undefined) await saving
    const peers = knownPeers()
    const text = JSON.stringify(peers)
    if (text === savedPeers) return
    saving = dataDir.savePeers(peers).then(() => { savedPeers = text }).finally(() => { saving = undefined })
    await saving
  }

  const api: Members = {
    async start () {
      await node.handle(JOIN_PROTOCOL, async (stream) => {
        try {
          await serveJoin(stream, req => answerJoin(req, init.clusterId, table.list()), AbortSignal.timeout(5000))
        } catch (err) {
          log.debug({ err: (err as Error).message }, 'join request failed')
          stream.abort(err as Error)
        }
      })
      pubsub.addEventListener('message', onMessage)
      node.addEventListener('peer:disconnect', onDisconnect)
      pubsub.subscribe(MEMBERS_TOPIC)
      // Reconnect to the members we knew (after a restart) and keep trying.
      const known = await dataDir.loadPeers()
      savedPeers = JSON.stringify(known)
      for (const p of [...(init.seeds ?? []), ...known]) dialMember(p)
      sendHeartbeat()
      timers.push(setInterval(() => handleOutput(table.tick(now())), TICK_MS))
      timers.push(setInterval(() => {
        const members = knownPeers()
        const reachable = members.filter(m => table.get(m.name)?.state !== 'dead')
        for (const p of reachable.length > 0 ? reachable : members) dialMember(p)
        if (members.length === 0) for (const p of known) dialMember(p)
      }, REDIAL_MS))
      timers.push(setInterval(() => {
        savePeers().catch((err: Error) => log.warn({ err: err.message }, 'could not save known peers'))
      }, SAVE_PEERS_MS))
      log.info({ incarnation: init.incarnation }, 'membership started')
    },

    async stop () {
      if (stopped) return
      stopped = true
      abort.abort()
      clearTimeout(heartbeatTimer)
      for (const t of timers) clearInterval(t)
      pubsub.removeEventListener('message', onMessage)
      node.removeEventListener('peer:disconnect', onDisconnect)
      await node.unhandle(JOIN_PROTOCOL).catch(() => {})
      await savePeers().catch(() => {})
    },

    list: () => table.list(),
    get: name => table.get(name),

    async leave (reason) {
      clearTimeout(heartbeatTimer)
      heartbeatTimer = undefined
      const msg = table.leave(reason, now())
      log.info({ reason }, 'announcing leave')
      await pubsub.publish(MEMBERS_TOPIC, new TextEncoder().encode(JSON.stringify(msg))).catch(() => {})
      await new Promise(resolve => setTimeout(resolve, LEAVE_FLUSH_MS))
    }
  }
  return api
}
