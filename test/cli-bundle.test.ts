import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { statSync, utimesSync } from 'node:fs'
import { promisify } from 'node:util'

const run = promisify(execFile)
const bin = new URL('../packages/cli/bin/shoal.js', import.meta.url).pathname
const bundle = new URL('../packages/cli/dist/shoal.mjs', import.meta.url).pathname
const script = new URL('../packages/cli/scripts/bundle.ts', import.meta.url).pathname

/** What `shoal ARGS` prints, and which of the bundle and the sources' main ran it (from Node's own module log). */
async function shoalRun (args: readonly string[]): Promise<{ stdout: string, ran: 'bundle' | 'sources' | 'neither' }> {
  const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env: { ...process.env, NODE_DEBUG: 'esm' }, maxBuffer: 16 * 1024 * 1024 })
  const ran = stderr.includes('cli/dist/shoal.mjs') ? 'bundle' : stderr.includes('cli/src/main.ts') ? 'sources' : 'neither'
  return { stdout, ran }
}

/**
 * The CLI's bundle (packages/cli/scripts/bundle.ts, made at npm install):
 * `shoal` runs it while it is as new as every file it was made from, else
 * the sources, and both say the same.
 */
describe('the CLI bundle', () => {
  before(async () => { await run(process.execPath, [script]) })
  // Whatever a test did to its time, leave a fresh bundle.
  after(async () => { await run(process.execPath, [script]) })

  it('runs when fresh, and prints what the sources print', async () => {
    const fromBundle = await shoalRun(['--help'])
    assert.equal(fromBundle.ran, 'bundle')
    const t = statSync(bundle).mtime
    utimesSync(bundle, new Date(0), new Date(0))
    try {
      const fromSources = await shoalRun(['--help'])
      assert.equal(fromSources.ran, 'sources', 'a bundle older than its inputs is not run')
      assert.equal(fromBundle.stdout, fromSources.stdout)
      assert.match(fromBundle.stdout, /^\s+get \[\.\.\.resources\]/m)
    } finally {
      utimesSync(bundle, t, t)
    }
    assert.equal((await shoalRun(['version', '--client'])).ran, 'bundle')
  })

  it('leaves the agent to the sources', async () => {
    const r = await shoalRun(['agent', '--help'])
    assert.equal(r.ran, 'sources')
    assert.match(r.stdout, /--join <host\[:port\]>/)
  })
})
