import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createServer, type Server } from 'node:net'
import { request as httpRequest } from 'node:http'
import { AgentProcess, scratchDir, shoal, type RunResult } from './helpers/agents.ts'
import { waitFor } from './helpers/wait.ts'
import { hostnameWebDeployment, startCluster } from './helpers/cluster.ts'

const run = promisify(execFile)
type Json = any

/** One HTTP GET, no keep-alive: the body, or the error's code. */
async function get (host: string, port: number, timeoutMs = 5000): Promise<{ ok: true, body: string } | { ok: false, error: string }> {
  return await new Promise(resolve => {
    const req = httpRequest({ host, port, path: '/', agent: false, timeout: timeoutMs }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => { resolve(res.statusCode === 200 ? { ok: true, body: body.trim() } : { ok: false, error: `HTTP ${res.statusCode}` }) })
      res.on('error', err => { resolve({ ok: false, error: err.message }) })
    })
    req.on('timeout', () => { req.destroy(new Error('timeout')) })
    req.on('error', (err: NodeJS.ErrnoException) => { resolve({ ok: false, error: err.code ?? err.message }) })
    req.end()
  })
}

/** Requests in a loop against `targets` until stopped: every answer and every failure, in order. */
function load (targets: ReadonlyArray<readonly [string, number]>): { count: () => number, stop: () => Promise<{ bodies: string[], failures: string[] }> } {
  const bodies: string[] = []
  const failures: string[] = []
  let going = true
  const loop = (async () => {
    for (let i = 0; going; i++) {
      const [host, port] = targets[i % targets.length]!
      const r = await get(host, port)
      if (r.ok) bodies.push(r.body)
      else failures.push(`${host}:${port} ${r.error}`)
    }
  })()
  return { count: () => bodies.length + failures.length, stop: async () => { going = false; await loop; return { bodies, failures } } }
}

const isReady = (p: Json): boolean => p.status?.phase === 'Running' && (p.status?.conditions ?? []).some((c: Json) => c.type === 'Ready' && c.status === 'True')

/**
 * Services end to end (issue 7) on three agents (127.0.0.41-43) with real
 * Docker: a deployment of three busybox httpd pods, each answering with its
 * own pod name, exposed as a LoadBalancer, a NodePort and a ClusterIP
 * Service; requests through every node reach every pod; scaling, a
 * container removed, a port taken and a node killed. First, the course
 * scenario: a deployment whose container declares no port, exposed as a
 * LoadBalancer, answers at its pods' IPs.
 */
describe('services: a stable address on every node, balanced over ready pods', () => {
  const scratch = scratchDir('services')
  const agents = [41, 42, 43].map(i => new AgentProcess(scratch.path, `svc-${i}`, `127.0.0.${i}`))
  const [a1, a2, a3] = agents as [AgentProcess, AgentProcess, AgentProcess]
  let squatter: Server | undefined
  const sh = async (args: readonly string[], via = a1): Promise<RunResult> => {
    const r = await shoal([...args, '--kubeconfig', via.kubeconfig], { timeoutMs: 90_000 })
    assert.equal(r.code, 0, `shoal ${args.join(' ')}: ${r.stderr}`)
    return r
  }
  const pods = async (via = a1): Promise<Json[]> => (await via.getJson('/api/v1/namespaces/default/pods?labelSelector=app%3Dweb')).items
  const readyPods = async (n: number, via = a1): Promise<Json[] | false> => {
    const items = await pods(via)
    return items.length === n && items.every(isReady) ? items : false
  }
  const service = async (name: string, via = a1): Promise<Json> => await via.getJson(`/api/v1/namespaces/default/services/${name}`)
  /** Which pods answer through `host:port` over `n` requests. */
  const answering = async (host: string, port: number, n: number): Promise<Set<string>> => {
    const seen = new Set<string>()
    for (let i = 0; i < n; i++) {
      const r = await get(host, port)
      assert.ok(r.ok, `GET http://${host}:${port}/: ${r.ok ? '' : r.error}`)
      seen.add(r.body)
    }
    return seen
  }

  before(async () => {
    await run('bash', [new URL('./images/build.sh', import.meta.url).pathname])
    await startCluster(agents)
    const manifest = hostnameWebDeployment(3, { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 })
    const file = join(scratch.path, 'web.json')
    writeFileSync(file, JSON.stringify(manifest))
    await sh(['apply', '-f', file])
    const three = await waitFor('three Ready pods', async () => await readyPods(3), { timeoutMs: 60_000 })
    assert.deepEqual(three.map(p => p.spec.nodeName).sort(), [a1.name, a2.name, a3.name], 'one pod on each node')
  })

  after(async () => {
    squatter?.close()
    await Promise.all(agents.map(async a => await a.destroy()))
    scratch.remove()
  })

  it('the course scenario: create deployment without --port, expose --type=LoadBalancer --port=8080: every node and the cluster IP answer, through the pod IPs', async () => {
    assert.match((await sh(['create', 'deployment', 'first-app', '--image=shoal-test/web:1', '--replicas=3'])).stdout, /deployment\.apps\/first-app created/)
    const three = await waitFor('three Ready first-app pods', async () => {
      const items = (await a1.getJson('/api/v1/namespaces/default/pods?labelSelector=app%3Dfirst-app')).items as Json[]
      return items.length === 3 && items.every(isReady) ? items : false
    }, { timeoutMs: 60_000 })
    for (const p of three) {
      assert.equal(p.spec.containers[0].ports, undefined, 'the container declares no port')
      assert.deepEqual(p.status.hostPorts ?? [], [], 'nothing published on the node: reached at its pod IP only')
    }
    assert.match((await sh(['expose', 'deployment', 'first-app', '--type=LoadBalancer', '--port=8080'])).stdout, /service\/first-app exposed/)
    const svc = await service('first-app')
    assert.deepEqual(svc.spec.ports.map((p: Json) => [p.port, p.targetPort]), [[8080, 8080]])
    const ep = await waitFor('three ready endpoints', async () => {
      const e = await a2.getJson('/api/v1/namespaces/default/endpoints/first-app').catch(() => undefined)
      return (e?.subsets ?? []).flatMap((s: Json) => s.addresses ?? []).length === 3 ? e : false
    }, { timeoutMs: 10_000, intervalMs: 100 })
    assert.deepEqual(ep.subsets.map((s: Json) => s.ports), [[{ port: 8080, protocol: 'TCP' }]], 'podIP:targetPort, declared or not')
    assert.deepEqual(ep.subsets[0].addresses.map((a: Json) => a.ip).sort(), three.map(p => p.status.podIP).sort())
    for (const a of agents) {
      await waitFor(`first-app through ${a.ip}:8080`, async () => {
        for (let i = 0; i < 3; i++) if ((await get(a.ip, 8080)).ok !== true) return false
        return true
      }, { timeoutMs: 15_000, intervalMs: 100 })
    }
    const body = await waitFor('first-app through its cluster IP', async () => {
      const r = await get(svc.spec.clusterIP, 8080)
      return r.ok ? r.body : false
    }, { timeoutMs: 10_000, intervalMs: 100 })
    assert.equal(body, 'shoal test page')
    // Port 8080 on every node goes to web next.
    await sh(['delete', 'service', 'first-app'])
    await sh(['delete', 'deployment', 'first-app'])
  })

  it('expose --type=LoadBalancer: port 8080 on each node reaches all three pods, and get services shows the nodes as EXTERNAL-IP', async () => {
    assert.match((await sh(['expose', 'deployment', 'web', '--type=LoadBalancer', '--port=8080'])).stdout, /service\/web exposed/)
    const names = new Set((await pods()).map(p => p.metadata.name))
    for (const a of agents) {
      const seen = await waitFor(`all three pods through ${a.ip}:8080`, async () => {
        const s = await answering(a.ip, 8080, 6).catch(() => new Set<string>())
        return s.size === 3 ? s : false
      }, { timeoutMs: 15_000, intervalMs: 100 })
      assert.deepEqual([...seen].sort(), [...names].sort())
    }
    const out = await waitFor('EXTERNAL-IP filled in', async () => {
      const r = await sh(['get', 'services', 'web'], a2)
      return r.stdout.includes('127.0.0.41,127.0.0.42,127.0.0.43') ? r.stdout : false
    }, { timeoutMs: 10_000, intervalMs: 200 })
    assert.match(out, /\nweb\s+LoadBalancer\s+10\.96\.\d+\.\d+\s+127\.0\.0\.41,127\.0\.0\.42,127\.0\.0\.43\s+8080:3\d{4}\/TCP\s+/)
    const ep = await a3.getJson('/api/v1/namespaces/default/endpoints/web')
    assert.equal(ep.subsets.flatMap((s: Json) => s.addresses ?? []).length, 3, 'three ready endpoints')
    assert.deepEqual(ep.subsets.flatMap((s: Json) => s.addresses.map((a: Json) => a.ip)).sort(), (await pods()).map(p => p.status.podIP).sort(), 'at the pods\' IPs')
    assert.deepEqual(ep.subsets.map((s: Json) => s.ports), [[{ port: 8080, protocol: 'TCP' }]], 'and their container port')
  })

  it('each agent\'s heartbeat names this engine', async () => {
    const { stdout } = await run('docker', ['info', '--format', '{{.ID}}'])
    const engines = await waitFor('every member reporting its engine', async () => {
      const items = (await a2.getJson('/api/shoal/v1/members')).items as Json[]
      const ids = items.map(m => m.runtime?.engine)
      return items.length === 3 && ids.every(id => id !== undefined) ? ids : false
    }, { timeoutMs: 10_000, intervalMs: 100 })
    assert.deepEqual(engines, [stdout.trim(), stdout.trim(), stdout.trim()])
  })

  it('the NodePort answers on every node; the cluster IP from the host and from inside a pod', async () => {
    const svc = await service('web')
    const nodePort: number = svc.spec.ports[0].nodePort
    assert.ok(nodePort >= 30000 && nodePort <= 32767)
    for (const a of agents) assert.equal((await answering(a.ip, nodePort, 3)).size, 3, `node port on ${a.ip}`)
    await sh(['expose', 'deployment', 'web', '--name=web-np', '--type=NodePort', '--port=9090', '--target-port=8080'])
    const np = await service('web-np')
    assert.notEqual(np.spec.ports[0].nodePort, nodePort, 'node ports never collide')
    for (const a of agents) {
      await waitFor(`web-np on ${a.ip}`, async () => (await get(a.ip, np.spec.ports[0].nodePort)).ok, { timeoutMs: 10_000, intervalMs: 100 })
    }
    const clusterIP: string = np.spec.clusterIP
    const fromHost = await waitFor('the cluster IP answers on the host', async () => {
      const r = await get(clusterIP, 9090)
      return r.ok ? r.body : false
    }, { timeoutMs: 10_000, intervalMs: 100 })
    assert.ok(fromHost.startsWith('web-'))
    const { stdout: ids } = await run('docker', ['ps', '-q', '--filter', 'label=io.shoal.role=app', '--filter', `label=io.shoal.node=${a2.name}`])
    const { stdout: inPod } = await run('docker', ['exec', ids.trim().split('\n')[0]!, 'wget', '-q', '-O', '-', `http://${clusterIP}:9090/`])
    assert.match(inPod.trim(), /^web-/)
  })

  it('scale to 1: every request on every node reaches that one pod; back to 3', async () => {
    await sh(['scale', 'deployment', 'web', '--replicas=1'])
    const [only] = await waitFor('one Ready pod', async () => await readyPods(1), { timeoutMs: 30_000 })
    await waitFor('every node sends everything to the one pod', async () => {
      for (const a of agents) {
        const seen = await answering(a.ip, 8080, 4).catch(() => new Set(['failed']))
        if (seen.size !== 1 || !seen.has(only.metadata.name)) return false
      }
      return true
    }, { timeoutMs: 10_000, intervalMs: 100 })
    await sh(['scale', 'deployment', 'web', '--replicas=3'])
    await waitFor('three Ready pods', async () => await readyPods(3), { timeoutMs: 30_000 })
    for (const a of agents) await waitFor(`three pods through ${a.ip}`, async () => (await answering(a.ip, 8080, 6)).size === 3, { timeoutMs: 10_000, intervalMs: 100 })
  })

  it('a pod\'s container removed: no request fails while its replacement starts', async () => {
    const victim = (await pods()).find(p => p.spec.nodeName === a2.name)
    const { stdout } = await run('docker', ['ps', '-q', '--no-trunc', '--filter', `label=io.shoal.pod.name=${victim.metadata.name}`, '--filter', 'label=io.shoal.role=app'])
    const traffic = load(agents.map(a => [a.ip, 8080] as const))
    await waitFor('some traffic', async () => traffic.count() >= 3, { timeoutMs: 5000, intervalMs: 10 })
    await run('docker', ['rm', '-f', stdout.trim()])
    await waitFor('the pod Ready again with a new container', async () => {
      const p = (await pods()).find(x => x.metadata.uid === victim.metadata.uid)
      return p !== undefined && isReady(p) && p.status.containerStatuses[0].restartCount >= 1
    }, { timeoutMs: 30_000, intervalMs: 100 })
    await waitFor('the restarted pod answering through the service', async () => (await answering(a1.ip, 8080, 6)).has(victim.metadata.name), { timeoutMs: 10_000, intervalMs: 100 })
    const { bodies, failures } = await traffic.stop()
    assert.deepEqual(failures, [], `${failures.length} of ${bodies.length + failures.length} requests failed`)
    assert.ok(bodies.length > 10, `only ${bodies.length} requests went through`)
  })

  it('a port taken on one node: an event and a False condition on the service, its address left out; the other nodes serve it', async () => {
    squatter = createServer(() => {})
    await new Promise<void>(resolve => squatter!.listen({ host: a2.ip, port: 8181 }, resolve))
    await sh(['expose', 'deployment', 'web', '--name=web-taken', '--type=LoadBalancer', '--port=8181', '--target-port=8080'])
    const svc = await waitFor('the condition and the ingress', async () => {
      const s = await service('web-taken')
      const cond = (s.status?.conditions ?? []).find((c: Json) => c.type === 'ProxyListening')
      return cond?.status === 'False' && s.status?.loadBalancer?.ingress?.length === 2 ? s : false
    }, { timeoutMs: 15_000, intervalMs: 200 })
    assert.deepEqual(svc.status.loadBalancer.ingress.map((i: Json) => i.ip), [a1.ip, a3.ip])
    assert.match(svc.status.conditions.find((c: Json) => c.type === 'ProxyListening').message, new RegExp(`node ${a2.name}: cannot listen on 127\\.0\\.0\\.42:8181 \\(LoadBalancer\\): listen EADDRINUSE`))
    const events = await waitFor('a FailedToListen event', async () => {
      const items = (await a1.getJson('/api/v1/namespaces/default/events')).items as Json[]
      const found = items.filter(e => e.involvedObject.name === 'web-taken' && e.reason === 'FailedToListen')
      return found.length > 0 ? found : false
    }, { timeoutMs: 10_000, intervalMs: 200 })
    assert.equal(events[0].type, 'Warning')
    assert.ok((await get(a1.ip, 8181)).ok)
    assert.ok((await get(a3.ip, 8181)).ok)
    assert.ok((await a2.getJson('/api/v1/nodes')).items.length === 3, 'the agent on the clashing node still answers')
  })

  it('a node SIGKILLed, its containers gone with it: the service keeps answering on the other two', async () => {
    const traffic = load([[a1.ip, 8080], [a2.ip, 8080]])
    await waitFor('some traffic', async () => traffic.count() >= 3, { timeoutMs: 5000, intervalMs: 10 })
    a3.kill('SIGKILL')
    await a3.waitExit()
    // The machine died: its pods' containers (and Docker's port proxies) go too, so its endpoints refuse until they are replaced.
    const { stdout } = await run('docker', ['ps', '-aq', '--filter', `label=io.shoal.node=${a3.name}`])
    if (stdout.trim() !== '') await run('docker', ['rm', '-f', ...stdout.trim().split('\n')])
    await waitFor('three Ready pods on the other two nodes', async () => {
      const items = await readyPods(3)
      return items !== false && items.every(p => p.spec.nodeName !== a3.name)
    }, { timeoutMs: 30_000, intervalMs: 100 })
    const names = new Set((await pods()).map(p => p.metadata.name))
    await waitFor('the replacements answering', async () => {
      const seen = await answering(a1.ip, 8080, 6)
      return [...seen].every(n => names.has(n)) && seen.size === 3
    }, { timeoutMs: 15_000, intervalMs: 100 })
    const { bodies, failures } = await traffic.stop()
    assert.deepEqual(failures, [], `${failures.length} of ${bodies.length + failures.length} requests failed`)
  })
})
