import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { SimCluster } from '../testing/raft-sim.ts'
import { RaftNode, bootstrapState } from './raft.ts'
import { resolveRaftConfig } from './config.ts'
import { seededRandom } from '../rand.ts'

const ABC = ['a', 'b', 'c']

/** A settled 3-node cluster with a leader; returns it and the leader's id. */
function settled (seed = 1, opts: Partial<ConstructorParameters<typeof SimCluster>[0]> = {}): { sim: SimCluster, leader: string } {
  const sim = new SimCluster({ seed, voters: ABC, ...opts })
  sim.tickUntil(() => sim.leader() !== undefined, 100, 'a leader')
  sim.stabilize()
  return { sim, leader: sim.leader()! }
}

function put (sim: SimCluster, id: string, key: string, value: string): number {
  const r = sim.propose(id, { op: 'put', key, value })
  assert.ok(r.ok, `propose on ${id}: ${r.ok ? '' : r.message}`)
  return r.index
}

describe('Raft: election (§5.2)', () => {
  it('a lone bootstrapped node elects itself and commits', () => {
    const sim = new SimCluster({ seed: 1, voters: ['solo'] })
    sim.tickUntil(() => sim.leader() === 'solo', 30, 'solo leads')
    const index = put(sim, 'solo', 'k', 'v')
    sim.stabilize()
    assert.equal(sim.node('solo').applied, index)
    assert.equal(sim.node('solo').kv.get('k'), 'v')
  })

  it('three nodes elect exactly one leader and the others follow it', () => {
    const { sim, leader } = settled()
    for (const id of ABC) {
      const n = sim.node(id).raft
      assert.equal(n.leader, leader, `${id} follows ${leader}`)
      assert.equal(n.role, id === leader ? 'leader' : 'follower')
    }
  })

  it('a new leader is elected after the leader crashes', () => {
    const { sim, leader } = settled()
    sim.crash(leader)
    const ticks = sim.tickUntil(() => sim.leader() !== undefined && sim.leader() !== leader, 100, 'a new leader')
    assert.ok(ticks <= 3 * sim.config.electionTicks, `took ${ticks} ticks`)
  })

  it('when the leader\'s connections close, the followers elect a new one within half an election timeout', () => {
    const { sim, leader } = settled()
    sim.crash(leader)
    sim.reportLost(leader)
    const ticks = sim.tickUntil(() => sim.leader() !== undefined && sim.leader() !== leader, 100, 'a new leader')
    assert.ok(ticks <= sim.config.electionTicks / 2 + 3, `took ${ticks} ticks`)
  })

  it('a follower that only lost its own link to the leader does not depose it', () => {
    const { sim, leader } = settled()
    const follower = ABC.find(id => id !== leader)!
    const term = sim.node(leader).raft.term
    sim.cut(leader, follower)
    sim.node(follower).raft.peerLost(leader)
    for (let i = 0; i < 3 * sim.config.electionTicks; i++) sim.tick()
    assert.equal(sim.leader(), leader)
    assert.equal(sim.node(leader).raft.term, term)
  })

  it('§5.4.1: a node with a stale log cannot win an election', () => {
    const { sim, leader } = settled()
    const stale = ABC.find(id => id !== leader)!
    sim.isolate(stale)
    put(sim, leader, 'k', 'v')
    sim.stabilize()
    sim.heal()
    // Cut the leader off: only the stale node and the up-to-date follower remain.
    sim.crash(leader)
    const upToDate = ABC.find(id => id !== leader && id !== stale)!
    sim.tickUntil(() => sim.leader() !== undefined, 200, 'a new leader')
    assert.equal(sim.leader(), upToDate)
  })
})

describe('Raft: replication (§5.3)', () => {
  it('commits a proposal on every node, in order', () => {
    const { sim, leader } = settled()
    const indexes = ['1', '2', '3'].map(v => put(sim, leader, 'k', v))
    sim.stabilize()
    for (const id of ABC) {
      assert.equal(sim.node(id).applied, indexes.at(-1))
      assert.equal(sim.node(id).kv.get('k'), '3')
    }
  })

  it('a follower refuses proposals and names the leader', () => {
    const { sim, leader } = settled()
    const follower = ABC.find(id => id !== leader)!
    const r = sim.propose(follower, { op: 'put', key: 'k', value: 'v' })
    assert.deepEqual(r.ok ? null : [r.reason, r.leader], ['NotLeader', leader])
  })

  it('a follower far behind catches up, backing up fast over a divergent log', () => {
    const { sim, leader } = settled()
    const lagging = ABC.find(id => id !== leader)!
    sim.isolate(lagging)
    for (let i = 0; i < 300; i++) put(sim, leader, `k${i}`, 'v')
    sim.stabilize()
    sim.heal()
    sim.tickUntil(() => sim.node(lagging).applied === sim.node(leader).applied, 100, 'catch-up')
    assert.equal(sim.node(lagging).kv.size, 300)
  })

  it('an old leader\'s uncommitted entries are overwritten after a partition', () => {
    const { sim, leader } = settled(3)
    sim.isolate(leader)
    put(sim, leader, 'lost', 'x') // cannot commit: no quorum
    const rest = ABC.filter(id => id !== leader)
    sim.tickUntil(() => rest.some(id => sim.node(id).raft.role === 'leader'), 200, 'new leader')
    const newLeader = rest.find(id => sim.node(id).raft.role === 'leader')!
    put(sim, newLeader, 'kept', 'y')
    sim.stabilize()
    sim.heal()
    sim.tickUntil(() => sim.node(leader).kv.get('kept') === 'y', 100, 'old leader converges')
    for (const id of ABC) assert.equal(sim.node(id).kv.has('lost'), false)
  })
})

describe('Raft: pre-vote and check-quorum (§9.6)', () => {
  it('a node cut off and back does not depose a healthy leader', () => {
    const { sim, leader } = settled()
    const loner = ABC.find(id => id !== leader)!
    const term = sim.node(leader).raft.term
    sim.isolate(loner)
    for (let i = 0; i < 10 * sim.config.electionTicks; i++) sim.tick()
    assert.equal(sim.node(loner).raft.term, term, 'pre-vote kept its term from rising')
    sim.heal()
    for (let i = 0; i < 5 * sim.config.electionTicks; i++) sim.tick()
    assert.equal(sim.leader(), leader)
    assert.equal(sim.node(leader).raft.term, term)
  })

  it('a leader that cannot reach a quorum steps down', () => {
    const { sim, leader } = settled()
    sim.isolate(leader)
    sim.tickUntil(() => sim.node(leader).raft.role !== 'leader', 3 * sim.config.electionTicks, 'step down')
  })
})

describe('Raft: durability', () => {
  it('a crashed follower restarts from disk with every entry it acknowledged', () => {
    const { sim, leader } = settled()
    const follower = ABC.find(id => id !== leader)!
    for (let i = 0; i < 20; i++) put(sim, leader, `k${i}`, `${i}`)
    sim.stabilize()
    const applied = sim.node(follower).applied
    sim.crash(follower)
    sim.restart(follower)
    sim.stabilize()
    assert.equal(sim.node(follower).applied, applied, 'replayed its committed log')
    assert.equal(sim.node(follower).kv.get('k19'), '19')
  })

  it('the whole cluster restarts from disk with the same state', () => {
    const { sim, leader } = settled()
    for (let i = 0; i < 20; i++) put(sim, leader, `k${i}`, `${i}`)
    sim.stabilize()
    for (const id of ABC) sim.crash(id)
    for (const id of ABC) sim.restart(id)
    sim.tickUntil(() => sim.leader() !== undefined, 200, 'a leader after restart')
    sim.stabilize()
    for (const id of ABC) assert.equal(sim.node(id).kv.size, 20)
  })
})

describe('Raft: snapshots', () => {
  it('a follower behind a compacted log gets the snapshot', () => {
    const { sim, leader } = settled(5, { compactEvery: 50 })
    const lagging = ABC.find(id => id !== leader)!
    sim.isolate(lagging)
    for (let i = 0; i < 200; i++) put(sim, leader, `k${i}`, `${i}`)
    sim.stabilize()
    assert.ok((sim.node(leader).storage.snapshot?.index ?? 0) > 100, 'the leader compacted')
    sim.heal()
    sim.tickUntil(() => sim.node(lagging).applied === sim.node(leader).applied, 200, 'snapshot catch-up')
    assert.equal(sim.node(lagging).kv.get('k199'), '199')
    assert.ok(sim.node(lagging).storage.snapshot !== null, 'it installed a snapshot')
    // And restarts from it.
    sim.crash(lagging)
    sim.restart(lagging)
    sim.stabilize()
    assert.equal(sim.node(lagging).kv.get('k199'), '199')
  })
})

describe('Raft: membership', () => {
  it('a learner receives the whole log, does not vote, and is promoted', () => {
    const { sim, leader } = settled()
    for (let i = 0; i < 10; i++) put(sim, leader, `k${i}`, 'v')
    sim.stabilize()
    sim.addNode('d')
    assert.ok(sim.node(leader).raft.proposeConfChange({ type: 'addLearner', node: 'd' }).ok)
    sim.stabilize()
    sim.tickUntil(() => sim.node('d').kv.size === 10, 100, 'learner caught up')
    assert.deepEqual(sim.node(leader).raft.conf(), { voters: ABC, learners: ['d'] })
    assert.equal(sim.node('d').raft.role, 'follower')
    // Learners do not count: with two voters down nothing commits.
    const others = ABC.filter(id => id !== leader)
    for (const id of others) sim.crash(id)
    const r = sim.propose(leader, { op: 'put', key: 'x', value: '1' })
    sim.stabilize()
    assert.ok(r.ok)
    assert.notEqual(sim.node('d').kv.get('x'), '1', 'a learner does not make a quorum')
    for (const id of others) sim.restart(id)
    sim.tickUntil(() => sim.leader() !== undefined, 200, 'leader')
    sim.stabilize()
    const l = sim.leader()!
    sim.tickUntil(() => sim.node(l).raft.proposeConfChange({ type: 'addVoter', node: 'd' }).ok, 100, 'promotion accepted')
    sim.stabilize()
    assert.deepEqual(sim.node('d').raft.conf(), { voters: ['a', 'b', 'c', 'd'], learners: [] })
  })

  it('one change at a time; invalid changes are refused with a reason', () => {
    const { sim, leader } = settled()
    const raft = sim.node(leader).raft
    sim.tickUntil(() => raft.applied >= raft.lastIndex, 20, 'noop applied')
    const first = raft.proposeConfChange({ type: 'addLearner', node: 'd' })
    assert.ok(first.ok)
    const second = raft.proposeConfChange({ type: 'addLearner', node: 'e' })
    assert.equal(second.ok ? '' : second.reason, 'ConfChangeInProgress')
    sim.stabilize()
    const dup = raft.proposeConfChange({ type: 'addVoter', node: 'a' })
    assert.equal(dup.ok ? '' : dup.message, 'a is already a voter')
    const missing = raft.proposeConfChange({ type: 'remove', node: 'zz' })
    assert.equal(missing.ok ? '' : missing.message, 'zz is not a member')
  })

  it('a removed voter no longer counts; the remaining two still commit', () => {
    const { sim, leader } = settled()
    const gone = ABC.find(id => id !== leader)!
    sim.tickUntil(() => sim.node(leader).raft.proposeConfChange({ type: 'remove', node: gone }).ok, 20, 'removal accepted')
    sim.stabilize()
    sim.crash(gone)
    const index = put(sim, leader, 'after', 'removal')
    sim.stabilize()
    assert.equal(sim.node(leader).applied >= index, true)
    assert.deepEqual(sim.node(leader).raft.conf().voters, ABC.filter(id => id !== gone))
  })

  it('leadership transfer hands over to a chosen voter', () => {
    const { sim, leader } = settled()
    const to = ABC.find(id => id !== leader)!
    put(sim, leader, 'k', 'v')
    assert.ok(sim.node(leader).raft.transferLeadership(to).ok)
    sim.tickUntil(() => sim.leader() === to, 50, 'transfer')
    sim.stabilize()
    assert.equal(sim.node(to).kv.get('k'), 'v')
  })
})

describe('Raft: linearizable reads (ReadIndex, §6.4)', () => {
  it('a leader confirms a read with a quorum before serving it', () => {
    const { sim, leader } = settled()
    put(sim, leader, 'k', 'v')
    sim.stabilize()
    assert.ok(sim.node(leader).raft.readIndex('r1').ok)
    sim.stabilize()
    const rs = sim.node(leader).readStates.find(r => r.ctx === 'r1')
    assert.ok(rs !== undefined && rs.index >= 1 && sim.node(leader).applied >= rs.index)
  })

  it('an isolated leader cannot confirm a read', () => {
    const { sim, leader } = settled()
    sim.isolate(leader)
    sim.node(leader).raft.readIndex('stale')
    for (let i = 0; i < 30; i++) sim.tick()
    assert.equal(sim.node(leader).readStates.some(r => r.ctx === 'stale'), false)
  })
})

describe('RaftNode API contract', () => {
  it('takes no input between ready() and advance()', () => {
    const n = new RaftNode({ id: 'a', config: resolveRaftConfig(), persisted: bootstrapState({ voters: ['a'], learners: [] }), rng: seededRandom(1) })
    const rd = n.ready()
    assert.throws(() => n.tick(), /no input between ready\(\) and advance\(\)/)
    n.advance(rd)
    n.tick()
  })
})

describe('Raft: §5.4.2 committing entries from previous terms', () => {
  it('a leader does not commit an earlier term\'s entry by counting replicas, only through one of its own', () => {
    const boot = bootstrapState({ voters: ['a', 'b', 'c'], learners: [] })
    const persisted = {
      hardState: { term: 2, vote: null, commit: 3 },
      snapshot: null,
      entries: [...boot.entries, { term: 2, index: 4, type: 'normal' as const, data: 'X' }]
    }
    const a = new RaftNode({ id: 'a', config: resolveRaftConfig(), persisted, rng: seededRandom(7) })
    const drain = (): void => { const rd = a.ready(); a.advance(rd) }
    drain() // apply the bootstrap membership
    a.campaign()
    drain()
    a.step({ type: 'voteResp', from: 'b', to: 'a', term: 3, granted: true, pre: true })
    drain()
    a.step({ type: 'voteResp', from: 'b', to: 'a', term: 3, granted: true, pre: false })
    drain()
    assert.equal(a.role, 'leader')
    assert.equal(a.term, 3)
    assert.equal(a.lastIndex, 5, 'the new leader appended an entry of its own term')
    // b has entry 4 (term 2) but not yet 5: 4 is on a majority (a, b), yet must not commit.
    a.step({ type: 'appendResp', from: 'b', to: 'a', term: 3, reject: false, index: 4, hintIndex: 0, hintTerm: 0 })
    drain()
    assert.equal(a.committed, 3, 'Figure 8: an entry from term 2 is not committed by counting')
    a.step({ type: 'appendResp', from: 'b', to: 'a', term: 3, reject: false, index: 5, hintIndex: 0, hintTerm: 0 })
    drain()
    assert.equal(a.committed, 5, 'the term-3 entry commits, and with it everything before it')
  })
})
