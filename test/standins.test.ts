import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { removeNodeContainers, scratchDir, shoal, type RunResult } from './helpers/agents.ts'
import { waitFor } from './helpers/wait.ts'
import { fetchBody, hostnameWebDeployment } from './helpers/cluster.ts'

const run = promisify(execFile)
type Json = any


const isReady = (o: Json): boolean => (o.status?.conditions ?? []).some((c: Json) => c.type === 'Ready' && c.status === 'True')

/**
 * The install path of issue 8 on three stand-in VMs: containers of
 * shoal-test/standin:1 with their own hostname and address on a private
 * Docker network the test makes, each provisioned by vagrant/install.sh from
 * the checkout, the agent run as the unit says by a systemctl stand-in
 * (test/standin/systemctl: no init system runs in the unprivileged
 * containers these machines allow, nor a Docker engine of their own). So
 * the agents drive the host's engine through its socket, and publish their
 * pods' ports on the network's gateway (--publish-address), which every
 * stand-in reaches. The first stand-in starts the cluster, the others join
 * with its token; a deployment exposed as a LoadBalancer answers through
 * each stand-in's address; one stand-in stopped, its pods move.
 */
describe('three stand-in VMs provisioned by install.sh', () => {
  const scratch = scratchDir('standins')
  const repo = new URL('..', import.meta.url).pathname
  const net = `shoal-standins-${process.pid}`
  const subnet = '172.29.214'
  const gateway = `${subnet}.1`
  const vms = [1, 2, 3].map(i => ({ name: `standin-${i}`, container: `shoal-standin-${i}-${process.pid}`, ip: `${subnet}.${10 + i}` }))
  const [vm1, vm2, vm3] = vms as [typeof vms[0], typeof vms[0], typeof vms[0]]
  const kubeconfig = join(scratch.path, 'kubeconfig')
  const inVM = async (vm: typeof vm1, script: string): Promise<string> => {
    const { stdout } = await run('docker', ['exec', vm.container, 'bash', '-c', script], { maxBuffer: 16 * 1024 * 1024 })
    return stdout
  }
  const sh = async (args: readonly string[]): Promise<RunResult> => {
    const r = await shoal([...args, '--kubeconfig', kubeconfig], { timeoutMs: 60_000 })
    assert.equal(r.code, 0, `shoal ${args.join(' ')}: ${r.stderr}`)
    return r
  }
  const getJson = async (what: string): Promise<Json> => JSON.parse((await sh(['get', ...what.split(' '), '-o', 'json'])).stdout)
  const install = async (vm: typeof vm1, args: string): Promise<void> => {
    await inVM(vm, `bash /src/vagrant/install.sh --source /src --copy-node-modules --name ${vm.name} --bind ${vm.ip} --env SHOAL_PUBLISH_ADDRESS=${gateway} ${args}`)
  }

  before(async () => {
    await run('bash', [new URL('./images/build.sh', import.meta.url).pathname])
    await run('docker', ['network', 'create', '--subnet', `${subnet}.0/24`, net])
    for (const vm of vms) {
      const bin = join(scratch.path, `${vm.name}-bin`)
      mkdirSync(bin)
      copyFileSync(new URL('./standin/systemctl', import.meta.url).pathname, join(bin, 'systemctl'))
      await run('docker', ['run', '-d', '--rm', '--name', vm.container, '--hostname', vm.name, '--network', net, '--ip', vm.ip, '--cap-add', 'NET_ADMIN',
        '-v', '/usr:/usr:ro', '-v', `${bin}:/usr/local/bin`, '-v', '/var/run/docker.sock:/var/run/docker.sock', '-v', `${repo}:/src:ro`,
        'shoal-test/standin:1', 'sleep', 'infinity'])
    }
  })

  after(async () => {
    await Promise.all(vms.map(async vm => await run('docker', ['rm', '-f', vm.container]).catch(() => {})))
    await Promise.all(vms.map(async vm => await removeNodeContainers(vm.name)))
    await run('docker', ['network', 'rm', net]).catch(() => {})
    scratch.remove()
  })

  it('the first stand-in starts the cluster; the others join with its token; every node Ready', async () => {
    await install(vm1, '')
    await waitFor('the first agent up', async () => (await inVM(vm1, 'test -s /var/lib/shoal/kubeconfig && echo yes || true')).trim() === 'yes', { timeoutMs: 30_000, intervalMs: 200 })
    writeFileSync(kubeconfig, await inVM(vm1, 'cat /var/lib/shoal/kubeconfig'))
    const token = (await inVM(vm1, 'shoal token')).trim()
    assert.match(token, /^shoal1_/)
    await Promise.all([vm2, vm3].map(async vm => { await install(vm, `--join ${vm1.ip} --token ${token}`) }))
    await waitFor('three Ready nodes', async () => {
      const nodes = (await getJson('nodes')).items as Json[]
      return nodes.length === 3 && nodes.every(isReady)
    }, { timeoutMs: 60_000, intervalMs: 500 })
    assert.match(await inVM(vm2, 'cat /etc/default/shoal'), new RegExp(`^SHOAL_JOIN=${vm1.ip.replaceAll('.', '\\.')}$`, 'm'))
  })

  it('a deployment exposed as a LoadBalancer answers through each stand-in\'s address', async () => {
    const file = join(scratch.path, 'web.json')
    writeFileSync(file, JSON.stringify(hostnameWebDeployment(3, { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 })))
    await sh(['apply', '-f', file])
    const pods = await waitFor('three Ready pods, one per stand-in', async () => {
      const items = (await getJson('pods -l app=web')).items as Json[]
      return items.length === 3 && items.every(isReady) && new Set(items.map(p => p.spec.nodeName)).size === 3 ? items : false
    }, { timeoutMs: 90_000, intervalMs: 500 })
    await sh(['expose', 'deployment', 'web', '--type=LoadBalancer', '--port=8080'])
    const names = pods.map(p => p.metadata.name).sort()
    for (const vm of vms) {
      await waitFor(`all three pods through ${vm.ip}:8080`, async () => {
        const seen = new Set<string>()
        for (let i = 0; i < 6; i++) seen.add(await fetchBody(vm.ip, 8080) ?? 'failed')
        return seen.size === 3 && [...seen].sort().join() === names.join()
      }, { timeoutMs: 20_000, intervalMs: 200 })
    }
  })

  it('a stand-in stopped: its pods run again on the other two, and the service answers there', async () => {
    await run('docker', ['stop', '-t', '1', vm3.container])
    const moved = await waitFor('three Ready pods on the other two stand-ins', async () => {
      const items = (await getJson('pods -l app=web')).items as Json[]
      return items.length === 3 && items.every(isReady) && items.every(p => p.spec.nodeName !== vm3.name) ? items : false
    }, { timeoutMs: 60_000, intervalMs: 500 })
    const names = moved.map(p => p.metadata.name).sort()
    for (const vm of [vm1, vm2]) {
      await waitFor(`the moved pods through ${vm.ip}:8080`, async () => {
        const seen = new Set<string>()
        for (let i = 0; i < 6; i++) seen.add(await fetchBody(vm.ip, 8080) ?? 'failed')
        return [...seen].sort().join() === names.join()
      }, { timeoutMs: 20_000, intervalMs: 200 })
    }
  })
})
