import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { AgentProcess, scratchDir, shoal } from './helpers/agents.ts'
import { createObject, listNames, raftStatus } from './helpers/store.ts'
import { waitFor } from './helpers/wait.ts'

/**
 * Consensus across real agent processes: three voters elect a leader, writes
 * through any agent are committed and readable there at once, a SIGKILLed
 * leader is replaced within 1.5 s without losing an acknowledged write, the
 * cluster restarts from disk, and the voter set heals itself when a voter dies.
 */
describe('raft across agent processes', () => {
  const scratch = scratchDir('raft')
  const agents = [41, 42, 43, 44, 45].map(i => new AgentProcess(scratch.path, `raft-${i}`, `127.0.0.${i}`))
  const [a1, a2, a3, a4, a5] = agents as [AgentProcess, AgentProcess, AgentProcess, AgentProcess, AgentProcess]
  const live = (): AgentProcess[] => agents.filter(a => a.running)
  let token = ''

  const leaderAmong = async (group: AgentProcess[]): Promise<AgentProcess | undefined> => {
    for (const a of group) {
      try {
        const s = await raftStatus(a)
        if (s.role === 'leader') return a
      } catch {}
    }
    return undefined
  }

  before(async () => {
    await a1.start()
    token = (await shoal(['token', '--data-dir', a1.dataDir])).stdout.trim()
    await a2.start(['--join', a1.ip, '--token', token])
    await a3.start(['--join', a1.ip, '--token', token])
  })

  after(async () => {
    await Promise.all(agents.map(async a => await a.destroy()))
    scratch.remove()
  })

  it('three agents become three voters with one leader', async () => {
    await waitFor('three voters', async () => {
      const views = await Promise.all([a1, a2, a3].map(raftStatus))
      return views.every(v => v.conf.voters.length === 3 && v.leader !== null && v.leader === views[0]!.leader)
    }, { timeoutMs: 20_000 })
    const members = await shoal(['members', '--server', a2.ip, '--kubeconfig', a1.kubeconfig])
    assert.match(members.stdout, /raft-41\s+alive\s+(leader|voter)\s+\d+/)
    assert.equal((members.stdout.match(/\s(leader)\s/g) ?? []).length, 1, members.stdout)
  })

  it('a write through any agent is committed and readable on that agent at once', async () => {
    for (const [i, a] of [a1, a2, a3].entries()) {
      const res = await createObject(a, `via-${i}`, { n: String(i) })
      assert.equal(res.status, 200, JSON.stringify(res.body))
      assert.ok((await listNames(a)).includes(`via-${i}`), `read-your-writes on ${a.name}`)
    }
    const again = await createObject(a2, 'via-0')
    assert.equal(again.status, 409)
    assert.equal(again.body.reason, 'AlreadyExists')
    for (const a of [a1, a2, a3]) assert.deepEqual(await listNames(a, true), ['via-0', 'via-1', 'via-2'])
  })

  it('SIGKILL the leader while a client writes: a new leader within 1.5 s, no acknowledged write lost', async () => {
    const acked: string[] = []
    let stop = false
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        const via = [a1, a2, a3].filter(a => a.running)[i % 2] ?? a1
        try {
          const res = await createObject(via, `w-${i}`, {}, 5000)
          if (res.status === 200) acked.push(`w-${i}`)
        } catch {}
      }
    })()
    await waitFor('some writes', () => acked.length >= 20, { timeoutMs: 10_000 })
    const leader = (await leaderAmong([a1, a2, a3]))!
    const rest = [a1, a2, a3].filter(a => a !== leader)
    const ackedBefore = acked.length
    leader.kill('SIGKILL')
    const t0 = Date.now()
    await waitFor('a new leader', async () => {
      const l = await leaderAmong(rest)
      return l !== undefined && l !== leader
    }, { timeoutMs: 1500, intervalMs: 20 })
    const failoverMs = Date.now() - t0
    await waitFor('writes continue', () => acked.length >= ackedBefore + 10, { timeoutMs: 10_000 })
    stop = true
    await writer
    await leader.waitExit()
    await leader.start()
    for (const a of [a1, a2, a3]) {
      const names = new Set(await waitFor(`${a.name} has every acknowledged write`, async () => {
        const n = await listNames(a, true)
        return acked.every(w => n.includes(w)) ? n : undefined
      }, { timeoutMs: 10_000 }))
      assert.equal(acked.filter(w => !names.has(w)).length, 0)
    }
    assert.ok(failoverMs <= 1500, `failover took ${failoverMs} ms`)
  })

  it('stop all three, start them from disk: the same state', async () => {
    const before = await listNames(a1, true)
    for (const a of [a1, a2, a3]) a.kill('SIGKILL')
    for (const a of [a1, a2, a3]) await a.waitExit()
    await Promise.all([a1, a2, a3].map(async a => await a.start()))
    await waitFor('a leader again', async () => (await leaderAmong([a1, a2, a3])) !== undefined, { timeoutMs: 15_000 })
    for (const a of [a1, a2, a3]) assert.deepEqual(await listNames(a, true), before)
  })

  it('a fourth and fifth agent join as learners and catch up; a dead voter is replaced by a learner', async () => {
    await a4.start(['--join', a1.ip, '--token', token])
    await a5.start(['--join', a2.ip, '--token', token])
    const expected = await listNames(a1, true)
    await waitFor('learners caught up', async () => {
      const s = await raftStatus(a1)
      return s.conf.learners.includes(a4.name) && s.conf.learners.includes(a5.name) &&
        (await listNames(a4)).length === expected.length && (await listNames(a5)).length === expected.length
    }, { timeoutMs: 20_000 })
    const voters = (await raftStatus(a1)).conf.voters
    const victim = agents.find(a => voters.includes(a.name) && (a === a2 || a === a3))!
    victim.kill('SIGKILL')
    await victim.waitExit()
    const t0 = Date.now()
    const healed = await waitFor('voter count back at 3 without the dead one', async () => {
      const s = await raftStatus((await leaderAmong(live()))!)
      return s.conf.voters.length === 3 && !s.conf.voters.includes(victim.name) ? s : undefined
    }, { timeoutMs: 15_000, intervalMs: 100 })
    const promoted = healed.conf.voters.find(v => v === a4.name || v === a5.name)
    assert.ok(promoted !== undefined, `a learner was promoted: ${JSON.stringify(healed.conf)}`)
    const res = await createObject(live()[0]!, 'after-heal')
    assert.equal(res.status, 200)
    const healMs = Date.now() - t0
    assert.ok(healMs < 10_000, `healed in ${healMs} ms`)
  })
  it('a leader that leaves hands over first; it is removed and the voters are back at 3', async () => {
    const leader = (await leaderAmong(live()))!
    const before = await raftStatus(leader)
    const res = await shoal(['leave', '--data-dir', leader.dataDir])
    assert.equal(res.code, 0, res.stderr)
    assert.equal(await leader.waitExit(), 0)
    const rest = live()
    const after = await waitFor('a new leader with the leaver gone and 3 voters', async () => {
      const l = await leaderAmong(rest)
      if (l === undefined) return undefined
      const s = await raftStatus(l)
      return !s.conf.voters.includes(leader.name) && !s.conf.learners.includes(leader.name) && s.conf.voters.length === 3 ? s : undefined
    }, { timeoutMs: 15_000, intervalMs: 100 })
    assert.ok(after.term > before.term)
    assert.match(readFileSync(leader.logPath, 'utf8'), /handing leadership over before leaving/)
    assert.equal((await createObject(rest[0]!, 'after-leave')).status, 200)
  })
})
