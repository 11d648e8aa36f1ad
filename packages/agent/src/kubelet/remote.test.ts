import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { PassThrough, Readable } from 'node:stream'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { ShoalError } from '@shoal/core'
import { createMesh, type Mesh } from '../mesh/mesh.ts'
import { newCluster } from '../cluster/token.ts'
import { createSilentLogger } from '../log.ts'
import { containerNotValid, type PodIO, type PodLogOptions } from './pod-io.ts'
import { remotePodIO, servePodIO, type PodIOServer } from './remote.ts'
import type { ExecSession } from './runtime.ts'
import { waitFor } from '@shoal/core/testing/wait.ts'

/**
 * Logs and exec across two real libp2p meshes on loopback: the far agent
 * serves a stub PodIO, the near one talks to it through remotePodIO.
 */
const log = createSilentLogger()
const cluster = newCluster()
const PORT = 17982

/** What the stub saw, for the assertions. */
const seen: { logOpts?: Omit<PodLogOptions, 'signal'>, aborted: string[], stdin: string } = { aborted: [], stdin: '' }

const stub: PodIO = {
  async logs (namespace, pod, opts) {
    if (pod === 'ghost') throw new ShoalError('NotFound', 404, `pods "${pod}" not found`)
    if (opts.container !== undefined && opts.container !== 'c') throw containerNotValid(pod, opts.container)
    const { signal, ...rest } = opts
    seen.logOpts = rest
    if (pod === 'big') {
      // 4 MiB in 64 KiB chunks, produced as fast as the stream takes it.
      let left = 64
      return new Readable({ read () { this.push(left-- > 0 ? Buffer.alloc(65536, 'x') : null) } })
    }
    if (pod === 'broken') {
      const out = new PassThrough()
      out.write('one line\n')
      setTimeout(() => out.destroy(new ShoalError('InternalError', 500, 'the engine went away')), 20)
      return out
    }
    const out = new PassThrough()
    out.write(`${namespace}/${pod} line 1\n`)
    out.write(`${namespace}/${pod} line 2\n`)
    if (!opts.follow) {
      out.end()
      return out
    }
    let n = 3
    const t = setInterval(() => out.write(`${namespace}/${pod} line ${n++}\n`), 10)
    signal.addEventListener('abort', () => {
      clearInterval(t)
      seen.aborted.push(`logs ${pod}`)
      out.end()
    }, { once: true })
    return out
  },

  async exec (_namespace, pod, opts): Promise<ExecSession> {
    if (opts.container === 'x') throw containerNotValid(pod, 'x')
    const stdout = new PassThrough()
    const stderr = new PassThrough()
    if (opts.command[0] === 'cat') {
      // Echo stdin to stdout, say something on stderr, exit 3 when stdin ends.
      stderr.end('starting\n')
      const exitCode = new Promise<number>(resolve => {
        const stdin = opts.stdin ?? Readable.from([])
        stdin.on('data', (b: Buffer) => { seen.stdin += b.toString(); stdout.write(b) })
        stdin.on('end', () => { stdout.end(); resolve(3) })
      })
      return { stdout, stderr, exitCode }
    }
    if (opts.command[0] === 'sleep') {
      const exitCode = new Promise<number>((_resolve, reject) => {
        opts.signal.addEventListener('abort', () => {
          seen.aborted.push(`exec ${pod}`)
          stdout.end()
          stderr.end()
          reject(new Error('killed'))
        }, { once: true })
      })
      exitCode.catch(() => {})
      stdout.write('sleeping\n')
      return { stdout, stderr, exitCode }
    }
    stdout.end(opts.command.join(' ') + '\n')
    stderr.end()
    return { stdout, stderr, exitCode: Promise.resolve(0) }
  }
}

async function readAll (r: Readable): Promise<string> {
  let s = ''
  for await (const chunk of r) s += (chunk as Buffer).toString()
  return s
}

describe('pod logs and exec over libp2p', () => {
  let near: Mesh
  let far: Mesh
  let server: PodIOServer
  let io: PodIO

  before(async () => {
    near = await createMesh({ privateKey: await generateKeyPair('Ed25519'), cluster, bind: '127.0.0.154', advertise: '127.0.0.154', port: PORT }, log)
    far = await createMesh({ privateKey: await generateKeyPair('Ed25519'), cluster, bind: '127.0.0.155', advertise: '127.0.0.155', port: PORT }, log)
    await near.start()
    await far.start()
    server = await servePodIO(far.node, stub, log)
    await near.node.dial(far.node.getMultiaddrs()[0]!)
    io = remotePodIO(near.node, far.peerId, 'far')
  })

  after(async () => {
    await server?.stop()
    await near?.stop()
    await far?.stop()
  })

  it('logs: the options cross the wire and the stream ends when the container output does', async () => {
    const out = await io.logs('default', 'web', { container: 'c', follow: false, tailLines: 10, previous: true, timestamps: true, sinceSeconds: 60, signal: new AbortController().signal })
    assert.equal(await readAll(out), 'default/web line 1\ndefault/web line 2\n')
    assert.deepEqual(seen.logOpts, { container: 'c', follow: false, tailLines: 10, previous: true, timestamps: true, sinceSeconds: 60 })
  })

  it('logs: a refusal arrives as the same ShoalError', async () => {
    await assert.rejects(io.logs('default', 'web', { container: 'x', follow: false, previous: false, timestamps: false, signal: new AbortController().signal }),
      (err: unknown) => err instanceof ShoalError && err.code === 400 && err.reason === 'BadRequest' && err.message === 'container "x" is not valid for pod "web"')
    await assert.rejects(io.logs('default', 'ghost', { follow: false, previous: false, timestamps: false, signal: new AbortController().signal }),
      (err: unknown) => err instanceof ShoalError && err.code === 404 && err.reason === 'NotFound' && err.message === 'pods "ghost" not found')
  })

  it('logs: a follow stays open until aborted, and aborting ends it on the far side too', async () => {
    const ac = new AbortController()
    const out = await io.logs('default', 'tail', { follow: true, previous: false, timestamps: false, signal: ac.signal })
    let text = ''
    out.on('data', (b: Buffer) => { text += b.toString() })
    await waitFor('five lines', () => text.includes('line 5\n'))
    ac.abort()
    await waitFor('the far side aborts', () => seen.aborted.includes('logs tail'))
    await waitFor('the stream closes here', () => out.destroyed)
  })

  it('logs: a large output passes intact, at the pace of a slow reader', async () => {
    const out = await io.logs('default', 'big', { follow: false, previous: false, timestamps: false, signal: new AbortController().signal })
    let bytes = 0
    for await (const chunk of out) {
      bytes += (chunk as Buffer).byteLength
      if (bytes < 1024 * 1024) await new Promise(resolve => setTimeout(resolve, 1))
    }
    assert.equal(bytes, 64 * 65536)
  })

  it('logs: a failure after the output began ends the stream with that error', async () => {
    const out = await io.logs('default', 'broken', { follow: true, previous: false, timestamps: false, signal: new AbortController().signal })
    await assert.rejects(readAll(out), (err: unknown) => err instanceof ShoalError && err.code === 500 && err.message === 'the engine went away')
  })

  it('exec: stdin flows to the command, stdout and stderr and the exit code come back', async () => {
    const stdin = new PassThrough()
    const session = await io.exec('default', 'web', { command: ['cat'], stdin, tty: false, signal: new AbortController().signal })
    const outText = readAll(session.stdout)
    const errText = readAll(session.stderr)
    stdin.write('hello ')
    await waitFor('the echo starts', () => seen.stdin === 'hello ')
    stdin.end('world\n')
    assert.equal(await outText, 'hello world\n')
    assert.equal(await errText, 'starting\n')
    assert.equal(await session.exitCode, 3)
  })

  it('exec: without stdin, and a refusal as the same ShoalError', async () => {
    const session = await io.exec('default', 'web', { command: ['echo', 'hi'], tty: false, signal: new AbortController().signal })
    assert.equal(await readAll(session.stdout), 'echo hi\n')
    assert.equal(await session.exitCode, 0)
    await assert.rejects(io.exec('default', 'web', { container: 'x', command: ['ls'], tty: false, signal: new AbortController().signal }),
      (err: unknown) => err instanceof ShoalError && err.code === 400 && err.message === 'container "x" is not valid for pod "web"')
  })

  it('exec: aborting kills the session on the far side', async () => {
    const ac = new AbortController()
    const session = await io.exec('default', 'sleeper', { command: ['sleep'], tty: false, signal: ac.signal })
    const first = await new Promise<string>(resolve => session.stdout.once('data', (b: Buffer) => resolve(b.toString())))
    assert.equal(first, 'sleeping\n')
    ac.abort()
    await assert.rejects(session.exitCode)
    await waitFor('the far side aborts', () => seen.aborted.includes('exec sleeper'))
  })

  it('a node that is not reachable is a 503', async () => {
    const ghost = await createMesh({ privateKey: await generateKeyPair('Ed25519'), cluster, bind: '127.0.0.156', advertise: '127.0.0.156', port: PORT }, log)
    const unreachable = remotePodIO(near.node, ghost.peerId, 'gone')
    await assert.rejects(unreachable.logs('default', 'web', { follow: false, previous: false, timestamps: false, signal: AbortSignal.timeout(3000) }),
      (err: unknown) => err instanceof ShoalError && err.code === 503 && /^node "gone" is not reachable/.test(err.message))
  })
})
