import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dockerSocketOf, formatImageList, formatSize, progressBar } from './images.ts'

const id = `sha256:${'ab'.repeat(32)}`

describe('shoal image', () => {
  it('ls prints NAME, ID (12 hex), SIZE and NODES, or says there are none; -o json gives the rows; another -o is refused', () => {
    assert.equal(formatImageList([], undefined), 'No images found on any node.\n')
    const out = formatImageList([{ name: 'app:1', id, sizeBytes: 102_400_000, nodes: ['h1', 'h2'] }], undefined)
    assert.match(out, /^NAME +ID +SIZE +NODES\napp:1 +abababababab +102MB +h1,h2\n$/)
    assert.deepEqual(JSON.parse(formatImageList([{ name: 'app:1', id, sizeBytes: 1, nodes: ['h1'] }], 'json')).items[0].nodes, ['h1'])
    assert.throws(() => formatImageList([], 'yaml'), /-o yaml: unknown output format/)
    assert.equal(formatSize(1536), '1.5kB')
  })

  it('push reads the engine at --docker-socket, else $DOCKER_HOST\'s unix socket, else /var/run/docker.sock; a TCP DOCKER_HOST is refused by name', () => {
    assert.equal(dockerSocketOf('/x.sock', { DOCKER_HOST: 'unix:///y.sock' }), '/x.sock')
    assert.equal(dockerSocketOf(undefined, { DOCKER_HOST: 'unix:///y.sock' }), '/y.sock')
    assert.equal(dockerSocketOf(undefined, {}), '/var/run/docker.sock')
    assert.throws(() => dockerSocketOf(undefined, { DOCKER_HOST: 'tcp://1.2.3.4:2375' }), /DOCKER_HOST=tcp:\/\/1\.2\.3\.4:2375: only a unix:\/\/ socket/)
  })

  it('the upload\'s progress bar fills with the bytes sent, and never overflows', () => {
    assert.equal(progressBar(0, 100e6, 10), '[>         ]    0.0 MB / 100.0 MB')
    assert.equal(progressBar(50e6, 100e6, 10), '[=====>    ]   50.0 MB / 100.0 MB')
    assert.equal(progressBar(120e6, 100e6, 10), '[==========]  120.0 MB / 100.0 MB')
  })
})
