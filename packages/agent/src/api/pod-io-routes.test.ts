import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { request, type IncomingMessage } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { ObjectStore, type Command } from '@shoal/core'
import { newCluster } from '../cluster/token.ts'
import { createSilentLogger } from '../log.ts'
import { containerNotValid, type PodIO, type PodLogOptions } from '../kubelet/pod-io.ts'
import { apiCredentials } from './tls.ts'
import { createApiServer, type ApiServer } from './server.ts'

/**
 * The log and exec routes over HTTP (the control socket, which needs no
 * token), with a stub PodIO behind them: what the CLI and kubectl see.
 */
const NOW = '2025-01-01T00:00:00Z'
const seen: { logOpts?: Omit<PodLogOptions, 'signal'>, aborted: string[], stdin: string } = { aborted: [], stdin: '' }

const stub: PodIO = {
  async logs (_namespace, pod, opts) {
    if (opts.container !== undefined && opts.container !== 'c') throw containerNotValid(pod, opts.container)
    const { signal, ...rest } = opts
    seen.logOpts = rest
    const out = new PassThrough()
    out.write('line 1\n')
    if (!opts.follow) {
      out.end('line 2\n')
      return out
    }
    const t = setInterval(() => out.write('more\n'), 10)
    signal.addEventListener('abort', () => { clearInterval(t); seen.aborted.push(`logs ${pod}`); out.end() }, { once: true })
    return out
  },
  async exec (_namespace, pod, opts) {
    if (opts.container !== undefined && opts.container !== 'c') throw containerNotValid(pod, opts.container)
    const stdout = new PassThrough()
    const stderr = new PassThrough()
    stderr.end('warming up\n')
    const stdin = opts.stdin ?? Readable.from([])
    const exitCode = new Promise<number>(resolve => {
      stdin.on('data', (b: Buffer) => { seen.stdin += b.toString(); stdout.write(b) })
      stdin.on('end', () => { stdout.end(`ran ${opts.command.join(' ')}\n`); resolve(opts.command[0] === 'cat' ? 3 : 0) })
    })
    return { stdout, stderr, exitCode }
  }
}

interface Answer { status: number, headers: IncomingMessage['headers'], text: string }

describe('pod log and exec routes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-podio-api-'))
  const socketPath = join(dir, 'api.sock')
  const store = new ObjectStore()
  let index = 0
  let api: ApiServer

  const call = async (method: string, path: string, body?: Readable): Promise<Answer> => await new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: body !== undefined ? { 'content-type': 'application/octet-stream' } : {} }, res => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { text += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }))
    })
    req.on('error', reject)
    if (body === undefined) req.end()
    else body.pipe(req)
  })

  const addPod = (name: string, nodeName?: string): void => {
    const cmd: Command = { op: 'create', resource: 'pods', uid: `uid-${name}`, now: NOW, object: { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { ...(nodeName !== undefined ? { nodeName } : {}), containers: [{ name: 'c', image: 'busybox' }] } } }
    store.apply(++index, cmd)
  }

  before(async () => {
    addPod('web', 'n1')
    addPod('far', 'n2')
    addPod('lonely')
    const fail = async (): Promise<never> => { throw new Error('not in this test') }
    api = createApiServer({
      ready: () => true,
      info: () => ({ name: 'n1', peerId: '', clusterId: '', version: '', api: '', addrs: [] }),
      members: () => [],
      join: fail,
      leave: fail,
      raft: () => ({}),
      write: fail,
      store: () => store,
      writeRaw: fail,
      read: fail,
      podIO: node => node === 'n1' ? stub : undefined
    }, { bind: '127.0.0.157', port: 0, socketPath, bootstrap: apiCredentials(newCluster(), { dns: ['localhost'], ips: [] }, new Date()) }, createSilentLogger())
    await api.listenControl()
  })

  after(async () => {
    await api.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('GET log streams text/plain with Kubernetes\' options', async () => {
    const r = await call('GET', '/api/v1/namespaces/default/pods/web/log?container=c&tailLines=5&timestamps=true&sinceSeconds=30&previous=false')
    assert.equal(r.status, 200)
    assert.match(r.headers['content-type'] ?? '', /^text\/plain/)
    assert.equal(r.text, 'line 1\nline 2\n')
    assert.deepEqual(seen.logOpts, { container: 'c', follow: false, previous: false, timestamps: true, tailLines: 5, sinceSeconds: 30 })
  })

  it('GET log with follow sends headers at once and stops the kubelet\'s stream when the client leaves', async () => {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      request({ socketPath, method: 'GET', path: '/api/v1/namespaces/default/pods/web/log?follow=true' }, resolve).on('error', reject).end()
    })
    assert.equal(res.statusCode, 200)
    let text = ''
    await new Promise<void>(resolve => {
      res.on('data', (c: Buffer) => {
        text += c.toString()
        if (text.split('more\n').length > 3) resolve()
      })
    })
    res.destroy()
    const deadline = Date.now() + 5000
    while (!seen.aborted.includes('logs web') && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 10))
    assert.ok(seen.aborted.includes('logs web'))
  })

  it('refusals are Kubernetes Status answers', async () => {
    const cases: Array<[string, number, string]> = [
      ['/api/v1/namespaces/default/pods/web/log?container=x', 400, 'container "x" is not valid for pod "web"'],
      ['/api/v1/namespaces/default/pods/web/log?tailLines=-1', 422, 'PodLogOptions "" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0'],
      ['/api/v1/namespaces/default/pods/web/log?tailLines=ten', 400, 'tailLines: invalid value "ten": must be an integer'],
      ['/api/v1/namespaces/default/pods/far/log', 503, 'node "n2" is not reachable'],
      ['/api/v1/namespaces/default/pods/lonely/log', 400, 'pod "lonely" is not running on any node yet'],
      ['/api/v1/namespaces/default/pods/ghost/log', 404, 'pods "ghost" not found']
    ]
    for (const [path, code, message] of cases) {
      const r = await call('GET', path)
      assert.equal(r.status, code, path)
      assert.equal(JSON.parse(r.text).message, message, path)
    }
    for (const [path, code, message] of [
      ['/api/v1/namespaces/default/pods/web/exec?command=ls&container=x', 400, 'container "x" is not valid for pod "web"'],
      ['/api/v1/namespaces/default/pods/web/exec', 400, 'you must specify at least one command for the container'],
      ['/api/v1/namespaces/default/pods/lonely/exec?command=ls', 400, 'pod "lonely" is not running on any node yet'],
      ['/api/v1/namespaces/default/pods/far/exec?command=ls', 503, 'node "n2" is not reachable']
    ] as const) {
      const r = await call('POST', path, Readable.from([Buffer.from('ignored stdin')]))
      assert.equal(r.status, code, path)
      assert.equal(JSON.parse(r.text).message, message, path)
    }
  })

  it('POST exec speaks the CLI\'s protocol: streamed stdin in, ndjson frames out, the exit code last', async () => {
    const stdin = new PassThrough()
    const answer = call('POST', '/api/v1/namespaces/default/pods/web/exec?command=cat&command=-&container=c&stdin=true', stdin)
    stdin.write('hello ')
    // The command sees stdin before the request body has ended.
    const deadline = Date.now() + 5000
    while (seen.stdin !== 'hello ' && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 10))
    assert.equal(seen.stdin, 'hello ')
    stdin.end('world\n')
    const r = await answer
    assert.equal(r.status, 200)
    assert.equal(r.headers['content-type'], 'application/x-ndjson')
    const frames = r.text.trim().split('\n').map(l => JSON.parse(l) as Record<string, string | number>)
    const text = (stream: string): string => frames.filter(f => f.stream === stream).map(f => Buffer.from(f.data as string, 'base64').toString()).join('')
    assert.equal(text('stdout'), 'hello world\nran cat -\n')
    assert.equal(text('stderr'), 'warming up\n')
    assert.deepEqual(frames.at(-1), { exit: 3 })
  })

  it('POST exec without stdin runs with none', async () => {
    const r = await call('POST', '/api/v1/namespaces/default/pods/web/exec?command=true&stdin=false')
    const frames = r.text.trim().split('\n').map(l => JSON.parse(l) as Record<string, string | number>)
    assert.deepEqual(frames.at(-1), { exit: 0 })
    assert.equal(frames.filter(f => f.stream === 'stdout').map(f => Buffer.from(f.data as string, 'base64').toString()).join(''), 'ran true\n')
  })
})
