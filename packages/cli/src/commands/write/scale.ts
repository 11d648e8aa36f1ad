import type { CAC } from 'cac'
import { CliError } from '../../client.ts'
import { connect, kindAndName, resourcePath, withConnectionFlags, type ConnectionFlags } from '../../kube.ts'
import { countFlag } from './flags.ts'
import { request } from '../../api.ts'
import { objectRef } from './refs.ts'

/**
 * `shoal scale deployment NAME --replicas=N`: a merge patch of the `scale`
 * subresource, as kubectl sends it, so only spec.replicas changes whatever
 * else was applied.
 */

interface ScaleFlags extends ConnectionFlags {
  replicas?: unknown
}

async function scale (first: string | undefined, second: string | undefined, flags: ScaleFlags): Promise<void> {
  const replicas = countFlag(flags.replicas, '--replicas')
  if (replicas === undefined) throw new CliError('the --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0')
  if (first === undefined) throw new CliError('what to scale is required: scale deployment NAME --replicas=COUNT (or deployment/NAME)')
  const { kind, name } = kindAndName(first, second)
  if (kind.kind !== 'Deployment' && kind.kind !== 'ReplicaSet') throw new CliError(`cannot scale ${kind.resource}: only deployments and replicasets have a scale subresource`)
  const target = connect(flags)
  await request(target, 'PATCH', resourcePath(kind, target.namespace, name, 'scale'), { body: { spec: { replicas } }, contentType: 'application/merge-patch+json' })
  process.stdout.write(`${objectRef(kind, name)} scaled\n`)
}

export function registerScale (cli: CAC): void {
  withConnectionFlags(cli.command('scale [kind] [name]', 'Set the number of replicas of a Deployment or ReplicaSet'))
    .usage('scale deployment NAME --replicas=COUNT  (or deployment/NAME)')
    .option('--replicas <count>', 'the number of replicas, 0 or more (required)')
    .example('shoal scale deployment web --replicas=3')
    .example('shoal scale deploy/web --replicas=0')
    .action(async (first: string | undefined, second: string | undefined, flags: ScaleFlags) => {
      await scale(first, second, flags)
    })
}
