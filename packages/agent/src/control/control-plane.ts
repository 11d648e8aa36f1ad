import { randomBytes } from 'node:crypto'
import type { Member } from '@shoal/core'
import { reconcileNodes } from '@shoal/core/controllers/nodes.ts'
import type { ReplicatedStore } from '../store/replicated-store.ts'
import type { Logger } from '../log.ts'
import { VERSION } from '../version.ts'

export interface ControlPlaneComponents {
  readonly store: ReplicatedStore
  readonly members: () => Member[]
  /** True while this agent leads Raft: only the leader runs the controllers. */
  readonly leading: () => boolean
  readonly log: Logger
}

export interface ControlPlane {
  start: () => void
  stop: () => Promise<void>
}

/** How often the leader reconciles, ms: membership changes show in the store within this. */
const RECONCILE_MS = 250

/**
 * The master's loops: on the agent that leads Raft, the controllers run
 * against the local replica and propose what they decide. Each round is
 * level-triggered (it looks at the whole state, not at events), so a new
 * leader simply carries on from what the store holds.
 */
export function createControlPlane (c: ControlPlaneComponents): ControlPlane {
  let timer: ReturnType<typeof setInterval> | undefined
  let round: Promise<void> | undefined

  const reconcile = async (): Promise<void> => {
    if (!c.leading()) return
    const nodes = c.store.local.list('nodes', {})
    if (!nodes.ok) return
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
    const commands = reconcileNodes({
      members: c.members(),
      nodes: nodes.items,
      now,
      kubeletVersion: v => `v1.32.0-shoal-${v}`,
      eventName: node => `${node}.${randomBytes(8).toString('hex')}`
    })
    await Promise.all(commands.map(async cmd => {
      const r = await c.store.write(cmd.op === 'create' ? { ...cmd, uid: crypto.randomUUID() } : cmd)
      // A conflict means someone changed the Node meanwhile: the next round sees it.
      if (!r.ok && (r as { reason?: string }).reason !== 'Conflict') c.log.debug({ cmd: cmd.op, result: r }, 'node controller: write refused')
    }))
  }

  return {
    start () {
      c.log.debug({ version: VERSION }, 'control plane ready (runs while this agent leads)')
      timer = setInterval(() => {
        if (round !== undefined) return
        round = reconcile()
          .catch((err: Error) => { c.log.debug({ err: err.message }, 'control plane round failed') })
          .finally(() => { round = undefined })
      }, RECONCILE_MS)
    },
    async stop () {
      clearInterval(timer)
      await round
    }
  }
}
