import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { ClassicLevel } from 'classic-level'
import type { Entry } from '@shoal/core/raft/types.ts'
import { LevelRaftStorage, type RaftStorage } from './storage.ts'
import { MemoryRaftStorage } from './memory-storage.ts'
import { entries, entry, raftStorageContract, snapshot, type StorageHarness } from './storage.contract.ts'
import { crashData } from './storage-crash.child.ts'

async function tempDir (): Promise<string> {
  return await mkdtemp(join(tmpdir(), 'shoal-raft-'))
}

/** LevelRaftStorages in a temp dir, all closed and removed by cleanup. */
async function levelHarness (): Promise<StorageHarness> {
  const root = await tempDir()
  const dir = join(root, 'raft')
  const opened: RaftStorage[] = []
  const open = async (): Promise<RaftStorage> => {
    const s = await LevelRaftStorage.open(dir)
    opened.push(s)
    return s
  }
  return {
    open,
    reopen: async s => { await s.close(); return await open() },
    cleanup: async () => {
      for (const s of opened) await s.close()
      await rm(root, { recursive: true, force: true })
    }
  }
}

async function memoryHarness (): Promise<StorageHarness> {
  return {
    open: async () => new MemoryRaftStorage(),
    reopen: async s => (s as MemoryRaftStorage).reopen(),
    cleanup: async () => {}
  }
}

raftStorageContract('LevelRaftStorage', levelHarness)
raftStorageContract('MemoryRaftStorage', memoryHarness)

/** Run `fn` on a temp dir that is removed afterwards. */
async function inTempDir (fn: (root: string) => Promise<void>): Promise<void> {
  const root = await tempDir()
  try {
    await fn(root)
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

/** Write keys straight into a LevelDB, the way a bug, a bad disk or another program might. */
async function writeRaw (dir: string, ops: Array<[string, string | null]>): Promise<void> {
  const db = new ClassicLevel<string, string>(dir)
  await db.open()
  await db.batch(ops.map(([key, value]) => value === null ? { type: 'del' as const, key } : { type: 'put' as const, key, value }), { sync: true })
  await db.close()
}

const key = (index: number): string => 'e!' + String(index).padStart(16, '0')
const json = (e: Entry): string => JSON.stringify(e)

describe('LevelRaftStorage', () => {
  it('keeps everything across close and reopen, creating missing parent dirs', () => inTempDir(async root => {
    const dir = join(root, 'nested', 'raft')
    let s = await LevelRaftStorage.open(dir)
    // A log big enough to reach table files, then a snapshot in the middle and a conflicting suffix.
    for (let i = 1; i <= 2000; i += 100) await s.save({ hardState: { term: 1, vote: 'a', commit: i - 1 }, snapshot: null, entries: entries(i, i + 99, 1).map(e => ({ ...e, data: crashData(e.index).slice(0, 4000) })) })
    await s.save({ hardState: { term: 2, vote: null, commit: 1500 }, snapshot: snapshot(1000, 1), entries: entries(1800, 1805, 2) })
    await s.close()
    s = await LevelRaftStorage.open(dir)
    const state = await s.load()
    assert.deepEqual(state.hardState, { term: 2, vote: null, commit: 1500 })
    assert.deepEqual(state.snapshot, snapshot(1000, 1))
    assert.equal(state.entries.length, 805)
    assert.deepEqual(state.entries.map(e => e.index), Array.from({ length: 805 }, (_, k) => 1001 + k))
    assert.equal((state.entries[0] as { data: string }).data, crashData(1001).slice(0, 4000))
    assert.deepEqual(state.entries.slice(-6), entries(1800, 1805, 2))
    // The store holds exactly those keys: the discarded entries were deleted, not just hidden.
    await s.close()
    const db = new ClassicLevel<string, string>(dir)
    const keys = await db.keys().all()
    await db.close()
    assert.deepEqual(keys, [...state.entries.map(e => key(e.index)), 'format', 'hs', 'snap'])
  }))

  it('refuses a second open of the same dir, naming it, until the first closes', () => inTempDir(async root => {
    const first = await LevelRaftStorage.open(root)
    await assert.rejects(LevelRaftStorage.open(root), (err: Error & { reason?: string }) => {
      assert.equal(err.reason, 'DataDirLocked')
      assert.ok(err.message.includes(root), err.message)
      assert.match(err.message, /is locked: another agent/)
      return true
    })
    await first.save({ hardState: { term: 1, vote: null, commit: 0 }, snapshot: null, entries: [] })
    await first.close()
    const second = await LevelRaftStorage.open(root)
    assert.deepEqual((await second.load()).hardState, { term: 1, vote: null, commit: 0 })
    await second.close()
  }))

  it('keeps every acknowledged entry when its process is SIGKILLed, and locks the dir against other processes meanwhile', () => inTempDir(async dir => {
    const killAfter = 300
    const child = spawn(process.execPath, [fileURLToPath(new URL('./storage-crash.child.ts', import.meta.url)), dir], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    const exited = new Promise<NodeJS.Signals | null>(resolve => child.on('exit', (_code, signal) => resolve(signal)))
    let acked = 0
    let lockChecked = false
    for await (const line of createInterface({ input: child.stdout })) {
      if (line === 'open') continue
      const index = Number(line)
      assert.equal(index, acked + 1, 'the child acknowledges entries in order')
      acked = index
      if (!lockChecked && acked >= 10) {
        lockChecked = true
        await assert.rejects(LevelRaftStorage.open(dir), (err: Error) => err.message.includes(dir) && /is locked/.test(err.message))
      }
      if (acked >= killAfter) {
        child.kill('SIGKILL')
        break
      }
    }
    assert.equal(await exited, 'SIGKILL', `the child was killed, not ended on its own: ${stderr}`)
    assert.ok(acked >= killAfter, `the child acknowledged ${acked} entries: ${stderr}`)

    const s = await LevelRaftStorage.open(dir)
    const { hardState, snapshot, entries } = await s.load()
    await s.close()
    assert.equal(snapshot, null)
    // Each acknowledged entry is there, whole; at most the one in flight at the kill got in too.
    assert.ok(entries.length >= acked && entries.length <= acked + 1, `loaded ${entries.length} entries after ${acked} acknowledged`)
    entries.forEach((e, k) => assert.deepEqual(e, { term: 1, index: k + 1, type: 'normal', data: crashData(k + 1) }))
    assert.ok(hardState.commit >= acked - 1 && hardState.commit <= entries.length, `commit ${hardState.commit}`)
    assert.equal(hardState.vote, 'child')
  }))

  it('refuses to load a log with a gap, naming the dir and the missing entries', () => inTempDir(async dir => {
    const s = await LevelRaftStorage.open(dir)
    await s.save({ hardState: { term: 1, vote: null, commit: 2 }, snapshot: null, entries: entries(1, 5, 1) })
    await s.close()
    await writeRaw(dir, [[key(3), null]])
    await assert.rejects(LevelRaftStorage.open(dir), (err: Error & { reason?: string }) => {
      assert.equal(err.reason, 'CorruptDataDir')
      assert.equal(err.message, `raft storage ${dir} is corrupt: entries 3..3 are missing (entry 2 is followed by entry 4)`)
      return true
    })
  }))

  const corruptions: Array<[string, Array<[string, string | null]>, RegExp]> = [
    ['entries that do not start right after the snapshot', [['snap', JSON.stringify(snapshot(2, 1))], [key(1), null], [key(2), null], [key(3), null], [key(4), null]], /entries 3\.\.4 are missing \(the snapshot ends at index 2\)/],
    ['an entry the snapshot covers', [['snap', JSON.stringify(snapshot(2, 1))]], /entry 1 is covered by the snapshot at index 2/],
    ['an entry under the wrong key', [[key(6), json(entry(7, 1))]], /key e!0000000000000006 holds entry 7/],
    ['a term going back', [[key(4), json(entry(4, 3))]], /entry 5 has term 1, lower than the term 3 before it/],
    ['a commit index past the log', [['hs', JSON.stringify({ term: 1, vote: null, commit: 9 })]], /the commit index 9 is past the last index 5 \(committed entries were lost\)/],
    ['entries that do not start at 1', [[key(1), null], ['hs', JSON.stringify({ term: 1, vote: null, commit: 0 })]], /entries 1\.\.1 are missing \(the log starts at entry 2\)/],
    ['a lost tail below the commit index', [[key(5), null], [key(4), null]], /the commit index 4 is past the last index 3/],
    ['a value that is not JSON', [[key(2), '{"term":1,']], /the value of e!0000000000000002 is not valid JSON/],
    ['an entry of an unknown kind', [[key(2), JSON.stringify({ term: 1, index: 2, type: 'other' })]], /the value of e!0000000000000002 is not a log entry/],
    ['a malformed hard state', [['hs', JSON.stringify({ term: -1, vote: null, commit: 0 })]], /the hard state is malformed/],
    ['a key it never writes', [['e!12', json(entry(12, 1))]], /an unexpected key "e!12"/],
    ['a newer format', [['format', '2']], /format "2", and this agent reads format 1 only/],
    ['no format marker', [['format', null]], /no format marker/]
  ]
  for (const [what, ops, problem] of corruptions) {
    it(`refuses to load ${what}`, () => inTempDir(async dir => {
      const s = await LevelRaftStorage.open(dir)
      await s.save({ hardState: { term: 1, vote: null, commit: 4 }, snapshot: null, entries: entries(1, 5, 1) })
      await s.close()
      await writeRaw(dir, ops)
      await assert.rejects(LevelRaftStorage.open(dir), (err: Error) => {
        assert.ok(err.message.startsWith(`raft storage ${dir} is corrupt: `), err.message)
        assert.match(err.message, problem)
        return true
      })
      // The refused open released the dir: it can be repaired and opened again.
      await writeRaw(dir, [['format', '1'], ...[1, 2, 3, 4, 5].map(i => [key(i), json(entry(i, 1))] as [string, string]), [key(6), null], [key(7), null], ['e!12', null], ['snap', null], ['hs', JSON.stringify({ term: 1, vote: null, commit: 4 })]])
      const repaired = await LevelRaftStorage.open(dir)
      assert.deepEqual((await repaired.load()).entries, entries(1, 5, 1))
      await repaired.close()
    }))
  }

  it('refuses a store whose LevelDB CURRENT file is lost, rather than starting an empty one over it', () => inTempDir(async dir => {
    const s = await LevelRaftStorage.open(dir)
    await s.save({ hardState: { term: 3, vote: 'a', commit: 1 }, snapshot: null, entries: entries(1, 2, 3) })
    await s.close()
    await rm(join(dir, 'CURRENT'))
    await assert.rejects(LevelRaftStorage.open(dir), (err: Error) => err.message === `raft storage ${dir} is corrupt: its LevelDB CURRENT file is missing, but log and table files are there (opening it would start an empty store over them)`)
    assert.ok((await readdir(dir)).some(f => f.endsWith('.log')), 'the data files are still there')
  }))

  it('refuses a store whose LevelDB write-ahead log has a flipped byte (LevelDB itself skips the damaged records)', () => inTempDir(async dir => {
    const s = await LevelRaftStorage.open(dir)
    for (let i = 1; i <= 50; i++) await s.save({ hardState: { term: 1, vote: null, commit: i }, snapshot: null, entries: [entry(i, 1, crashData(i))] })
    await s.close()
    const log = (await readdir(dir)).find(f => f.endsWith('.log'))
    assert.ok(log !== undefined)
    const bytes = await readFile(join(dir, log))
    const mid = Math.floor(bytes.length / 2)
    bytes[mid] = (bytes[mid] ?? 0) ^ 0xff
    await writeFile(join(dir, log), bytes)
    await assert.rejects(LevelRaftStorage.open(dir), (err: Error) => {
      assert.ok(err.message.startsWith(`raft storage ${dir} is corrupt: `), err.message)
      assert.match(err.message, /: entries \d+\.\.\d+ are missing \(entry \d+ is followed by entry \d+\)$/)
      return true
    })
  }))

  it('refuses a dir that holds some other LevelDB', () => inTempDir(async dir => {
    await writeRaw(dir, [['/peers/abc', 'x']])
    await assert.rejects(LevelRaftStorage.open(dir), /no format marker/)
  }))
})
