import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Entry } from '@shoal/core/raft/types.ts'
import { LevelRaftStorage } from './storage.ts'

export interface StorageBenchResult {
  readonly entriesPerBatch: number
  readonly batches: number
  /** Synced saves per second: each one a LevelDB batch with sync: true. */
  readonly batchesPerSec: number
  readonly entriesPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
}

/**
 * Synced LevelRaftStorage saves per second, one entry per save and 64, as a
 * leader appends: entries plus a hard state moving the commit index along.
 * The figures are only as good as the disk's fsync: a VM disk that
 * acknowledges fsync from a host cache shows far more than real hardware.
 */
export async function benchRaftStorage (options: { readonly parent?: string, readonly durationMs?: number, readonly entryBytes?: number } = {}): Promise<StorageBenchResult[]> {
  const durationMs = options.durationMs ?? 2000
  const data = 'x'.repeat(options.entryBytes ?? 256)
  const results: StorageBenchResult[] = []
  for (const entriesPerBatch of [1, 64]) {
    const root = await mkdtemp(join(options.parent ?? tmpdir(), 'shoal-raft-bench-'))
    const storage = await LevelRaftStorage.open(root)
    try {
      const latencies: number[] = []
      let last = 0
      const start = performance.now()
      while (performance.now() - start < durationMs) {
        const batch: Entry[] = []
        for (let k = 1; k <= entriesPerBatch; k++) batch.push({ term: 1, index: last + k, type: 'normal', data })
        const t = performance.now()
        await storage.save({ hardState: { term: 1, vote: 'bench', commit: last }, snapshot: null, entries: batch })
        latencies.push(performance.now() - t)
        last += entriesPerBatch
      }
      const seconds = (performance.now() - start) / 1000
      latencies.sort((a, b) => a - b)
      const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0
      results.push({
        entriesPerBatch,
        batches: latencies.length,
        batchesPerSec: Math.round(latencies.length / seconds),
        entriesPerSec: Math.round(last / seconds),
        p50Ms: Number(at(0.5).toFixed(3)),
        p99Ms: Number(at(0.99).toFixed(3))
      })
    } finally {
      await storage.close()
      await rm(root, { recursive: true, force: true })
    }
  }
  return results
}
