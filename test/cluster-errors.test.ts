import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { AgentProcess, allSee, scratchDir, shoal } from './helpers/agents.ts'
import { waitFor } from './helpers/wait.ts'

/** Bad input and the one-line errors it gets; nothing is half-written. */
describe('agent start-up errors', () => {
  const scratch = scratchDir('errors')
  const started: AgentProcess[] = []
  const agent = (name: string, ip: string): AgentProcess => {
    const a = new AgentProcess(scratch.path, name, ip)
    started.push(a)
    return a
  }
  const tokenOf = async (a: AgentProcess): Promise<string> => (await shoal(['token', '--data-dir', a.dataDir])).stdout.trim()
  const startFails = async (args: string[]): Promise<string> => {
    const res = await shoal(['agent', ...args])
    assert.equal(res.code, 1, `expected exit 1, got ${res.code}: ${res.stderr}`)
    const lines = res.stderr.trim().split('\n')
    assert.equal(lines.length, 1, `one line: ${res.stderr}`)
    return lines[0]!
  }

  after(async () => {
    await Promise.all(started.map(async a => await a.destroy()))
    scratch.remove()
  })

  it('a malformed token: exit 1, nothing written', async () => {
    const dir = `${scratch.path}/malformed`
    const line = await startFails(['--name', 'm', '--bind', '127.0.0.21', '--data-dir', dir, '--join', '127.0.0.22', '--token', 'shoal1_not-a-real-token'])
    assert.equal(line, 'error: malformed join token: it has the wrong length; copy it again from `shoal token` on a member')
    assert.equal(existsSync(dir), false)
  })

  it('an unreachable join address: exit 1, nothing written', async () => {
    const owner = agent('owner', '127.0.0.23')
    await owner.start()
    const token = await tokenOf(owner)
    const dir = `${scratch.path}/unreachable`
    const line = await startFails(['--name', 'u', '--bind', '127.0.0.21', '--data-dir', dir, '--join', '127.0.0.29:7999', '--token', token])
    assert.equal(line, 'error: cannot join through 127.0.0.29:7999: connection refused (is a Shoal agent running there, on that port?)')
    assert.equal(existsSync(dir), false)
  })

  it('a member not up yet: with --join-retry-ms the joiner says so, tries again, and joins once it is up', async () => {
    const late = agent('late', '127.0.0.27')
    await late.start()
    const token = await tokenOf(late)
    late.kill('SIGTERM')
    await late.waitExit()
    const early = agent('early', '127.0.0.28')
    const joined = early.start(['--join', late.ip, '--token', token, '--join-retry-ms', '60000'])
    joined.catch(() => {})
    await waitFor('the joiner saying it will try again', async () => existsSync(early.logPath) && readFileSync(early.logPath, 'utf8').includes('cannot join through 127.0.0.27 yet; trying again in'), { timeoutMs: 10_000, intervalMs: 50 })
    await late.start()
    await joined
    await waitFor('both see each other alive', async () => await allSee([late, early], { late: 'alive', early: 'alive' }), { timeoutMs: 15_000 })
  })

  it('a port in use: exit 1, names the address, nothing written', async () => {
    const owner = started.find(a => a.name === 'owner')!
    const dir = `${scratch.path}/clash`
    const line = await startFails(['--name', 'clash', '--bind', owner.ip, '--data-dir', dir])
    assert.match(line, /^error: api address 127\.0\.0\.23:6443 is already in use/)
    const mesh = await startFails(['--name', 'clash', '--bind', owner.ip, '--api-port', '6444', '--data-dir', dir])
    assert.match(mesh, /^error: mesh address 127\.0\.0\.23:7946 is already in use/)
    assert.equal(existsSync(dir), false)
  })

  it('a data dir of another cluster: exit 1, the data dir unchanged', async () => {
    const owner = started.find(a => a.name === 'owner')!
    const other = agent('other', '127.0.0.24')
    await other.start()
    await other.destroy()
    const before = readFileSync(`${other.dataDir}/cluster.json`, 'utf8')
    const line = await startFails(['--name', 'other', '--bind', other.ip, '--data-dir', other.dataDir, '--join', owner.ip, '--token', await tokenOf(owner)])
    assert.match(line, /^error: data dir .*other belongs to cluster [0-9a-f]{16}, but the token is for cluster [0-9a-f]{16}; use another --data-dir, or `shoal leave` first$/)
    assert.equal(readFileSync(`${other.dataDir}/cluster.json`, 'utf8'), before)
  })

  it('two agents on one data dir: the second is refused', async () => {
    const owner = started.find(a => a.name === 'owner')!
    const line = await startFails(['--name', 'owner2', '--bind', '127.0.0.25', '--data-dir', owner.dataDir])
    assert.equal(line, `error: another agent is already running with data dir ${owner.dataDir}`)
  })

  it('bad flags: every problem named at once', async () => {
    const line = await startFails(['--name', 'Bad_Name', '--port', '99999', '--bind', 'nowhere', '--data-dir', `${scratch.path}/flags`])
    assert.match(line, /--bind must be an IP address, got "nowhere"/)
    assert.match(line, /--name: node name "Bad_Name" is invalid/)
    assert.match(line, /--port must be a TCP port 1-65535, got 99999/)
    const members = await shoal(['agent', '--suspect-after-ms', '100', '--heartbeat-ms', '500', '--data-dir', `${scratch.path}/flags`])
    assert.match(members.stderr, /^error: suspectAfterMs must exceed heartbeatIntervalMs\n$/)
  })

  it('a name already held by a live member is refused at join', async () => {
    const owner = started.find(a => a.name === 'owner')!
    const line = await startFails(['--name', 'owner', '--bind', '127.0.0.26', '--data-dir', `${scratch.path}/dup`, '--join', owner.ip, '--token', await tokenOf(owner)])
    assert.match(line, /^error: cannot join through 127\.0\.0\.23: node name "owner" is already used by a live member \(peer 12D3KooW\w+\); give this agent another --name$/)
    assert.equal(existsSync(`${scratch.path}/dup`), false)
  })

  it('CLI commands without a reachable agent say which one', async () => {
    const none = await shoal(['members', '--data-dir', `${scratch.path}/nobody`])
    assert.equal(none.code, 1)
    assert.match(none.stderr, /^error: no cluster to talk to: no agent runs with data dir .*nobody and no kubeconfig was given; pass --kubeconfig FILE/)
    const down = await shoal(['members', '--server', '127.0.0.30:6443'])
    assert.equal(down.stderr, 'error: cannot reach 127.0.0.30:6443: connection refused (is the agent running?)\n')
    const token = await shoal(['token', '--data-dir', `${scratch.path}/nobody`])
    assert.match(token.stderr, /^error: no cluster in data dir/)
  })
})

describe('shoal join on a running agent', () => {
  const scratch = scratchDir('join')
  const first = new AgentProcess(scratch.path, 'first', '127.0.0.31')
  const second = new AgentProcess(scratch.path, 'second', '127.0.0.32')
  const third = new AgentProcess(scratch.path, 'third', '127.0.0.33')

  after(async () => {
    await Promise.all([first, second, third].map(async a => await a.destroy()))
    scratch.remove()
  })

  it('moves a lone agent into another cluster, and refuses once it has company', async () => {
    await Promise.all([first.start(), second.start(), third.start()])
    const token = (await shoal(['token', '--data-dir', first.dataDir])).stdout.trim()
    const secondPeer = (await second.members())[0]!.peerId
    const res = await shoal(['join', first.ip, '--token', token, '--data-dir', second.dataDir])
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /^node second joined cluster [0-9a-f]{16}\n$/)
    await waitFor('both see both', async () => await allSee([first, second], { first: 'alive', second: 'alive' }))
    assert.equal((await second.members()).find(m => m.name === 'second')?.peerId, secondPeer, 'same identity')
    assert.equal((await shoal(['token', '--data-dir', second.dataDir])).stdout.trim(), token, 'the data dir records the new cluster')

    const thirdToken = (await shoal(['token', '--data-dir', third.dataDir])).stdout.trim()
    const refused = await shoal(['join', third.ip, '--token', thirdToken, '--data-dir', second.dataDir])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /^error: this agent is a member of cluster [0-9a-f]{16} with 1 other member\(s\); run `shoal leave` first/)
    assert.equal((await shoal(['token', '--data-dir', second.dataDir])).stdout.trim(), token, 'nothing changed')
  })
})
