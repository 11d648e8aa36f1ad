import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { scratchDir } from './helpers/agents.ts'

const run = promisify(execFile)

/**
 * vagrant/install.sh in a stand-in machine: a container of
 * shoal-test/standin:1 (this machine's /etc and, mounted read-only, its
 * /usr), with the checkout at /src. No init system runs in a container
 * here (the sandbox grants no privileged containers), so `systemctl` is a
 * recorder on the PATH: the test checks what the script asks of systemd,
 * and `systemd-analyze verify` checks the unit it writes.
 */
describe('install.sh on a stand-in machine', () => {
  const scratch = scratchDir('install')
  const repo = new URL('..', import.meta.url).pathname
  const name = `shoal-install-test-${process.pid}`
  const sh = async (script: string): Promise<{ code: number, out: string }> => {
    try {
      const { stdout, stderr } = await run('docker', ['exec', name, 'bash', '-c', script], { maxBuffer: 16 * 1024 * 1024 })
      return { code: 0, out: stdout + stderr }
    } catch (err) {
      const e = err as { code?: number, stdout?: string, stderr?: string }
      return { code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }
    }
  }
  const install = async (args: string): Promise<{ code: number, out: string }> => await sh(`bash /src/vagrant/install.sh --source /src --copy-node-modules ${args}`)
  const calls = async (): Promise<string[]> => (await sh('cat /var/log/systemctl.log 2>/dev/null; : >/var/log/systemctl.log')).out.trim().split('\n').filter(l => l !== '')

  before(async () => {
    await run('bash', [new URL('./images/build.sh', import.meta.url).pathname])
    const bin = join(scratch.path, 'local-bin')
    mkdirSync(bin)
    writeFileSync(join(bin, 'systemctl'), '#!/bin/sh\necho "$*" >>/var/log/systemctl.log\ncase "$1" in is-active) exit 3 ;; esac\nexit 0\n')
    chmodSync(join(bin, 'systemctl'), 0o755)
    await run('docker', ['run', '-d', '--rm', '--name', name, '--hostname', 'vm1', '-v', '/usr:/usr:ro', '-v', `${bin}:/usr/local/bin`, '-v', `${repo}:/src:ro`, 'shoal-test/standin:1', 'sleep', 'infinity'])
  })

  after(async () => {
    await run('docker', ['rm', '-f', name]).catch(() => {})
    scratch.remove()
  })

  it('installs the project, its settings and the unit, and enables and restarts the service', async () => {
    const r = await install('--join 10.0.0.1 --token shoal1_test --name vm1 --bind 172.31.0.11')
    assert.equal(r.code, 0, r.out)
    assert.match(r.out, /installed and \(re\)started/)
    assert.deepEqual(await calls(), ['daemon-reload', 'enable shoal', 'restart shoal'])
    const env = await sh('stat -c %a /etc/default/shoal; cat /etc/default/shoal')
    assert.match(env.out, /^600\n/, 'the settings hold the token: root only')
    for (const line of ['SHOAL_DATA_DIR=/var/lib/shoal', 'SHOAL_NAME=vm1', 'SHOAL_BIND=172.31.0.11', 'SHOAL_JOIN=10.0.0.1', 'SHOAL_TOKEN=shoal1_test', 'SHOAL_JOIN_RETRY_MS=600000']) {
      assert.ok(env.out.split('\n').includes(line), `${line} in ${env.out}`)
    }
    const unit = await sh('cat /etc/systemd/system/shoal.service')
    assert.match(unit.out, /^ExecStart=\/opt\/shoal\/node_modules\/\.bin\/node \/opt\/shoal\/packages\/cli\/bin\/shoal\.js agent$/m)
    assert.match(unit.out, /^Restart=on-failure$/m)
    assert.match(unit.out, /^EnvironmentFile=\/etc\/default\/shoal$/m)
    const verify = await sh('systemd-analyze verify /etc/systemd/system/shoal.service')
    assert.equal(verify.code, 0, verify.out)
    const version = await sh('shoal version --client 2>&1 || shoal --version')
    assert.match(version.out, /\d+\.\d+\.\d+/, `the shoal command runs with the project's Node.js: ${version.out}`)
  })

  it('run again with the same arguments, changes nothing and only makes sure the service runs', async () => {
    const before = (await sh('stat -c %Y /etc/default/shoal /etc/systemd/system/shoal.service /opt/shoal/.installed-source')).out
    const r = await install('--join 10.0.0.1 --token shoal1_test --name vm1 --bind 172.31.0.11')
    assert.equal(r.code, 0, r.out)
    assert.match(r.out, /unchanged/)
    assert.deepEqual(await calls(), ['daemon-reload', 'enable shoal', 'start shoal'])
    assert.equal((await sh('stat -c %Y /etc/default/shoal /etc/systemd/system/shoal.service /opt/shoal/.installed-source')).out, before)
  })

  it('refuses bad arguments with a line saying what is wrong, changing nothing', async () => {
    const noToken = await install('--join 10.0.0.1')
    assert.equal(noToken.code, 1)
    assert.match(noToken.out, /--join needs --token or --token-file/)
    const unknown = await install('--joni 10.0.0.1')
    assert.equal(unknown.code, 1)
    assert.match(unknown.out, /unknown argument --joni/)
    assert.deepEqual(await calls(), [])
    assert.match((await sh('cat /etc/default/shoal')).out, /SHOAL_JOIN=10\.0\.0\.1/)
  })

  it('changed settings are written and the service restarted', async () => {
    const r = await install('--join 10.0.0.2 --token shoal1_test --name vm1 --bind 172.31.0.11')
    assert.match(r.out, /installed and \(re\)started/)
    assert.deepEqual(await calls(), ['daemon-reload', 'enable shoal', 'restart shoal'])
    assert.match((await sh('cat /etc/default/shoal')).out, /SHOAL_JOIN=10\.0\.0\.2/)
  })

  it('uninstall leaves nothing behind but the data dir it is asked to keep', async () => {
    await sh('mkdir -p /var/lib/shoal && echo x >/var/lib/shoal/cluster.json')
    const keep = await install('--uninstall --keep-data')
    assert.equal(keep.code, 0, keep.out)
    assert.deepEqual(await calls(), ['is-active --quiet shoal', 'disable --now shoal', 'daemon-reload'])
    assert.equal((await sh('ls /opt/shoal /etc/default/shoal /etc/systemd/system/shoal.service /usr/local/bin/shoal 2>&1 | grep -c "No such file"')).out.trim(), '4')
    assert.equal((await sh('cat /var/lib/shoal/cluster.json')).out.trim(), 'x')
    const again = await install('--uninstall')
    assert.equal(again.code, 0, `uninstall of what is already gone: ${again.out}`)
    assert.match((await sh('ls /var/lib/shoal 2>&1')).out, /No such file/)
  })
})
