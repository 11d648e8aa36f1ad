import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { Entry, HardState, PersistedState, Snapshot } from '@shoal/core/raft/types.ts'
import type { RaftStorage } from './storage.ts'

/** How the contract gets storages of one kind. */
export interface StorageHarness {
  /** A new, empty storage. */
  open (): Promise<RaftStorage>
  /** Close `storage` and open what it persisted again, as a restarted agent would. */
  reopen (storage: RaftStorage): Promise<RaftStorage>
  /** Close whatever is open and remove what was made. */
  cleanup (): Promise<void>
}

export function entry (index: number, term: number, data = `d${index}.${term}`): Entry {
  return { term, index, type: 'normal', data }
}

export function entries (from: number, to: number, term: number): Entry[] {
  const out: Entry[] = []
  for (let i = from; i <= to; i++) out.push(entry(i, term))
  return out
}

export function snapshot (index: number, term: number): Snapshot {
  return { index, term, conf: { voters: ['a', 'b', 'c'], learners: ['d'] }, data: `state@${index}` }
}

const fresh: PersistedState = { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, entries: [] }

/**
 * The behaviour every RaftStorage must have, as node:test tests. Each test
 * checks what it loads both from the storage it saved through and from a
 * reopened one, so what is only held in memory cannot pass for persisted.
 */
export function raftStorageContract (name: string, harness: () => Promise<StorageHarness>): void {
  /** Run `fn` with a new storage; the storage it returns is checked to be closable. */
  async function withStorage (fn: (s: RaftStorage, h: StorageHarness) => Promise<RaftStorage | void>): Promise<void> {
    const h = await harness()
    try {
      const s = await fn(await h.open(), h)
      if (s !== undefined) await s.close()
    } finally {
      await h.cleanup()
    }
  }

  /** Assert `s` loads `want`, reopen it, assert again; returns the reopened storage. */
  async function expectState (h: StorageHarness, s: RaftStorage, want: PersistedState, msg?: string): Promise<RaftStorage> {
    assert.deepEqual(await s.load(), want, msg)
    const again = await h.reopen(s)
    assert.deepEqual(await again.load(), want, `${msg ?? 'state'} after reopening`)
    return again
  }

  const hs = (term: number, vote: string | null, commit: number): HardState => ({ term, vote, commit })

  describe(`RaftStorage contract: ${name}`, () => {
    it('a new storage loads term 0, no vote, commit 0, no snapshot, no entries', () => withStorage(async (s, h) => {
      return await expectState(h, s, fresh)
    }))

    it('round-trips hard state, snapshot and entries saved in one call', () => withStorage(async (s, h) => {
      await s.save({ hardState: hs(3, 'b', 12), snapshot: snapshot(10, 2), entries: entries(11, 13, 3) })
      return await expectState(h, s, { hardState: hs(3, 'b', 12), snapshot: snapshot(10, 2), entries: entries(11, 13, 3) })
    }))

    it('keeps what earlier saves stored when a later one leaves it out', () => withStorage(async (s, h) => {
      await s.save({ hardState: hs(1, 'a', 0), snapshot: null, entries: entries(1, 2, 1) })
      await s.save({ hardState: null, snapshot: null, entries: entries(3, 4, 1) })
      await s.save({ hardState: hs(2, null, 3), snapshot: null, entries: [] })
      await s.save({ hardState: null, snapshot: null, entries: [] })
      return await expectState(h, s, { hardState: hs(2, null, 3), snapshot: null, entries: entries(1, 4, 1) })
    }))

    it('stores both kinds of entry exactly', () => withStorage(async (s, h) => {
      const log: Entry[] = [
        { term: 1, index: 1, type: 'normal', data: '' },
        { term: 1, index: 2, type: 'normal', data: '{"not":"parsed"} \u0000 ünïcödé 🚢 \n"quotes"\\' },
        { term: 2, index: 3, type: 'conf', change: { type: 'addVoter', node: 'node-b' } },
        { term: 2, index: 4, type: 'conf', change: { type: 'addLearner', node: 'node-c' } },
        { term: 2, index: 5, type: 'conf', change: { type: 'remove', node: 'node-a' } },
        { term: 2, index: 6, type: 'normal', data: 'x'.repeat(100_000) }
      ]
      await s.save({ hardState: hs(2, 'node-b', 5), snapshot: null, entries: log })
      return await expectState(h, s, { hardState: hs(2, 'node-b', 5), snapshot: null, entries: log })
    }))

    it('overwrites a conflicting suffix: saving from index i discards every entry >= i', () => withStorage(async (s, h) => {
      await s.save({ hardState: hs(1, 'a', 0), snapshot: null, entries: entries(1, 6, 1) })
      await s.save({ hardState: hs(2, 'b', 0), snapshot: null, entries: entries(3, 4, 2) })
      s = await expectState(h, s, { hardState: hs(2, 'b', 0), snapshot: null, entries: [...entries(1, 2, 1), ...entries(3, 4, 2)] })
      // The log now ends at 4: appending goes on from there, and 5 and 6 stay gone.
      await s.save({ hardState: null, snapshot: null, entries: [entry(5, 2, 'new 5')] })
      s = await expectState(h, s, { hardState: hs(2, 'b', 0), snapshot: null, entries: [...entries(1, 2, 1), ...entries(3, 4, 2), entry(5, 2, 'new 5')] })
      // Overwriting the whole log, from index 1, leaves only the new entries.
      await s.save({ hardState: hs(3, null, 0), snapshot: null, entries: [entry(1, 1, 'same term, new data')] })
      return await expectState(h, s, { hardState: hs(3, null, 0), snapshot: null, entries: [entry(1, 1, 'same term, new data')] })
    }))

    it('a snapshot discards the entries it covers and keeps the later ones that match it', () => withStorage(async (s, h) => {
      await s.save({ hardState: hs(2, 'a', 8), snapshot: null, entries: [...entries(1, 5, 1), ...entries(6, 10, 2)] })
      await s.save({ hardState: null, snapshot: snapshot(7, 2), entries: [] })
      s = await expectState(h, s, { hardState: hs(2, 'a', 8), snapshot: snapshot(7, 2), entries: entries(8, 10, 2) })
      // A later snapshot replaces it; one at the last index leaves no entries.
      await s.save({ hardState: hs(2, 'a', 10), snapshot: snapshot(10, 2), entries: [] })
      s = await expectState(h, s, { hardState: hs(2, 'a', 10), snapshot: snapshot(10, 2), entries: [] })
      // The log goes on after the snapshot.
      await s.save({ hardState: null, snapshot: null, entries: entries(11, 12, 3) })
      return await expectState(h, s, { hardState: hs(2, 'a', 10), snapshot: snapshot(10, 2), entries: entries(11, 12, 3) })
    }))

    it('a snapshot that does not match the entry at its index discards the whole log', () => withStorage(async (s, h) => {
      await s.save({ hardState: hs(1, 'a', 2), snapshot: null, entries: entries(1, 6, 1) })
      await s.save({ hardState: hs(3, null, 4), snapshot: snapshot(4, 3), entries: [] })
      s = await expectState(h, s, { hardState: hs(3, null, 4), snapshot: snapshot(4, 3), entries: [] })
      // Entries 5 and 6 are gone: the next entry is 5 again, and 6 would leave a gap.
      await assert.rejects(s.save({ hardState: null, snapshot: null, entries: [entry(6, 3)] }), /gap/)
      await s.save({ hardState: null, snapshot: null, entries: [entry(5, 3)] })
      return await expectState(h, s, { hardState: hs(3, null, 4), snapshot: snapshot(4, 3), entries: [entry(5, 3)] })
    }))

    it('a snapshot past the end of the log replaces it, and entries in the same call follow it', () => withStorage(async (s, h) => {
      await s.save({ hardState: hs(1, 'a', 1), snapshot: null, entries: entries(1, 3, 1) })
      await s.save({ hardState: hs(4, 'c', 21), snapshot: snapshot(20, 4), entries: entries(21, 22, 4) })
      return await expectState(h, s, { hardState: hs(4, 'c', 21), snapshot: snapshot(20, 4), entries: entries(21, 22, 4) })
    }))

    it('compact accepts what the snapshot covers and refuses past it', () => withStorage(async (s, h) => {
      await s.save({ hardState: hs(1, 'a', 0), snapshot: null, entries: entries(1, 4, 1) })
      await assert.rejects(s.compact(1), /snapshot only covers up to 0/, 'no snapshot: nothing may be compacted')
      await s.save({ hardState: hs(1, 'a', 6), snapshot: snapshot(3, 1), entries: entries(5, 8, 1) })
      await s.compact(3)
      await s.compact(2)
      await assert.rejects(s.compact(4), /snapshot only covers up to 3/, 'entry 4 is not in any snapshot')
      return await expectState(h, s, { hardState: hs(1, 'a', 6), snapshot: snapshot(3, 1), entries: entries(4, 8, 1) })
    }))

    it('refuses logs a Raft node cannot produce, and a refused save changes nothing', () => withStorage(async (s, h) => {
      await s.save({ hardState: hs(2, 'a', 6), snapshot: snapshot(3, 1), entries: [...entries(4, 5, 1), ...entries(6, 8, 2)] })
      const before = await s.load()
      const refused: Array<[string, Parameters<RaftStorage['save']>[0], RegExp]> = [
        ['a gap after the last entry', { hardState: null, snapshot: null, entries: [entry(10, 2)] }, /gap after the last index 8/],
        ['entries out of order', { hardState: null, snapshot: null, entries: [entry(9, 2), entry(11, 2)] }, /not contiguous/],
        ['an entry the snapshot covers', { hardState: null, snapshot: null, entries: [entry(3, 1)] }, /covered by the snapshot/],
        ['a term lower than the entry before', { hardState: null, snapshot: null, entries: [entry(9, 1)] }, /lower than the term 2/],
        ['a term lower than the snapshot\'s', { hardState: null, snapshot: snapshot(8, 2), entries: [entry(9, 1)] }, /lower than the term 2/],
        ['a snapshot older than the stored one', { hardState: null, snapshot: snapshot(2, 1), entries: [] }, /older than the stored one/],
        ['a snapshot conflicting with the stored one', { hardState: null, snapshot: snapshot(3, 2), entries: [] }, /stored snapshot there has term 1/],
        ['a term going back', { hardState: hs(1, 'a', 6), snapshot: null, entries: [] }, /lower than the stored term 2/],
        ['a second vote in the same term', { hardState: hs(2, 'b', 6), snapshot: null, entries: [] }, /changes the vote in term 2 from a to b/],
        ['a vote forgotten in the same term', { hardState: hs(2, null, 6), snapshot: null, entries: [] }, /changes the vote in term 2 from a to null/],
        ['a commit past the log', { hardState: hs(2, 'a', 9), snapshot: null, entries: [] }, /commit index 9 would be past the last index 8/],
        ['a truncation below the commit index', { hardState: null, snapshot: null, entries: [entry(5, 1)] }, /commit index 6 would be past the last index 5/],
        ['a valid snapshot with an invalid hard state', { hardState: hs(1, 'z', 0), snapshot: snapshot(8, 2), entries: [] }, /lower than the stored term/],
        ['valid entries with a gap behind them', { hardState: null, snapshot: null, entries: [entry(9, 2), entry(10, 2), entry(12, 2)] }, /not contiguous/]
      ]
      for (const [what, update, message] of refused) {
        await assert.rejects(s.save(update), message, what)
        assert.deepEqual(await s.load(), before, `${what}: nothing changed`)
      }
      // Saving again from below the commit index is fine while the log still reaches it (a leader resending).
      await s.save({ hardState: null, snapshot: null, entries: [...entries(5, 5, 1), ...entries(6, 9, 2)] })
      return await expectState(h, s, { ...before, entries: [...entries(4, 5, 1), ...entries(6, 9, 2)] })
    }))

    it('a new term may carry a new vote, or none', () => withStorage(async (s, h) => {
      await s.save({ hardState: hs(1, 'a', 0), snapshot: null, entries: [] })
      await s.save({ hardState: hs(1, 'a', 0), snapshot: null, entries: [] })
      await s.save({ hardState: hs(2, null, 0), snapshot: null, entries: [] })
      await s.save({ hardState: hs(2, 'c', 0), snapshot: null, entries: [] })
      await s.save({ hardState: hs(5, 'b', 0), snapshot: null, entries: [] })
      return await expectState(h, s, { hardState: hs(5, 'b', 0), snapshot: null, entries: [] })
    }))

    it('saves run in call order when the caller does not wait', () => withStorage(async (s, h) => {
      await Promise.all([
        s.save({ hardState: hs(1, 'a', 0), snapshot: null, entries: entries(1, 5, 1) }),
        s.save({ hardState: null, snapshot: null, entries: entries(6, 8, 1) }),
        s.save({ hardState: hs(2, 'b', 3), snapshot: null, entries: entries(4, 4, 2) }),
        assert.rejects(s.save({ hardState: null, snapshot: null, entries: [entry(6, 2)] }), /gap/),
        s.save({ hardState: null, snapshot: snapshot(2, 1), entries: entries(5, 5, 2) })
      ])
      return await expectState(h, s, { hardState: hs(2, 'b', 3), snapshot: snapshot(2, 1), entries: [entry(3, 1), ...entries(4, 5, 2)] })
    }))

    it('gives back copies: changing what was saved or loaded changes nothing stored', () => withStorage(async (s, h) => {
      const e = { term: 1, index: 1, type: 'normal', data: 'before' }
      await s.save({ hardState: hs(1, null, 0), snapshot: null, entries: [e as Entry] })
      e.data = 'after'
      const loaded = await s.load()
      ;(loaded.entries[0] as { data: string }).data = 'changed'
      return await expectState(h, s, { hardState: hs(1, null, 0), snapshot: null, entries: [entry(1, 1, 'before')] })
    }))

    it('rejects every call after close', () => withStorage(async s => {
      await s.save({ hardState: hs(1, null, 0), snapshot: null, entries: entries(1, 1, 1) })
      const pending = s.save({ hardState: null, snapshot: null, entries: entries(2, 2, 1) })
      await s.close()
      await pending
      await assert.rejects(s.load(), /closed/)
      await assert.rejects(s.save({ hardState: null, snapshot: null, entries: [] }), /closed/)
      await assert.rejects(s.compact(0), /closed/)
      await s.close()
    }))
  })
}
