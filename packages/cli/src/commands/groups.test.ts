import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { cac } from 'cac'
import { COMMAND_GROUPS } from './groups.ts'

describe('command groups', () => {
  it('each group names exactly the commands its module registers, and no command is in two groups', async () => {
    const seen = new Set<string>()
    for (const g of COMMAND_GROUPS) {
      const cli = cac('shoal')
      await g.register(cli)
      assert.deepEqual(cli.commands.map(c => c.name).sort(), [...g.commands].sort())
      for (const name of g.commands) {
        assert.ok(!seen.has(name), `${name} is in two groups`)
        seen.add(name)
      }
    }
  })
})
