import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { removeNodeContainers, scratchDir, shoal, type RunResult } from './helpers/agents.ts'
import { waitFor } from './helpers/wait.ts'
import { fetchBody, hostnameWebDeployment, isReadyObject } from './helpers/cluster.ts'

const run = promisify(execFile)
type Json = any

/**
 * Agents in containers that drive the one Docker engine of their host
 * through its socket (`shoal agent --publish-address`): two containers of
 * shoal-test/standin:1 on a private Docker network of this machine's
 * engine, each running an agent bound to its own address. Their pods run
 * beside them on the same engine, on Docker's network (the pod network
 * needs the engine beside the agent), which the agents' own network does
 * not reach: Docker keeps its bridges apart. So the engine publishes the
 * pods' ports on the private network's gateway, and the probes and the
 * Service proxy go there. What this shows end to end: pods turn Ready
 * (probes through the published ports), and a LoadBalancer answers through
 * each agent's address with the pods of both nodes.
 */
describe('agents in containers sharing one engine (--publish-address)', () => {
  const scratch = scratchDir('publish')
  const repo = new URL('..', import.meta.url).pathname
  const net = `shoal-publish-${process.pid}`
  const subnet = '172.29.216'
  const gateway = `${subnet}.1`
  const agents = [1, 2].map(i => ({ name: `publish-${i}`, container: `shoal-publish-${i}-${process.pid}`, ip: `${subnet}.${10 + i}` }))
  const [a1, a2] = agents as [typeof agents[0], typeof agents[0]]
  const kubeconfig = join(scratch.path, 'kubeconfig')
  const inContainer = async (a: typeof a1, script: string): Promise<string> => {
    const { stdout } = await run('docker', ['exec', a.container, 'bash', '-c', script], { maxBuffer: 16 * 1024 * 1024 })
    return stdout
  }
  const sh = async (args: readonly string[]): Promise<RunResult> => {
    const r = await shoal([...args, '--kubeconfig', kubeconfig], { timeoutMs: 60_000 })
    assert.equal(r.code, 0, `shoal ${args.join(' ')}: ${r.stderr}`)
    return r
  }
  const getJson = async (what: string): Promise<Json> => JSON.parse((await sh(['get', ...what.split(' '), '-o', 'json'])).stdout)
  /** Start the agent in its container, in the background, its log in the container's /var/log/shoal.log. */
  const startAgent = async (a: typeof a1, extra: string): Promise<void> => {
    await inContainer(a, `cd /src && nohup node_modules/node/bin/node packages/cli/bin/shoal.js agent --name ${a.name} --bind ${a.ip} ` +
      `--data-dir /var/lib/shoal --publish-address ${gateway} ${extra} >/var/log/shoal.log 2>&1 </dev/null &`)
  }

  before(async () => {
    await run('bash', [new URL('./images/build.sh', import.meta.url).pathname])
    await run('docker', ['network', 'create', '--subnet', `${subnet}.0/24`, net])
    for (const a of agents) {
      await run('docker', ['run', '-d', '--name', a.container, '--hostname', a.name, '--network', net, '--ip', a.ip, '--cap-add', 'NET_ADMIN',
        '-v', '/usr:/usr:ro', '-v', '/var/run/docker.sock:/var/run/docker.sock', '-v', `${repo}:/src:ro`,
        'shoal-test/standin:1', 'sleep', 'infinity'])
    }
  })

  after(async () => {
    await Promise.all(agents.map(async a => await run('docker', ['rm', '-f', a.container]).catch(() => {})))
    await Promise.all(agents.map(async a => { await removeNodeContainers(a.name) }))
    await run('docker', ['network', 'rm', net]).catch(() => {})
    scratch.remove()
  })

  it('the second agent joins the first; both nodes Ready', async () => {
    await startAgent(a1, '')
    await waitFor('the first agent up', async () => (await inContainer(a1, 'test -s /var/lib/shoal/kubeconfig && echo yes || true')).trim() === 'yes', { timeoutMs: 30_000, intervalMs: 200 })
    writeFileSync(kubeconfig, await inContainer(a1, 'cat /var/lib/shoal/kubeconfig'))
    const token = (await inContainer(a1, 'cd /src && node_modules/node/bin/node packages/cli/bin/shoal.js token --data-dir /var/lib/shoal')).trim()
    assert.match(token, /^shoal1_/)
    await startAgent(a2, `--join ${a1.ip} --token ${token}`)
    await waitFor('two Ready nodes', async () => {
      const nodes = (await getJson('nodes')).items as Json[]
      return nodes.length === 2 && nodes.every(isReadyObject)
    }, { timeoutMs: 60_000, intervalMs: 500 })
  })

  it('pods turn Ready through their published ports, and a LoadBalancer answers through each agent\'s address with both nodes\' pods', async () => {
    const file = join(scratch.path, 'web.json')
    writeFileSync(file, JSON.stringify(hostnameWebDeployment(2, { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 })))
    await sh(['apply', '-f', file])
    const pods = await waitFor('two Ready pods, one per node', async () => {
      const items = (await getJson('pods -l app=web')).items as Json[]
      return items.length === 2 && items.every(isReadyObject) && new Set(items.map(p => p.spec.nodeName)).size === 2 ? items : false
    }, { timeoutMs: 90_000, intervalMs: 500 })
    // The agents cannot reach the pods' own addresses (another Docker bridge): each pod's port is published on the gateway.
    for (const p of pods) {
      const sandbox = (await run('docker', ['ps', '-q', '--filter', `label=io.shoal.pod.name=${String(p.metadata.name)}`, '--filter', 'label=io.shoal.role=sandbox'])).stdout.trim()
      const ports = JSON.parse((await run('docker', ['inspect', '--format', '{{json .NetworkSettings.Ports}}', sandbox])).stdout) as Record<string, Array<{ HostIp: string, HostPort: string }> | null>
      const published = ports['8080/tcp'] ?? []
      assert.ok(published.some(b => b.HostIp === gateway), `pod ${String(p.metadata.name)}: 8080 published at ${JSON.stringify(published)}, not on ${gateway}`)
      assert.notEqual(await inContainer(a1, `timeout 2 bash -c 'echo > /dev/tcp/${String(p.status.podIP)}/8080' 2>/dev/null && echo reached || echo unreachable`).then(s => s.trim()), 'reached',
        `the agent's container reaches pod ${String(p.metadata.name)} at its own address: this test no longer shows the published port at work`)
    }
    await sh(['expose', 'deployment', 'web', '--type=LoadBalancer', '--port=8080'])
    const names = pods.map(p => p.metadata.name).sort()
    for (const a of agents) {
      await waitFor(`both pods through ${a.ip}:8080`, async () => {
        const seen = new Set<string>()
        for (let i = 0; i < 6; i++) seen.add(await fetchBody(a.ip, 8080) ?? 'failed')
        return [...seen].sort().join() === names.join()
      }, { timeoutMs: 20_000, intervalMs: 200 })
    }
  })
})
