import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { AgentProcess, scratchDir, shoal, type RunResult } from './helpers/agents.ts'
import { waitFor } from './helpers/wait.ts'
import { raftStatus } from './helpers/store.ts'

const run = promisify(execFile)
type Json = any

const haveKubectl = await new Promise<boolean>(resolve => execFile(process.env.KUBECTL ?? 'kubectl', ['version', '--client'], err => { resolve(err === null) }))

/** Containers in Docker of node `node` (its kubelet's label), running or not. */
async function containersOf (node: string): Promise<Array<{ id: string, pod: string, role: string, state: string }>> {
  const { stdout } = await run('docker', ['ps', '-a', '--no-trunc', '--filter', `label=io.shoal.node=${node}`, '--format', '{{.ID}} {{.Label "io.shoal.pod.name"}} {{.Label "io.shoal.role"}} {{.State}}'])
  return stdout.trim().split('\n').filter(l => l !== '').map(l => {
    const [id, pod, role, state] = l.split(' ')
    return { id: id!, pod: pod!, role: role!, state: state! }
  })
}

/** A Deployment of `replicas` busybox pods that sleep (label app=NAME), as a YAML manifest. */
const sleepDeploymentYaml = (name: string, replicas: number): string => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: c, image: shoal-test/busybox:1, command: [sleep, '3600']}]
`

const isReady = (p: Json): boolean => p.status?.phase === 'Running' && (p.status?.conditions ?? []).some((c: Json) => c.type === 'Ready' && c.status === 'True')

/**
 * The seed scenario of the Kubernetes basics, end to end on three agents
 * (127.0.0.11-13) with real Docker: create a deployment, scale it across the
 * nodes, survive a container removed behind the kubelet's back, a pod
 * deleted, a node killed; a rolling update that keeps every replica ready,
 * an undo, a manifest applied, everything deleted; and a leader killed in
 * the middle of a scale-up.
 */
describe('the seed scenario: three agents, deployments, scaling, self-healing', () => {
  const scratch = scratchDir('seed')
  const agents = [11, 12, 13].map(i => new AgentProcess(scratch.path, `seed-${i}`, `127.0.0.${i}`))
  const [a1, a2, a3] = agents as [AgentProcess, AgentProcess, AgentProcess]
  let token = ''
  const sh = async (args: readonly string[], via = a1): Promise<RunResult> => {
    const r = await shoal([...args, '--kubeconfig', via.kubeconfig], { timeoutMs: 90_000 })
    assert.equal(r.code, 0, `shoal ${args.join(' ')}: ${r.stderr}`)
    return r
  }
  /** The app's pods as an agent that is up sees them. */
  const pods = async (app: string, via = a1): Promise<Json[]> => (await via.getJson(`/api/v1/namespaces/default/pods?labelSelector=app%3D${app}`)).items
  const readyPods = async (app: string, n: number, via = a1): Promise<Json[] | false> => {
    const items = await pods(app, via)
    return items.length === n && items.every(isReady) ? items : false
  }

  before(async () => {
    await run('bash', [new URL('./images/build.sh', import.meta.url).pathname])
    await a1.start()
    token = (await shoal(['token', '--data-dir', a1.dataDir])).stdout.trim()
    await a2.start(['--join', a1.ip, '--token', token])
    await a3.start(['--join', a1.ip, '--token', token])
    await waitFor('three Ready nodes', async () => {
      const nodes = (await a1.getJson('/api/v1/nodes')).items as Json[]
      return nodes.length === 3 && nodes.every(n => n.status.conditions.some((c: Json) => c.type === 'Ready' && c.status === 'True'))
    }, { timeoutMs: 30_000, intervalMs: 200 })
    await waitFor('three voters', async () => (await raftStatus(a1)).conf.voters.length === 3, { timeoutMs: 30_000, intervalMs: 200 })
  })

  after(async () => {
    await Promise.all(agents.map(async a => await a.destroy()))
    scratch.remove()
  })

  it('create deployment, get, scale to 3: one pod on each node', async () => {
    assert.match((await sh(['create', 'deployment', 'first-app', '--image=shoal-test/web:1'])).stdout, /deployment\.apps\/first-app created/)
    await waitFor('one Ready pod', async () => await readyPods('first-app', 1), { timeoutMs: 20_000 })
    assert.match((await sh(['get', 'deployments'])).stdout, /\nfirst-app\s+1\/1\s+1\s+1\s+\d+s\n/)
    assert.match((await sh(['get', 'pods'], a2)).stdout, /\nfirst-app-[a-z0-9]+-[a-z0-9]{5}\s+1\/1\s+Running\s+0\s+/)
    await sh(['scale', 'deployment', 'first-app', '--replicas=3'])
    const three = await waitFor('three Ready pods', async () => await readyPods('first-app', 3), { timeoutMs: 20_000 })
    assert.deepEqual(three.map(p => p.spec.nodeName).sort(), [a1.name, a2.name, a3.name], 'spread over the three nodes')
  })

  it('a container removed behind the kubelet\'s back is started again', async () => {
    const victim = (await pods('first-app')).find(p => p.spec.nodeName === a2.name)
    const app = (await containersOf(a2.name)).find(c => c.pod === victim.metadata.name && c.role === 'app' && c.state === 'running')!
    await run('docker', ['rm', '-f', app.id])
    const back = await waitFor('the pod running a new container', async () => {
      const p = (await pods('first-app')).find(x => x.metadata.uid === victim.metadata.uid)
      const id = p?.status?.containerStatuses?.[0]?.containerID
      return p !== undefined && isReady(p) && id !== undefined && id !== `docker://${app.id}` ? p : false
    }, { timeoutMs: 20_000 })
    assert.ok(back.status.containerStatuses[0].restartCount >= 1)
  })

  it('a deleted pod is replaced', async () => {
    const before = await pods('first-app')
    const victim = before[0].metadata.name
    await sh(['delete', 'pod', victim])
    const now = await waitFor('three Ready pods, the deleted one replaced', async () => {
      const items = await readyPods('first-app', 3)
      return items !== false && items.every(p => p.metadata.name !== victim) ? items : false
    }, { timeoutMs: 20_000 })
    assert.equal(now.length, 3)
  })

  it('a node killed: its pods run again on the other two within 10 s; back, it removes what it no longer owns', async () => {
    const onA3 = (await pods('first-app')).filter(p => p.spec.nodeName === a3.name).map(p => p.metadata.name)
    assert.ok(onA3.length >= 1)
    const killed = Date.now()
    a3.kill('SIGKILL')
    await a3.waitExit()
    const replaced = await waitFor('three Ready pods on the other two nodes', async () => {
      const items = await readyPods('first-app', 3)
      return items !== false && items.every(p => p.spec.nodeName !== a3.name) ? items : false
    }, { timeoutMs: 30_000, intervalMs: 100 })
    const took = Date.now() - killed
    assert.ok(took < 10_000, `took ${took} ms`)
    assert.equal(replaced.length, 3)
    // Its containers kept running while its agent was dead; back, the agent removes them.
    assert.ok((await containersOf(a3.name)).some(c => c.state === 'running'))
    await a3.start()
    // Stopped with the pod's grace period (30 s by default), which busybox httpd, ignoring SIGTERM, waits out.
    await waitFor('a3 has no container left of first-app', async () => (await containersOf(a3.name)).filter(c => onA3.includes(c.pod)).length === 0, { timeoutMs: 50_000, intervalMs: 200 })
  })

  it('set image rolls the deployment out without ever having fewer than 3 Ready pods; rollout undo brings the old image back', async () => {
    let lowest = Infinity
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        const items = await pods('first-app').catch(() => undefined)
        if (items !== undefined) lowest = Math.min(lowest, items.filter(isReady).length)
        await new Promise(resolve => setTimeout(resolve, 25))
      }
    })()
    try {
      await sh(['set', 'image', 'deployment/first-app', 'web=shoal-test/web:2'])
      const status = await sh(['rollout', 'status', 'deployment/first-app', '--timeout=60s'])
      assert.match(status.stdout, /deployment "first-app" successfully rolled out/)
      await waitFor('three Ready pods of web:2', async () => {
        const items = await readyPods('first-app', 3)
        return items !== false && items.every(p => p.spec.containers[0].image === 'shoal-test/web:2')
      }, { timeoutMs: 20_000 })
    } finally {
      sampling = false
      await sampler
    }
    assert.ok(lowest >= 3, `Ready pods fell to ${lowest}`)
    await sh(['rollout', 'undo', 'deployment/first-app'])
    await sh(['rollout', 'status', 'deployment/first-app', '--timeout=60s'])
    await waitFor('three Ready pods of web:1 again', async () => {
      const items = await readyPods('first-app', 3)
      return items !== false && items.every(p => p.spec.containers[0].image === 'shoal-test/web:1')
    }, { timeoutMs: 20_000 })
    const history = await sh(['rollout', 'history', 'deployment/first-app'])
    assert.match(history.stdout, /\n2\s+<none>\n3\s+<none>\n/)
  })

  it('the stock kubectl follows a rollout and undoes it', { skip: haveKubectl ? false : 'kubectl is not installed on this machine' }, async () => {
    const kubectl = async (args: string[]): Promise<{ stdout: string, stderr: string }> =>
      await run(process.env.KUBECTL ?? 'kubectl', [`--kubeconfig=${a2.kubeconfig}`, `--cache-dir=${join(scratch.path, 'kube-cache')}`, ...args], { timeout: 90_000 })
    await kubectl(['set', 'image', 'deployment/first-app', 'web=shoal-test/web:2'])
    const status = await kubectl(['rollout', 'status', 'deployment/first-app', '--timeout=60s'])
    assert.match(status.stdout, /deployment "first-app" successfully rolled out/)
    const undo = await kubectl(['rollout', 'undo', 'deployment/first-app'])
    assert.match(undo.stdout, /deployment\.apps\/first-app rolled back/)
    await kubectl(['rollout', 'status', 'deployment/first-app', '--timeout=60s'])
    await waitFor('three Ready pods of web:1 after kubectl undo', async () => {
      const items = await readyPods('first-app', 3)
      return items !== false && items.every(p => p.spec.containers[0].image === 'shoal-test/web:1')
    }, { timeoutMs: 30_000 })
  })

  it('apply -f of a YAML Deployment; then delete: every container gone', async () => {
    const file = join(scratch.path, 'hello.yaml')
    writeFileSync(file, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
spec:
  replicas: 2
  selector:
    matchLabels:
      app: hello
  template:
    metadata:
      labels:
        app: hello
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: shoal-test/web:1
        ports:
        - containerPort: 8080
        readinessProbe:
          httpGet: {path: /, port: 8080}
          periodSeconds: 1
`)
    assert.match((await sh(['apply', '-f', file])).stdout, /deployment\.apps\/hello created/)
    await waitFor('two Ready hello pods', async () => await readyPods('hello', 2), { timeoutMs: 20_000 })
    await sh(['delete', '-f', file])
    await sh(['delete', 'deployment', 'first-app'])
    // first-app's busybox httpd ignores SIGTERM: its default 30 s grace period runs out.
    await waitFor('no container left on any node', async () => (await Promise.all(agents.map(async a => await containersOf(a.name)))).every(list => list.length === 0), { timeoutMs: 60_000, intervalMs: 250 })
    assert.deepEqual((await a1.getJson('/apis/apps/v1/namespaces/default/replicasets')).items, [])
  })

  it('drain moves a node\'s pods to the others and leaves it cordoned; uncordon takes pods again', async () => {
    const file = join(scratch.path, 'spread.yaml')
    writeFileSync(file, sleepDeploymentYaml('spread', 3))
    await sh(['apply', '-f', file])
    const before = await waitFor('three Ready spread pods', async () => await readyPods('spread', 3), { timeoutMs: 20_000 })
    const onA2 = before.filter(p => p.spec.nodeName === a2.name).map(p => p.metadata.name)
    assert.ok(onA2.length >= 1)
    const drained = await sh(['drain', a2.name, '--timeout=60s'])
    assert.match(drained.stdout, new RegExp(`node/${a2.name} cordoned`))
    for (const name of onA2) assert.match(drained.stdout, new RegExp(`pod/${name} evicted`))
    assert.match(drained.stdout, new RegExp(`node/${a2.name} drained\\n$`))
    const after = await waitFor('three Ready spread pods off the drained node', async () => {
      const items = await readyPods('spread', 3)
      return items !== false && items.every(p => p.spec.nodeName !== a2.name) ? items : false
    }, { timeoutMs: 20_000 })
    assert.equal(after.length, 3)
    assert.equal((await a1.getJson(`/api/v1/nodes/${a2.name}`)).spec.unschedulable, true)
    assert.match((await sh(['uncordon', a2.name])).stdout, new RegExp(`node/${a2.name} uncordoned`))
    await sh(['scale', 'deployment', 'spread', '--replicas=6'])
    const six = await waitFor('six Ready spread pods', async () => await readyPods('spread', 6), { timeoutMs: 20_000 })
    assert.ok(six.some(p => p.spec.nodeName === a2.name), 'the uncordoned node takes pods again')
    await sh(['delete', '-f', file])
  })

  it('delete --cascade=orphan leaves the ReplicaSet and its pods running; --cascade=foreground takes them all at once', async () => {
    const file = join(scratch.path, 'orphanage.yaml')
    writeFileSync(file, sleepDeploymentYaml('orphanage', 2))
    await sh(['apply', '-f', file])
    const running = await waitFor('two Ready orphanage pods', async () => await readyPods('orphanage', 2), { timeoutMs: 20_000 })
    await sh(['delete', 'deployment', 'orphanage', '--cascade=orphan'])
    const rsList = async (): Promise<Json[]> => (await a1.getJson('/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dorphanage')).items
    const [rs] = await rsList()
    assert.ok(rs !== undefined, 'the ReplicaSet stays')
    assert.equal(rs.metadata.ownerReferences, undefined, 'without its owner')
    // A Deployment created now is seen by a control round that also runs the garbage collector: after it, the orphans must still be there.
    await sh(['create', 'deployment', 'round-marker', '--image=shoal-test/web:1', '--replicas=0'])
    await waitFor('a control round after the orphaning', async () => (await a1.getJson('/apis/apps/v1/namespaces/default/deployments/round-marker')).status?.observedGeneration === 1)
    await sh(['delete', 'deployment', 'round-marker'])
    assert.deepEqual((await pods('orphanage')).map(p => p.metadata.uid).sort(), running.map(p => p.metadata.uid).sort())
    await sh(['delete', 'replicaset', rs.metadata.name, '--cascade=foreground'])
    assert.deepEqual(await rsList(), [])
    assert.deepEqual(await pods('orphanage'), [], 'the pods went in the same step')
  })

  it('the leader killed in the middle of a scale-up: the new leader finishes it, one pod per slot', async () => {
    const file = join(scratch.path, 'grow.yaml')
    writeFileSync(file, sleepDeploymentYaml('grow', 1))
    await sh(['apply', '-f', file])
    await waitFor('one Ready grow pod', async () => await readyPods('grow', 1), { timeoutMs: 20_000 })
    const leaderName = (await raftStatus(a1)).leader
    const leader = agents.find(a => a.name === leaderName)!
    const other = agents.find(a => a !== leader)!
    await sh(['scale', 'deployment', 'grow', '--replicas=6'], other)
    leader.kill('SIGKILL')
    await leader.waitExit()
    const six = await waitFor('six Ready grow pods under the new leader', async () => await readyPods('grow', 6, other), { timeoutMs: 40_000, intervalMs: 200 })
    assert.equal(new Set(six.map(p => p.metadata.name)).size, 6)
    // Never more pods than replicas: no slot was filled twice.
    const all = (await other.getJson('/api/v1/namespaces/default/pods?labelSelector=app%3Dgrow')).items
    assert.equal(all.length, 6)
    await leader.start()
    await sh(['delete', '-f', file], other)
  })
})
