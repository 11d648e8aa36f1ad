import { cac } from 'cac'
import { defaultDataDir } from '@shoal/agent/places.ts'
import { VERSION } from '@shoal/agent/version.ts'
import { ShoalError } from '@shoal/core/errors.ts'
import { runCommand } from './api.ts'
import { CliError } from './client.ts'
import type { AgentFlags } from './commands/agent.ts'
import { COMMAND_GROUPS } from './commands/groups.ts'

/**
 * The `shoal` command. A command loads only what it runs: the agent (libp2p,
 * LevelDB, the Docker client) only for `shoal agent`, and of the kubectl-style
 * commands only the group asked for (COMMAND_GROUPS), so that `shoal get`
 * starts about as fast as kubectl. Help and an unknown command load them all.
 */

const cli = cac('shoal')
const dataDirHelp = 'agent data dir (env SHOAL_DATA_DIR; default /var/lib/shoal as root, else ~/.shoal)'
const cluster = async (): Promise<typeof import('./commands/cluster.ts')> => await import('./commands/cluster.ts')
const dataDirOf = (flags: { dataDir?: unknown }): string => flags.dataDir !== undefined ? String(flags.dataDir) : process.env.SHOAL_DATA_DIR ?? defaultDataDir()

cli.command('agent', 'Run the Shoal agent on this machine (creates a cluster, or joins one with --join)')
  .option('--data-dir <dir>', dataDirHelp)
  .option('--name <name>', 'node name, unique in the cluster (env SHOAL_NAME; default: the hostname)')
  .option('--bind <addr>', 'address to listen on (env SHOAL_BIND; default 0.0.0.0)')
  .option('--advertise <addr>', 'address the other members use to reach this one (env SHOAL_ADVERTISE; default: --bind, or the first non-loopback address)')
  .option('--port <port>', 'mesh TCP port (env SHOAL_PORT; default 7946)')
  .option('--api-port <port>', 'HTTP API TCP port (env SHOAL_API_PORT; default 6443)')
  .option('--join <host[:port]>', 'join the cluster of the member at this address (env SHOAL_JOIN)')
  .option('--token <token>', 'join token, printed by `shoal token` on a member (env SHOAL_TOKEN)')
  .option('--join-retry-ms <ms>', 'keep trying the first join this long while the member does not answer, backing off from 1 s to 30 s (env SHOAL_JOIN_RETRY_MS; default 0: fail at once)')
  .option('--heartbeat-ms <ms>', 'membership heartbeat interval (env SHOAL_HEARTBEAT_MS; default 500)')
  .option('--suspect-after-ms <ms>', 'silence before a member is suspect (env SHOAL_SUSPECT_AFTER_MS; default 2000)')
  .option('--suspicion-timeout-ms <ms>', 'time a suspect has to refute before it is dead (env SHOAL_SUSPICION_TIMEOUT_MS; default 1000)')
  .option('--voters <n>', 'voters the cluster keeps, 1, 3, 5 or 7; used when this agent creates the cluster (env SHOAL_VOTERS; default 3)')
  .option('--cluster-cidr <cidr>', 'the pods\' addresses, an IPv4 CIDR; each node gets a range of it; used when this agent creates the cluster (env SHOAL_CLUSTER_CIDR; default 10.244.0.0/16)')
  .option('--node-cidr-mask-size <n>', 'prefix length of each node\'s pod range within --cluster-cidr, up to 28; used when this agent creates the cluster (env SHOAL_NODE_CIDR_MASK_SIZE; default 24)')
  .option('--raft-tick-ms <ms>', 'Raft tick: elections after 10-20 silent ticks, leader heartbeat every 2 ticks (env SHOAL_RAFT_TICK_MS; default 50)')
  .option('--voter-grace-ms <ms>', 'a voter down this long is replaced by a learner (env SHOAL_VOTER_GRACE_MS; default 2000)')
  .option('--backoff-initial-ms <ms>', 'first delay before a crashed container restarts, doubling each time (env SHOAL_BACKOFF_INITIAL_MS; default 10000)')
  .option('--backoff-max-ms <ms>', 'longest delay before a crashed container restarts (env SHOAL_BACKOFF_MAX_MS; default 300000)')
  .option('--controllers <list>', 'the leader\'s loops to run: * or a list of nodes, nodelifecycle, garbagecollector, deployment, replicaset, scheduler, endpoint, service; -NAME leaves one out (env SHOAL_CONTROLLERS; default *)')
  .option('--publish-address <ip>', 'where the Docker engine publishes pods\' ports, when not on the advertised address: an agent in a container using the host\'s engine (env SHOAL_PUBLISH_ADDRESS)')
  .option('--pod-network <mode>', 'shoal: pods get addresses from the node\'s range on the pod network; docker: Docker\'s bridge, ports published on the node; auto: shoal as root with the engine beside the agent, else docker (env SHOAL_POD_NETWORK, default auto)')
  .option('--network-backend <backend>', 'how other nodes\' pods are reached: host-gw (routes via node addresses on a shared link), vxlan (a kernel VXLAN overlay), auto (host-gw on a shared link, VXLAN beyond) (env SHOAL_NETWORK_BACKEND, default auto)')
  .option('--pod-eviction-timeout-ms <ms>', 'a node not Ready this long has its pods replaced elsewhere (env SHOAL_POD_EVICTION_TIMEOUT_MS; default 3000)')
  .option('--docker-socket <path>', 'the Docker engine that runs this node\'s pods (env SHOAL_DOCKER_SOCKET; default /var/run/docker.sock)')
  .option('--log-level <level>', 'trace, debug, info, warn or error (env SHOAL_LOG_LEVEL; default info)')
  .example('shoal agent                                   # first machine: creates a cluster')
  .example('shoal agent --join 10.0.0.5 --token shoal1_…  # another machine joins it')
  .action(async (flags: AgentFlags) => { await (await import('./commands/agent.ts')).runAgent(flags) })

cli.command('join <address>', 'Make the running local agent join the cluster of the member at ADDRESS (HOST[:PORT])')
  .option('--token <token>', 'join token, printed by `shoal token` on a member (env SHOAL_TOKEN)')
  .option('--data-dir <dir>', dataDirHelp)
  .example('shoal join 10.0.0.5 --token shoal1_…')
  .action(async (address: string, flags: { token?: string, dataDir?: string }) => {
    const token = flags.token !== undefined ? String(flags.token) : process.env.SHOAL_TOKEN
    if (token === undefined) throw new CliError('--token is required (run `shoal token` on a member to print it)')
    process.stdout.write(await (await cluster()).joinCluster(dataDirOf(flags), String(address), token))
  })

cli.command('leave', 'Make the local agent announce its departure, forget the cluster and stop')
  .option('--data-dir <dir>', dataDirHelp)
  .example('shoal leave')
  .action(async (flags: { dataDir?: string }) => { process.stdout.write(await (await cluster()).leaveCluster(dataDirOf(flags))) })

cli.command('token', 'Print the join token of the local agent\'s cluster')
  .option('--data-dir <dir>', dataDirHelp)
  .example('shoal token')
  .action(async (flags: { dataDir?: string }) => { process.stdout.write(await (await cluster()).printToken(dataDirOf(flags))) })

cli.command('members', 'List the cluster\'s members as one agent sees them')
  .option('--server <host[:port]>', 'the agent to ask (env SHOAL_SERVER; default: the local agent)')
  .option('--token <token>', 'API bearer token for --server (default: from the kubeconfig)')
  .option('--kubeconfig <file>', 'kubeconfig to use (env SHOAL_KUBECONFIG)')
  .option('--data-dir <dir>', dataDirHelp)
  .option('-o, --output <format>', 'json or wide')
  .example('shoal members')
  .example('shoal members --kubeconfig /var/lib/shoal/kubeconfig -o json')
  .action(async (flags: { server?: string, token?: string, kubeconfig?: string, dataDir?: string, output?: string }) => {
    const server = flags.server !== undefined ? String(flags.server) : process.env.SHOAL_SERVER
    const target = { dataDir: dataDirOf(flags), ...(server !== undefined ? { server } : {}), ...(flags.token !== undefined ? { token: String(flags.token) } : {}), ...(flags.kubeconfig !== undefined ? { kubeconfig: String(flags.kubeconfig) } : {}) }
    process.stdout.write(await (await cluster()).listMembers(target, flags.output, Date.now()))
  })

cli.command('kubeconfig', 'Print the admin kubeconfig of the local agent (for kubectl --kubeconfig)')
  .option('--data-dir <dir>', dataDirHelp)
  .example('shoal kubeconfig > ~/.kube/config')
  .action(async (flags: { dataDir?: string }) => { process.stdout.write(await (await cluster()).printKubeconfig(dataDirOf(flags))) })

const asked = process.argv[2]
const own = COMMAND_GROUPS.filter(g => g.commands.includes(asked ?? ''))
const builtIn = cli.commands.some(c => c.name === asked)
for (const g of own.length > 0 ? own : builtIn ? [] : COMMAND_GROUPS) await g.register(cli)

cli.help()
cli.version(VERSION)

// Every command runs in runCommand: a failure is one line on stderr and exit code 1.
await runCommand(async () => {
  cli.parse(process.argv, { run: false })
  if (cli.matchedCommand === undefined) {
    if (cli.args.length > 0) throw new CliError(`unknown command ${JSON.stringify(cli.args[0])}; see \`shoal --help\``)
    if (!cli.options.help && !cli.options.version) cli.outputHelp()
  } else {
    await cli.runMatchedCommand()
  }
}, err => err instanceof ShoalError)
// The agent's own timers and sockets are gone once it stopped; anything a library left must not keep it up.
if (cli.matchedCommandName === 'agent') process.exit()
