import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { createSilentLogger } from '../log.ts'
import { archiveCache } from './cache.ts'
import type { ImageStore } from './transfer.ts'

const idOf = (c: string): string => `sha256:${c.repeat(64)}`

/** An engine holding `images` (ID → archive bytes), counting its exports. */
function engine (images: Map<string, Buffer>): ImageStore & { saves: string[] } {
  const saves: string[] = []
  return {
    saves,
    size: async id => images.get(id)?.length,
    save: async id => {
      saves.push(id)
      const bytes = images.get(id)!
      // In pieces, a little at a time, as an engine streams.
      return Readable.from((async function * () {
        for (let at = 0; at < bytes.length; at += 65536) {
          await new Promise(resolve => setImmediate(resolve))
          yield bytes.subarray(at, at + 65536)
        }
      })())
    },
    load: async () => {}
  }
}

async function drain (s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of s as AsyncIterable<Buffer>) chunks.push(c)
  return Buffer.concat(chunks)
}

describe('image archive cache', () => {
  it('keeps an export that ended whole, and serves the next request from it without asking the engine', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shoal-cache-'))
    try {
      const bytes = randomBytes(300_000)
      const e = engine(new Map([[idOf('a'), bytes]]))
      const cache = archiveCache(e, dir, 1 << 30, createSilentLogger())
      assert.deepEqual(await drain(await cache.save(idOf('a'))), bytes)
      // The copy is renamed into place once written: wait for it.
      for (let i = 0; i < 100 && !(await readdir(dir)).includes(`${'a'.repeat(64)}.tar`); i++) await new Promise(resolve => setTimeout(resolve, 10))
      assert.deepEqual(await drain(await cache.save(idOf('a'))), bytes)
      assert.deepEqual(e.saves, [idOf('a')], 'one export')
    } finally { await rm(dir, { recursive: true, force: true }) }
  })

  it('keeps nothing of an export whose requester went away half-way (the export stops)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shoal-cache-'))
    try {
      const e = engine(new Map([[idOf('b'), randomBytes(20_000_000)]]))
      const cache = archiveCache(e, dir, 1 << 30, createSilentLogger())
      const s = await cache.save(idOf('b')) as Readable
      await new Promise<void>(resolve => s.once('data', () => resolve()))
      s.destroy()
      for (let i = 0; i < 100 && (await readdir(dir)).length > 0; i++) await new Promise(resolve => setTimeout(resolve, 10))
      assert.deepEqual(await readdir(dir), [])
    } finally { await rm(dir, { recursive: true, force: true }) }
  })

  it('takes a fetched archive, drops those of images the engine no longer holds, and the least recently used past its size', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shoal-cache-'))
    try {
      const e = engine(new Map())
      const cache = archiveCache(e, dir, 250_000, createSilentLogger())
      for (const c of ['c', 'd', 'e']) {
        const f = join(dir, `in-${c}`)
        await writeFile(f, randomBytes(100_000))
        await cache.keep(idOf(c), f)
        await new Promise(resolve => setTimeout(resolve, 20))
      }
      assert.deepEqual((await readdir(dir)).sort(), [`${'d'.repeat(64)}.tar`, `${'e'.repeat(64)}.tar`], 'the oldest went past 250 kB')
      await cache.sweep(new Set([idOf('e')]))
      assert.deepEqual(await readdir(dir), [`${'e'.repeat(64)}.tar`])
      assert.equal((await readFile(join(dir, `${'e'.repeat(64)}.tar`))).length, 100_000)
    } finally { await rm(dir, { recursive: true, force: true }) }
  })

  it('prepare exports an image before anyone asks: once, then requests are served from the file; a failed export leaves nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shoal-cache-'))
    try {
      const bytes = randomBytes(300_000)
      const e = engine(new Map([[idOf('f'), bytes]]))
      const cache = archiveCache(e, dir, 1 << 30, createSilentLogger())
      assert.equal(await cache.has(idOf('f')), false)
      assert.equal(await cache.prepare(idOf('f')), true)
      assert.equal(await cache.has(idOf('f')), true)
      assert.equal(await cache.prepare(idOf('f')), false, 'kept already')
      assert.deepEqual(await drain(await cache.save(idOf('f'))), bytes)
      assert.deepEqual(e.saves, [idOf('f')], 'one export')
      // An engine that fails mid-export: the error, and no file.
      const failing: ImageStore = { ...e, save: async () => Readable.from((async function * () { yield Buffer.alloc(1000); throw new Error('engine gone') })()) }
      const broken = archiveCache(failing, dir, 1 << 30, createSilentLogger())
      await assert.rejects(broken.prepare(idOf('9')), /engine gone/)
      assert.deepEqual(await readdir(dir), [`${'f'.repeat(64)}.tar`])
    } finally { await rm(dir, { recursive: true, force: true }) }
  })
})
