import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { createServer, connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import Docker from 'dockerode'
import { noopLogger } from '@shoal/core/logger.ts'
import type { ContainerConfig, ObservedContainer, SandboxConfig } from '@shoal/core/kubelet/types.ts'
import { createDockerRuntime } from './docker.ts'
import { ContainerError, RuntimeDownError, type ContainerRuntime } from './runtime.ts'
import { LABEL, milliCpuToShares, toSecond } from './docker-spec.ts'
import { createDemuxer } from './docker-stream.ts'
import { parseImageRef, withDefaultTag } from '@shoal/core/images/ref.ts'
import { ensurePauseImage, pauseElf } from './pause-image.ts'
import { waitFor } from '@shoal/core/testing/wait.ts'

/**
 * Against the real Docker engine (test/images/build.sh makes shoal-test/busybox:1).
 * Every container carries a node label unique to this run; `after` removes them all.
 */
const BUSYBOX = 'shoal-test/busybox:1'
const RUN = `${process.pid}-${Date.now().toString(36)}`
const NODE = `docker-test-${RUN}`
const docker = new Docker({ socketPath: '/var/run/docker.sock' })

async function readAll (stream: Readable): Promise<string> {
  let text = ''
  for await (const chunk of stream) text += (chunk as Buffer).toString()
  return text
}

function sandboxConfig (podName: string, ports: SandboxConfig['ports'] = [], sharedIpc = true): SandboxConfig {
  return { podUid: randomUUID(), namespace: 'default', podName, hostname: podName, hostIP: '127.0.0.1', ports, sharedIpc }
}

function appConfig (sandbox: SandboxConfig, containerName: string, extra: Partial<ContainerConfig> = {}): ContainerConfig {
  return {
    podUid: sandbox.podUid,
    namespace: sandbox.namespace,
    podName: sandbox.podName,
    containerName,
    attempt: 0,
    image: BUSYBOX,
    env: [],
    mounts: [],
    tmpfs: [],
    tty: false,
    stdin: false,
    stopTimeoutSeconds: 1,
    sharedIpc: sandbox.sharedIpc,
    ...extra
  }
}

async function execText (rt: ContainerRuntime, id: string, command: string[], stdin?: Readable): Promise<{ stdout: string, stderr: string, exitCode: number }> {
  const session = await rt.exec(id, command, { tty: false, ...(stdin !== undefined ? { stdin } : {}) })
  const [stdout, stderr] = await Promise.all([readAll(session.stdout), readAll(session.stderr)])
  return { stdout, stderr, exitCode: await session.exitCode }
}

describe('docker runtime (real engine)', () => {
  const rt = createDockerRuntime({ node: NODE, log: noopLogger })
  const cleanupImages: string[] = []
  let shared = ''
  let pod: SandboxConfig
  let sandbox: ObservedContainer
  let web = ''
  let client = ''

  /** Run a busybox container of the shared pod to completion and return it. */
  async function runToEnd (name: string, extra: Partial<ContainerConfig>): Promise<ObservedContainer> {
    const id = await rt.createContainer(sandbox.id, appConfig(pod, name, extra))
    await rt.startContainer(id)
    return await waitFor(`${name} to exit`, async () => {
      const c = await rt.inspect(id)
      return c?.state === 'exited' ? c : undefined
    })
  }

  before(async () => {
    await docker.getImage(BUSYBOX).inspect() // run test/images/build.sh when this fails
    shared = await mkdtemp(join(tmpdir(), 'shoal-docker-'))
    pod = sandboxConfig('web-1', [
      { containerName: 'web', name: 'http', containerPort: 8080, protocol: 'TCP' }
    ])
    sandbox = await rt.runSandbox(pod)
    web = await rt.createContainer(sandbox.id, appConfig(pod, 'web', {
      command: ['sh', '-c', 'echo from-web > /shared/hello && exec httpd -f -p 8080 -h /www'],
      mounts: [{ source: shared, target: '/shared', readOnly: false }]
    }))
    client = await rt.createContainer(sandbox.id, appConfig(pod, 'client', {
      command: ['sleep', '3600'],
      mounts: [{ source: shared, target: '/shared', readOnly: true }],
      tmpfs: [{ target: '/scratch', sizeBytes: 1 << 20 }]
    }))
    await rt.startContainer(web)
    await rt.startContainer(client)
  })

  after(async () => {
    await rt.close()
    const ours = await docker.listContainers({ all: true, filters: { label: [`${LABEL.node}=${NODE}`] } })
    await Promise.all(ours.map(async c => await rt.removeContainer(c.Id)))
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL.node}=${NODE}`] } })
    for (const image of cleanupImages) await docker.getImage(image).remove({ force: true }).catch(() => {})
    if (shared !== '') await rm(shared, { recursive: true, force: true })
    assert.deepEqual(left.map(c => c.Names), [], 'containers left behind')
  })

  it('builds the pause image once and reuses it', async () => {
    const image = `shoal-test/pause:${RUN}`
    cleanupImages.push(image)
    assert.equal(await ensurePauseImage(docker, image), true)
    assert.equal(await ensurePauseImage(docker, image), false)
    const info = await docker.getImage(image).inspect()
    assert.deepEqual(info.Config.Cmd, ['/pause'])
    // Content-addressed and reproducible: a second build (another agent, another engine) is the same image.
    const twin = `shoal-test/pause-twin:${RUN}`
    cleanupImages.push(twin)
    assert.equal(await ensurePauseImage(docker, twin), true)
    assert.equal((await docker.getImage(twin).inspect()).Id, info.Id)
    // Every sandbox runs the one image the runtime made (or found).
    const otherPod = sandboxConfig('other-1')
    const other = await rt.runSandbox(otherPod)
    assert.equal(other.imageID, sandbox.imageID)
    assert.equal(other.state, 'running')
    // The pause program ignores SIGTERM: the sandbox is killed at once, whatever the grace.
    const t0 = Date.now()
    await rt.stopContainer(other.id, 30)
    assert.ok(Date.now() - t0 < 5_000, 'sandbox stopped without waiting for the grace period')
    assert.equal((await rt.inspect(other.id))?.state, 'exited')
    // A dead sandbox of the same pod is replaced under the same name.
    const replaced = await rt.runSandbox(otherPod)
    assert.notEqual(replaced.id, other.id)
    assert.equal(replaced.state, 'running')
    assert.equal(await rt.inspect(other.id), undefined)
    assert.throws(() => pauseElf('riscv64'), /architecture riscv64/)
  })

  it('pings the engine and tells its ID, the one `docker info` shows', async () => {
    await rt.ping()
    const id = await rt.engineID()
    assert.match(id, /\S{8,}/)
    assert.equal(id, (await new Docker().info() as { ID: string }).ID)
  })

  it('runs the sandbox with labels, a pod IP and published ports', () => {
    assert.equal(sandbox.role, 'sandbox')
    assert.equal(sandbox.state, 'running')
    assert.equal(sandbox.podUid, pod.podUid)
    assert.match(sandbox.podIP ?? '', /^\d+\.\d+\.\d+\.\d+$/)
    assert.match(sandbox.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    assert.match(sandbox.startedAt ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    assert.equal(sandbox.ports?.length, 1)
    const port = sandbox.ports?.[0]
    assert.equal(port?.containerName, 'web')
    assert.equal(port?.name, 'http')
    assert.equal(port?.containerPort, 8080)
    assert.equal(port?.hostIP, '127.0.0.1')
    assert.ok((port?.hostPort ?? 0) > 0)
  })

  it('shares localhost, hostname and volumes between the pod containers', async () => {
    const page = await waitFor('web to answer on localhost', async () => {
      const r = await execText(rt, client, ['wget', '-qO-', 'http://127.0.0.1:8080/'])
      return r.exitCode === 0 ? r.stdout : undefined
    })
    assert.equal(page, 'shoal test page\n')
    assert.equal((await execText(rt, client, ['cat', '/shared/hello'])).stdout, 'from-web\n')
    assert.notEqual((await execText(rt, client, ['touch', '/shared/nope'])).exitCode, 0, 'read-only mount')
    assert.equal((await execText(rt, client, ['hostname'])).stdout, 'web-1\n')
    assert.match((await execText(rt, client, ['grep', ' /scratch ', '/proc/mounts'])).stdout, /^tmpfs \/scratch tmpfs .*size=1024k/)
    const ipc = async (id: string): Promise<string> => (await execText(rt, id, ['readlink', '/proc/self/ns/ipc'])).stdout
    assert.match(await ipc(client), /^ipc:\[\d+\]\n$/)
    assert.equal(await ipc(client), await ipc(web), 'one IPC namespace for the pod\'s containers')
  })

  it('gives a pod of one container an IPC namespace of its own, not a shareable one in the sandbox', async () => {
    const one = sandboxConfig('solo-1', [], false)
    const sb = await rt.runSandbox(one)
    const app = await rt.createContainer(sb.id, appConfig(one, 'main', { command: ['sleep', '3600'] }))
    await rt.startContainer(app)
    assert.equal((await docker.getContainer(sb.id).inspect()).HostConfig.IpcMode, 'private')
    assert.equal((await docker.getContainer(app).inspect()).HostConfig.IpcMode, 'private')
    const inApp = (await execText(rt, app, ['readlink', '/proc/self/ns/ipc'])).stdout
    assert.notEqual(inApp, (await execText(rt, client, ['readlink', '/proc/self/ns/ipc'])).stdout)
    assert.equal((await execText(rt, app, ['hostname'])).stdout, 'solo-1\n', 'the network and hostname are still the sandbox\'s')
  })

  it('publishes the port on hostIP', async () => {
    const hostPort = sandbox.ports?.[0]?.hostPort ?? 0
    const body = await waitFor('the published port', async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${hostPort}/`)
        return res.ok ? await res.text() : undefined
      } catch {
        return undefined
      }
    })
    assert.equal(body, 'shoal test page\n')
  })

  it('sets resource limits and requests', async () => {
    const limited = await rt.createContainer(sandbox.id, appConfig(pod, 'limited', {
      cpuLimitMilli: 500, memoryLimitBytes: 64 << 20, cpuRequestMilli: 250
    }))
    const host = (await docker.getContainer(limited).inspect()).HostConfig
    assert.equal(host.NanoCpus, 500_000_000)
    assert.equal(host.Memory, 64 << 20)
    assert.equal(host.CpuShares, 256)
    assert.equal(host.NetworkMode, `container:${sandbox.id}`)
    const best = await rt.createContainer(sandbox.id, appConfig(pod, 'besteffort'))
    assert.equal((await docker.getContainer(best).inspect()).HostConfig.CpuShares, 2)
    assert.deepEqual([0, 1, 2, 100, 1000].map(milliCpuToShares), [2, 2, 2, 102, 1024])
    assert.equal((await rt.inspect(limited))?.state, 'created')
  })

  it('follows Kubernetes command/args semantics, env and workingDir', async () => {
    // An image with an entrypoint and a cmd, committed from busybox.
    const base = await docker.createContainer({ Image: BUSYBOX, Labels: { [LABEL.node]: NODE }, Cmd: ['true'] })
    const image = `shoal-test/entrypoint:${RUN}`
    cleanupImages.push(image)
    await base.commit({ repo: 'shoal-test/entrypoint', tag: RUN, changes: ['ENTRYPOINT ["echo","ep"]', 'CMD ["image-cmd"]'] } as object)
    const output = async (name: string, extra: Partial<ContainerConfig>): Promise<string> => {
      const c = await runToEnd(name, { image, ...extra })
      assert.equal(c.exitCode, 0)
      return await readAll(await rt.logs(c.id, { follow: false, timestamps: false }))
    }
    assert.equal(await output('neither', {}), 'ep image-cmd\n')
    assert.equal(await output('args', { args: ['a1', 'a2'] }), 'ep a1 a2\n')
    assert.equal(await output('command', { command: ['echo', 'c'] }), 'c\n')
    assert.equal(await output('both', { command: ['echo', 'c'], args: ['a'] }), 'c a\n')
    assert.equal(await output('env', {
      command: ['sh', '-c', 'echo "$FOO $(pwd)"'], env: ['FOO=bar baz'], workingDir: '/tmp'
    }), 'bar baz /tmp\n')
  })

  it('reports a command that does not exist as RunContainerError', async () => {
    const id = await rt.createContainer(sandbox.id, appConfig(pod, 'nosuch', { command: ['nosuch'] }))
    await assert.rejects(rt.startContainer(id), (err: unknown) => {
      assert.ok(err instanceof ContainerError)
      assert.equal(err.reason, 'RunContainerError')
      assert.match(err.message, /exec: "nosuch": executable file not found in \$PATH/)
      return true
    })
    const c = await rt.inspect(id)
    assert.equal(c?.state, 'exited')
    assert.match(c?.error ?? '', /executable file not found/)
    assert.notEqual(c?.exitCode, 0)
  })

  it('refuses to create a container with a bad image', async () => {
    await assert.rejects(rt.createContainer(sandbox.id, appConfig(pod, 'noimage', { image: 'shoal-test/nope:1' })), (err: unknown) => {
      assert.ok(err instanceof ContainerError)
      assert.equal(err.reason, 'CreateContainerError')
      assert.match(err.message, /No such image/i)
      return true
    })
  })

  it('ensures images by pull policy', async () => {
    assert.equal(await rt.ensureImage(BUSYBOX, 'Never'), undefined)
    assert.equal(await rt.ensureImage(BUSYBOX, 'IfNotPresent'), undefined)
    assert.deepEqual(await rt.ensureImage('shoal-test/nope:1', 'Never'), {
      reason: 'ErrImageNeverPull', message: 'Container image "shoal-test/nope:1" is not present with pull policy of Never'
    })
    const pulled = await rt.ensureImage('shoal-test/nope:1', 'IfNotPresent')
    assert.equal(pulled?.reason, 'ErrImagePull')
    assert.match(pulled?.message ?? '', /^Failed to pull image "shoal-test\/nope:1": ./)
    assert.equal((await rt.ensureImage(BUSYBOX, 'Always'))?.reason, 'ErrImagePull', 'no registry reachable')
    assert.deepEqual(await rt.ensureImage('BusyBox:1', 'IfNotPresent'), {
      reason: 'InvalidImageName',
      message: 'Failed to apply default image tag "BusyBox:1": couldn\'t parse image reference "BusyBox:1": invalid reference format: repository name must be lowercase'
    })
    assert.equal((await rt.ensureImage('bad image', 'IfNotPresent'))?.reason, 'InvalidImageName')
  })

  it('parses image references like Docker', () => {
    const ok: Array<[string, string]> = [
      ['busybox', 'busybox:latest'],
      ['shoal-test/busybox:1', 'shoal-test/busybox:1'],
      ['localhost:5000/a/b_c:v1.2', 'localhost:5000/a/b_c:v1.2'],
      ['Registry.example.com/x', 'Registry.example.com/x:latest'],
      [`x@sha256:${'a'.repeat(64)}`, `x@sha256:${'a'.repeat(64)}`]
    ]
    for (const [image, full] of ok) {
      const ref = parseImageRef(image)
      assert.ok(!('invalid' in ref), image)
      assert.equal(withDefaultTag(ref), full)
    }
    for (const bad of ['', 'Busybox', 'a b', 'x:', ':1', 'a//b', 'x:-tag', 'x@sha256:12']) {
      assert.ok('invalid' in parseImageRef(bad), bad)
    }
  })

  it('serves logs: both streams, tail, timestamps, follow until exit, abort', async () => {
    const script = 'echo one; echo two >&2; echo three; while [ ! -f /shared/go ]; do usleep 20000; done; echo four; echo five'
    const id = await rt.createContainer(sandbox.id, appConfig(pod, 'logger', {
      command: ['sh', '-c', script],
      mounts: [{ source: shared, target: '/shared', readOnly: false }]
    }))
    await rt.startContainer(id)
    const follow = await rt.logs(id, { follow: true, timestamps: false })
    let followed = ''
    follow.on('data', (chunk: Buffer) => { followed += chunk.toString() })
    const followEnded = new Promise<void>(resolve => follow.on('end', resolve))
    await waitFor('the first lines', () => followed.includes('two\n') && followed.includes('three\n'))
    // stdout and stderr are copied to the log by two goroutines: their relative order is not guaranteed.
    const sorted = (text: string): string => text.split('\n').sort().join('\n')
    const lines = (await readAll(await rt.logs(id, { follow: false, timestamps: false })))
    assert.equal(sorted(lines), sorted('one\ntwo\nthree\n'))
    const aborter = new AbortController()
    const aborted = await rt.logs(id, { follow: true, timestamps: false, signal: aborter.signal })
    const abortedText = readAll(aborted)
    aborter.abort()
    assert.ok(!(await abortedText).includes('four'))
    await writeFile(join(shared, 'go'), '')
    await followEnded
    assert.equal(sorted(followed), sorted('one\ntwo\nthree\nfour\nfive\n'))
    assert.ok(followed.endsWith('four\nfive\n'))
    assert.equal(await readAll(await rt.logs(id, { follow: false, timestamps: false, tailLines: 2 })), 'four\nfive\n')
    const stamped = (await readAll(await rt.logs(id, { follow: false, timestamps: true, tailLines: 1 }))).split('\n')
    assert.match(stamped[0] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z five$/)
  })

  it('execs with separate streams, exit code, stdin and tty', async () => {
    const r = await execText(rt, client, ['sh', '-c', 'echo out; echo err >&2; exit 3'])
    assert.deepEqual(r, { stdout: 'out\n', stderr: 'err\n', exitCode: 3 })
    const cat = await execText(rt, client, ['sh', '-c', 'cat; echo done'], Readable.from([Buffer.from('hello\n'), Buffer.from('world\n')]))
    assert.deepEqual(cat, { stdout: 'hello\nworld\ndone\n', stderr: '', exitCode: 0 })
    const tty = await rt.exec(client, ['echo', 'hi'], { tty: true })
    assert.equal(await readAll(tty.stdout), 'hi\r\n')
    assert.equal(await readAll(tty.stderr), '')
    assert.equal(await tty.exitCode, 0)
  })

  it('stops with the grace period: TERM first, KILL after grace', async () => {
    const trapper = await rt.createContainer(sandbox.id, appConfig(pod, 'trapper', {
      command: ['sh', '-c', 'trap "exit 0" TERM; touch /tmp/ready; while true; do usleep 20000; done']
    }))
    const ignorer = await rt.createContainer(sandbox.id, appConfig(pod, 'ignorer', { command: ['sleep', '3600'] }))
    await rt.startContainer(trapper)
    await rt.startContainer(ignorer)
    await waitFor('the trap to be set', async () => (await execText(rt, trapper, ['test', '-f', '/tmp/ready'])).exitCode === 0)
    const t0 = Date.now()
    const trapped = rt.stopContainer(trapper, 20).then(() => Date.now() - t0)
    const killed = rt.stopContainer(ignorer, 1).then(() => Date.now() - t0)
    const [trappedMs, killedMs] = await Promise.all([trapped, killed])
    assert.ok(trappedMs < 10_000, `the trapping container exits on TERM (${trappedMs} ms)`)
    assert.ok(killedMs >= 900, `the ignoring container is killed after its grace (${killedMs} ms)`)
    assert.equal((await rt.inspect(trapper))?.exitCode, 0)
    const dead = await rt.inspect(ignorer)
    assert.equal(dead?.state, 'exited')
    assert.equal(dead?.exitCode, 137)
    assert.match(dead?.finishedAt ?? '', /Z$/)
    await rt.stopContainer(ignorer, 1) // already stopped: fine
  })

  it('calls onChange when a container dies', async () => {
    const seen: string[] = []
    const unsubscribe = rt.onChange(id => seen.push(id))
    const id = await rt.createContainer(sandbox.id, appConfig(pod, 'dier', {
      command: ['sh', '-c', 'while [ ! -f /shared/die ]; do usleep 20000; done'],
      mounts: [{ source: shared, target: '/shared', readOnly: false }]
    }))
    await rt.startContainer(id)
    await waitFor('the start event', () => seen.includes(id))
    seen.length = 0
    await writeFile(join(shared, 'die'), '')
    await waitFor('the die event', () => seen.includes(id))
    assert.equal((await rt.inspect(id))?.state, 'exited')
    unsubscribe()
  })

  it('reconnects to the event stream when it breaks, without losing events', async () => {
    // A unix-socket proxy in front of dockerd whose connections we can cut.
    const proxyPath = join(shared, 'proxy.sock')
    const open = new Set<Socket>()
    const proxy = createServer(downstream => {
      const upstream = connect('/var/run/docker.sock')
      open.add(downstream).add(upstream)
      downstream.pipe(upstream).pipe(downstream)
      const drop = (): void => { downstream.destroy(); upstream.destroy(); open.delete(downstream); open.delete(upstream) }
      downstream.on('error', drop).on('close', drop)
      upstream.on('error', drop).on('close', drop)
    })
    await new Promise<void>(resolve => proxy.listen(proxyPath, resolve))
    const proxied = createDockerRuntime({ node: NODE, socketPath: proxyPath, log: noopLogger })
    const seen: string[] = []
    proxied.onChange(id => seen.push(id))
    try {
      const id = await rt.createContainer(sandbox.id, appConfig(pod, 'cut', {
        command: ['sh', '-c', 'while [ ! -f /shared/cut ]; do usleep 20000; done'],
        mounts: [{ source: shared, target: '/shared', readOnly: false }]
      }))
      await rt.startContainer(id)
      await waitFor('the start event', () => seen.includes(id))
      seen.length = 0
      for (const socket of open) socket.destroy()
      await writeFile(join(shared, 'cut'), '') // it dies while the stream is down
      await waitFor('the die event after reconnecting', () => seen.includes(id))
    } finally {
      await proxied.close()
      for (const socket of open) socket.destroy()
      await new Promise(resolve => proxy.close(resolve))
    }
  })

  it('finds its containers again after a restart (a new runtime)', async () => {
    const again = createDockerRuntime({ node: NODE, log: noopLogger })
    const all = await again.list()
    const mine = all.filter(c => c.podUid === pod.podUid)
    const bySandbox = mine.find(c => c.role === 'sandbox')
    assert.deepEqual(bySandbox, await rt.inspect(sandbox.id))
    assert.deepEqual(bySandbox?.ports, sandbox.ports)
    const webC = mine.find(c => c.containerName === 'web')
    assert.equal(webC?.id, web)
    assert.equal(webC?.attempt, 0)
    assert.equal(webC?.image, BUSYBOX)
    assert.match(webC?.imageID ?? '', /^sha256:/)
    assert.equal(webC?.namespace, 'default')
    assert.equal(webC?.podName, 'web-1')
    assert.equal(webC?.state, 'running')
    // Another node's runtime on the same engine sees none of them.
    const stranger = createDockerRuntime({ node: `${NODE}-other`, log: noopLogger })
    assert.deepEqual(await stranger.list(), [])
    assert.equal(await stranger.inspect(web), undefined)
    await again.close()
    await stranger.close()
  })

  it('names the attempt in the container and tolerates gone containers', async () => {
    const second = await rt.createContainer(sandbox.id, appConfig(pod, 'web', { attempt: 1, command: ['true'] }))
    const info = await docker.getContainer(second).inspect()
    assert.equal(info.Name, `/shoal_web_web-1_default_${pod.podUid.slice(0, 8)}_1`)
    assert.equal((await rt.inspect(second))?.attempt, 1)
    await rt.removeContainer(second)
    await rt.removeContainer(second)
    await rt.stopContainer(second, 1)
    assert.equal(await rt.inspect(second), undefined)
  })

  it('reuses a running sandbox of the same pod', async () => {
    const again = await rt.runSandbox(pod)
    assert.equal(again.id, sandbox.id)
  })
})

describe('docker runtime without an engine', () => {
  it('says the runtime is down', async () => {
    const socketPath = join(tmpdir(), `shoal-no-docker-${RUN}.sock`)
    const rt = createDockerRuntime({ node: NODE, socketPath, log: noopLogger })
    await assert.rejects(rt.ping(), (err: unknown) => {
      assert.ok(err instanceof RuntimeDownError)
      assert.match(err.message, /^Docker engine at unix:\/\/.* does not answer: connect ENOENT /)
      assert.ok(err.message.includes(socketPath))
      return true
    })
    await assert.rejects(rt.engineID(), RuntimeDownError)
    await assert.rejects(rt.list(), RuntimeDownError)
    await assert.rejects(rt.inspect('abc'), RuntimeDownError)
    await assert.rejects(rt.ensureImage(BUSYBOX, 'IfNotPresent'), RuntimeDownError)
    await assert.rejects(rt.runSandbox(sandboxConfig('down-1')), RuntimeDownError)
    await rt.close()
  })

  it('says the runtime is down when the engine hangs', async () => {
    const socketPath = join(tmpdir(), `shoal-hung-docker-${RUN}.sock`)
    const accepted = new Set<Socket>()
    const hung = createServer(socket => { accepted.add(socket) }) // accepts, never answers
    await new Promise<void>(resolve => hung.listen(socketPath, resolve))
    try {
      const rt = createDockerRuntime({ node: NODE, socketPath, log: noopLogger, pingTimeoutMs: 200 })
      await assert.rejects(rt.ping(), /does not answer: no answer within 200 ms/)
    } finally {
      for (const socket of accepted) socket.destroy()
      await new Promise(resolve => hung.close(resolve))
    }
  })
})

describe('docker stream helpers', () => {
  it('demultiplexes frames split across chunks', () => {
    const frame = (stream: number, text: string): Buffer => {
      const payload = Buffer.from(text)
      const header = Buffer.alloc(8)
      header[0] = stream
      header.writeUInt32BE(payload.length, 4)
      return Buffer.concat([header, payload])
    }
    const all = Buffer.concat([frame(1, 'hello '), frame(2, 'oops'), frame(1, 'world')])
    const got: string[] = []
    const feed = createDemuxer((stream, payload) => got.push(`${stream}:${payload.toString()}`))
    for (let i = 0; i < all.length; i += 3) feed(all.subarray(i, i + 3))
    assert.deepEqual(got, ['1:hello ', '2:oops', '1:world'])
  })

  it('turns Docker times into RFC 3339 seconds', () => {
    assert.equal(toSecond('2024-05-06T07:08:09.123456789Z'), '2024-05-06T07:08:09Z')
    assert.equal(toSecond('2024-05-06T07:08:09Z'), '2024-05-06T07:08:09Z')
    assert.equal(toSecond('0001-01-01T00:00:00Z'), undefined)
    assert.equal(toSecond(''), undefined)
  })
})
