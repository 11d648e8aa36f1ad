import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { SimCluster, type KvCommand } from '../testing/raft-sim.ts'
import { randomInt } from '../rand.ts'

/**
 * Randomised runs: a cluster under message loss, delay, reordering,
 * duplication, partitions, slow disks and crash-restarts that lose unsynced
 * state. The simulation checks election safety, log matching, leader
 * completeness and state-machine safety after every step (it throws); each
 * run then heals everything and checks liveness: a leader, and a new write
 * applied on every node. A failing seed reproduces with SIM_SEED=<n>.
 */
const SEEDS = Number(process.env.SIM_SEEDS ?? 3000)
const ONLY = process.env.SIM_SEED !== undefined ? Number(process.env.SIM_SEED) : undefined

function runOne (seed: number): { ticks: number, applied: number } {
  const probe = new SimCluster({ seed, voters: ['x'] })
  const r = (): number => probe.random()
  const voters = (r() < 0.5 ? ['a', 'b', 'c'] : ['a', 'b', 'c', 'd', 'e'])
  const learners = r() < 0.3 ? ['l1'] : []
  const sim = new SimCluster({
    seed,
    voters,
    learners,
    dropRate: r() * 0.15,
    dupRate: r() * 0.05,
    minDelay: 1,
    maxDelay: randomInt(r, 1, 5),
    slowDiskRate: r() * 0.4,
    compactEvery: [0, 10, 40][randomInt(r, 0, 2)]!,
    // One entry per append makes partial replication, and so §5.4.2's Figure 8, likelier.
    config: { maxEntriesPerAppend: r() < 0.5 ? 1 : 64 }
  })
  const ids = [...voters, ...learners]
  const chaosTicks = 300
  let writes = 0
  for (let t = 0; t < chaosTicks; t++) {
    const x = sim.random()
    if (x < 0.3) {
      const at = ids[randomInt(() => sim.random(), 0, ids.length - 1)]!
      const cmd: KvCommand = sim.random() < 0.7
        ? { op: 'put', key: `k${randomInt(() => sim.random(), 0, 4)}`, value: `${seed}-${writes++}` }
        : { op: 'cas', key: `k${randomInt(() => sim.random(), 0, 4)}`, expected: null, value: `${seed}-${writes++}` }
      if (sim.node(at).alive) sim.propose(at, cmd)
    } else if (x < 0.33) {
      const victim = ids[randomInt(() => sim.random(), 0, ids.length - 1)]!
      if (sim.node(victim).alive) {
        sim.crash(victim)
        // Usually the others' connections to it close, and they notice.
        if (sim.random() < 0.5) sim.reportLost(victim)
      } else {
        sim.restart(victim)
      }
    } else if (x < 0.35) {
      sim.isolate(ids[randomInt(() => sim.random(), 0, ids.length - 1)]!)
    } else if (x < 0.37) {
      sim.cut(ids[randomInt(() => sim.random(), 0, ids.length - 1)]!, ids[randomInt(() => sim.random(), 0, ids.length - 1)]!)
    } else if (x < 0.40) {
      sim.heal()
    }
    sim.tick()
  }
  // Heal everything: liveness must follow.
  sim.heal()
  sim.setFaults({ dropRate: 0, dupRate: 0, slowDiskRate: 0 })
  for (const id of ids) if (!sim.node(id).alive) sim.restart(id)
  const start = sim.now
  sim.tickUntil(() => sim.leader() !== undefined, 50 * sim.config.electionTicks, 'a leader after healing')
  let proposed = { index: 0, term: 0 }
  sim.tickUntil(() => {
    const leader = sim.leader()
    if (leader === undefined) return false
    // (Re)propose when the last attempt is not in the current leader's log.
    if (proposed.index === 0 || sim.node(leader).raft.termAt(proposed.index) !== proposed.term) {
      const res = sim.propose(leader, { op: 'put', key: 'final', value: String(seed) })
      if (res.ok) proposed = { index: res.index, term: res.term }
    }
    return ids.every(id => sim.node(id).kv.get('final') === String(seed))
  }, 50 * sim.config.electionTicks, 'the final write applied everywhere', () => JSON.stringify([...sim.nodes.values()].map(n => ({ ...n.raft.status(), alive: n.alive, kvFinal: n.kv.get('final'), applied: n.applied }))))
  return { ticks: sim.now - start, applied: sim.maxApplied }
}

describe('Raft simulation', () => {
  it(`${ONLY !== undefined ? `seed ${ONLY}` : `${SEEDS} seeded runs`}: safety throughout, liveness after healing`, () => {
    const seeds = ONLY !== undefined ? [ONLY] : Array.from({ length: SEEDS }, (_, i) => i + 1)
    let totalApplied = 0
    let worstRecovery = 0
    for (const seed of seeds) {
      try {
        const { ticks, applied } = runOne(seed)
        totalApplied += applied
        worstRecovery = Math.max(worstRecovery, ticks)
      } catch (err) {
        assert.fail(`seed ${seed}: ${(err as Error).message}\n  reproduce: SIM_SEED=${seed} npx node --test packages/core/src/raft/sim.test.ts`)
      }
    }
    assert.ok(totalApplied > seeds.length * 5, `the runs did real work (${totalApplied} entries applied)`)
    assert.ok(worstRecovery < 50 * 10, `recovered within ${worstRecovery} ticks`)
  })
})
