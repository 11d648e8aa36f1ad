import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { connect } from 'node:net'
import { waitFor } from '../helpers/wait.ts'
import { alive, must } from './exec.ts'
import { changedLines, footprint, isLabLine, type Footprint } from './footprint.ts'
import { Lab, NetemUnsupportedError, readyStatus } from './lab.ts'

type Json = any

/** Milliseconds to open a TCP connection from this process, or undefined when it fails within timeoutMs. */
async function connectMs (host: string, port: number, timeoutMs = 2000): Promise<number | undefined> {
  const started = performance.now()
  return await new Promise(resolve => {
    const s = connect({ host, port, timeout: timeoutMs })
    s.on('connect', () => { s.destroy(); resolve(performance.now() - started) })
    s.on('timeout', () => { s.destroy(); resolve(undefined) })
    s.on('error', () => { resolve(undefined) })
  })
}

/**
 * The lab (test/lab/README.md): three hosts, each a network namespace on a
 * lab bridge with its own Docker engine and its own `shoal agent`, and the
 * faults it makes real: partitions, agent crashes, power cuts.
 */
describe('the lab: three simulated hosts on one machine', { skip: process.getuid?.() === 0 ? false : 'the lab needs root (network namespaces, cgroups, an engine per host)' }, () => {
  let lab: Lab
  let clean: Footprint
  const ip = (k: number): string => lab.host(k).ip
  const readyOf = async (name: string, via = 1): Promise<string | undefined> => readyStatus((await lab.nodes(via)).find((n: Json) => n.metadata.name === name))

  before(async () => {
    // A lab left by a killed run would be part of the "before"; up would remove it anyway.
    await Lab.cleanup()
    clean = await footprint()
    lab = await Lab.up(3)
  })

  after(async () => {
    await lab?.down()
  })

  it('up 3: three engines of their own, each with the test images, and a cluster of 3 Ready nodes on 10.99.0.11-13', async () => {
    const ids = await Promise.all([1, 2, 3].map(async k => (await lab.docker(k, ['info', '--format', '{{.ID}}'])).trim()))
    const mainId = (await must('docker', ['info', '--format', '{{.ID}}'])).trim()
    assert.equal(new Set([...ids, mainId]).size, 4, `engine IDs ${ids.join(', ')} and the main engine's ${mainId} must all differ`)
    for (const k of [1, 2, 3]) {
      assert.match(await lab.docker(k, ['images', '--format', '{{.Repository}}:{{.Tag}}']), /^shoal-test\/busybox:1$/m, `host ${k}'s engine has the test image`)
    }
    const nodes = await lab.nodes()
    assert.deepEqual(nodes.map((n: Json) => n.metadata.name).sort(), ['h1', 'h2', 'h3'])
    for (const n of nodes) {
      assert.equal(readyStatus(n), 'True', `${n.metadata.name} Ready`)
      assert.equal(n.status.addresses.find((a: Json) => a.type === 'InternalIP')?.address, ip(Number(n.metadata.name.slice(1))))
    }
  })

  it('run: a command runs inside a host, with its address, its engine and its kubeconfig, and reaches the others', async () => {
    const addr = await lab.run(2, ['ip', '-4', '-o', 'addr', 'show', 'eth0'])
    assert.equal(addr.code, 0, addr.stderr)
    assert.match(addr.stdout, /inet 10\.99\.0\.12\/24/)
    const engine = await lab.run(3, ['docker', 'info', '--format', '{{.ID}}'])
    assert.equal(engine.stdout.trim(), (await lab.docker(3, ['info', '--format', '{{.ID}}'])).trim(), 'DOCKER_HOST is the host\'s engine')
    const env = await lab.run(1, ['sh', '-c', 'echo "$KUBECONFIG"'])
    assert.equal(env.stdout.trim(), lab.host(1).agent.kubeconfig)
    assert.equal(await lab.reaches(1, ip(2), 6443), true, 'host 1 reaches host 2\'s API port')
  })

  it('partition: host 3 split from hosts 1 and 2 at L2 cannot be reached, the others can; heal joins it again', async () => {
    await assert.rejects(lab.partition([1, 2, 3]), /splits some hosts from the others/)
    await lab.partition([3])
    assert.equal(await lab.reaches(1, ip(3)), false, 'host 1 → host 3 cut')
    assert.equal(await lab.reaches(1, ip(2)), true, 'host 1 → host 2 still there')
    assert.equal(await connectMs(ip(3), 6443, 1000), undefined, 'the test process cannot reach host 3')
    assert.notEqual(await connectMs(ip(1), 6443), undefined, 'the test process still reaches the majority')
    // Inside a partition, hosts still reach each other.
    await lab.partition([2, 3])
    assert.equal(await lab.reaches(2, ip(3)), true, 'host 2 → host 3 on their side')
    assert.equal(await lab.reaches(1, ip(2)), false, 'host 1 → host 2 cut')
    await lab.heal()
    await waitFor('host 1 reaches host 3 again', async () => await lab.reaches(1, ip(3)) || undefined, { timeoutMs: 10_000 })
    assert.equal(await lab.reaches(3, ip(2)), true)
    await lab.waitReady()
  })

  it('stop-agent / start-agent: the node goes NotReady or Unknown while the engine runs on, then Ready again', async () => {
    const dockerd = lab.host(2).dockerdPid()
    assert.ok(dockerd !== undefined, 'host 2\'s dockerd runs')
    await lab.stopAgent(2, 'SIGKILL')
    assert.equal(lab.host(2).agent.running, false)
    await waitFor('h2 NotReady or Unknown', async () => ['False', 'Unknown'].includes(await readyOf('h2') ?? '') || undefined, { timeoutMs: 30_000, intervalMs: 200 })
    assert.ok(alive(dockerd), 'the engine keeps running without its agent')
    await lab.startAgent(2)
    await lab.waitReady({ hosts: [2], timeoutMs: 30_000 })
  })

  it('kill: a power cut takes agent, engine and a container at once; start brings the host back, its container exited, its node Ready', async () => {
    const host = lab.host(2)
    const id = (await lab.docker(2, ['run', '--detach', 'shoal-test/busybox:1', 'sleep', '3600'])).trim()
    const containerPid = Number((await lab.docker(2, ['inspect', '--format', '{{.State.Pid}}', id])).trim())
    const agentPids = host.cgroup.pids('agent')
    const enginePids = host.cgroup.pids('engine')
    assert.ok(alive(containerPid) && agentPids.length >= 1 && enginePids.length >= 3, `container ${containerPid}, agent ${agentPids.join(' ')}, engine (containerd, dockerd, shim) ${enginePids.join(' ')}`)

    await lab.kill(2)
    const survivors = [containerPid, ...agentPids, ...enginePids].filter(alive)
    assert.deepEqual(survivors, [], 'every process of host 2 is dead')
    assert.equal(existsSync(host.layout.dockerSock), false, 'the engine\'s socket went with /run')
    const links = await lab.run(2, ['ip', '-o', 'link', 'show'])
    assert.deepEqual(links.stdout.trim().split('\n').map(l => l.split(': ')[1]), ['lo'], 'a new, empty namespace')
    await waitFor('h2 NotReady or Unknown after the power cut', async () => ['False', 'Unknown'].includes(await readyOf('h2') ?? '') || undefined, { timeoutMs: 30_000, intervalMs: 200 })

    await lab.start(2)
    assert.match(await lab.docker(2, ['inspect', '--format', '{{.State.Status}}', id]), /^exited$/m, 'the engine found its dead container')
    await lab.waitReady({ hosts: [2], timeoutMs: 30_000 })
  })

  it('netem: delays what a host sends, or says clearly that the kernel lacks sch_netem', async (t) => {
    try {
      await lab.netem(1, ['delay=200ms'])
    } catch (err) {
      if (!(err instanceof NetemUnsupportedError)) throw err
      assert.match(err.message, /kernel lacks sch_netem/)
      t.diagnostic(err.message)
      return
    }
    try {
      const ms = await connectMs(ip(1), 6443)
      assert.ok(ms !== undefined && ms >= 190, `a connection to host 1 takes the delay (${ms} ms)`)
    } finally {
      await lab.netem(1, ['off'])
    }
  })

  it('down: leaves no namespace, link, iptables rule, mount or process of the lab behind', async (t) => {
    await lab.down()
    const now = await footprint()
    for (const key of Object.keys(clean) as Array<keyof Footprint>) {
      assert.deepEqual(now[key].filter(l => isLabLine(l, lab.dir)), [], `${key}: the lab left these behind`)
      const changed = changedLines(clean[key], now[key])
      // Other work on this machine (other tests, the main engine) may change the rest meanwhile.
      if (changed.length > 0) t.diagnostic(`${key}: ${changed.length} lines changed by something else meanwhile, e.g. ${changed[0]!.slice(0, 120)}`)
      else assert.equal(now[key].length, clean[key].length)
    }
    assert.equal(existsSync(lab.dir), false, `${lab.dir} removed`)
  })
})
