import type { GossipMessage, LeaveReason, Member, MemberChange, MemberInfo, MemberOutput, MemberState } from './types.ts'
import type { MembersConfig } from './config.ts'

/**
 * The membership table of one agent, in the manner of SWIM/memberlist: members
 * are alive, suspect, dead or left, and an incarnation number that only the
 * member itself raises lets it refute a suspicion about itself.
 *
 * Pure: no clock and no I/O. Every input carries `now` (ms); every input returns
 * the gossip to publish and the state changes it caused.
 *
 * Rules, for a member M known at incarnation i:
 * - alive(M, j) from M itself: j > i renews it (any state); j = i refreshes
 *   lastSeen and clears a suspicion, since a heartbeat is first-hand evidence;
 *   it does not undo `dead` or `left` at the same incarnation (that needs j > i,
 *   which a restarted or refuting member always has). A heartbeat from a member
 *   held dead is answered with dead(M, i), so that it refutes.
 * - suspect(M, j ≥ i) turns an alive M suspect; dead(M, j ≥ i) turns an alive or
 *   suspect M dead; leave(M, j ≥ i) marks M left.
 * - About ourselves: suspect or dead is refuted by raising our incarnation
 *   past j and publishing a heartbeat at once.
 * - tick: alive and silent for suspectAfterMs → suspect; suspect for
 *   suspicionTimeoutMs → dead. Both are gossiped so the others agree sooner.
 */
export class MemberTable {
  readonly #config: MembersConfig
  readonly #members = new Map<string, Member>()
  /** When each member we hold dead was last told so (see receive). */
  readonly #toldDead = new Map<string, number>()
  #self: MemberInfo
  #incarnation: number
  #leaving = false
  #lastTickMs: number

  constructor (self: MemberInfo, incarnation: number, config: MembersConfig, now: number) {
    this.#config = config
    this.#self = self
    this.#incarnation = incarnation
    this.#members.set(self.name, { ...self, state: 'alive', incarnation, lastSeenMs: now, stateSinceMs: now })
    this.#lastTickMs = now
  }

  get selfName (): string { return this.#self.name }
  get incarnation (): number { return this.#incarnation }

  get (name: string): Member | undefined { return this.#members.get(name) }

  /** Members sorted by name, ourselves included. */
  list (): Member[] {
    return [...this.#members.values()].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  }

  byPeerId (peerId: string): Member | undefined {
    for (const m of this.#members.values()) if (m.peerId === peerId) return m
    return undefined
  }

  /** Our own heartbeat, to publish every heartbeat interval. */
  heartbeat (now: number): GossipMessage {
    this.#put(this.#self.name, { ...this.#self, state: 'alive', incarnation: this.#incarnation, lastSeenMs: now, stateSinceMs: this.#members.get(this.#self.name)?.stateSinceMs ?? now })
    return { type: 'alive', info: this.#self, incarnation: this.#incarnation }
  }

  /** Update what we announce about ourselves (addresses, capacity). */
  updateSelf (info: MemberInfo): void {
    if (info.name !== this.#self.name) throw new Error('the member name cannot change while running')
    this.#self = info
  }

  /** Announce our departure; from now on we no longer refute anything. */
  leave (reason: LeaveReason, now: number): GossipMessage {
    this.#leaving = true
    const cur = this.#members.get(this.#self.name)
    if (cur !== undefined) this.#put(this.#self.name, { ...cur, state: 'left', stateSinceMs: now, leaveReason: reason })
    return { type: 'leave', name: this.#self.name, incarnation: this.#incarnation, reason }
  }

  receive (msg: GossipMessage, now: number): MemberOutput {
    const out: MemberOutput = { broadcasts: [], changes: [] }
    const name = msg.type === 'alive' ? msg.info.name : msg.name
    if (name === this.#self.name) {
      this.#receiveAboutSelf(msg, out, now)
      return out
    }
    const cur = this.#members.get(name)
    switch (msg.type) {
      case 'alive': {
        const { info, incarnation } = msg
        if (cur === undefined || (cur.peerId !== info.peerId && (cur.state === 'dead' || cur.state === 'left'))) {
          this.#set(out, { ...info, state: 'alive', incarnation, lastSeenMs: now, stateSinceMs: now }, cur?.state)
        } else if (cur.peerId !== info.peerId) {
          // Another live peer already holds this name; the join protocol refuses
          // such a node, so this only happens in a race. First come keeps it.
        } else if (incarnation > cur.incarnation) {
          const stateSinceMs = cur.state === 'alive' ? cur.stateSinceMs : now
          this.#set(out, { ...info, state: 'alive', incarnation, lastSeenMs: now, stateSinceMs }, cur.state)
        } else if (incarnation === cur.incarnation && (cur.state === 'alive' || cur.state === 'suspect')) {
          const stateSinceMs = cur.state === 'alive' ? cur.stateSinceMs : now
          this.#set(out, { ...info, state: 'alive', incarnation, lastSeenMs: now, stateSinceMs }, cur.state)
        } else if (cur.state === 'dead' && now - (this.#toldDead.get(name) ?? -Infinity) >= this.#config.heartbeatIntervalMs) {
          // A member we hold dead heartbeats: it never heard, as after a partition that healed,
          // where each side declared the other dead. Tell it, so that it refutes with a higher
          // incarnation (memberlist's push-pull sync does the same); at most once a heartbeat.
          this.#toldDead.set(name, now)
          out.broadcasts.push({ type: 'dead', name, incarnation: cur.incarnation, from: this.#self.name })
        }
        break
      }
      case 'suspect':
        if (cur !== undefined && cur.state === 'alive' && msg.incarnation >= cur.incarnation) {
          this.#set(out, { ...cur, state: 'suspect', incarnation: msg.incarnation, stateSinceMs: now }, cur.state)
        }
        break
      case 'dead':
        if (cur !== undefined && (cur.state === 'alive' || cur.state === 'suspect') && msg.incarnation >= cur.incarnation) {
          this.#set(out, { ...cur, state: 'dead', incarnation: msg.incarnation, stateSinceMs: now }, cur.state)
        }
        break
      case 'leave':
        if (cur !== undefined && cur.state !== 'left' && msg.incarnation >= cur.incarnation) {
          this.#set(out, { ...cur, state: 'left', incarnation: msg.incarnation, stateSinceMs: now, leaveReason: msg.reason }, cur.state)
        }
        break
    }
    return out
  }

  /**
   * Our connection to the member closed and no other is open: a failed probe.
   * It becomes suspect now instead of after suspectAfterMs of silence.
   */
  probeFailed (name: string, now: number): MemberOutput {
    const out: MemberOutput = { broadcasts: [], changes: [] }
    const cur = this.#members.get(name)
    if (cur !== undefined && name !== this.#self.name && cur.state === 'alive') this.#suspect(out, cur, now)
    return out
  }

  tick (now: number): MemberOutput {
    const out: MemberOutput = { broadcasts: [], changes: [] }
    // If we ourselves were stalled (an overloaded machine, a long pause)
    // for longer than a heartbeat interval, the silence is ours, not theirs:
    // the heartbeats are still waiting in our sockets. Move everyone's clocks
    // forward by the stall before judging, as memberlist's awareness does.
    const stall = now - this.#lastTickMs
    this.#lastTickMs = now
    if (stall > this.#config.heartbeatIntervalMs) {
      for (const m of this.#members.values()) {
        if (m.name !== this.#self.name && (m.state === 'alive' || m.state === 'suspect')) {
          this.#put(m.name, { ...m, lastSeenMs: m.lastSeenMs + stall, stateSinceMs: m.state === 'suspect' ? m.stateSinceMs + stall : m.stateSinceMs })
        }
      }
      return out
    }
    for (const m of this.#members.values()) {
      if (m.name === this.#self.name) continue
      if (m.state === 'alive' && now - m.lastSeenMs > this.#config.suspectAfterMs) {
        this.#suspect(out, m, now)
      } else if (m.state === 'suspect' && now - m.stateSinceMs > this.#config.suspicionTimeoutMs) {
        this.#set(out, { ...m, state: 'dead', stateSinceMs: now }, m.state)
        out.broadcasts.push({ type: 'dead', name: m.name, incarnation: m.incarnation, from: this.#self.name })
      }
    }
    return out
  }

  #suspect (out: MemberOutput, m: Member, now: number): void {
    this.#set(out, { ...m, state: 'suspect', stateSinceMs: now }, m.state)
    out.broadcasts.push({ type: 'suspect', name: m.name, incarnation: m.incarnation, from: this.#self.name })
  }

  #receiveAboutSelf (msg: GossipMessage, out: MemberOutput, now: number): void {
    if (this.#leaving) return
    if ((msg.type === 'suspect' || msg.type === 'dead') && msg.incarnation >= this.#incarnation) {
      this.#incarnation = msg.incarnation + 1
      out.broadcasts.push(this.heartbeat(now))
    }
  }

  #set (out: MemberOutput, next: Member, from: MemberState | undefined): void {
    this.#put(next.name, next)
    if (from !== next.state) out.changes.push({ name: next.name, from, to: next.state } satisfies MemberChange)
  }

  #put (name: string, m: Member): void {
    this.#members.set(name, Object.freeze(m))
  }
}
