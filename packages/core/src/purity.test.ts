import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * packages/core is pure: no I/O, no clock, no randomness. Time and randomness
 * come in as arguments. This test stands in for a lint rule and names the
 * file and line that breaks it.
 */
const FORBIDDEN: Array<[RegExp, string]> = [
  [/from\s+['"]node:/, 'imports a node: module'],
  [/from\s+['"](libp2p|@libp2p\/|level|classic-level|dockerode|pino)/, 'imports an I/O library'],
  [/\bDate\.now\(|new Date\(\)/, 'reads the clock'],
  [/\bMath\.random\(/, 'uses global randomness'],
  [/\b(setTimeout|setInterval|setImmediate|queueMicrotask)\(/, 'schedules work'],
  [/\bprocess\./, 'reads the process']
]

/** Test machinery that polls with the clock; only tests import it. (The simulation and the checker beside it are held to the rules: a seeded run must replay.) */
const CLOCKED = new Set(['testing/wait.ts'])

function sources (dir: string, root = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return sources(p, root)
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !CLOCKED.has(p.slice(root.length)) ? [p] : []
  })
}

describe('packages/core purity', () => {
  it('no source file does I/O, reads the clock or uses randomness', () => {
    const root = new URL('.', import.meta.url).pathname
    const found: string[] = []
    for (const file of sources(root)) {
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        if (/^\s*(\*|\/\/)/.test(line)) return
        for (const [re, what] of FORBIDDEN) if (re.test(line)) found.push(`${file.slice(root.length)}:${i + 1} ${what}`)
      })
    }
    assert.ok(sources(root).length > 3, 'found the sources')
    assert.deepEqual(found, [])
  })
})
