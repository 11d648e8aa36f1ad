import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** CI brings up a real Docker engine and the local test image; later issues run pods on them. */
describe('the Docker engine the tests use', () => {
  it('runs the locally built busybox image', async () => {
    const { stdout } = await run('docker', ['run', '--rm', '--network', 'none', 'shoal-test/busybox:1', 'sh', '-c', 'echo hello from $(busybox | head -1 | cut -d" " -f1)'])
    assert.equal(stdout.trim(), 'hello from BusyBox')
  })
})
