import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { ObjectStore, type Command, type ObjectInput } from '@shoal/core'
import { pino } from 'pino'
import { createServiceProxy, type ServiceProxy } from './proxy.ts'
import type { ClusterIPs } from './cluster-ips.ts'

/**
 * The proxy against real sockets on loopback (127.0.0.70-79) and a real
 * object store, without Docker or Raft: endpoints are plain TCP servers
 * that answer with their own name.
 */

const NOW = '2026-01-01T00:00:00Z'
const NODE_IP = '127.0.0.70'
const log = pino({ level: 'silent' })

/** A TCP server on `ip` that answers every connection with `name` and closes. */
async function backend (ip: string, name: string): Promise<{ server: Server, port: number }> {
  const server = createServer(s => { s.on('error', () => {}); s.end(name) })
  await new Promise<void>(resolve => server.listen({ host: ip, port: 0 }, resolve))
  return { server, port: (server.address() as { port: number }).port }
}

/** Connect to ip:port, send `send`, read until the other side closes; '' with `reset` set when refused or reset. */
async function ask (ip: string, port: number, send = 'GET /\n'): Promise<{ body: string, reset: boolean }> {
  return await new Promise(resolve => {
    const s: Socket = connect({ host: ip, port })
    let body = ''
    s.setEncoding('utf8')
    s.on('connect', () => { s.write(send) })
    s.on('data', (d: string) => { body += d })
    s.on('error', () => { resolve({ body, reset: true }) })
    s.on('end', () => { resolve({ body, reset: false }) })
  })
}

describe('service proxy', () => {
  const store = new ObjectStore()
  let index = 0
  const apply = (cmd: Command): void => {
    const r = store.apply(++index, cmd)
    assert.ok(!('ok' in r) || r.ok, JSON.stringify(r))
  }
  const writes: Command[] = []
  const added: string[] = []
  const clusterIPs: ClusterIPs = { add: async ip => { added.push(ip) }, remove: async () => {} }
  let proxy: ServiceProxy
  const servers: Server[] = []
  const ports: Record<string, number> = {}

  const service = (name: string, spec: Record<string, unknown>): ObjectInput => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { selector: { app: name }, ...spec } })
  const endpoints = (name: string, ready: Array<[string, number, string, string?]>): ObjectInput => ({
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace: 'default' },
    subsets: ready.map(([ip, port, pod, node]) => ({ addresses: [{ ip, ...(node !== undefined ? { nodeName: node } : {}), targetRef: { kind: 'Pod', namespace: 'default', name: pod } }], ports: [{ port, protocol: 'TCP' }] }))
  })
  const setEndpoints = (name: string, ready: Array<[string, number, string, string?]>): void => {
    apply(store.get('endpoints', 'default', name) === undefined
      ? { op: 'create', resource: 'endpoints', object: endpoints(name, ready), uid: `ep-${name}-${index}`, now: NOW }
      : { op: 'update', resource: 'endpoints', object: endpoints(name, ready), now: NOW })
  }
  const listening = async (key: string): Promise<void> => {
    const deadline = Date.now() + 5000
    while (!proxy.backends(key).length && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 10))
  }

  before(async () => {
    for (const [ip, name] of [['127.0.0.71', 'pod-a'], ['127.0.0.72', 'pod-b'], ['127.0.0.73', 'pod-c']] as const) {
      const b = await backend(ip, name)
      servers.push(b.server)
      ports[name] = b.port
    }
    proxy = createServiceProxy({ node: 'n1', address: NODE_IP, store: () => store, writeEvent: async cmd => { writes.push(cmd); return { ok: true, object: undefined as never } }, clusterIPs, log })
    proxy.start()
  })

  after(async () => {
    await proxy.stop()
    for (const s of servers) s.close()
  })

  it('balances a LoadBalancer port round robin over the ready endpoints', async () => {
    apply({ op: 'create', resource: 'services', object: service('web', { type: 'LoadBalancer', ports: [{ port: 41080, protocol: 'TCP' }] }), uid: 'svc-web', now: NOW })
    setEndpoints('web', [['127.0.0.71', ports['pod-a']!, 'pod-a'], ['127.0.0.72', ports['pod-b']!, 'pod-b'], ['127.0.0.73', ports['pod-c']!, 'pod-c']])
    await listening(`${NODE_IP}:41080`)
    const bodies = []
    for (let i = 0; i < 6; i++) bodies.push((await ask(NODE_IP, 41080)).body)
    assert.deepEqual(bodies, ['pod-a', 'pod-b', 'pod-c', 'pod-a', 'pod-b', 'pod-c'])
    const svc = store.get('services', 'default', 'web')!.spec as { clusterIP: string, ports: Array<{ nodePort: number }> }
    assert.ok(added.includes(svc.clusterIP), 'the cluster IP was put on the interface')
    assert.equal((await ask(NODE_IP, svc.ports[0]!.nodePort)).body.startsWith('pod-'), true, 'the node port answers too')
  })

  it('follows the Endpoints at once, and resets a connection when there is no endpoint', async () => {
    setEndpoints('web', [['127.0.0.72', ports['pod-b']!, 'pod-b']])
    for (let i = 0; i < 3; i++) assert.equal((await ask(NODE_IP, 41080)).body, 'pod-b')
    setEndpoints('web', [])
    assert.deepEqual(await ask(NODE_IP, 41080), { body: '', reset: true })
  })

  it('tries the next endpoint when one refuses, or accepts and closes without a byte, replaying what the client sent', async () => {
    const closed = await backend('127.0.0.74', '')
    servers.push(closed.server)
    let refused = 0
    {
      const s = createServer(() => {})
      await new Promise<void>(resolve => s.listen({ host: '127.0.0.75', port: 0 }, resolve))
      refused = (s.address() as { port: number }).port
      await new Promise<void>(resolve => s.close(() => { resolve() }))
    }
    let got = ''
    const echo = createServer(s => { s.on('data', d => { got += String(d); s.end(`echo:${String(d)}`) }) })
    await new Promise<void>(resolve => echo.listen({ host: '127.0.0.76', port: 0 }, resolve))
    servers.push(echo)
    setEndpoints('web', [['127.0.0.74', closed.port, 'closes'], ['127.0.0.75', refused, 'refuses'], ['127.0.0.76', (echo.address() as { port: number }).port, 'echo']])
    for (let i = 0; i < 3; i++) {
      got = ''
      const r = await ask(NODE_IP, 41080, `hello ${i}`)
      assert.deepEqual(r, { body: `echo:hello ${i}`, reset: false })
      assert.equal(got, `hello ${i}`, 'the echo endpoint saw the request once')
    }
  })

  it('passes a request bigger than it can replay whole, to an endpoint that answers only once it has read everything', async () => {
    const counter = createServer({ allowHalfOpen: true }, s => {
      let n = 0
      s.on('data', d => { n += d.length })
      s.on('end', () => { s.end(`got ${n}`) })
    })
    await new Promise<void>(resolve => counter.listen({ host: '127.0.0.77', port: 0 }, resolve))
    servers.push(counter)
    setEndpoints('web', [['127.0.0.77', (counter.address() as { port: number }).port, 'counter']])
    const body = await new Promise<string>((resolve, reject) => {
      const sock = connect({ host: NODE_IP, port: 41080, allowHalfOpen: true })
      let got = ''
      sock.on('connect', () => { sock.end(Buffer.alloc(300 * 1024, 7)) })
      sock.on('data', d => { got += String(d) })
      sock.on('end', () => { resolve(got) })
      sock.on('error', reject)
    })
    assert.equal(body, `got ${300 * 1024}`)
  })

  it('reaches an endpoint at its pod IP and port, or where its pod publishes that port (an agent with --publish-address)', async () => {
    const atPodIP = await backend('127.0.0.78', 'at-pod-ip')
    const atPublished = await backend('127.0.0.79', 'at-published-port')
    servers.push(atPodIP.server, atPublished.server)
    const pod = (hostPorts: unknown[]): ObjectInput => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pod-pub', namespace: 'default' }, spec: { nodeName: 'n2', containers: [] }, status: { podIP: '127.0.0.78', hostPorts } })
    const published = { containerName: 'web', containerPort: atPodIP.port, protocol: 'TCP', hostIP: '127.0.0.79', hostPort: atPublished.port }
    apply({ op: 'create', resource: 'pods', uid: 'pod-pub', now: NOW, object: pod([published]) })
    setEndpoints('web', [['127.0.0.78', atPodIP.port, 'pod-pub', 'n2']])
    assert.equal((await ask(NODE_IP, 41080)).body, 'at-published-port')
    apply({ op: 'update', resource: 'pods', now: NOW, object: { ...pod([{ ...published, containerPort: atPodIP.port + 1 }]), metadata: store.get('pods', 'default', 'pod-pub')!.metadata } as ObjectInput })
    assert.equal((await ask(NODE_IP, 41080)).body, 'at-pod-ip', 'it publishes another port only')
    apply({ op: 'update', resource: 'pods', now: NOW, object: { ...pod([]), metadata: store.get('pods', 'default', 'pod-pub')!.metadata } as ObjectInput })
    assert.equal((await ask(NODE_IP, 41080)).body, 'at-pod-ip', 'it publishes nothing')
  })

  it('keeps a client on its endpoint with ClientIP affinity', async () => {
    apply({ op: 'create', resource: 'services', object: service('sticky', { type: 'LoadBalancer', sessionAffinity: 'ClientIP', ports: [{ port: 41081, protocol: 'TCP' }] }), uid: 'svc-sticky', now: NOW })
    setEndpoints('sticky', [['127.0.0.71', ports['pod-a']!, 'pod-a'], ['127.0.0.72', ports['pod-b']!, 'pod-b'], ['127.0.0.73', ports['pod-c']!, 'pod-c']])
    await listening(`${NODE_IP}:41081`)
    const first = (await ask(NODE_IP, 41081)).body
    for (let i = 0; i < 5; i++) assert.equal((await ask(NODE_IP, 41081)).body, first)
  })

  it('reports a port it cannot listen on, with an event on the service, and serves it once the port is free', async () => {
    const squatter = createServer(() => {})
    await new Promise<void>(resolve => squatter.listen({ host: NODE_IP, port: 41082 }, resolve))
    apply({ op: 'create', resource: 'services', object: service('clash', { type: 'LoadBalancer', ports: [{ port: 41082, protocol: 'TCP' }] }), uid: 'svc-clash', now: NOW })
    const deadline = Date.now() + 5000
    while (!proxy.failures().some(f => f.service === 'default/clash') && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 10))
    const failure = proxy.failures().find(f => f.service === 'default/clash')
    assert.match(failure?.message ?? '', /cannot listen on 127\.0\.0\.70:41082 \(LoadBalancer\): listen EADDRINUSE/)
    const ev = writes.find(w => w.op === 'create' && w.resource === 'events' && (w.object as Record<string, any>).involvedObject.name === 'clash') as { object: Record<string, any> } | undefined
    assert.equal(ev?.object.reason, 'FailedToListen')
    assert.match(ev?.object.message, /^node n1: cannot listen on 127\.0\.0\.70:41082/)
    await new Promise<void>(resolve => squatter.close(() => { resolve() }))
    setEndpoints('clash', [['127.0.0.71', ports['pod-a']!, 'pod-a']])
    const healed = Date.now() + 10_000
    // (The cluster IP listeners fail here: this test's ClusterIPs puts no address on an interface.)
    const ofClash = (): unknown[] => proxy.failures().filter(f => f.service === 'default/clash' && !f.message.includes('(ClusterIP)'))
    while (ofClash().length > 0 && Date.now() < healed) await new Promise(resolve => setTimeout(resolve, 50))
    assert.deepEqual(ofClash(), [])
    assert.equal((await ask(NODE_IP, 41082)).body, 'pod-a')
  })
})
