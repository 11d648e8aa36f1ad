/**
 * For storage.test.ts: opens the LevelRaftStorage in argv[2] and appends one
 * entry per save, printing each index on stdout only after its save resolved,
 * until it is killed (or reaches argv[3] entries). Entry i carries
 * `crashData(i)`, a few KB, so the run goes past LevelDB's 4 MB write buffer
 * and the kill can land during a flush to a table file as well as a log write.
 */
import { LevelRaftStorage } from './storage.ts'

export function crashData (index: number): string {
  return `entry ${index} `.padEnd(16 * 1024, String.fromCharCode(97 + index % 26))
}

if (import.meta.main) {
  const dir = process.argv[2]
  const limit = Number(process.argv[3] ?? 100_000)
  if (dir === undefined) throw new Error('usage: storage-crash.child.ts DIR [LIMIT]')
  const storage = await LevelRaftStorage.open(dir)
  const { entries } = await storage.load()
  let index = entries.at(-1)?.index ?? 0
  process.stdout.write('open\n')
  while (index < limit) {
    index++
    await storage.save({ hardState: { term: 1, vote: 'child', commit: index - 1 }, snapshot: null, entries: [{ term: 1, index, type: 'normal', data: crashData(index) }] })
    process.stdout.write(`${index}\n`)
  }
  await storage.close()
}
