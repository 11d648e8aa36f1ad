import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { open, send, closeConnections, type Endpoint } from './http.ts'

describe('http deadlines', () => {
  let server: Server
  let e: Endpoint
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/stream') {
        // Four lines, 150 ms apart: longer in all than the deadline for headers.
        res.writeHead(200)
        res.flushHeaders()
        let n = 0
        const t = setInterval(() => {
          res.write(`${n++}\n`)
          if (n === 4) { clearInterval(t); res.end() }
        }, 150)
      }
      // Any other path never answers.
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    assert.ok(address !== null && typeof address === 'object')
    e = { kind: 'tcp', host: '127.0.0.1', port: address.port, tls: false } as Endpoint
  })
  after(() => {
    closeConnections()
    server.closeAllConnections()
    server.close()
  })

  it('a request that gets no answer fails with one line saying so', async () => {
    await assert.rejects(send(e, 'GET', '/hang', { timeoutMs: 200 }), { message: /^cannot reach 127\.0\.0\.1:\d+: it did not answer in time$/ })
  })

  it('a stream outlives the deadline for its headers', async () => {
    const res = await open(e, 'GET', '/stream', { timeoutMs: 100 })
    let text = ''
    for await (const c of res) text += String(c)
    assert.equal(text, '0\n1\n2\n3\n')
  })
})
