import type { CAC } from 'cac'
import { CliError } from '../../client.ts'
import { connect, kindAndName, withConnectionFlags, type ConnectionFlags } from '../../kube.ts'
import { boolFlag, countFlag, durationFlag } from './flags.ts'
import { rolloutHistory, rolloutUndo } from './rollout-history.ts'
import { rolloutStatus } from './rollout-status.ts'


/** `shoal rollout status|history|undo deployment/NAME`. */

interface RolloutFlags extends ConnectionFlags {
  watch?: unknown
  timeout?: unknown
  revision?: unknown
  toRevision?: unknown
}

const ACTIONS = ['status', 'history', 'undo'] as const

async function rollout (action: string | undefined, args: readonly string[], flags: RolloutFlags): Promise<void> {
  if (action === undefined || !(ACTIONS as readonly string[]).includes(action)) {
    throw new CliError(`${action === undefined ? 'an action is required' : `unknown rollout action ${JSON.stringify(action)}`}: rollout status|history|undo deployment/NAME`)
  }
  // Flags first: a bad one is refused before anything is sent.
  const watch = boolFlag(flags.watch, '--watch', true)
  const timeoutMs = durationFlag(flags.timeout, '--timeout') ?? 0
  const revision = countFlag(flags.revision, '--revision') ?? 0
  const toRevision = countFlag(flags.toRevision, '--to-revision') ?? 0
  if (args.length === 0) throw new CliError(`what to roll out is required: rollout ${action} deployment/NAME`)
  if (args.length > 2) throw new CliError(`one Deployment at a time: rollout ${action} deployment/NAME`)
  const { kind, name } = kindAndName(args[0]!, args[1])
  if (kind.kind !== 'Deployment') throw new CliError(`rollout ${action} is supported for deployments only, not ${kind.resource}`)
  const target = connect(flags)
  if (action === 'status') await rolloutStatus(target, kind, name, { watch, timeoutMs, revision })
  else if (action === 'history') await rolloutHistory(target, kind, name, revision)
  else await rolloutUndo(target, kind, name, toRevision)
}

export function registerRollout (cli: CAC): void {
  withConnectionFlags(cli.command('rollout [action] [...args]', 'Manage a Deployment\'s rollout: status (wait until it is rolled out), history (its revisions), undo (back to a revision)'))
    .usage('rollout status deployment/NAME [--timeout=DURATION] [--watch=false]\n  $ shoal rollout history deployment/NAME [--revision=N]\n  $ shoal rollout undo deployment/NAME [--to-revision=N]\n\n  status waits until the rollout is done (exit 0) or its progress deadline is exceeded (exit 1);\n  history lists the revisions (the Deployment\'s ReplicaSets); undo goes back to one.')
    .option('-w, --watch', 'status: watch until the rollout is done (default true; --watch=false prints the state once)')
    .option('--timeout <duration>', 'status: give up after this long, e.g. 30s or 2m (default: wait for ever)')
    .option('--revision <n>', 'status: wait for this revision; history: show this revision\'s pod template')
    .option('--to-revision <n>', 'undo: the revision to go back to (default: the previous one)')
    .example('shoal rollout status deployment/web --timeout=2m')
    .example('shoal rollout history deployment/web')
    .example('shoal rollout undo deployment/web --to-revision=2')
    .action(async (action: string | undefined, args: string[], flags: RolloutFlags) => {
      await rollout(action, args, flags)
    })
}
