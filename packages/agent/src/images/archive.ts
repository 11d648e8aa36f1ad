import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { posix } from 'node:path'
import { createGunzip, createZstdDecompress, type Gunzip, type ZstdDecompress } from 'node:zlib'
import { extract as tarExtract, type Extract, type Header } from 'tar-stream'

/**
 * What a peer sends for an image is checked here, while it arrives, before
 * anything reaches the engine (transfer.ts keeps the bytes in a temp file
 * meanwhile): the archive must be the image the ID names, all the way down
 * to every layer. Both `docker save` layouts: Docker 20's (a folder per
 * layer, `<config hex>.json`) and Docker 25+'s OCI layout (`blobs/sha256/`).
 */

const DIGEST = /^sha256:[0-9a-f]{64}$/
/** Where OCI layouts keep their content, named by its digest. */
const BLOB = /^blobs\/sha256\/([0-9a-f]{64})$/
/** manifest.json, index.json and the image config are read into memory, so they are bounded. */
const MAX_METADATA_BYTES = 8 * 1024 * 1024
/** Symlinks followed from a manifest's layer path to the file (docker links a repeated layer to its first copy: one hop). */
const MAX_LINK_HOPS = 8

/** `sha256:` and the first 12 hex digits, as `docker images` shows them. */
export function shortId (digest: string): string {
  const m = /^(?:sha256:)?([0-9a-f]{64})$/.exec(digest)
  return m?.[1] !== undefined ? `sha256:${m[1].slice(0, 12)}…` : digest
}

// ---------------------------------------------------------------- the archive check

/** The archive fails the check; `check` says whether a digest disagreed or the layout is wrong. */
export class ArchiveRefusal extends Error {
  readonly check: 'digest' | 'format'
  constructor (check: 'digest' | 'format', message: string) {
    super(message)
    this.name = 'ArchiveRefusal'
    this.check = check
  }
}

/** The archive ended before its end-of-archive marker: the transfer was cut off. */
export class ArchiveTruncated extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ArchiveTruncated'
  }
}

type ArchiveEntry =
  | { readonly kind: 'file', readonly digest: string, readonly unpacked: string | undefined }
  | { readonly kind: 'link', readonly target: string | undefined }
  | { readonly kind: 'other' }

/**
 * Checks a `docker save` archive while its bytes go by, against the image ID
 * asked for. Both layouts Docker writes are understood: the legacy one
 * (`<config hex>.json`, `<v1 id>/layer.tar`, a repeated layer as a symlink to
 * its first copy; Docker before 25) and the OCI image layout (`index.json`,
 * `blobs/sha256/<hex>`; Docker 25 and later). The chain of trust:
 * - every entry under `blobs/sha256/` hashes to its name;
 * - manifest.json has one image, untagged, whose config is the requested ID
 *   (the config's sha256 is the image ID);
 * - each of its layers is in the archive and hashes, uncompressed, to the
 *   config's `rootfs.diff_ids` entry at its place (a gzip or zstd layer is
 *   hashed again through the decompressor).
 * So every byte docker load turns into the image is pinned by the ID. Entry
 * names appearing twice, or escaping the archive, are refused: docker and we
 * must see the same files.
 */
export class ArchiveCheck {
  readonly #idHex: string
  readonly #extract: Extract
  readonly #entries = new Map<string, ArchiveEntry>()
  /** The contents of manifest.json, index.json and the config, for the final check. */
  readonly #metadata = new Map<string, Buffer>()
  readonly #keep: ReadonlySet<string>
  readonly #finished: Promise<void>
  #failure: Error | undefined
  /** Bytes fed, the run of zero bytes they end with, and where the last entry's data (padded to 512) ends. */
  #received = 0
  #trailingZeros = 0
  #dataEnd = 0
  /** The parser ran out of input inside an entry or header. */
  #cutOff = false

  constructor (idHex: string) {
    this.#idHex = idHex
    this.#keep = new Set(['manifest.json', 'index.json', `${idHex}.json`, `blobs/sha256/${idHex}`])
    this.#extract = tarExtract()
    this.#finished = new Promise<void>((resolve, reject) => {
      this.#extract.on('finish', resolve)
      this.#extract.on('error', (err: Error) => { this.#fail(err) })
      this.#extract.on('close', () => reject(this.#failure ?? new ArchiveRefusal('format', 'the archive check stopped')))
    })
    this.#finished.catch(() => {})
    this.#extract.on('entry', (header: Header, entry: AsyncIterable<unknown> & { readonly offset: number }, next: (err?: Error | null) => void) => {
      this.#dataEnd = Math.max(this.#dataEnd, entry.offset + 512 + Math.ceil(header.size / 512) * 512)
      this.#readEntry(header, entry).then(() => next(), (err: unknown) => {
        this.#fail(err)
        next(this.#failure)
      })
    })
  }

  /** Feed the next bytes; resolves when the checker can take more, rejects with the ArchiveRefusal once it failed. */
  async write (chunk: Uint8Array): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure
    if (this.#extract.destroyed) throw new ArchiveRefusal('format', 'the archive check stopped')
    this.#received += chunk.byteLength
    let i = chunk.byteLength - 1
    while (i >= 0 && chunk[i] === 0) i--
    this.#trailingZeros = i < 0 ? this.#trailingZeros + chunk.byteLength : chunk.byteLength - 1 - i
    if (this.#extract.write(chunk)) return
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        this.#extract.off('drain', done)
        this.#extract.off('close', done)
        if (this.#failure !== undefined) reject(this.#failure)
        else resolve()
      }
      this.#extract.on('drain', done)
      this.#extract.on('close', done)
    })
  }

  /**
   * How many bytes from the start belong to entries whose header was read
   * (their data, padded, included): what the engine may be given while the
   * archive arrives. What lies beyond, the end-of-archive marker above all,
   * waits for `end` to pass, so the engine, which loads only once the tar
   * has ended, loads nothing unchecked.
   */
  get entriesEnd (): number {
    return Math.min(this.#dataEnd, this.#received)
  }

  /**
   * The stream ended: finish parsing, then check the manifest, config and
   * layers. Throws ArchiveTruncated when the archive stops short of its
   * end-of-archive marker (two zero blocks after the last entry's data), so a
   * cut-off transfer is told apart from a whole archive that fails the check.
   */
  async end (): Promise<void> {
    if (this.#failure === undefined && !this.#extract.destroying) this.#extract.end(null)
    const failed = await this.#finished.then(() => undefined, (err: unknown) => err)
    if (failed !== undefined && !this.#cutOff) throw failed
    if (this.#cutOff || this.#received - this.#dataEnd < 1024 || this.#trailingZeros < 1024) {
      throw new ArchiveTruncated(`the archive stops short of its end (${this.#received} bytes, without the end-of-archive marker)`)
    }
    this.#verify()
  }

  destroy (): void {
    this.#extract.destroy()
  }

  #fail (err: unknown): void {
    // tar-stream's only word for "the input stopped inside an entry or a header".
    if (!(err instanceof ArchiveRefusal) && (err as Error | undefined)?.message === 'Unexpected end of data') this.#cutOff = true
    this.#failure ??= err instanceof ArchiveRefusal ? err : new ArchiveRefusal('format', `it is not a valid tar archive: ${(err as Error).message}`)
  }

  async #readEntry (header: Header, entry: AsyncIterable<unknown>): Promise<void> {
    const name = entryName(header.name)
    if (name === undefined) throw new ArchiveRefusal('format', `it holds an entry outside the archive: ${JSON.stringify(header.name)}`)
    if (this.#entries.has(name)) throw new ArchiveRefusal('format', `it holds ${name} twice`)
    const type = header.type ?? 'file'
    if (type !== 'file' && type !== 'contiguous-file') {
      for await (const _ of entry) { /* links and directories carry no data; drain anything else */ }
      const linkname = header.linkname ?? ''
      if (type === 'symlink') this.#entries.set(name, { kind: 'link', target: linkname.startsWith('/') ? entryName(linkname) : entryName(posix.join(posix.dirname(name), linkname)) })
      else if (type === 'link') this.#entries.set(name, { kind: 'link', target: entryName(linkname) })
      else this.#entries.set(name, { kind: 'other' })
      return
    }
    const hash = createHash('sha256')
    const kept: Buffer[] | undefined = this.#keep.has(name) ? [] : undefined
    let keptBytes = 0
    let head: Buffer | undefined = Buffer.alloc(0)
    let unpacker: Unpacker | undefined
    for await (const data of entry) {
      const chunk = data as Buffer
      hash.update(chunk)
      if (kept !== undefined) {
        keptBytes += chunk.byteLength
        if (keptBytes > MAX_METADATA_BYTES) throw new ArchiveRefusal('format', `its ${name} is larger than ${MAX_METADATA_BYTES} bytes`)
        kept.push(chunk)
      }
      // Sniff the compression from the first 4 bytes, then feed the decompressor.
      if (head !== undefined) {
        head = Buffer.concat([head, chunk])
        if (head.byteLength < 4) continue
        unpacker = startUnpacker(head)
        const first = head
        head = undefined
        await unpacker?.write(first)
      } else {
        await unpacker?.write(chunk)
      }
    }
    const digest = hash.digest('hex')
    const unpacked = await unpacker?.end()
    const blob = BLOB.exec(name)?.[1]
    if (blob !== undefined && blob !== digest) throw new ArchiveRefusal('digest', `blob ${shortId(blob)} hashed to ${shortId(digest)}`)
    this.#entries.set(name, { kind: 'file', digest, unpacked })
    if (kept !== undefined) this.#metadata.set(name, Buffer.concat(kept))
  }

  #verify (): void {
    const manifest = this.#json('manifest.json')
    if (!Array.isArray(manifest) || manifest.length !== 1) {
      throw new ArchiveRefusal('format', `its manifest.json should list one image, not ${Array.isArray(manifest) ? manifest.length : 'something else'}`)
    }
    const item = manifest[0] as { Config?: unknown, RepoTags?: unknown, Layers?: unknown }
    if (typeof item.Config !== 'string' || !Array.isArray(item.Layers) || !item.Layers.every(l => typeof l === 'string')) {
      throw new ArchiveRefusal('format', 'its manifest.json lacks Config or Layers')
    }
    if (item.RepoTags != null && !(Array.isArray(item.RepoTags) && item.RepoTags.length === 0)) {
      throw new ArchiveRefusal('format', `it would tag the image as ${JSON.stringify(item.RepoTags)}; an image fetched by ID comes untagged`)
    }
    this.#refuseNames()

    const want = `sha256:${this.#idHex}`
    const configName = entryName(item.Config)
    if (configName !== `blobs/sha256/${this.#idHex}` && configName !== `${this.#idHex}.json`) {
      throw new ArchiveRefusal('digest', `its manifest names the config ${JSON.stringify(item.Config)}, not that of ${shortId(want)}`)
    }
    const config = this.#entries.get(configName)
    if (config?.kind !== 'file') throw new ArchiveRefusal('format', `its config ${configName} is missing`)
    if (config.digest !== this.#idHex) throw new ArchiveRefusal('digest', `config ${configName} hashed to ${shortId(config.digest)}`)

    const diffIds = (this.#json(configName) as { rootfs?: { diff_ids?: unknown } } | null)?.rootfs?.diff_ids
    if (!Array.isArray(diffIds) || !diffIds.every(d => typeof d === 'string' && DIGEST.test(d))) {
      throw new ArchiveRefusal('format', 'its image config has no rootfs.diff_ids')
    }
    const layers = item.Layers as string[]
    if (diffIds.length !== layers.length) {
      throw new ArchiveRefusal('format', `its manifest lists ${layers.length} layers, the image config ${diffIds.length}`)
    }
    layers.forEach((path, i) => {
      const expected = (diffIds[i] as string).slice('sha256:'.length)
      const name = entryName(path)
      const file = name !== undefined ? this.#resolve(name) : undefined
      if (file === undefined) throw new ArchiveRefusal('format', `layer ${path} is missing from the archive`)
      if (file.digest !== expected && file.unpacked !== expected) {
        throw new ArchiveRefusal('digest', `layer ${path} hashed to ${shortId(file.unpacked ?? file.digest)}, the image config says ${shortId(expected)}`)
      }
    })
  }

  /** index.json may name the image too (an OCI annotation that docker load applies as a tag). */
  #refuseNames (): void {
    if (!this.#metadata.has('index.json')) return
    const index = this.#json('index.json') as { manifests?: unknown } | null
    const manifests = Array.isArray(index?.manifests) ? index.manifests as Array<{ annotations?: Record<string, unknown> }> : []
    for (const m of manifests) {
      const name = m?.annotations?.['io.containerd.image.name'] ?? m?.annotations?.['org.opencontainers.image.ref.name']
      if (name !== undefined) throw new ArchiveRefusal('format', `its index.json would name the image ${JSON.stringify(name)}; an image fetched by ID comes untagged`)
    }
  }

  #json (name: string): unknown {
    const bytes = this.#metadata.get(name)
    if (bytes === undefined) throw new ArchiveRefusal('format', `it has no ${name}`)
    try {
      return JSON.parse(bytes.toString('utf8'))
    } catch {
      throw new ArchiveRefusal('format', `its ${name} is not JSON`)
    }
  }

  /** The file at `name`, following hard and symbolic links. */
  #resolve (name: string): { readonly digest: string, readonly unpacked: string | undefined } | undefined {
    let at: string | undefined = name
    for (let hop = 0; hop <= MAX_LINK_HOPS && at !== undefined; hop++) {
      const e = this.#entries.get(at)
      if (e?.kind === 'file') return e
      if (e?.kind !== 'link') return undefined
      at = e.target
    }
    return undefined
  }
}

/** An entry's path relative to the archive's root, or undefined when it leaves it. */
function entryName (raw: string): string | undefined {
  const n = posix.normalize(raw.replace(/^\/+/, '')).replace(/\/+$/, '')
  if (n === '..' || n.startsWith('../') || n === '' || n === '.') return undefined
  return n
}

interface Unpacker {
  write: (chunk: Uint8Array) => Promise<void>
  /** The sha256 of the decompressed bytes, or undefined when they were not valid compressed data. */
  end: () => Promise<string | undefined>
}

/** A decompressor that hashes its output, for a gzip or zstd entry (a compressed OCI layer); undefined for anything else. */
function startUnpacker (head: Uint8Array): Unpacker | undefined {
  let z: Gunzip | ZstdDecompress
  if (head[0] === 0x1f && head[1] === 0x8b) z = createGunzip()
  else if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) z = createZstdDecompress()
  else return undefined
  const hash = createHash('sha256')
  let failed = false
  z.on('data', (b: Buffer) => hash.update(b))
  const done = new Promise<string | undefined>(resolve => {
    z.on('end', () => resolve(failed ? undefined : hash.digest('hex')))
    z.on('error', () => {
      failed = true
      resolve(undefined)
    })
  })
  return {
    async write (chunk) {
      if (failed || z.write(chunk)) return
      await once(z, 'drain').catch(() => {})
    },
    async end () {
      if (!failed) z.end()
      return await done
    }
  }
}
