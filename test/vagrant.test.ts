import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)
const vagrantDir = new URL('../vagrant/', import.meta.url).pathname
const stub = new URL('./vagrant/stub.rb', import.meta.url).pathname
const haveRuby = await new Promise<boolean>(resolve => execFile('ruby', ['--version'], err => { resolve(err === null) }))

type Json = any

/**
 * vagrant/Vagrantfile, checked without Vagrant or a hypervisor (neither
 * runs on the test machines): Ruby parses it, and loads it against a
 * recording stand-in for Vagrant's configuration API (test/vagrant/stub.rb).
 * The provisioning scripts are parsed by bash.
 */
describe('the Vagrant cluster', { skip: haveRuby ? false : 'ruby is not installed (.ci/run installs it)' }, () => {
  const machines = async (env: Record<string, string> = {}): Promise<Json> =>
    JSON.parse((await run('ruby', [stub, `${vagrantDir}Vagrantfile`], { env: { ...process.env, ...env } })).stdout)

  it('parses', async () => {
    assert.match((await run('ruby', ['-c', `${vagrantDir}Vagrantfile`])).stdout, /Syntax OK/)
  })

  it('defines three Debian VMs on fixed addresses by default, each provisioned with its name, its address and the first one\'s', async () => {
    const v = await machines()
    assert.equal(v.box, 'bento/debian-12')
    assert.deepEqual(v.synced, [[['.', '/vagrant'], { disabled: true }], [['..', '/shoal'], {}]])
    assert.deepEqual(v.machines.map((m: Json) => [m.name, m.hostname, m.network, m.provision]), [1, 2, 3].map(i => [
      `node${i}`, `node${i}`, [['private_network', `192.168.56.${10 + i}`]], [['shell', 'provision.sh', [`node${i}`, `192.168.56.${10 + i}`, '192.168.56.11']]]
    ]))
  })

  it('SHOAL_NODES=5 makes five; a nonsense count is refused with a message', async () => {
    assert.deepEqual((await machines({ SHOAL_NODES: '5' })).machines.map((m: Json) => m.network[0][1]), ['192.168.56.11', '192.168.56.12', '192.168.56.13', '192.168.56.14', '192.168.56.15'])
    await assert.rejects(machines({ SHOAL_NODES: '0' }), (err: Error & { stderr?: string }) => /SHOAL_NODES must be 1-50, got 0/.test(err.stderr ?? ''))
  })

  it('the provisioning and install scripts parse', async () => {
    for (const script of ['provision.sh', 'install.sh']) await run('bash', ['-n', `${vagrantDir}${script}`])
  })
})
