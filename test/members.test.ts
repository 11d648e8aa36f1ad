import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { AgentProcess, allSee, scratchDir, shoal } from './helpers/agents.ts'
import { waitFor } from './helpers/wait.ts'

/**
 * Five agents as separate processes on 127.0.0.11 … 127.0.0.15, joined through
 * the first: they find each other, detect a SIGKILL, take a restarted member
 * back, see a leave at once, and keep out an agent with the wrong token.
 */
describe('membership across five agent processes', () => {
  const scratch = scratchDir('members')
  const agents = [11, 12, 13, 14, 15].map(i => new AgentProcess(scratch.path, `node-${i}`, `127.0.0.${i}`))
  const [a1, a2, a3, a4, a5] = agents as [AgentProcess, AgentProcess, AgentProcess, AgentProcess, AgentProcess]
  const everyone = (state: string, names = agents.map(a => a.name)): Record<string, string> => Object.fromEntries(names.map(n => [n, state]))
  let token = ''

  before(async () => {
    await a1.start()
    const t = await shoal(['token', '--data-dir', a1.dataDir])
    assert.equal(t.code, 0, t.stderr)
    token = t.stdout.trim()
    await Promise.all([a2, a3, a4, a5].map(async a => await a.start(['--join', a1.ip, '--token', token])))
  })

  after(async () => {
    await Promise.all(agents.map(async a => await a.destroy()))
    scratch.remove()
  })

  it('every agent sees all five alive', async () => {
    await waitFor('all five alive on every agent', async () => await allSee(agents, everyone('alive')), { timeoutMs: 15_000 })
    const printed = await shoal(['members', '--server', a5.ip, '--kubeconfig', a1.kubeconfig])
    assert.equal(printed.code, 0, printed.stderr)
    const lines = printed.stdout.trim().split('\n')
    assert.match(lines[0]!, /^NAME\s+STATE\s+ROLE\s+MATCH\s+ADDRESS\s+LAST-SEEN\s+PEER-ID$/)
    assert.equal(lines.length, 6)
    assert.match(printed.stdout, /node-13\s+alive\s+(voter|learner|leader|none)\s+(\d+|-)\s+127\.0\.0\.13:7946\s+\d+s ago\s+12D3KooW/)
    const json = JSON.parse((await shoal(['members', '--server', a2.ip, '--kubeconfig', a1.kubeconfig, '-o', 'json'])).stdout) as { items: Array<{ name: string, peerId: string }> }
    assert.deepEqual(json.items.map(m => m.name), agents.map(a => a.name))
  })

  it('a SIGKILLed agent is dead on every other agent within 3 s', async () => {
    a3.kill('SIGKILL')
    await a3.waitExit()
    const others = agents.filter(a => a !== a3)
    await waitFor('node-13 dead everywhere', async () => await allSee(others, { 'node-13': 'dead' }), { timeoutMs: 3000, intervalMs: 20 })
  })

  it('the killed agent restarted from its data dir is alive again, without --join, as the same peer', async () => {
    const peerBefore = (await a1.members()).find(m => m.name === a3.name)?.peerId
    await a3.start()
    await waitFor('all alive again', async () => await allSee(agents, everyone('alive')), { timeoutMs: 10_000 })
    assert.equal((await a1.members()).find(m => m.name === a3.name)?.peerId, peerBefore, 'SIGKILL lost nothing: same identity')
  })

  it('`shoal leave` makes the agent stop and the others see it left within 1 s', async () => {
    const res = await shoal(['leave', '--data-dir', a4.dataDir])
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /node node-14 left cluster [0-9a-f]{16}/)
    const others = agents.filter(a => a !== a4)
    await waitFor('node-14 left everywhere', async () => await allSee(others, { 'node-14': 'left' }), { timeoutMs: 1000, intervalMs: 20 })
    assert.equal(await a4.waitExit(), 0)
    assert.equal(existsSync(`${a4.dataDir}/cluster.json`), false, 'a member that left forgets its cluster')
    assert.equal(existsSync(`${a4.dataDir}/node.key`), true, 'but keeps its identity')
  })

  it('an agent with a wrong token gets a clear error and never appears', async () => {
    const other = scratchDir('other')
    try {
      const foreign = new AgentProcess(other.path, 'foreign', '127.0.0.16')
      await foreign.start()
      const wrongToken = (await shoal(['token', '--data-dir', foreign.dataDir])).stdout.trim()
      await foreign.destroy()
      const res = await shoal(['agent', '--name', 'intruder', '--bind', '127.0.0.17', '--data-dir', `${other.path}/intruder`, '--join', a1.ip, '--token', wrongToken])
      assert.equal(res.code, 1)
      assert.match(res.stderr, /^error: cannot join through 127\.0\.0\.11: the secure handshake failed: the token is not this cluster's/m)
      assert.equal(existsSync(`${other.path}/intruder`), false, 'nothing written to its data dir')
      for (const a of agents.filter(x => x.running)) assert.equal(await a.stateOf('intruder'), undefined)
    } finally {
      other.remove()
    }
  })

  it('SIGTERM announces a graceful stop (left), and the restarted agent rejoins', async () => {
    a5.kill('SIGTERM')
    assert.equal(await a5.waitExit(), 0)
    const others = [a1, a2, a3]
    await waitFor('node-15 left', async () => await allSee(others, { 'node-15': 'left' }), { timeoutMs: 2000, intervalMs: 20 })
    await a5.start()
    await waitFor('node-15 alive again', async () => await allSee([a1, a2, a3, a5], { 'node-15': 'alive' }), { timeoutMs: 10_000 })
    assert.deepEqual(readdirSync(a5.dataDir).sort(), ['agent.sock', 'cluster.json', 'kubeconfig', 'node.key', 'peers.json', 'raft'])
  })
})

describe('an agent killed right after it joined', () => {
  const scratch = scratchDir('early-kill')
  const seed = new AgentProcess(scratch.path, 'seed', '127.0.0.18')
  const late = new AgentProcess(scratch.path, 'late', '127.0.0.19')

  after(async () => {
    await Promise.all([seed, late].map(async a => await a.destroy()))
    scratch.remove()
  })

  it('finds its cluster again when it restarts, through the peers the join answered with', async () => {
    await seed.start()
    const token = (await shoal(['token', '--data-dir', seed.dataDir])).stdout.trim()
    await late.start(['--join', seed.ip, '--token', token])
    // Killed before its first periodic save of known peers.
    late.kill('SIGKILL')
    await late.waitExit()
    assert.ok(JSON.parse(readFileSync(`${late.dataDir}/peers.json`, 'utf8')).peers.some((p: { name: string }) => p.name === 'seed'))
    await late.start()
    await waitFor('late alive on both', async () => await allSee([seed, late], { seed: 'alive', late: 'alive' }), { timeoutMs: 10_000 })
  })
})
