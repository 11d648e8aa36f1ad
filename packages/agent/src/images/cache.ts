import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough, type Writable } from 'node:stream'
import { finished, pipeline } from 'node:stream/promises'
import type { Logger } from '../log.ts'
import type { ImageStore } from './transfer.ts'

/**
 * The archives this node served or fetched, kept on disk so the next
 * transfer of the same image streams a file instead of asking the engine
 * for another `docker save` (which first copies every layer into a temporary
 * directory: most of a second per 100 MB here, and CPU the engine takes
 * from everything else). A fetched archive is already here, checked, once it
 * is loaded: the node that just got an image serves it at once, which is
 * what makes a rollout's fan-out a tree. An export is kept while it streams
 * (a copy written beside it) when it ends whole.
 *
 * Archives are named by image ID; the engine is asked each time whether it
 * still holds the image (an archive of an image gone from the engine is not
 * served, and is dropped). The oldest-used go first past `capBytes`.
 *
 * `prepare` exports an image into the cache before anyone asks: the agent
 * does so for the images only its node holds (images.ts), so that the first
 * node to need one does not wait for the engine's export.
 */

export interface ArchiveCache extends ImageStore {
  /** Keep `file`, a checked archive of `id` that the engine loaded (moved here; it is gone from where it was). */
  keep: (id: string, file: string) => Promise<void>
  /** Drop the archives of images the engine no longer holds (`held`: the IDs it does). */
  sweep: (held: ReadonlySet<string>) => Promise<void>
  /** Whether an archive of `id` is kept. */
  has: (id: string) => Promise<boolean>
  /** Export `id` from the engine into the cache: true once kept, false when it was kept or being copied already; rejects with the engine's error. */
  prepare: (id: string, signal?: AbortSignal) => Promise<boolean>
}

const hexOf = (id: string): string => id.slice('sha256:'.length)

/** Resolves when `w` takes more; rejects when it closed first. */
async function drained (w: Writable): Promise<void> {
  if (w.destroyed) throw new Error('the stream closed')
  await new Promise<void>((resolve, reject) => {
    const done = (): void => { w.off('close', closed); resolve() }
    const closed = (): void => { w.off('drain', done); reject(new Error('the stream closed')) }
    w.once('drain', done)
    w.once('close', closed)
  })
}

export function archiveCache (engine: ImageStore, dir: string, capBytes: number, log: Logger): ArchiveCache {
  /** Exports being copied in, by ID: one copy at a time per image. */
  const copying = new Set<string>()
  const fileOf = (id: string): string => join(dir, `${hexOf(id)}.tar`)

  const evict = async (): Promise<void> => {
    const entries = await readdir(dir).catch(() => [] as string[])
    const files = (await Promise.all(entries.filter(n => n.endsWith('.tar')).map(async n => {
      const s = await stat(join(dir, n)).catch(() => undefined)
      return s === undefined ? undefined : { path: join(dir, n), size: s.size, used: s.mtimeMs }
    }))).filter(f => f !== undefined).sort((a, b) => b.used - a.used)
    let total = 0
    for (const f of files) {
      total += f.size
      if (total > capBytes) await rm(f.path, { force: true })
    }
  }

  const add = async (id: string, from: string): Promise<void> => {
    await mkdir(dir, { recursive: true })
    await rename(from, fileOf(id))
    await evict()
  }

  return {
    size: async id => await engine.size(id),
    load: async (file, signal) => { await engine.load(file, signal) },
    async save (id, signal) {
      const file = fileOf(id)
      const now = new Date()
      if (await utimes(file, now, now).then(() => true, () => false)) {
        // 1 MiB reads: under half the CPU time of the default 64 KiB for a 100 MB archive (60 against 130 ms here).
        const stream = createReadStream(file, { highWaterMark: 1 << 20 })
        signal?.addEventListener('abort', () => stream.destroy(signal.reason as Error), { once: true })
        return stream
      }
      const tar = await engine.save(id, signal)
      if (copying.has(id)) return tar
      copying.add(id)
      // The export goes to the requester and, beside it, into a file kept once the export ended whole.
      await mkdir(dir, { recursive: true })
      const part = join(dir, `${hexOf(id)}.part-${process.pid}-${Date.now()}`)
      const copy = createWriteStream(part, { mode: 0o600 })
      const out = new PassThrough({ highWaterMark: 1 << 20 })
      ;(async () => {
        try {
          for await (const chunk of tar as AsyncIterable<Buffer>) {
            if (out.destroyed) throw new Error('the requester went away')
            const a = copy.write(chunk)
            const b = out.write(chunk)
            if (!a) await drained(copy)
            if (!b) await drained(out)
          }
          out.end()
          copy.end()
          await finished(copy)
          await add(id, part)
        } catch (err) {
          if (!out.destroyed) out.destroy(err as Error)
          if ('destroy' in tar && typeof tar.destroy === 'function') tar.destroy()
          copy.destroy()
          await rm(part, { force: true })
        }
      })().catch((err: Error) => { log.debug({ image: id, err: err.message }, 'could not keep an image archive') }).finally(() => copying.delete(id))
      return out
    },
    has: async id => await stat(fileOf(id)).then(() => true, () => false),
    async prepare (id, signal) {
      if (copying.has(id) || await stat(fileOf(id)).then(() => true, () => false)) return false
      copying.add(id)
      const part = join(dir, `${hexOf(id)}.part-${process.pid}-${Date.now()}`)
      try {
        await mkdir(dir, { recursive: true })
        await pipeline(await engine.save(id, signal) as NodeJS.ReadableStream & AsyncIterable<Buffer>, createWriteStream(part, { mode: 0o600 }), ...(signal !== undefined ? [{ signal }] : []))
        await add(id, part)
        return true
      } catch (err) {
        await rm(part, { force: true })
        throw err
      } finally {
        copying.delete(id)
      }
    },
    async keep (id, file) {
      await add(id, file).catch(async (err: Error) => {
        log.debug({ image: id, err: err.message }, 'could not keep an image archive')
        await rm(file, { force: true })
      })
    },
    async sweep (held) {
      const entries = await readdir(dir).catch(() => [] as string[])
      for (const n of entries) {
        const m = /^([0-9a-f]{64})\.tar$/.exec(n)
        if (m !== null && !held.has(`sha256:${m[1]!}`)) await rm(join(dir, n), { force: true })
        // Copies a killed agent left half-way.
        if (/\.part-/.test(n) && copying.size === 0) await rm(join(dir, n), { force: true })
      }
    }
  }
}
