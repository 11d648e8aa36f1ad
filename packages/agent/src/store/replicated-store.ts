import { randomUUID } from 'node:crypto'
import { withProposerFields } from '@shoal/core/store/proposer.ts'
import type { PeerId } from '@libp2p/interface'
import { ShoalError, type BatchResult, type Command, type ObjectStore, type Result } from '@shoal/core'
import type { NodeId } from '@shoal/core/raft/index.ts'
import type { MeshNode } from '../mesh/mesh.ts'
import { NotLeaderError, ProposalDroppedError, type RaftDriver } from '../raft/driver.ts'
import type { StoreStateMachine } from './state-machine.ts'
import { FORWARD_PROTOCOL, createForwardClient, serveForward, type ForwardRequest } from './forward.ts'
import type { Logger } from '../log.ts'

/** How long a write may wait for a leader before it fails, ms. */
const WRITE_TIMEOUT_MS = 10_000
/** Pause before retrying while no leader is known or it just changed, ms: short, so the first write after an election goes through at once. */
const RETRY_MS = 5

/** No leader could take the request in time. */
export class UnavailableError extends ShoalError {
  constructor (message: string) {
    super('ServiceUnavailable', 503, message)
    this.name = 'UnavailableError'
  }
}

export interface ReplicatedStoreComponents {
  readonly node: MeshNode
  readonly driver: RaftDriver
  readonly machine: StoreStateMachine
  /** The peer a Raft node id (member name) lives on. */
  readonly peerOf: (id: NodeId) => PeerId | undefined
  readonly self: NodeId
  readonly log: Logger
}

export interface ReplicatedStore {
  start: () => Promise<void>
  stop: () => Promise<void>
  /** The local replica: reads are served from it. */
  readonly local: ObjectStore
  /** Commit `cmd` through the leader, a create's uid and a write's time chosen here where it has none (store/proposer.ts); resolves with its result once applied here. */
  write: (cmd: Command, opts?: { timeoutMs?: number }) => Promise<Result | BatchResult>
  /** Wait until this replica has everything the leader had committed when called: a linearizable read follows. */
  barrier: (opts?: { timeoutMs?: number }) => Promise<void>
}

/**
 * Writes from any agent, reads from the local replica. A write goes to the
 * leader (directly, or forwarded over libp2p), and is answered only after
 * this agent has applied it, with the result its own replica computed.
 */
export function createReplicatedStore (c: ReplicatedStoreComponents): ReplicatedStore {
  const { node, driver, machine, log } = c
  const forward = createForwardClient(node)

  /** Ask the leader (ourselves or over the mesh), retrying across elections until the deadline. */
  const viaLeader = async (req: ForwardRequest, deadline: number): Promise<{ index: number, term: number }> => {
    for (;;) {
      const leader = driver.status().leader
      try {
        if (leader === c.self) {
          return req.kind === 'propose' ? await driver.proposeAppended(req.data) : { index: await driver.readIndex(), term: 0 }
        }
        const peer = leader !== null ? c.peerOf(leader) : undefined
        if (peer !== undefined) {
          return await forward.request(peer, req, AbortSignal.timeout(Math.max(1, deadline - Date.now())))
        }
      } catch (err) {
        if (!(err instanceof NotLeaderError || err instanceof ProposalDroppedError) && Date.now() >= deadline) throw err
        if (!(err instanceof NotLeaderError || err instanceof ProposalDroppedError)) log.debug({ err: (err as Error).message, leader }, 'leader request failed; retrying')
      }
      if (Date.now() >= deadline) throw new UnavailableError(leader === null ? 'no leader is elected (is a majority of voters up?)' : `the leader ${leader} did not answer`)
      await new Promise(resolve => setTimeout(resolve, RETRY_MS))
    }
  }

  return {
    async start () {
      await node.handle(FORWARD_PROTOCOL, async (stream) => {
        try {
          await serveForward(stream, driver, log)
        } catch (err) {
          stream.abort(err as Error)
        }
      })
    },
    async stop () {
      forward.close()
      await node.unhandle(FORWARD_PROTOCOL).catch(() => {})
    },
    get local () { return machine.store },

    async write (cmd, opts = {}) {
      const deadline = Date.now() + (opts.timeoutMs ?? WRITE_TIMEOUT_MS)
      // Chosen here, once, for every replica: whoever wrote the command left them empty.
      const data = JSON.stringify(withProposerFields(cmd, { now: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), uid: randomUUID }))
      for (;;) {
        const at = await viaLeader({ kind: 'propose', data }, deadline)
        try {
          await driver.waitApplied(at.index, at.term)
        } catch (err) {
          // Replaced by a new leader before it committed: it never applied, so proposing again is safe.
          if (err instanceof ProposalDroppedError && Date.now() < deadline) continue
          throw err
        }
        const result = machine.takeResult(at.index)
        if (result === undefined) throw new ShoalError('InternalError', 500, `no result recorded for entry ${at.index}`)
        return result
      }
    },

    async barrier (opts = {}) {
      const { index } = await viaLeader({ kind: 'read' }, Date.now() + (opts.timeoutMs ?? WRITE_TIMEOUT_MS))
      await driver.waitIndex(index)
    }
  }
}
