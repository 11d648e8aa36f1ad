import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { containsCIDR, parseCIDR, type Cidr } from '@shoal/core/network/cidr.ts'
import { rangeContains } from '@shoal/core/network/ipam.ts'
import { waitFor } from './helpers/wait.ts'
import { Lab, readyStatus } from './lab/lab.ts'
import { LabView, remoteIP } from './lab/view.ts'

type Json = any

const ROOT = process.getuid?.() === 0
const SKIP = ROOT ? false : 'the lab needs root (network namespaces, cgroups, an engine per host)'
const CLUSTER_CIDR = '10.244.0.0/16'


function cidr (text: string): Cidr {
  const c = parseCIDR(text)
  assert.ok(c !== undefined, `${text} is an IPv4 CIDR`)
  return c
}


const hostOf = (lab: Lab, pod: Json): number => lab.hosts.find(h => h.name === pod.spec.nodeName)!.k

/**
 * The pod network across hosts, on the lab (test/lab/README.md): three
 * hosts, each a network namespace with its own engine and agent on one lab
 * link, so the agents route between them directly (host-gw). Pods reach each
 * other by IP without NAT, hosts reach pods on other hosts, Services go to
 * pod IPs; a power cut, a partition and an agent crash are survived; and
 * deleting everything leaves nothing behind.
 */
describe('pod network across hosts (host-gw, on a lab of 3)', { skip: SKIP }, () => {
  let lab: Lab
  let v: LabView
  let clean: Array<Awaited<ReturnType<LabView['plumbing']>>>

  before(async () => {
    lab = await Lab.up(3)
    v = new LabView(lab)
  })

  after(async () => {
    await lab?.down()
  })

  it('every node gets its own /24 of the cluster CIDR 10.244.0.0/16 through Raft, and routes to the others\' through their addresses', async () => {
    const ranges = await Promise.all([1, 2, 3].map(async k => await v.podCIDR(k)))
    assert.equal(new Set(ranges).size, 3, `three distinct ranges: ${ranges.join(', ')}`)
    for (const r of ranges) {
      assert.ok(containsCIDR(cidr(CLUSTER_CIDR), cidr(r)), `${r} inside ${CLUSTER_CIDR}`)
      assert.equal(cidr(r).prefix, 24)
    }
    for (const k of [1, 2, 3]) {
      const expected = [1, 2, 3].filter(o => o !== k).map(o => `${ranges[o - 1]} via ${lab.host(o).ip}`)
      const routes = await waitFor(`host ${k} routes to the other ranges`, async () => {
        const now = await v.podRoutes(k)
        return expected.every(e => now.some(l => l.startsWith(e))) ? now : false
      }, { timeoutMs: 10_000, intervalMs: 200 })
      assert.equal(routes.length, 2, `host ${k}: ${routes.join(' | ')}`)
    }
    // What each host shows with its network set up and no pod: what deleting everything must come back to.
    clean = await Promise.all([1, 2, 3].map(async k => await v.plumbing(k)))
  })

  it('a deployment of 3 spreads one pod per host; pod → pod across hosts answers, the server sees the client pod\'s IP; a host reaches a pod on another host', async () => {
    await v.create('echo', 3)
    const pods = await v.readyPods('echo', 3)
    assert.deepEqual(pods.map(p => hostOf(lab, p)).sort(), [1, 2, 3], 'one per host')
    const on = (k: number): Json => pods.find(p => hostOf(lab, p) === k)
    for (const k of [1, 2, 3]) {
      const p = on(k)
      const range = await v.podCIDR(k)
      assert.ok(rangeContains(cidr(range), p.status.podIP), `${p.metadata.name} has ${p.status.podIP} from host ${k}'s ${range}`)
      assert.deepEqual(p.status.podIPs, [{ ip: p.status.podIP }])
    }
    const client = on(1)
    for (const k of [2, 3]) {
      const body = await v.fromPod(1, client.metadata.name, `http://${on(k).status.podIP}:8080/cgi-bin/ip`)
      assert.ok(body !== undefined, `the pod on host 1 reaches the pod on host ${k} at ${on(k).status.podIP}`)
      assert.equal(remoteIP(body), client.status.podIP, 'no NAT: the server sees the client pod\'s IP')
    }
    // Same host, pod → pod: deployment of 3 has one per host, so the pod asks itself through its IP.
    assert.equal(remoteIP(await v.fromPod(1, client.metadata.name, `http://${client.status.podIP}:8080/cgi-bin/ip`) ?? ''), client.status.podIP)
    const fromHost1 = await v.fromHost(1, `http://${on(3).status.podIP}:8080/cgi-bin/ip`)
    assert.ok(fromHost1 !== undefined, 'host 1 reaches the pod on host 3 by its IP')
    // Traffic from a node to a pod elsewhere keeps the node's address on a shared link (host-gw: a plain route).
    assert.equal(remoteIP(fromHost1), lab.host(1).ip)
    // A pod reaches outside the pod network through masquerade: a server in the lab's root namespace sees host 2's address.
    const outside = createServer((req, res) => res.end(req.socket.remoteAddress))
    await new Promise<void>(resolve => outside.listen(0, '10.99.0.1', resolve))
    try {
      const seen = await v.fromPod(2, on(2).metadata.name, `http://10.99.0.1:${(outside.address() as AddressInfo).port}/`)
      assert.equal(remoteIP(seen ?? ''), lab.host(2).ip, 'masqueraded as its node')
    } finally {
      outside.close()
    }
  })

  it('the course scenario, verbatim with the stock kubectl: create deployment (no --port), expose --type=LoadBalancer --port=8080, and every host\'s address answers, forwarded by the kernel; pods reach it too, itself included', async (t) => {
    if ((await lab.run(1, ['kubectl', 'version', '--client'])).code !== 0) { t.skip('no kubectl on this machine'); return }
    assert.match(await v.kubectl(1, ['create', 'deployment', 'first-app', '--image=shoal-test/web:1']), /deployment\.apps\/first-app created/)
    assert.match(await v.kubectl(2, ['expose', 'deployment', 'first-app', '--type=LoadBalancer', '--port=8080']), /service\/first-app exposed/)
    const [pod] = await v.readyPods('first-app', 1)
    assert.ok(pod.status.podIP.startsWith('10.244.'), `pod IP ${pod.status.podIP}`)
    for (const h of lab.hosts) {
      const body = await waitFor(`http://${h.ip}:8080/ answers`, async () => {
        const r = await fetch(`http://${h.ip}:8080/`, { signal: AbortSignal.timeout(3000) }).catch(() => undefined)
        return r?.ok === true ? await r.text() : false
      }, { timeoutMs: 20_000, intervalMs: 200 })
      assert.equal(body.trim(), 'shoal test page', `through ${h.name}`)
    }
    // Forwarded by the kernel (DNAT to the pod IP), not relayed by the agents: each host has the rule.
    for (const h of lab.hosts) {
      const nat = await lab.run(h.k, ['iptables', '-w', '-t', 'nat', '-S'])
      assert.match(nat.stdout, new RegExp(`-d ${h.ip.replaceAll('.', '\\.')}/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination ${pod.status.podIP.replaceAll('.', '\\.')}:8080`), `${h.name}'s DNAT rule`)
    }
    // The pod itself through its own Service (hairpin): the cluster IP, and the load balancer port of its own node.
    const svc = await v.api().getJson('/api/v1/namespaces/default/services/first-app', 5000)
    const own = hostOf(lab, pod)
    for (const url of [`http://${svc.spec.clusterIP}:8080/`, `http://${lab.host(own).ip}:8080/`]) {
      assert.equal((await v.fromPod(own, pod.metadata.name, url))?.trim(), 'shoal test page', `the pod reaches itself through ${url}`)
    }
    // A pod on another host through the cluster IP.
    const echo = (await v.readyPods('echo', 3)).find(p => hostOf(lab, p) !== own)
    assert.equal((await v.fromPod(hostOf(lab, echo), echo.metadata.name, `http://${svc.spec.clusterIP}:8080/`))?.trim(), 'shoal test page')
    const out = await v.kubectl(3, ['get', 'pods', '-o', 'wide'])
    assert.match(out, new RegExp(`first-app-\\S+\\s+1/1\\s+Running\\s+\\d+\\s+\\S+\\s+${pod.status.podIP.replaceAll('.', '\\.')}\\s+${pod.spec.nodeName}`), out)
  })

  it('agent restart (SIGKILL, then start): its pods keep their containers, IPs and connectivity', async () => {
    const before = await v.readyPods('echo', 3)
    const onHost2 = before.find(p => hostOf(lab, p) === 2)
    const id = await v.container(2, onHost2.metadata.name)
    await lab.stopAgent(2, 'SIGKILL')
    await lab.startAgent(2)
    await lab.waitReady({ hosts: [2] })
    const after = await v.readyPods('echo', 3)
    assert.deepEqual(after.map(p => [p.metadata.name, p.status.podIP]).sort(), before.map(p => [p.metadata.name, p.status.podIP]).sort(), 'same pods, same IPs')
    assert.equal(await v.container(2, onHost2.metadata.name), id, 'the same container')
    const client = before.find(p => hostOf(lab, p) === 1)
    const body = await waitFor('pod on host 1 → pod on host 2 after the restart', async () => await v.fromPod(1, client.metadata.name, `http://${onHost2.status.podIP}:8080/cgi-bin/ip`) ?? false, { timeoutMs: 10_000, intervalMs: 200 })
    assert.equal(remoteIP(body), client.status.podIP)
    const p = await v.plumbing(2)
    const onHost = (await v.api().getJson('/api/v1/pods?fieldSelector=spec.nodeName%3Dh2', 5000)).items.length
    assert.equal(p.veths.length, onHost, `one veth per pod on host 2, no more: ${p.veths.join(' ')}`)
    assert.equal(new Set(p.allocations).size, p.allocations.length, `no IP handed out twice: ${p.allocations.join(' ')}`)
  })

  it('kill host 2 (power cut): its pods run again on the others with IPs from their ranges, the Service keeps answering, the others drop its routes; back on, it rejoins with its range and its stale containers go', async () => {
    const range2 = await v.podCIDR(2)
    const before = await v.readyPods('echo', 3)
    const gone = before.filter(p => hostOf(lab, p) === 2).map(p => p.metadata.name)
    await lab.kill(2)
    const after = await v.readyPods('echo', 3, { timeoutMs: 60_000, where: p => p.spec.nodeName !== 'h2' })
    for (const p of after) {
      const k = hostOf(lab, p)
      assert.ok(rangeContains(cidr(await v.podCIDR(k)), p.status.podIP), `${p.metadata.name} on ${p.spec.nodeName} has ${p.status.podIP} from its range`)
    }
    assert.ok(after.every(p => !gone.includes(p.metadata.name)), 'the pods of host 2 were replaced')
    for (const k of [1, 3]) {
      await waitFor(`host ${k} drops the route to host 2's ${range2}`, async () => !(await v.podRoutes(k)).some(l => l.startsWith(range2)) || undefined, { timeoutMs: 15_000, intervalMs: 200 })
    }
    for (const k of [1, 3]) {
      const body = await waitFor(`first-app through host ${k}`, async () => {
        const r = await fetch(`http://${lab.host(k).ip}:8080/`, { signal: AbortSignal.timeout(3000) }).catch(() => undefined)
        return r?.ok === true ? await r.text() : false
      }, { timeoutMs: 30_000, intervalMs: 200 })
      assert.equal(body.trim(), 'shoal test page')
    }

    await lab.start(2)
    await lab.waitReady({ hosts: [2] })
    assert.equal(await v.podCIDR(2), range2, 'it keeps its range')
    await waitFor('host 2\'s engine without the containers of its evicted pods', async () => {
      const names = (await lab.docker(2, ['ps', '-a', '--format', '{{.Label "io.shoal.pod.name"}}'])).split('\n').filter(n => n !== '')
      return names.every(n => !gone.includes(n)) || undefined
    }, { timeoutMs: 30_000, intervalMs: 200 })
    for (const k of [1, 3]) {
      await waitFor(`host ${k} routes to host 2's ${range2} again`, async () => (await v.podRoutes(k)).some(l => l.startsWith(`${range2} via ${lab.host(2).ip}`)) || undefined, { timeoutMs: 15_000, intervalMs: 200 })
    }
    const p2 = await v.plumbing(2)
    assert.deepEqual([p2.veths, p2.allocations], [[], []], 'host 2 runs no pod: no veth, no address held')
  })

  it('partition host 3 from hosts 1 and 2, then heal: the majority replaces host 3\'s pods; after the heal host 3 stops its copies, so exactly 3 echo pods run across the engines', async () => {
    const before = await v.readyPods('echo', 3)
    const cut = before.filter(p => hostOf(lab, p) === 3).map(p => p.metadata.name)
    assert.ok(cut.length >= 1, 'host 3 runs an echo pod')
    // Host 2, back from its power cut, first rejoined as a learner: hosts 1 and 2 are a majority once it votes again.
    await waitFor('three voters', async () => {
      const members = (await v.api().getJson('/api/shoal/v1/members', 5000)).items as Json[]
      return members.filter(m => m.raft?.role === 'leader' || m.raft?.role === 'voter').length === 3 || undefined
    }, { timeoutMs: 30_000, intervalMs: 200 })
    await lab.partition([3])
    // Expected: host 3 goes Unknown on the majority's side, its pods are evicted and run again on hosts 1 and 2;
    // host 3's agent, cut off, keeps its containers running (as a kubelet would) until it hears again.
    await waitFor('h3 Unknown on the majority side', async () => readyStatus(await v.node('h3')) === 'Unknown' || undefined, { timeoutMs: 30_000, intervalMs: 200 })
    const moved = await v.readyPods('echo', 3, { where: p => p.spec.nodeName !== 'h3' })
    assert.ok(moved.every(p => !cut.includes(p.metadata.name)))
    assert.deepEqual((await v.running(3, 'echo')).sort(), [...cut].sort(), 'host 3, cut off, still runs its copies')
    await lab.heal()
    await lab.waitReady()
    const running = await waitFor('exactly the 3 echo pods running across the engines', async () => {
      const all = (await Promise.all([1, 2, 3].map(async k => await v.running(k, 'echo')))).flat().sort()
      return all.length === 3 ? all : undefined
    }, { timeoutMs: 30_000, intervalMs: 200 })
    assert.deepEqual(running, moved.map(p => p.metadata.name).sort(), 'the ones the cluster has, none of host 3\'s old copies')
    // And host 3 is on the network again: pod on host 1 → a pod elsewhere, back through host 3's routes.
    for (const k of [1, 2]) await waitFor(`host ${k} routes to host 3 again`, async () => (await v.podRoutes(k)).length === 2 || undefined, { timeoutMs: 15_000, intervalMs: 200 })
  })

  it('delete everything: veths, routes, iptables rules and IP allocations are back to what they were before the first pod', async () => {
    await v.delete('/api/v1/namespaces/default/services/first-app')
    for (const d of ['echo', 'first-app']) await v.delete(`/apis/apps/v1/namespaces/default/deployments/${d}`)
    await waitFor('no pods left', async () => (await v.api().getJson('/api/v1/namespaces/default/pods', 5000)).items.length === 0 || undefined, { timeoutMs: 30_000, intervalMs: 200 })
    for (const k of [1, 2, 3]) {
      const now = await waitFor(`host ${k}'s pod network as before`, async () => {
        const p = await v.plumbing(k)
        return p.veths.length === 0 && p.allocations.length === 0 ? p : false
      }, { timeoutMs: 45_000, intervalMs: 200 }) // first-app, from kubectl create, has Kubernetes' 30 s grace
      assert.deepEqual(now.routes.sort(), [...clean[k - 1]!.routes].sort(), `host ${k}: routes`)
      assert.deepEqual(now.rules.sort(), [...clean[k - 1]!.rules].sort(), `host ${k}: iptables rules`)
      assert.equal((await lab.docker(k, ['ps', '-aq'])).trim(), '', `host ${k}: no containers`)
    }
  })

  it('a node that leaves for good: its bridge, chains and routes go, the others drop its routes, and its Node (with its range) is removed', async () => {
    const range3 = await v.podCIDR(3)
    const r = await lab.run(3, [process.execPath, new URL('../packages/cli/bin/shoal.js', import.meta.url).pathname, 'leave'], { timeoutMs: 30_000 })
    assert.equal(r.code, 0, r.stderr)
    await waitFor('host 3\'s agent stopped', async () => !lab.host(3).agent.running || undefined, { timeoutMs: 15_000, intervalMs: 100 })
    const p3 = await v.plumbing(3)
    assert.deepEqual(p3.rules.filter(l => l.includes('SHOAL')), [], 'no SHOAL chains left on host 3')
    const links = (await lab.run(3, ['ip', '-o', 'link', 'show'])).stdout
    assert.doesNotMatch(links, /shoal-|shvx-/, 'no bridge or VXLAN device left on host 3')
    assert.deepEqual(await v.podRoutes(3), [], 'no routes to other ranges on host 3')
    for (const k of [1, 2]) {
      await waitFor(`host ${k} drops host 3's ${range3}`, async () => !(await v.podRoutes(k)).some(l => l.startsWith(range3)) || undefined, { timeoutMs: 15_000, intervalMs: 200 })
    }
    await waitFor('node h3 gone', async () => (await v.api().request('GET', '/api/v1/nodes/h3')).status === 404 || undefined, { timeoutMs: 15_000, intervalMs: 200 })
  })
})

/**
 * The same network over a kernel VXLAN overlay (`--network-backend vxlan`),
 * which is what nodes that share no link use: pod → pod across hosts, no NAT.
 */
describe('pod network across hosts (VXLAN, on a lab of 2)', { skip: SKIP }, () => {
  let lab: Lab
  let v: LabView

  before(async () => {
    lab = await Lab.up(2, { agentArgs: ['--network-backend', 'vxlan'] })
    v = new LabView(lab)
  })

  after(async () => {
    await lab?.down()
  })

  it('routes go through a VXLAN device, and pod → pod across hosts answers with the client pod\'s IP', async () => {
    const ranges = await Promise.all([1, 2].map(async k => await v.podCIDR(k)))
    for (const k of [1, 2]) {
      const other = ranges[2 - k]!
      const routes = await waitFor(`host ${k} routes ${other} over VXLAN`, async () => {
        const now = await v.podRoutes(k)
        return now.some(l => l.startsWith(other) && / dev shvx-/.test(l)) ? now : false
      }, { timeoutMs: 10_000, intervalMs: 200 })
      assert.equal(routes.length, 1, routes.join(' | '))
    }
    await v.create('echo', 2)
    const pods = await v.readyPods('echo', 2)
    assert.deepEqual(pods.map(p => hostOf(lab, p)).sort(), [1, 2])
    const [a, b] = [1, 2].map(k => pods.find(p => hostOf(lab, p) === k))
    const body = await v.fromPod(1, a.metadata.name, `http://${b.status.podIP}:8080/cgi-bin/ip`)
    assert.equal(remoteIP(body ?? ''), a.status.podIP)
    // A host reaches a pod across the overlay from its VXLAN device's address, the first of its own range.
    assert.equal(remoteIP(await v.fromHost(2, `http://${a.status.podIP}:8080/cgi-bin/ip`) ?? ''), ranges[1]!.split('/')[0])
  })
})
