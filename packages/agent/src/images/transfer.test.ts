import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import Docker from 'dockerode'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { extract as tarExtract, type Header } from 'tar-stream'
import { createMesh, type Mesh } from '../mesh/mesh.ts'
import { newCluster } from '../cluster/token.ts'
import { createSilentLogger } from '../log.ts'
import { tarFiles } from '../kubelet/pause-image.ts'
import { followProgress } from '../kubelet/docker-stream.ts'
import { waitFor } from '@shoal/core/testing/wait.ts'
import {
  dockerImageStore, fetchImage, loadArchive, serveImages, IMAGE_PROTOCOL, ImageTransferError,
  type ImageServer, type ImageStore, type ImageTransferKind, type Peer
} from './transfer.ts'

/**
 * Image transfer between real libp2p meshes on loopback (127.0.0.201-208,
 * port 17990) and the real Docker engine. The serving side mostly replays
 * archives from memory (one engine cannot both hold and lack an image); the
 * real image is made for this run (`docker import` of random bytes, then two
 * commits of the same file, which `docker save` writes as a symlinked layer),
 * captured with the real `docker save`, removed, and fetched back with the
 * real `docker load`. Everything made here carries RUN and is removed in `after`.
 */
const log = createSilentLogger()
const cluster = newCluster()
const PORT = 17990
const RUN = `${process.pid}-${Date.now().toString(36)}`
const REPO = 'shoal-test/transfer'
const docker = new Docker({ socketPath: '/var/run/docker.sock' })
const engine = dockerImageStore(docker)

type TarFile = { name: string, mode: number, data: Buffer }

function sha256 (data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex')
}

function file (name: string, data: Buffer | string): TarFile {
  return { name, mode: 0o644, data: typeof data === 'string' ? Buffer.from(data) : data }
}

function blob (data: Buffer): TarFile {
  return file(`blobs/sha256/${sha256(data)}`, data)
}

async function collect (stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  return Buffer.concat(chunks)
}

async function listTar (archive: Buffer): Promise<Array<Pick<Header, 'name' | 'type' | 'linkname'>>> {
  const ex = tarExtract()
  const out: Array<Pick<Header, 'name' | 'type' | 'linkname'>> = []
  const done = (async () => {
    for await (const entry of ex) {
      out.push({ name: entry.header.name, type: entry.header.type, linkname: entry.header.linkname })
      entry.resume()
    }
  })()
  ex.end(archive)
  await done
  return out
}

/** The archive in 64 KiB chunks, as an engine's export stream would come. */
function chunked (archive: Buffer): Readable {
  const chunks: Buffer[] = []
  for (let at = 0; at < archive.length; at += 65536) chunks.push(archive.subarray(at, at + 65536))
  return Readable.from(chunks)
}

/** Every archive the tests made, by its sha256: what the stub engine can "load". */
const catalog = new Map<string, string>()

interface Held { readonly archive: Buffer, readonly exporter?: (archive: Buffer) => NodeJS.ReadableStream }

/** An engine in memory: holds archives by image ID, exports them, and "loads" only archives byte-identical to one the tests made. */
class StubStore implements ImageStore {
  readonly images = new Map<string, Held>()
  readonly asked: string[] = []
  /** The sha256 of every file handed to load(). */
  readonly loads: string[] = []

  size = async (id: string): Promise<number | undefined> => {
    this.asked.push(id)
    return this.images.get(id)?.archive.length
  }

  save = async (id: string): Promise<NodeJS.ReadableStream> => {
    const held = this.images.get(id)
    if (held === undefined) throw Object.assign(new Error(`no such image: ${id}`), { statusCode: 404 })
    return (held.exporter ?? chunked)(held.archive)
  }

  load = async (path: string): Promise<void> => {
    const bytes = await readFile(path)
    const digest = sha256(bytes)
    this.loads.push(digest)
    const id = catalog.get(digest)
    if (id === undefined) throw new Error('the stub engine does not know this archive')
    this.images.set(id, { archive: bytes })
  }

  hold (id: string, archive: Buffer, exporter?: Held['exporter']): void {
    catalog.set(sha256(archive), id)
    this.images.set(id, exporter !== undefined ? { archive, exporter } : { archive })
  }
}

/** The parts of an image in the OCI layout `docker save` writes since Docker 25. */
function ociImage (layerTars: readonly Buffer[], opts: { gzip?: boolean } = {}): { id: string, config: TarFile, layers: TarFile[], files: TarFile[] } {
  const config = blob(Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    created: '1970-01-01T00:00:00Z',
    config: { Cmd: ['/data.bin'], Labels: { 'io.shoal.test': RUN } },
    rootfs: { type: 'layers', diff_ids: layerTars.map(l => `sha256:${sha256(l)}`) },
    history: layerTars.map(() => ({ created: '1970-01-01T00:00:00Z', created_by: 'transfer.test.ts' }))
  })))
  const layers = layerTars.map(l => blob(opts.gzip === true ? gzipSync(l) : l))
  const mediaType = `application/vnd.oci.image.layer.v1.tar${opts.gzip === true ? '+gzip' : ''}`
  const manifest = blob(Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha256(config.data)}`, size: config.data.length },
    layers: layers.map(l => ({ mediaType, digest: `sha256:${sha256(l.data)}`, size: l.data.length }))
  })))
  const files = [
    ...layers,
    config,
    manifest,
    file('index.json', JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha256(manifest.data)}`, size: manifest.data.length }] })),
    file('manifest.json', JSON.stringify([{ Config: config.name, RepoTags: null, Layers: layers.map(l => l.name) }])),
    file('oci-layout', '{"imageLayoutVersion":"1.0.0"}')
  ]
  return { id: `sha256:${sha256(config.data)}`, config, layers, files }
}

/** A layer: a tar of one file of random bytes. */
function randomLayer (bytes: number): Buffer {
  return tarFiles([{ name: 'data.bin', mode: 0o644, data: randomBytes(bytes) }])
}

/** A ustar header for a regular file of `size` bytes (tarFiles makes whole entries; a streamed one needs just its header). */
function ustarHeader (name: string, size: number): Buffer {
  const header = tarFiles([{ name, mode: 0o644, data: Buffer.alloc(0) }]).subarray(0, 512)
  header.write(size.toString(8).padStart(11, '0') + '\0', 124, 'ascii')
  header.fill(0x20, 148, 156)
  let sum = 0
  for (const byte of header) sum += byte
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii')
  return header
}

/**
 * An image of one layer of `mib` MiB (a 256 KiB random block, repeated),
 * whose archive is made as it is read, and a count of the bytes read so far.
 */
function streamedImage (mib: number): { id: string, length: number, pulled: () => number, exporter: () => Readable } {
  const block = randomBytes(256 * 1024)
  const blocks = mib * 4
  const inner = ustarHeader('data.bin', blocks * block.length)
  const layerLength = inner.length + blocks * block.length + 1024
  const layer = createHash('sha256').update(inner)
  for (let i = 0; i < blocks; i++) layer.update(block)
  const diffId = layer.update(Buffer.alloc(1024)).digest('hex')
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] } }))
  const tail = tarFiles([blob(config), file('manifest.json', JSON.stringify([{ Config: `blobs/sha256/${sha256(config)}`, RepoTags: null, Layers: [`blobs/sha256/${diffId}`] }]))])
  let pulled = 0
  function * archive (): Generator<Buffer> {
    for (const part of [ustarHeader(`blobs/sha256/${diffId}`, layerLength), inner]) {
      pulled += part.length
      yield part
    }
    for (let i = 0; i < blocks; i++) {
      pulled += block.length
      yield block
    }
    pulled += 1024 + tail.length
    yield Buffer.alloc(1024) // the layer's own end: 512 + blocks + 1024 is a multiple of 512, no padding
    yield tail
  }
  return { id: `sha256:${sha256(config)}`, length: 512 + layerLength + tail.length, pulled: () => pulled, exporter: () => Readable.from(archive(), { objectMode: false, highWaterMark: 64 * 1024 }) }
}

function randomId (): string {
  return `sha256:${randomBytes(32).toString('hex')}`
}

function peerOf (mesh: Mesh, name: string): Peer {
  return { name, peerId: mesh.peerId, addrs: mesh.addrs }
}

function isTransferError (kind: ImageTransferKind, message: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ImageTransferError, `expected an ImageTransferError, got ${String(err)}`)
    assert.equal(err.kind, kind, err.message)
    assert.match(err.message, message)
    return true
  }
}

async function startMesh (host: number, secret = cluster): Promise<Mesh> {
  const ip = `127.0.0.${host}`
  const mesh = await createMesh({ privateKey: await generateKeyPair('Ed25519'), cluster: secret, bind: ip, advertise: ip, port: PORT }, log)
  await mesh.start()
  return mesh
}

describe('image transfer between agents', () => {
  const meshes: Mesh[] = []
  const servers: ImageServer[] = []
  let near: Mesh
  let far: Mesh
  const farStore = new StubStore()
  let scratch = ''
  /** Images and containers this run made in the engine, removed in `after`. */
  const madeImages: string[] = []
  const madeContainers: string[] = []
  let tmpCount = 0

  /** A fresh temp dir for one fetch; the test asserts it is empty afterwards. */
  const tmpDir = async (): Promise<string> => {
    const dir = join(scratch, `t${tmpCount++}`)
    await mkdir(dir)
    return dir
  }

  // The real image: layers [payload, extra, extra] where the last is a symlink to the second in `docker save`.
  const payload = randomBytes(3 * 1024 * 1024)
  let realId = ''
  let realArchive: Buffer = Buffer.alloc(0)
  let realLayers: string[] = []

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'shoal-transfer-'))
    near = await startMesh(201)
    far = await startMesh(202)
    meshes.push(near, far)
    servers.push(await serveImages(far.node, farStore, log, { maxConcurrent: 2 }))

    const baseTag = `${RUN}-base`
    await followProgress(await docker.importImage(Readable.from([tarFiles([{ name: 'payload.bin', mode: 0o644, data: payload }])]), { repo: REPO, tag: baseTag }))
    const base = await docker.getImage(`${REPO}:${baseTag}`).inspect()
    madeImages.push(base.Id)
    const extra = tarFiles([{ name: 'extra.bin', mode: 0o644, data: randomBytes(4096) }])
    let parent = base.Id
    for (const tag of [undefined, RUN]) {
      const c = await docker.createContainer({ Image: parent, Cmd: ['/payload.bin'], Labels: { 'io.shoal.test': RUN } })
      madeContainers.push(c.id)
      await c.putArchive(extra, { path: '/' })
      parent = ((await c.commit(tag !== undefined ? { repo: REPO, tag } : {})) as { Id: string }).Id
      madeImages.push(parent)
      await c.remove()
    }
    realId = parent
    realLayers = (await docker.getImage(realId).inspect()).RootFS.Layers ?? []
  })

  after(async () => {
    for (const s of servers) await s.stop()
    for (const m of meshes) await m.stop().catch(() => {})
    for (const id of madeContainers) await docker.getContainer(id).remove({ force: true }).catch(() => {})
    for (const id of madeImages.reverse()) await docker.getImage(id).remove({ force: true }).catch(() => {})
    if (scratch !== '') await rm(scratch, { recursive: true, force: true })
  })

  it('a real docker save crosses the mesh, passes the check and is loaded back with the same ID', async () => {
    // Capture with the real engine, then remove the image (and its base) so only the transfer can bring it back.
    const announced = await engine.size(realId)
    assert.ok(announced !== undefined && announced > payload.length)
    realArchive = await collect(await engine.save(realId))
    const entries = await listTar(realArchive)
    assert.ok(entries.some(e => e.name === 'manifest.json'))
    assert.ok(entries.some(e => e.type === 'symlink' && e.name.endsWith('/layer.tar')), 'docker writes the repeated layer as a symlink')
    farStore.hold(realId, realArchive)
    await docker.getImage(`${REPO}:${RUN}`).remove()
    await docker.getImage(`${REPO}:${RUN}-base`).remove()
    assert.equal(await engine.size(realId), undefined)

    const tmp = await tmpDir()
    const progress: Array<[number, number | undefined]> = []
    const result = await fetchImage(near.node, peerOf(far, 'far'), realId, engine, { tmpDir: tmp, onProgress: (r, t) => progress.push([r, t]) })
    assert.equal(result.bytes, realArchive.length)
    assert.ok(progress.length > 1, 'progress is reported as the bytes arrive')
    assert.deepEqual(progress.at(-1), [realArchive.length, realArchive.length])
    const loaded = await docker.getImage(realId).inspect()
    assert.equal(loaded.Id, realId)
    assert.deepEqual(loaded.RootFS.Layers, realLayers)
    assert.deepEqual(await readdir(tmp), [])
  })

  it('an OCI layout (Docker 25+) with a gzip layer is checked through the decompressor and loaded by the real engine', async () => {
    const img = ociImage([randomLayer(200_000)], { gzip: true })
    madeImages.push(img.id)
    const archive = tarFiles(img.files)
    farStore.hold(img.id, archive)
    const tmp = await tmpDir()
    const result = await fetchImage(near.node, peerOf(far, 'far'), img.id, engine, { tmpDir: tmp })
    assert.equal(result.bytes, archive.length)
    assert.equal((await docker.getImage(img.id).inspect()).Id, img.id)
    assert.deepEqual(await readdir(tmp), [])
  })

  it('a large image streams at the pace of the receiver: the server reads its engine only a bounded way ahead', async () => {
    const big = streamedImage(128)
    const archive = Buffer.alloc(0) // held only to announce a size; the exporter makes the bytes
    farStore.images.set(big.id, { archive, exporter: big.exporter })
    let ahead = 0
    const mine: ImageStore = { size: async () => 1, save: async () => { throw new Error('unused') }, load: async () => {} }
    const tmp = await tmpDir()
    const result = await fetchImage(near.node, peerOf(far, 'far'), big.id, mine, {
      tmpDir: tmp,
      onProgress: received => { ahead = Math.max(ahead, big.pulled() - received) }
    })
    assert.equal(result.bytes, big.length)
    // Ahead at most: a yamux window in flight (16 MiB at most), another the receiver got when it
    // resumed, its own queue (4 MiB), the sender's (256 KiB), socket buffers. Not the whole image.
    assert.ok(ahead < 48 * 1024 * 1024, `the server read ${ahead} bytes ahead of the receiver`)
    assert.deepEqual(await readdir(tmp), [])
  })

  it('a byte flipped in a layer by the server is refused: nothing is loaded, no temp file remains', async () => {
    assert.ok(realArchive.length > 0, 'runs after the real image was captured')
    const flipAt = realArchive.indexOf(payload.subarray(0, 64)) + 1000
    assert.ok(flipAt > 1000, 'the payload is in the archive uncompressed')
    const bad = await startMesh(203)
    meshes.push(bad)
    const badStore = new StubStore()
    badStore.hold(realId, realArchive)
    let flipped = 0
    servers.push(await serveImages(bad.node, badStore, log, {
      tamper: (chunk, offset) => {
        if (flipAt < offset || flipAt >= offset + chunk.length) return chunk
        const out = Buffer.from(chunk)
        out[flipAt - offset]! ^= 0x01
        flipped++
        return out
      }
    }))
    const mine = new StubStore()
    const tmp = await tmpDir()
    await assert.rejects(fetchImage(near.node, peerOf(bad, 'bad'), realId, mine, { tmpDir: tmp }),
      isTransferError('refused', /^the image sha256:[0-9a-f]{12}… from node bad failed its digest check: layer [0-9a-f]{64}\/layer\.tar hashed to sha256:[0-9a-f]{12}…, the image config says sha256:[0-9a-f]{12}…$/))
    assert.equal(flipped, 1)
    assert.deepEqual(mine.loads, [])
    assert.deepEqual(await readdir(tmp), [])
    // The same archive unflipped passes: it was the flip that failed it.
    await fetchImage(near.node, peerOf(far, 'far'), realId, mine, { tmpDir: tmp })
    assert.deepEqual(mine.loads, [sha256(realArchive)])
  })

  it('into the real engine, which gets the archive as it arrives: a flipped byte is refused, and the engine holds nothing of it, not even unpacked layers', async () => {
    assert.ok(realArchive.length > 0, 'runs after the real image was captured')
    const flipAt = realArchive.indexOf(payload.subarray(0, 64)) + 1000
    const bad = await startMesh(207)
    meshes.push(bad)
    const badStore = new StubStore()
    badStore.hold(realId, realArchive)
    servers.push(await serveImages(bad.node, badStore, log, {
      tamper: (chunk, offset) => {
        if (flipAt < offset || flipAt >= offset + chunk.length) return chunk
        const out = Buffer.from(chunk)
        out[flipAt - offset]! ^= 0x01
        return out
      }
    }))
    await docker.getImage(realId).remove({ force: true }).catch(() => {})
    assert.equal(await engine.size(realId), undefined)
    const before = new Set((await docker.listImages({ all: true })).map(i => i.Id))
    const tmp = await tmpDir()
    await assert.rejects(fetchImage(near.node, peerOf(bad, 'bad'), realId, engine, { tmpDir: tmp }), isTransferError('refused', /failed its digest check/))
    assert.equal(await engine.size(realId), undefined, 'not loaded')
    assert.deepEqual((await docker.listImages({ all: true })).map(i => i.Id).filter(id => !before.has(id)), [], 'no image, nor a parent, appeared')
    assert.deepEqual(await readdir(tmp), [])
    // A whole, sound archive of another image, sent for this ID: the engine would load it as it is, if it got its end.
    const other = ociImage([randomLayer(100_000)])
    madeImages.push(other.id)
    const impostor = new StubStore()
    impostor.hold(realId, tarFiles(other.files))
    const liar = await startMesh(208)
    meshes.push(liar)
    servers.push(await serveImages(liar.node, impostor, log))
    await assert.rejects(fetchImage(near.node, peerOf(liar, 'liar'), realId, engine, { tmpDir: tmp }), isTransferError('refused', /not a sound docker save archive|failed its digest check/))
    assert.equal(await engine.size(other.id), undefined, 'the other image was not loaded')
    assert.deepEqual((await docker.listImages({ all: true })).map(i => i.Id).filter(id => !before.has(id)), [])
    // The sound copy still loads, through the same path.
    await fetchImage(near.node, peerOf(far, 'far'), realId, engine, { tmpDir: tmp })
    assert.equal((await docker.getImage(realId).inspect()).Id, realId)
  })

  it('archives that do not match the requested ID are refused, each saying why', async () => {
    const other = ociImage([randomLayer(1000)])
    const cases: Array<{ what: string, make: (img: ReturnType<typeof ociImage>) => Buffer, message: RegExp }> = [
      {
        what: 'a blob that does not hash to its name',
        make: img => tarFiles(img.files.map(f => f === img.layers[0] ? { ...f, data: randomLayer(5000) } : f)),
        message: /failed its digest check: blob sha256:[0-9a-f]{12}… hashed to sha256:[0-9a-f]{12}…$/
      },
      {
        what: 'a layer swapped for another, self-consistent blob',
        make: img => tarFiles([...img.files.filter(f => f.name !== 'manifest.json'), other.layers[0]!,
          file('manifest.json', JSON.stringify([{ Config: img.config.name, RepoTags: null, Layers: [other.layers[0]!.name] }]))]),
        message: /failed its digest check: layer blobs\/sha256\/[0-9a-f]{64} hashed to sha256:[0-9a-f]{12}…, the image config says sha256:[0-9a-f]{12}…$/
      },
      {
        what: 'the config of another image',
        make: img => tarFiles([...img.files.filter(f => f.name !== 'manifest.json'), other.config,
          file('manifest.json', JSON.stringify([{ Config: other.config.name, RepoTags: null, Layers: img.layers.map(l => l.name) }]))]),
        message: /failed its digest check: its manifest names the config "blobs\/sha256\/[0-9a-f]{64}", not that of sha256:[0-9a-f]{12}…$/
      },
      {
        what: 'a tag in manifest.json',
        make: img => tarFiles(img.files.map(f => f.name === 'manifest.json'
          ? file('manifest.json', JSON.stringify([{ Config: img.config.name, RepoTags: ['shoal/pause:1'], Layers: img.layers.map(l => l.name) }]))
          : f)),
        message: /is not a sound docker save archive: it would tag the image as \["shoal\/pause:1"\]/
      },
      {
        what: 'a name in index.json',
        make: img => tarFiles(img.files.map(f => f.name === 'index.json'
          ? file('index.json', JSON.stringify({ manifests: [{ digest: 'sha256:0', annotations: { 'io.containerd.image.name': 'docker.io/library/nginx:latest' } }] }))
          : f)),
        message: /its index\.json would name the image "docker\.io\/library\/nginx:latest"/
      },
      {
        what: 'a missing layer',
        make: img => tarFiles(img.files.filter(f => f !== img.layers[0])),
        message: /is not a sound docker save archive: layer blobs\/sha256\/[0-9a-f]{64} is missing from the archive$/
      },
      {
        what: 'an entry twice',
        make: img => tarFiles([...img.files, img.files.at(-2)!]),
        message: /is not a sound docker save archive: it holds manifest\.json twice$/
      },
      {
        what: 'no tar at all',
        make: () => randomBytes(8192),
        message: /is not a sound docker save archive: it is not a valid tar archive: /
      }
    ]
    for (const c of cases) {
      const img = ociImage([randomLayer(3000)])
      farStore.hold(img.id, c.make(img))
      const mine = new StubStore()
      const tmp = await tmpDir()
      await assert.rejects(fetchImage(near.node, peerOf(far, 'far'), img.id, mine, { tmpDir: tmp }),
        (err: unknown) => {
          assert.ok(err instanceof ImageTransferError, `${c.what}: ${String(err)}`)
          assert.equal(err.kind, 'refused', `${c.what}: ${err.message}`)
          assert.match(err.message, new RegExp(`^the image sha256:[0-9a-f]{12}… from node far (failed its digest check|is not a sound docker save archive): `), c.what)
          assert.match(err.message, c.message, c.what)
          return true
        })
      assert.deepEqual(mine.loads, [], c.what)
      assert.deepEqual(await readdir(tmp), [], c.what)
    }
    // The untouched archive of such an image passes, so each refusal above is the mutation's doing.
    const good = ociImage([randomLayer(3000)])
    farStore.hold(good.id, tarFiles(good.files))
    const mine = new StubStore()
    await fetchImage(near.node, peerOf(far, 'far'), good.id, mine, { tmpDir: await tmpDir() })
    assert.equal(mine.loads.length, 1)
  })

  it('a transfer rides a connection of its own, closed once it is done: the connection the mesh shares stays, and carries none of it', async () => {
    const holder = await startMesh(209)
    meshes.push(holder)
    const store = new StubStore()
    store.hold(realId, realArchive)
    servers.push(await serveImages(holder.node, store, log))
    const shared = await near.node.dial(multiaddr(holder.addrs[0]!))
    const during: number[] = []
    let onShared = false
    await fetchImage(near.node, peerOf(holder, 'holder'), realId, new StubStore(), {
      tmpDir: await tmpDir(),
      onProgress: () => {
        during.push(near.node.getConnections(holder.node.peerId).length)
        onShared ||= shared.streams.some(s => s.protocol === IMAGE_PROTOCOL)
      }
    })
    assert.ok(during.length > 0 && during.every(n => n === 2), `two connections while it ran: ${during.join(',')}`)
    assert.equal(onShared, false, 'the transfer\'s stream is not on the shared connection')
    await waitFor('the transfer\'s connection closed', () => near.node.getConnections(holder.node.peerId).length === 1)
    assert.equal(near.node.getConnections(holder.node.peerId)[0]!.id, shared.id, 'the shared connection is the one left')
    assert.equal(shared.status, 'open')
  })

  it('a peer that lacks the image answers not-found', async () => {
    const id = randomId()
    const mine = new StubStore()
    await assert.rejects(fetchImage(near.node, peerOf(far, 'far'), id, mine, { tmpDir: await tmpDir() }),
      isTransferError('not-found', new RegExp(`^node far does not hold image ${id.slice(0, 19)}…$`)))
    assert.ok(farStore.asked.includes(id), 'the far engine was asked')
  })

  it('an image the cluster withdrew (serves says no) is answered not-found, though the engine holds it', async () => {
    const withdrawn = await startMesh(206)
    meshes.push(withdrawn)
    const store = new StubStore()
    store.hold(realId, realArchive)
    servers.push(await serveImages(withdrawn.node, store, log, { serves: async id => id !== realId }))
    await assert.rejects(fetchImage(near.node, peerOf(withdrawn, 'withdrawn'), realId, new StubStore(), { tmpDir: await tmpDir() }), isTransferError('not-found', /does not hold image/))
  })

  it('an uploaded archive (shoal image push) gets the same check: a sound one is loaded, a flipped byte refused, and no temp file stays', async () => {
    const mine = new StubStore()
    const tmp = await tmpDir()
    const chunks = (buf: Buffer): AsyncIterable<Uint8Array> => Readable.from([buf.subarray(0, 5000), buf.subarray(5000)])
    await loadArchive(chunks(realArchive), realId, realArchive.length, mine, { tmpDir: tmp })
    assert.deepEqual(mine.loads, [sha256(realArchive)])
    const flipped = Buffer.from(realArchive)
    flipped[realArchive.indexOf(payload.subarray(0, 64)) + 1000]! ^= 0x01
    await assert.rejects(loadArchive(chunks(flipped), realId, realArchive.length, mine, { tmpDir: tmp }), isTransferError('refused', /failed its digest check/))
    await assert.rejects(loadArchive(chunks(realArchive.subarray(0, 20_000)), realId, realArchive.length, mine, { tmpDir: tmp }), isTransferError('broken', /was cut off/))
    assert.equal(mine.loads.length, 1)
    assert.deepEqual(await readdir(tmp), [])
  })

  it('a malformed ID is refused by the client before dialing, and by the server on the wire', async () => {
    const asked = farStore.asked.length
    await assert.rejects(fetchImage(near.node, peerOf(far, 'far'), 'busybox:latest', new StubStore(), { tmpDir: await tmpDir() }),
      isTransferError('invalid', /^cannot fetch "busybox:latest" from node far: an image ID is "sha256:" and 64 lowercase hex digits$/))
    // Straight onto the wire, as another client could send it.
    for (const [request, problem] of [
      [{ id: 'sha256:ABC' }, /"sha256:ABC" is not an image ID/],
      [{ image: 'x' }, /the request has no image id/],
      ['{not json', /the request is not JSON/]
    ] as const) {
      const stream = await near.node.dialProtocol(far.node.peerId, IMAGE_PROTOCOL)
      const lp = lpStream(stream)
      await lp.write(new TextEncoder().encode(typeof request === 'string' ? request : JSON.stringify(request)))
      const answer = JSON.parse(new TextDecoder().decode((await lp.read()).subarray())) as { error?: { kind: string, message: string } }
      assert.equal(answer.error?.kind, 'invalid')
      assert.match(answer.error?.message ?? '', problem)
      await stream.close()
    }
    assert.equal(farStore.asked.length, asked, 'no malformed request reached the engine')
  })

  it('an engine failing mid-export resets the stream: broken, nothing loaded or kept', async () => {
    const img = ociImage([randomLayer(2 * 1024 * 1024)])
    const archive = tarFiles(img.files)
    farStore.hold(img.id, archive, a => {
      const out = new PassThrough()
      out.write(a.subarray(0, a.length / 2))
      setImmediate(() => out.destroy(new Error('the engine went away')))
      return out
    })
    const mine = new StubStore()
    const tmp = await tmpDir()
    await assert.rejects(fetchImage(near.node, peerOf(far, 'far'), img.id, mine, { tmpDir: tmp }),
      isTransferError('broken', /^the transfer of image sha256:[0-9a-f]{12}… from node far broke after \d+ bytes: the sender reset the stream/))
    assert.deepEqual(mine.loads, [])
    assert.deepEqual(await readdir(tmp), [])
  })

  it('an archive cut short but closed cleanly is broken, never loaded as complete', async () => {
    const img = ociImage([randomLayer(500_000)])
    const archive = tarFiles(img.files)
    // Cut inside the layer, and exactly between two entries (a tar that parses, minus its end).
    const layerEnd = archive.indexOf(Buffer.from('blobs/sha256/' + sha256(img.config.data))) // the header after the layer
    assert.ok(layerEnd > 0 && layerEnd % 512 === 0)
    for (const cut of [Math.floor(archive.length / 3), layerEnd]) {
      farStore.hold(img.id, archive, a => chunked(a.subarray(0, cut)))
      const mine = new StubStore()
      const tmp = await tmpDir()
      await assert.rejects(fetchImage(near.node, peerOf(far, 'far'), img.id, mine, { tmpDir: tmp }),
        isTransferError('broken', new RegExp(`^the transfer of image sha256:[0-9a-f]{12}… from node far was cut off: the archive stops short of its end \\(${cut} bytes`)))
      assert.deepEqual(mine.loads, [])
      assert.deepEqual(await readdir(tmp), [])
    }
  })

  it('a serving node that stops mid-transfer leaves a broken transfer and no temp file', async () => {
    const dying = await startMesh(205)
    meshes.push(dying)
    const img = ociImage([randomLayer(2 * 1024 * 1024)])
    const dyingStore = new StubStore()
    dyingStore.hold(img.id, tarFiles(img.files), a => {
      const out = new PassThrough()
      out.write(a.subarray(0, a.length / 2)) // and then nothing: the engine hangs
      return out
    })
    servers.push(await serveImages(dying.node, dyingStore, log))
    const mine = new StubStore()
    const tmp = await tmpDir()
    let received = 0
    const fetching = fetchImage(near.node, peerOf(dying, 'dying'), img.id, mine, { tmpDir: tmp, onProgress: r => { received = r } })
    fetching.catch(() => {})
    await waitFor('the first bytes', () => received > 0)
    await dying.stop()
    await assert.rejects(fetching, isTransferError('broken', /^the transfer of image sha256:[0-9a-f]{12}… from node dying broke after \d+ bytes: /))
    assert.deepEqual(mine.loads, [])
    assert.deepEqual(await readdir(tmp), [])
  })

  it('aborting a fetch mid-way ends the export on the serving node too', async () => {
    const img = ociImage([randomLayer(2 * 1024 * 1024)])
    let exported: PassThrough | undefined
    farStore.hold(img.id, tarFiles(img.files), a => {
      exported = new PassThrough()
      exported.write(a.subarray(0, a.length / 2))
      return exported
    })
    const ac = new AbortController()
    const tmp = await tmpDir()
    let received = 0
    const fetching = fetchImage(near.node, peerOf(far, 'far'), img.id, new StubStore(), { tmpDir: tmp, signal: ac.signal, onProgress: r => { received = r } })
    fetching.catch(() => {})
    await waitFor('the first bytes', () => received > 0)
    ac.abort()
    await assert.rejects(fetching, (err: unknown) => (err as Error).name === 'AbortError')
    await waitFor('the export to be stopped', () => exported?.destroyed === true)
    assert.deepEqual(await readdir(tmp), [])
  })

  it('beyond maxConcurrent transfers the server answers busy, and serves again once a slot is free', async () => {
    const img = ociImage([randomLayer(100_000)])
    let release = (): void => {}
    const gate = new Promise<void>(resolve => { release = resolve })
    let exports = 0
    farStore.hold(img.id, tarFiles(img.files), a => {
      exports++
      const out = new PassThrough()
      void gate.then(() => out.end(a))
      return out
    })
    const mine = new StubStore()
    const first = fetchImage(near.node, peerOf(far, 'far'), img.id, mine, { tmpDir: await tmpDir() })
    const second = fetchImage(near.node, peerOf(far, 'far'), img.id, mine, { tmpDir: await tmpDir() })
    await waitFor('two transfers in flight', () => exports === 2)
    await assert.rejects(fetchImage(near.node, peerOf(far, 'far'), img.id, mine, { tmpDir: await tmpDir() }),
      isTransferError('busy', /^node far is busy \(serving 2 image transfers already, its limit\); fetch image sha256:[0-9a-f]{12}… from another holder$/))
    assert.equal(exports, 2, 'a busy answer starts no export')
    release()
    await first
    await second
    await fetchImage(near.node, peerOf(far, 'far'), img.id, mine, { tmpDir: await tmpDir() })
    assert.equal(mine.loads.length, 3)
  })

  it('the engine refusing a verified archive is a load error, and nothing stays behind', async () => {
    // The layer hashes to its diff_id, so the check passes; but it is no tar, so docker load fails.
    const img = ociImage([randomBytes(10_000)])
    madeImages.push(img.id)
    farStore.hold(img.id, tarFiles(img.files))
    const tmp = await tmpDir()
    await assert.rejects(fetchImage(near.node, peerOf(far, 'far'), img.id, engine, { tmpDir: tmp }),
      isTransferError('load', /^the engine refused image sha256:[0-9a-f]{12}… from node far: ./))
    assert.equal(await engine.size(img.id), undefined)
    assert.deepEqual(await readdir(tmp), [])
  })

  it('a mesh of another cluster cannot open the protocol at all', async () => {
    const stranger = await startMesh(204, newCluster())
    meshes.push(stranger)
    const asked = farStore.asked.length
    const tmp = await tmpDir()
    await assert.rejects(fetchImage(stranger.node, peerOf(far, 'far'), realId, new StubStore(), { tmpDir: tmp }),
      isTransferError('unreachable', /^cannot reach node far to fetch image sha256:[0-9a-f]{12}…: the secure handshake failed: the two nodes do not hold the same cluster key/))
    assert.equal(farStore.asked.length, asked, 'the far engine was never asked')
    assert.deepEqual(await readdir(tmp), [])
  })
})
