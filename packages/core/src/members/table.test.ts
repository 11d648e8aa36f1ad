import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MemberTable } from './table.ts'
import { resolveMembersConfig } from './config.ts'
import type { GossipMessage, MemberInfo } from './types.ts'

const config = resolveMembersConfig({ heartbeatIntervalMs: 500, suspectAfterMs: 2000, suspicionTimeoutMs: 1000 })

function info (name: string, peerId = `peer-${name}`): MemberInfo {
  return { name, peerId, addrs: [`/ip4/127.0.0.1/tcp/7946`], api: '127.0.0.1:6443', capacity: { cpus: 2, memoryBytes: 1024 }, version: '0.1.0' }
}

const alive = (name: string, incarnation: number, peerId?: string): GossipMessage => ({ type: 'alive', info: info(name, peerId), incarnation })

/** A table for node `a` that already knows `b` at incarnation 5, at time 0. */
function tableWithB (): MemberTable {
  const t = new MemberTable(info('a'), 1, config, 0)
  t.receive(alive('b', 5), 0)
  return t
}

/** Tick every 100 ms from `from` to `to` (inclusive), as the agent does, asserting nothing changes. */
function tickThrough (t: MemberTable, from: number, to: number): void {
  for (let now = from; now <= to; now += 100) assert.deepEqual(t.tick(now).changes, [], `at ${now} ms`)
}

describe('MemberTable', () => {
  it('knows itself as alive from the start', () => {
    const t = new MemberTable(info('a'), 7, config, 0)
    assert.deepEqual(t.list().map(m => [m.name, m.state, m.incarnation]), [['a', 'alive', 7]])
  })

  it('adds a member on its first heartbeat and reports the change', () => {
    const t = new MemberTable(info('a'), 1, config, 0)
    const out = t.receive(alive('b', 5), 10)
    assert.deepEqual(out.changes, [{ name: 'b', from: undefined, to: 'alive' }])
    assert.equal(t.get('b')?.lastSeenMs, 10)
  })

  it('suspects a silent member after suspectAfterMs, then declares it dead after suspicionTimeoutMs', () => {
    const t = tableWithB()
    tickThrough(t, 100, 1900)
    assert.deepEqual(t.tick(2000).changes, [], 'exactly suspectAfterMs of silence is not yet suspicious')
    const s = t.tick(2001)
    assert.deepEqual(s.changes, [{ name: 'b', from: 'alive', to: 'suspect' }])
    assert.deepEqual(s.broadcasts, [{ type: 'suspect', name: 'b', incarnation: 5, from: 'a' }])
    tickThrough(t, 2101, 2901)
    assert.deepEqual(t.tick(3001).changes, [])
    const d = t.tick(3002)
    assert.deepEqual(d.changes, [{ name: 'b', from: 'suspect', to: 'dead' }])
    assert.deepEqual(d.broadcasts, [{ type: 'dead', name: 'b', incarnation: 5, from: 'a' }])
  })

  it('keeps a member that heartbeats regularly alive forever (no false suspicion)', () => {
    const t = tableWithB()
    for (let now = 0; now < 60_000; now += 100) {
      if (now % 500 === 0) t.receive(alive('b', 5), now)
      assert.deepEqual(t.tick(now).changes, [], `at ${now} ms`)
    }
    assert.equal(t.get('b')?.state, 'alive')
  })

  it('a failed probe (connection closed) makes a member suspect at once', () => {
    const t = tableWithB()
    const out = t.probeFailed('b', 100)
    assert.deepEqual(out.changes, [{ name: 'b', from: 'alive', to: 'suspect' }])
    tickThrough(t, 100, 1000)
    assert.equal(t.tick(1101).changes[0]?.to, 'dead')
  })

  it('a heartbeat at the same incarnation clears a suspicion', () => {
    const t = tableWithB()
    t.probeFailed('b', 100)
    const out = t.receive(alive('b', 5), 200)
    assert.deepEqual(out.changes, [{ name: 'b', from: 'suspect', to: 'alive' }])
  })

  // Each row: the message received about b (known alive at incarnation 5) → b's state after it.
  const table: Array<[string, GossipMessage, string]> = [
    ['suspect at the same incarnation', { type: 'suspect', name: 'b', incarnation: 5, from: 'c' }, 'suspect'],
    ['suspect at an older incarnation is stale', { type: 'suspect', name: 'b', incarnation: 4, from: 'c' }, 'alive'],
    ['dead at the same incarnation', { type: 'dead', name: 'b', incarnation: 5, from: 'c' }, 'dead'],
    ['dead at an older incarnation is stale', { type: 'dead', name: 'b', incarnation: 3, from: 'c' }, 'alive'],
    ['leave', { type: 'leave', name: 'b', incarnation: 5, reason: 'leave' }, 'left'],
    ['leave from an older life', { type: 'leave', name: 'b', incarnation: 4, reason: 'leave' }, 'alive'],
    ['an older heartbeat', alive('b', 4), 'alive'],
    ['a newer heartbeat', alive('b', 6), 'alive']
  ]
  for (const [what, msg, state] of table) {
    it(`${what} → ${state}`, () => {
      const t = tableWithB()
      t.receive(msg, 10)
      assert.equal(t.get('b')?.state, state)
    })
  }

  it('dead or left is undone only by a higher incarnation (a restart or a refutation)', () => {
    for (const msg of [{ type: 'dead', name: 'b', incarnation: 5, from: 'c' }, { type: 'leave', name: 'b', incarnation: 5, reason: 'shutdown' }] as GossipMessage[]) {
      const t = tableWithB()
      t.receive(msg, 10)
      t.receive(alive('b', 5), 20)
      assert.notEqual(t.get('b')?.state, 'alive', `${msg.type}: a delayed heartbeat from before must not resurrect it`)
      const out = t.receive(alive('b', 6), 30)
      assert.equal(t.get('b')?.state, 'alive')
      assert.equal(out.changes.length, 1)
    }
  })

  it('after a healed partition where each side declared the other dead, the heartbeats tell each it is dead, and its refutation revives it', () => {
    const a = tableWithB()
    a.receive({ type: 'dead', name: 'b', incarnation: 5, from: 'c' }, 10)
    const told = a.receive(alive('b', 5), 20)
    assert.deepEqual(told.broadcasts, [{ type: 'dead', name: 'b', incarnation: 5, from: 'a' }])
    assert.deepEqual(a.receive(alive('b', 5), 20 + config.heartbeatIntervalMs - 1).broadcasts, [], 'at most once a heartbeat interval')
    const b = new MemberTable(info('b'), 5, config, 0)
    const refuted = b.receive(told.broadcasts[0]!, 21)
    assert.equal(b.incarnation, 6)
    a.receive(refuted.broadcasts[0]!, 22)
    assert.equal(a.get('b')?.state, 'alive')
  })

  it('refutes a suspicion about itself by raising its incarnation and heartbeating at once', () => {
    const t = new MemberTable(info('a'), 3, config, 0)
    const out = t.receive({ type: 'suspect', name: 'a', incarnation: 3, from: 'b' }, 10)
    assert.equal(t.incarnation, 4)
    assert.deepEqual(out.broadcasts, [{ type: 'alive', info: info('a'), incarnation: 4 }])
    // Elsewhere, that refutation wins over the suspicion.
    const other = new MemberTable(info('c'), 1, config, 0)
    other.receive(alive('a', 3), 0)
    other.receive({ type: 'suspect', name: 'a', incarnation: 3, from: 'b' }, 10)
    assert.equal(other.get('a')?.state, 'suspect')
    other.receive(out.broadcasts[0]!, 11)
    assert.equal(other.get('a')?.state, 'alive')
    assert.equal(other.get('a')?.incarnation, 4)
  })

  it('refutes being declared dead, but not an old rumour', () => {
    const t = new MemberTable(info('a'), 3, config, 0)
    assert.equal(t.receive({ type: 'dead', name: 'a', incarnation: 2, from: 'b' }, 10).broadcasts.length, 0)
    assert.equal(t.receive({ type: 'dead', name: 'a', incarnation: 3, from: 'b' }, 10).broadcasts.length, 1)
    assert.equal(t.incarnation, 4)
  })

  it('stops refuting once it is leaving', () => {
    const t = new MemberTable(info('a'), 3, config, 0)
    assert.deepEqual(t.leave('leave', 5), { type: 'leave', name: 'a', incarnation: 3, reason: 'leave' })
    assert.equal(t.receive({ type: 'dead', name: 'a', incarnation: 3, from: 'b' }, 10).broadcasts.length, 0)
  })

  it('does not let a second live peer take a name, but lets a new peer replace a dead one', () => {
    const t = tableWithB()
    t.receive(alive('b', 9, 'impostor'), 10)
    assert.equal(t.get('b')?.peerId, 'peer-b')
    t.receive({ type: 'dead', name: 'b', incarnation: 5, from: 'c' }, 20)
    t.receive(alive('b', 1, 'reinstalled'), 30)
    assert.equal(t.get('b')?.peerId, 'reinstalled')
    assert.equal(t.get('b')?.state, 'alive')
  })

  it('never suspects itself', () => {
    const t = new MemberTable(info('a'), 1, config, 0)
    assert.deepEqual(t.tick(1_000_000).changes, [])
    assert.deepEqual(t.probeFailed('a', 1).changes, [])
  })
})

describe('resolveMembersConfig', () => {
  it('rejects settings that cannot work, naming each', () => {
    assert.throws(() => resolveMembersConfig({ heartbeatIntervalMs: 1000, suspectAfterMs: 500 }), /suspectAfterMs must exceed heartbeatIntervalMs/)
    assert.throws(() => resolveMembersConfig({ suspicionTimeoutMs: -1 }), /suspicionTimeoutMs must be a non-negative/)
  })
})

describe('MemberTable when the observer itself stalls', () => {
  it('does not suspect everyone after its own pause; real silence is still caught', () => {
    const t = new MemberTable(info('a'), 1, config, 0)
    t.receive(alive('b', 5), 0)
    t.receive(alive('c', 5), 0)
    for (let now = 100; now <= 1000; now += 100) t.tick(now)
    // The event loop stalls 3 s: no ticks, no heartbeats processed.
    assert.deepEqual(t.tick(4000).changes, [], 'a stall of our own is not their silence')
    t.receive(alive('b', 5), 4010) // b's queued heartbeat; c stays silent for real
    const changes: string[] = []
    for (let now = 4100; now <= 7000; now += 100) {
      if (now % 500 === 0) t.receive(alive('b', 5), now)
      for (const ch of t.tick(now).changes) changes.push(`${ch.name}:${ch.to}`)
    }
    assert.deepEqual(changes, ['c:suspect', 'c:dead'])
    assert.equal(t.get('b')?.state, 'alive')
  })
})
