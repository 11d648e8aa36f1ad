import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { scratchDir, shoal, type RunResult } from './helpers/agents.ts'
import { LAB_IMAGES, Lab } from './lab/lab.ts'
import { containsCIDR, parseCIDR } from '@shoal/core/network/cidr.ts'
import { waitFor } from './helpers/wait.ts'
import { fetchBody, hostnameWebDeployment, isReadyObject } from './helpers/cluster.ts'

type Json = any

/**
 * What the agent's pod network needs in a container (everything a
 * privileged one has but CAP_SYS_RESOURCE, which this machine cannot grant):
 * links, addresses and rules (NET_ADMIN), entering the sandboxes' network
 * namespaces by their pids (SYS_ADMIN, SYS_PTRACE), and the usual root file
 * and process rights.
 */
const AGENT_CAPS = ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN', 'SYS_PTRACE', 'SYS_CHROOT', 'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'SETGID', 'SETUID', 'KILL', 'MKNOD']

/**
 * The install path of issue 8 on three stand-in VMs, on the lab (test/lab):
 * stand-in k is a container of shoal-test/standin:1 on lab host k's own
 * engine, in that host's network namespace (--network host) with its own
 * hostname and files, provisioned by vagrant/install.sh from the checkout.
 * The agent is run as the unit says by a systemctl stand-in
 * (test/standin/systemctl: no init system runs in these containers; the
 * machine allows no privileged ones, so the container gets the capabilities
 * the agent's pod network needs one by one). Each agent drives its own
 * host's engine through its socket and puts its pods on the pod network, as
 * on a VM. The first stand-in starts the cluster, the others join with its
 * token; a deployment exposed as a LoadBalancer answers through each
 * stand-in's address; one stand-in's host powered off, its pods move.
 */
describe('three stand-in VMs provisioned by install.sh', () => {
  const scratch = scratchDir('standins')
  const repo = new URL('..', import.meta.url).pathname
  let lab: Lab
  const vms = [1, 2, 3].map(k => ({ k, name: `standin-${k}`, container: `shoal-standin-${k}`, get ip (): string { return lab.host(k).ip } }))
  const [vm1, vm2, vm3] = vms as [typeof vms[0], typeof vms[0], typeof vms[0]]
  const kubeconfig = join(scratch.path, 'kubeconfig')
  const inVM = async (vm: typeof vm1, script: string): Promise<string> => await lab.docker(vm.k, ['exec', vm.container, 'bash', '-c', script])
  const sh = async (args: readonly string[]): Promise<RunResult> => {
    const r = await shoal([...args, '--kubeconfig', kubeconfig], { timeoutMs: 60_000 })
    assert.equal(r.code, 0, `shoal ${args.join(' ')}: ${r.stderr}`)
    return r
  }
  const getJson = async (what: string): Promise<Json> => JSON.parse((await sh(['get', ...what.split(' '), '-o', 'json'])).stdout)
  const install = async (vm: typeof vm1, args: string): Promise<void> => {
    await inVM(vm, `bash /src/vagrant/install.sh --source /src --copy-node-modules --name ${vm.name} --bind ${vm.ip} ${args}`)
  }

  before(async () => {
    lab = await Lab.up(3, { agents: false, images: [...LAB_IMAGES, 'shoal-test/standin:1'] })
    for (const vm of vms) {
      const bin = join(scratch.path, `${vm.name}-bin`)
      mkdirSync(bin)
      copyFileSync(new URL('./standin/systemctl', import.meta.url).pathname, join(bin, 'systemctl'))
      await lab.docker(vm.k, ['run', '-d', '--name', vm.container, '--hostname', vm.name, '--network', 'host', '--pid', 'host',
        ...AGENT_CAPS.flatMap(c => ['--cap-add', c]),
        '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined', '--security-opt', 'systempaths=unconfined',
        '-v', '/usr:/usr:ro', '-v', `${bin}:/usr/local/bin`, '-v', `${lab.host(vm.k).layout.dockerSock}:/var/run/docker.sock`, '-v', `${repo}:/src:ro`,
        'shoal-test/standin:1', 'sleep', 'infinity'])
    }
  })

  after(async () => {
    // The stand-ins, their agents and pods all live in the hosts' engines: the lab takes them with it.
    await lab?.down()
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
      return nodes.length === 3 && nodes.every(isReadyObject)
    }, { timeoutMs: 60_000, intervalMs: 500 })
    assert.match(await inVM(vm2, 'cat /etc/default/shoal'), new RegExp(`^SHOAL_JOIN=${vm1.ip.replaceAll('.', '\\.')}$`, 'm'))
  })

  it('a deployment exposed as a LoadBalancer answers through each stand-in\'s address', async () => {
    const file = join(scratch.path, 'web.json')
    writeFileSync(file, JSON.stringify(hostnameWebDeployment(3, { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 })))
    await sh(['apply', '-f', file])
    const pods = await waitFor('three Ready pods, one per stand-in', async () => {
      const items = (await getJson('pods -l app=web')).items as Json[]
      return items.length === 3 && items.every(isReadyObject) && new Set(items.map(p => p.spec.nodeName)).size === 3 ? items : false
    }, { timeoutMs: 90_000, intervalMs: 500 })
    // On the pod network, as on VMs: each pod's IP is in its node's range, not the stand-in's own address.
    const nodes = (await getJson('nodes')).items as Json[]
    for (const p of pods) {
      const range = parseCIDR(nodes.find(n => n.metadata.name === p.spec.nodeName)?.spec?.podCIDR ?? '')
      const ip = parseCIDR(`${String(p.status.podIP)}/32`)
      assert.ok(range !== undefined && ip !== undefined && containsCIDR(range, ip), `pod ${String(p.metadata.name)} at ${String(p.status.podIP)}: not in its node's pod range`)
    }
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

  it('a stand-in powered off: its pods run again on the other two, and the service answers there', async () => {
    await lab.kill(vm3.k)
    const moved = await waitFor('three Ready pods on the other two stand-ins', async () => {
      const items = (await getJson('pods -l app=web')).items as Json[]
      return items.length === 3 && items.every(isReadyObject) && items.every(p => p.spec.nodeName !== vm3.name) ? items : false
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
