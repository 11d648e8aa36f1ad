import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { request as httpRequest } from 'node:http'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { AgentProcess, scratchDir, shoal, type RunResult } from './helpers/agents.ts'
import { waitFor } from './helpers/wait.ts'
import { raftStatus } from './helpers/store.ts'

const run = promisify(execFile)
const IMAGE = 'shoal-test/busybox:1'
const PODS = '/api/v1/namespaces/default/pods'

type Json = any

/** This node's containers in Docker, by the kubelet's labels. */
async function containers (node: string, pod?: string): Promise<Array<{ id: string, name: string, state: string, role: string, container: string }>> {
  const filters = ['--filter', `label=io.shoal.node=${node}`, ...(pod !== undefined ? ['--filter', `label=io.shoal.pod.name=${pod}`] : [])]
  const { stdout } = await run('docker', ['ps', '-a', '--no-trunc', ...filters, '--format', '{{.ID}} {{.Names}} {{.State}} {{.Label "io.shoal.role"}} {{.Label "io.shoal.container.name"}}'])
  return stdout.trim().split('\n').filter(l => l !== '').map(l => {
    const [id, name, state, role, container] = l.split(' ')
    return { id: id!, name: name!, state: state!, role: role!, container: container ?? '' }
  })
}

async function removeContainersOf (node: string): Promise<void> {
  const ids = (await containers(node)).map(c => c.id)
  if (ids.length > 0) await run('docker', ['rm', '-f', ...ids])
}

function httpGet (host: string, port: number, path = '/'): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    httpRequest({ host, port, path, timeout: 2000 }, res => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    }).on('error', reject).on('timeout', function (this: { destroy: () => void }) { this.destroy() }).end()
  })
}

/** A unix socket that forwards to the Docker engine's, to take the engine away from one agent and give it back. */
async function engineProxy (path: string): Promise<{ close: () => Promise<void> }> {
  const open = new Set<Socket>()
  const server: Server = createServer(client => {
    const engine = connect('/var/run/docker.sock')
    open.add(client)
    open.add(engine)
    client.pipe(engine).pipe(client)
    const end = (): void => { client.destroy(); engine.destroy(); open.delete(client); open.delete(engine) }
    client.on('error', end).on('close', end)
    engine.on('error', end).on('close', end)
  })
  await new Promise<void>(resolve => server.listen(path, resolve))
  return {
    close: async () => {
      for (const s of open) s.destroy()
      await new Promise<void>(resolve => server.close(() => { resolve() }))
    }
  }
}

/**
 * The kubelet, against the real Docker engine: two agents, pods bound to
 * the first by `spec.nodeName` (the scheduler comes with the controllers);
 * the second reads their status and reaches their logs and exec over the
 * mesh.
 */
describe('the kubelet runs pods in Docker', () => {
  const scratch = scratchDir('kubelet')
  const a1 = new AgentProcess(scratch.path, 'kubelet-1', '127.0.0.161')
  const a2 = new AgentProcess(scratch.path, 'kubelet-2', '127.0.0.162')
  const via = async (a: AgentProcess, args: readonly string[]): Promise<RunResult> => await shoal([...args.slice(0, args.indexOf('--') < 0 ? args.length : args.indexOf('--')), '--kubeconfig', a.kubeconfig, ...(args.indexOf('--') < 0 ? [] : args.slice(args.indexOf('--')))], { timeoutMs: 60_000 })
  const create = async (name: string, spec: Json, node = a1.name): Promise<Json> => {
    // A short grace period: busybox's sh and httpd, as PID 1, ignore SIGTERM and wait out the grace period.
    const res = await a1.request('POST', PODS, { json: { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { test: 'kubelet' } }, spec: { nodeName: node, terminationGracePeriodSeconds: 1, ...spec } } })
    assert.equal(res.status, 201, res.text)
    return JSON.parse(res.text)
  }
  const pod = async (a: AgentProcess, name: string): Promise<Json> => await a.getJson(`${PODS}/${name}`)
  const waitPod = async (name: string, what: string, check: (p: Json) => boolean, timeoutMs = 20_000, a = a1): Promise<Json> =>
    await waitFor(`${name}: ${what}`, async () => { const p = await pod(a, name); return check(p) ? p : false }, { timeoutMs, intervalMs: 100 })
  const containerStatus = (p: Json, name: string): Json => (p.status?.containerStatuses ?? []).find((c: Json) => c.name === name)
  const removePod = async (name: string): Promise<void> => {
    const res = await a1.request('DELETE', `${PODS}/${name}`)
    assert.equal(res.status, 200, res.text)
  }

  before(async () => {
    await run('bash', [new URL('./images/build.sh', import.meta.url).pathname])
    await a1.start(['--backoff-initial-ms', '1000', '--backoff-max-ms', '4000'])
    const token = (await shoal(['token', '--data-dir', a1.dataDir])).stdout.trim()
    await a2.start(['--join', a1.ip, '--token', token])
    await waitFor('two members in Raft', async () => (await raftStatus(a1)).conf.learners.length + (await raftStatus(a1)).conf.voters.length === 2, { timeoutMs: 15_000 })
  })

  after(async () => {
    await Promise.all([a1.destroy(), a2.destroy()])
    await removeContainersOf(a1.name)
    await removeContainersOf(a2.name)
    scratch.remove()
  })

  it('a busybox httpd pod runs, turns Ready through its readiness probe and answers on its published port; any node shows it', async () => {
    await create('web', {
      containers: [{
        name: 'httpd',
        image: IMAGE,
        command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
        ports: [{ containerPort: 8080, name: 'http' }],
        readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 }
      }]
    })
    const p = await waitPod('web', 'Ready', p => p.status?.conditions?.some((c: Json) => c.type === 'Ready' && c.status === 'True'))
    assert.equal(p.status.phase, 'Running')
    assert.equal(p.status.hostIP, a1.ip)
    assert.match(p.status.podIP, /^\d+\.\d+\.\d+\.\d+$/)
    const httpd = containerStatus(p, 'httpd')
    assert.equal(httpd.ready, true)
    assert.equal(httpd.restartCount, 0)
    assert.ok(httpd.state.running.startedAt)
    assert.match(httpd.containerID, /^docker:\/\/[0-9a-f]{64}$/)
    // On the pod network the pod answers at its own address; a port without a hostPort is published nowhere.
    assert.deepEqual(p.status.hostPorts, [])
    assert.deepEqual(await httpGet(p.status.podIP, 8080), { status: 200, body: 'shoal test page\n' })
    // The other agent's replica has the status the leader committed.
    await waitPod('web', 'Running on the other agent', p => p.status?.phase === 'Running', 5_000, a2)
    const table = await via(a2, ['get', 'pods', '-o', 'wide'])
    assert.match(table.stdout, new RegExp(`\\nweb\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+${p.status.podIP.replace(/\./g, '\\.')}\\s+${a1.name}\\s`))
    const mine = await containers(a1.name, 'web')
    assert.deepEqual(mine.map(c => `${c.role}/${c.container}/${c.state}`).sort(), ['app/httpd/running', 'sandbox//running'])
  })

  it('logs (and -f) and exec reach the pod from the other agent, over the mesh', async () => {
    await create('talker', { containers: [{ name: 'c', image: IMAGE, command: ['sh', '-c', 'i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done'] }] })
    await waitPod('talker', 'Running', p => p.status?.phase === 'Running')
    await waitFor('two lines of log', async () => (await via(a2, ['logs', 'talker'])).stdout.includes('line 1\n'))
    const tail = await via(a2, ['logs', 'talker', '--tail', '1'])
    assert.match(tail.stdout, /^line \d+\n$/)
    const follow = await new Promise<string>((resolve, reject) => {
      // A follow stays open: read until a few more lines came, then stop it.
      const child = execFile(process.execPath, [new URL('../packages/cli/bin/shoal.js', import.meta.url).pathname, 'logs', '-f', 'talker', '--tail', '1', '--kubeconfig', a2.kubeconfig])
      let out = ''
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString()
        if (out.split('\n').length > 4) { child.kill(); resolve(out) }
      })
      child.on('error', reject)
      setTimeout(() => { child.kill(); reject(new Error(`follow printed only ${JSON.stringify(out)}`)) }, 15_000).unref()
    })
    const numbers = follow.trim().split('\n').map(l => Number(/^line (\d+)$/.exec(l)?.[1]))
    assert.ok(numbers.every((n, i) => i === 0 || n === numbers[i - 1]! + 1), `consecutive lines: ${follow}`)
    const exec = await via(a2, ['exec', 'talker', '--', 'sh', '-c', 'echo out; echo err >&2; exit 7'])
    assert.equal(exec.code, 7)
    assert.equal(exec.stdout, 'out\n')
    assert.equal(exec.stderr, 'err\ncommand terminated with exit code 7\n')
    const stdin = await shoal(['exec', 'talker', '-i', '--kubeconfig', a2.kubeconfig, '--', 'tr', 'a-z', 'A-Z'], { input: 'shout\n' })
    assert.equal(stdin.stdout, 'SHOUT\n')
    // The stock kubectl reads the same log endpoint (its exec speaks SPDY/WebSocket, which Shoal does not serve).
    const kubectl = await run(process.env.KUBECTL ?? 'kubectl', [`--kubeconfig=${a2.kubeconfig}`, 'logs', 'talker', '--tail=2']).catch((err: Error & { code?: unknown }) => err.code === 'ENOENT' ? undefined : Promise.reject(err))
    if (kubectl !== undefined) assert.match(kubectl.stdout, /^line \d+\nline \d+\n$/)
    await removePod('talker')
  })

  it('a failing liveness probe restarts the container; the restart count goes up', async () => {
    await create('sick', {
      containers: [{
        name: 'c',
        image: IMAGE,
        command: ['sh', '-c', 'touch /tmp/healthy; sleep 1; rm /tmp/healthy; sleep 3600'],
        livenessProbe: { exec: { command: ['cat', '/tmp/healthy'] }, periodSeconds: 1, failureThreshold: 2 }
      }]
    })
    const p = await waitPod('sick', 'restarted by its liveness probe', p => (containerStatus(p, 'c')?.restartCount ?? 0) >= 1, 30_000)
    assert.equal(containerStatus(p, 'c').lastState.terminated.reason, 'Error')
    const events = (await a1.getJson('/api/v1/namespaces/default/events')).items.filter((e: Json) => e.involvedObject.name === 'sick')
    assert.ok(events.some((e: Json) => e.reason === 'Unhealthy' && /^Liveness probe failed: cat: can't open '\/tmp\/healthy'/.test(e.message)), JSON.stringify(events.map((e: Json) => e.message)))
    assert.ok(events.some((e: Json) => e.reason === 'Killing' && e.message === 'Container c failed liveness probe, will be restarted'))
    await removePod('sick')
  })

  it('a command that exits 1 ends in CrashLoopBackOff, with growing delays', async () => {
    await create('crasher', { containers: [{ name: 'c', image: IMAGE, command: ['sh', '-c', 'echo dying; exit 1'] }] })
    const messages = new Set<string>()
    await waitFor('back-off 1s, 2s and 4s', async () => {
      const c = containerStatus(await pod(a1, 'crasher'), 'c')
      if (c?.state?.waiting?.reason === 'CrashLoopBackOff') messages.add(c.state.waiting.message)
      return ['1s', '2s', '4s'].every(d => [...messages].some(m => m.startsWith(`back-off ${d} restarting failed container=c pod=crasher_default(`)))
    }, { timeoutMs: 40_000, intervalMs: 100 })
    const p = await pod(a1, 'crasher')
    assert.ok(containerStatus(p, 'c').restartCount >= 3)
    assert.equal(containerStatus(p, 'c').lastState.terminated.exitCode, 1)
    assert.equal((await via(a1, ['logs', 'crasher', '--previous'])).stdout, 'dying\n')
    // Only the latest attempt and the one before are kept.
    assert.ok((await containers(a1.name, 'crasher')).filter(c => c.role === 'app').length <= 2)
    await removePod('crasher')
  })

  it('limits reach Docker; two containers share an emptyDir and localhost', async () => {
    await create('pair', {
      volumes: [{ name: 'shared', emptyDir: {} }],
      containers: [
        { name: 'server', image: IMAGE, command: ['sh', '-c', 'echo from-server > /data/note; httpd -f -p 9000 -h /data'], volumeMounts: [{ name: 'shared', mountPath: '/data' }], resources: { limits: { cpu: '500m', memory: '64Mi' }, requests: { cpu: '250m', memory: '32Mi' } } },
        { name: 'client', image: IMAGE, command: ['sh', '-c', 'sleep 3600'], volumeMounts: [{ name: 'shared', mountPath: '/mnt' }] }
      ]
    })
    await waitPod('pair', 'Running', p => p.status?.containerStatuses?.every((c: Json) => c.ready === true))
    const server = (await containers(a1.name, 'pair')).find(c => c.container === 'server')!
    const { stdout } = await run('docker', ['inspect', '--format', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuQuota}} {{.HostConfig.CpuShares}}', server.id])
    const [memory, nanoCpus, quota, shares] = stdout.trim().split(' ').map(Number)
    assert.equal(memory, 64 * 1024 * 1024)
    assert.ok(nanoCpus === 500_000_000 || quota === 50_000, `cpu limit: ${stdout}`)
    assert.equal(shares, 256)
    const viaLocalhost = await waitFor('the client reads the server over localhost', async () => {
      const r = await via(a1, ['exec', 'pair', '-c', 'client', '--', 'wget', '-q', '-O', '-', 'http://127.0.0.1:9000/note'])
      return r.code === 0 ? r.stdout : false
    })
    assert.equal(viaLocalhost, 'from-server\n')
    assert.equal((await via(a1, ['exec', 'pair', '-c', 'client', '--', 'cat', '/mnt/note'])).stdout, 'from-server\n')
  })

  it('an agent restarted while its pods run adopts their containers instead of starting others', async () => {
    const before = (await containers(a1.name)).filter(c => c.state === 'running').map(c => c.id).sort()
    assert.ok(before.length >= 4, 'web and pair are running')
    const restarts = containerStatus(await pod(a1, 'web'), 'httpd').restartCount
    a1.kill('SIGKILL')
    await a1.waitExit()
    await a1.start(['--backoff-initial-ms', '1000', '--backoff-max-ms', '4000'])
    // The restarted kubelet syncs every pod it finds at start before this new one runs.
    await create('after-restart', { containers: [{ name: 'c', image: IMAGE, command: ['sleep', '3600'] }] })
    await waitPod('after-restart', 'Running', p => p.status?.phase === 'Running')
    const afterIds = (await containers(a1.name)).filter(c => c.state === 'running').map(c => c.id)
    const fresh = (await containers(a1.name, 'after-restart')).map(c => c.id)
    assert.deepEqual(afterIds.filter(id => !fresh.includes(id)).sort(), before)
    await removePod('after-restart')
    assert.equal(containerStatus(await pod(a1, 'web'), 'httpd').restartCount, restarts)
  })

  it('delete removes every container within the grace period plus 2 s', async () => {
    await create('short', { terminationGracePeriodSeconds: 3, containers: [{ name: 'c', image: IMAGE, command: ['sleep', '3600'] }] })
    await waitPod('short', 'Running', p => p.status?.phase === 'Running')
    const started = Date.now()
    await removePod('short')
    await waitFor('no container of short left', async () => (await containers(a1.name, 'short')).length === 0, { timeoutMs: 10_000, intervalMs: 100 })
    assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`)
    // And the rest, to leave nothing behind.
    await removePod('web')
    await removePod('pair')
    await waitFor('no container left on the node', async () => (await containers(a1.name)).length === 0, { timeoutMs: 15_000, intervalMs: 200 })
  })

  it('containers of a pod the store does not have (deleted while the agent was down, or left from an old run) are removed', async () => {
    // A container labelled as this node's, of a pod uid the store never had: what a restarted agent finds after its pod was deleted.
    await run('docker', ['run', '-d', '--label', `io.shoal.node=${a1.name}`, '--label', 'io.shoal.role=app', '--label', 'io.shoal.pod.uid=0000-gone', '--label', 'io.shoal.pod.namespace=default',
      '--label', 'io.shoal.pod.name=ghost', '--label', 'io.shoal.container.name=c', '--label', 'io.shoal.container.attempt=0', '--label', `io.shoal.image=${IMAGE}`, IMAGE, 'sleep', '3600'])
    // Within a resync (5 s) and the minimum grace period (2 s): sleep, as PID 1, ignores SIGTERM.
    await waitFor('the ghost container removed', async () => (await containers(a1.name, 'ghost')).length === 0, { timeoutMs: 15_000, intervalMs: 200 })
  })

  it('shoal leave removes every container of the node', async () => {
    const a5 = new AgentProcess(scratch.path, 'kubelet-5', '127.0.0.165')
    try {
      const token = (await shoal(['token', '--data-dir', a1.dataDir])).stdout.trim()
      await a5.start(['--join', a1.ip, '--token', token])
      await create('leaver', { containers: [{ name: 'c', image: IMAGE, command: ['sleep', '3600'] }] }, a5.name)
      await waitPod('leaver', 'Running', p => p.status?.phase === 'Running')
      assert.equal((await containers(a5.name, 'leaver')).length, 2)
      const left = await shoal(['leave', '--data-dir', a5.dataDir])
      assert.equal(left.code, 0, left.stderr)
      await a5.waitExit(20_000)
      assert.deepEqual(await containers(a5.name), [])
    } finally {
      await a5.destroy()
      await removeContainersOf(a5.name)
      // The node lifecycle controller deletes the pods of a node that left; if it has not yet, this does.
      await a1.request('DELETE', `${PODS}/leaver`)
    }
  })

  describe('bad input and failure are a status, never a crash', () => {
    it('an image that cannot be pulled: ErrImagePull, then ImagePullBackOff, with the engine\'s message', async () => {
      await create('noimage', { containers: [{ name: 'c', image: 'shoal-test/missing:1', imagePullPolicy: 'IfNotPresent' }] })
      const seen = new Set<string>()
      await waitFor('ErrImagePull and ImagePullBackOff', async () => {
        const w = containerStatus(await pod(a1, 'noimage'), 'c')?.state?.waiting
        if (w?.reason !== undefined) seen.add(w.reason)
        return seen.has('ErrImagePull') && seen.has('ImagePullBackOff') ? w : false
      }, { timeoutMs: 60_000, intervalMs: 100 })
      const p = await pod(a1, 'noimage')
      assert.equal(p.status.phase, 'Pending')
      assert.match(containerStatus(p, 'c').state.waiting.message, /shoal-test\/missing/)
      await removePod('noimage')
    })

    it('a command that does not exist in the image: the container\'s reason says so', async () => {
      await create('nocmd', { restartPolicy: 'Never', containers: [{ name: 'c', image: IMAGE, command: ['/no/such/binary'] }] })
      const p = await waitPod('nocmd', 'failed to start', p => {
        const c = containerStatus(p, 'c')
        return /no\/such\/binary/.test(JSON.stringify(c?.state ?? {}))
      }, 20_000)
      assert.match(JSON.stringify(containerStatus(p, 'c').state), /executable file not found|no such file or directory/)
      await removePod('nocmd')
    })

    it('a pod asking for more memory than the node has fails with OutOfmemory', async () => {
      await create('huge', { containers: [{ name: 'c', image: IMAGE, command: ['sleep', '3600'], resources: { requests: { memory: '100Ti' } } }] })
      const p = await waitPod('huge', 'Failed', p => p.status?.phase === 'Failed')
      assert.equal(p.status.reason, 'OutOfmemory')
      assert.match(p.status.message, /^Pod Node didn't have enough resource: memory, requested: \d+, used: \d+, capacity: \d+$/)
      assert.deepEqual(await containers(a1.name, 'huge'), [])
      await removePod('huge')
    })

    it('a host port already taken: the pod says why it cannot start, the agent carries on', async () => {
      await create('port-a', { containers: [{ name: 'c', image: IMAGE, command: ['sleep', '3600'], ports: [{ containerPort: 80, hostPort: 31999 }] }] })
      await waitPod('port-a', 'Running', p => p.status?.phase === 'Running')
      await create('port-b', { containers: [{ name: 'c', image: IMAGE, command: ['sleep', '3600'], ports: [{ containerPort: 80, hostPort: 31999 }] }] })
      const events = await waitFor('an event about the port', async () => {
        const items = (await a1.getJson('/api/v1/namespaces/default/events')).items.filter((e: Json) => e.involvedObject.name === 'port-b' && e.type === 'Warning')
        return items.length > 0 ? items : false
      }, { timeoutMs: 20_000 })
      assert.match(JSON.stringify(events.map((e: Json) => e.message)), /31999|port is already allocated|address already in use/)
      assert.equal((await pod(a1, 'port-b')).status.phase, 'Pending')
      assert.ok(a1.running)
      await removePod('port-a')
      await removePod('port-b')
      await waitFor('no container left on the node', async () => (await containers(a1.name)).length === 0, { timeoutMs: 15_000, intervalMs: 200 })
    })

    it('a node whose Docker engine goes away turns NotReady, saying why, and Ready again when it is back', async () => {
      const a4 = new AgentProcess(scratch.path, 'kubelet-4', '127.0.0.164')
      const socket = join(scratch.path, 'engine.sock')
      let proxy = await engineProxy(socket)
      const readyOf = async (): Promise<Json> => {
        const res = await a1.request('GET', '/api/v1/nodes/kubelet-4')
        return res.status === 200 ? JSON.parse(res.text).status.conditions.find((c: Json) => c.type === 'Ready') : undefined
      }
      try {
        const token = (await shoal(['token', '--data-dir', a1.dataDir])).stdout.trim()
        await a4.start(['--join', a1.ip, '--token', token, '--docker-socket', socket])
        await waitFor('kubelet-4 Ready', async () => (await readyOf())?.status === 'True', { timeoutMs: 20_000 })
        await proxy.close()
        const down = await waitFor('kubelet-4 NotReady', async () => { const r = await readyOf(); return r?.status === 'False' ? r : false }, { timeoutMs: 20_000 })
        assert.equal(down.reason, 'KubeletNotReady')
        assert.match(down.message, /engine\.sock/)
        proxy = await engineProxy(socket)
        await waitFor('kubelet-4 Ready again', async () => (await readyOf())?.status === 'True', { timeoutMs: 20_000 })
        assert.ok(a4.running)
      } finally {
        await a4.destroy()
        await proxy.close()
      }
    })

    it('a node whose Docker engine does not answer is NotReady, saying why', async () => {
      const a3 = new AgentProcess(scratch.path, 'kubelet-3', '127.0.0.163')
      try {
        const token = (await shoal(['token', '--data-dir', a1.dataDir])).stdout.trim()
        await a3.start(['--join', a1.ip, '--token', token, '--docker-socket', '/nonexistent/docker.sock'])
        const node = await waitFor('kubelet-3 NotReady', async () => {
          const res = await a1.request('GET', '/api/v1/nodes/kubelet-3')
          if (res.status !== 200) return false
          const ready = JSON.parse(res.text).status.conditions.find((c: Json) => c.type === 'Ready')
          // A node registers NotReady until its pod network is set up; then the engine's absence is the reason.
          return ready?.status === 'False' && /nonexistent/.test(ready.message) ? ready : false
        }, { timeoutMs: 20_000 })
        assert.equal(node.reason, 'KubeletNotReady')
        assert.match(node.message, /^container runtime is down: .*\/nonexistent\/docker\.sock/)
      } finally {
        await a3.destroy()
      }
    })
  })
})
