import type { Entry, Snapshot } from './types.ts'

/**
 * The log as one node holds it: a snapshot point (index, term), the entries
 * after it, and three marks: `committed` (known replicated on a quorum),
 * `applied` (handed to the application) and `stable` (on disk). The whole log
 * after the last snapshot is kept in memory; the driver loads it at boot.
 *
 *   snapshotIndex ≤ applied ≤ committed ≤ lastIndex,  stable ≤ lastIndex
 */
export class RaftLog {
  snapshotIndex: number
  snapshotTerm: number
  /** entries[i] has index snapshotIndex + 1 + i. */
  entries: Entry[]
  committed: number
  applied: number
  stable: number
  /** A snapshot received from the leader that the driver must persist and apply. */
  pendingSnapshot: Snapshot | null = null

  constructor (snapshot: Snapshot | null, entries: readonly Entry[], committed: number) {
    this.snapshotIndex = snapshot?.index ?? 0
    this.snapshotTerm = snapshot?.term ?? 0
    this.entries = [...entries]
    for (let i = 0; i < this.entries.length; i++) {
      if (this.entries[i]!.index !== this.snapshotIndex + 1 + i) throw new Error(`log is not contiguous at position ${i}`)
    }
    this.stable = this.lastIndex()
    this.committed = Math.min(Math.max(committed, this.snapshotIndex), this.lastIndex())
    this.applied = this.snapshotIndex
  }

  lastIndex (): number { return this.snapshotIndex + this.entries.length }

  lastTerm (): number { return this.term(this.lastIndex()) ?? 0 }

  /** Term of the entry at `index`; undefined when compacted away or beyond the end. */
  term (index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm
    if (index < this.snapshotIndex || index > this.lastIndex()) return undefined
    return this.entries[index - this.snapshotIndex - 1]!.term
  }

  entry (index: number): Entry | undefined {
    if (index <= this.snapshotIndex || index > this.lastIndex()) return undefined
    return this.entries[index - this.snapshotIndex - 1]
  }

  matchTerm (index: number, term: number): boolean {
    return this.term(index) === term
  }

  /** §5.4.1: a candidate's log is at least as up to date as ours. */
  isUpToDate (lastIndex: number, lastTerm: number): boolean {
    return lastTerm > this.lastTerm() || (lastTerm === this.lastTerm() && lastIndex >= this.lastIndex())
  }

  /**
   * Entries from `lo` on, at most `maxEntries` and about `maxBytes` (at least
   * one); undefined when `lo` is compacted (the follower needs a snapshot).
   */
  slice (lo: number, maxEntries: number, maxBytes: number): Entry[] | undefined {
    if (lo <= this.snapshotIndex) return undefined
    const out: Entry[] = []
    let bytes = 0
    for (let i = lo; i <= this.lastIndex() && out.length < maxEntries; i++) {
      const e = this.entry(i)!
      bytes += e.type === 'normal' ? e.data.length : 64
      if (out.length > 0 && bytes > maxBytes) break
      out.push(e)
    }
    return out
  }

  /** Leader: append new entries at the end. */
  appendNew (entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.index !== this.lastIndex() + 1) throw new Error(`appending index ${e.index} after ${this.lastIndex()}`)
      this.entries.push(e)
    }
  }

  /**
   * Follower: merge entries from the leader. Entries already present with the
   * same term are skipped; at the first conflict the rest of our log is cut
   * off (§5.3). Cutting a committed entry would break safety, so it throws.
   */
  merge (entries: readonly Entry[]): void {
    let i = 0
    while (i < entries.length && this.term(entries[i]!.index) === entries[i]!.term) i++
    if (i === entries.length) return
    const first = entries[i]!.index
    if (first <= this.committed) throw new Error(`entry ${first} conflicts with the committed log (committed ${this.committed})`)
    if (first <= this.snapshotIndex || first > this.lastIndex() + 1) throw new Error(`entry ${first} does not attach to the log (snapshot ${this.snapshotIndex}, last ${this.lastIndex()})`)
    this.entries.length = first - this.snapshotIndex - 1
    this.stable = Math.min(this.stable, first - 1)
    for (; i < entries.length; i++) this.entries.push(entries[i]!)
  }

  /**
   * §5.3 fast backup: the largest index ≤ `index` whose term is ≤ `term`.
   * Everything after it is known not to match a log whose entry at `index` has `term`.
   */
  findConflictByTerm (index: number, term: number): number {
    let i = Math.min(index, this.lastIndex())
    for (; i > this.snapshotIndex; i--) {
      if (this.term(i)! <= term) return i
    }
    return i
  }

  commitTo (index: number): void {
    if (index <= this.committed) return
    if (index > this.lastIndex()) throw new Error(`commit ${index} is beyond the last index ${this.lastIndex()}`)
    this.committed = index
  }

  /** Entries to persist: the ones after the stable mark. */
  unstableEntries (): Entry[] {
    return this.entries.slice(this.stable - this.snapshotIndex)
  }

  /** Committed entries not yet handed to the application. */
  nextCommitted (): Entry[] {
    if (this.committed <= this.applied) return []
    return this.entries.slice(this.applied - this.snapshotIndex, this.committed - this.snapshotIndex)
  }

  /** Replace the whole log with a snapshot from the leader. */
  restore (snapshot: Snapshot): void {
    this.snapshotIndex = snapshot.index
    this.snapshotTerm = snapshot.term
    this.entries = []
    this.committed = snapshot.index
    this.applied = snapshot.index
    this.stable = snapshot.index
    this.pendingSnapshot = snapshot
  }

  /** Drop entries up to `index`, which a snapshot now covers. */
  compact (index: number): void {
    if (index <= this.snapshotIndex) return
    if (index > this.applied) throw new Error(`cannot compact to ${index}, beyond applied ${this.applied}`)
    const term = this.term(index)!
    this.entries = this.entries.slice(index - this.snapshotIndex)
    this.snapshotIndex = index
    this.snapshotTerm = term
  }
}
