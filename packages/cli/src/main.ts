import { cac } from 'cac'
import { AGENT_OPTIONS, helpOf } from '@shoal/agent/options.ts'
import { defaultDataDir } from '@shoal/agent/places.ts'
import { VERSION } from '@shoal/agent/version.ts'
import { ShoalError } from '@shoal/core/errors.ts'
import { runCommand } from './api.ts'
import { CliError } from './client.ts'
import { COMMAND_GROUPS } from './commands/groups.ts'

/**
 * The `shoal` command. A command loads only what it runs: the agent (libp2p,
 * LevelDB, the Docker client) only for `shoal agent`, and of the kubectl-style
 * commands only the group asked for (COMMAND_GROUPS), so that `shoal get`
 * starts about as fast as kubectl. Help and an unknown command load them all.
 */

const cli = cac('shoal')
const dataDirHelp = helpOf(AGENT_OPTIONS.find(o => o.flag === 'data-dir')!)
const cluster = async (): Promise<typeof import('./commands/cluster.ts')> => await import('./commands/cluster.ts')
const dataDirOf = (flags: { dataDir?: unknown }): string => flags.dataDir !== undefined ? String(flags.dataDir) : process.env.SHOAL_DATA_DIR ?? defaultDataDir()

const agent = cli.command('agent', 'Run the Shoal agent on this machine (creates a cluster, or joins one with --join)')
for (const o of AGENT_OPTIONS) agent.option(`--${o.flag} ${o.arg}`, helpOf(o))
agent
  .example('shoal agent                                   # first machine: creates a cluster')
  .example('shoal agent --join 10.0.0.5 --token shoal1_…  # another machine joins it')
  .action(async (flags: Record<string, unknown>) => { await (await import('./commands/agent.ts')).runAgent(flags) })

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
