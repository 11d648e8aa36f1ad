import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { NetworkCommandError, runCommand } from './command.ts'

describe('runCommand', () => {
  it('resolves with what the command printed', async () => {
    assert.equal(await runCommand('cat', [], 'batch\n'), 'batch\n')
  })

  it('a command that fails rejects with its command line and its stderr', async () => {
    await assert.rejects(runCommand('sh', ['-c', 'echo no such device >&2; exit 1']), (err: unknown) => {
      assert.ok(err instanceof NetworkCommandError)
      assert.match(err.message, /^sh -c .*: no such device$/)
      return true
    })
  })

  it('a command that exits before reading its input is a rejection, not a crash of the process (EPIPE)', async () => {
    // More than a pipe holds, so the write is still pending when the reader is gone.
    const input = 'x'.repeat(4 << 20)
    for (let i = 0; i < 5; i++) {
      await assert.rejects(runCommand('sh', ['-c', 'exit 3'], input), NetworkCommandError)
    }
  })

  it('a command that does not exist is a rejection naming it', async () => {
    await assert.rejects(runCommand('no-such-command-here', ['a'], 'input'), /no-such-command-here a: spawn no-such-command-here ENOENT/)
  })
})
