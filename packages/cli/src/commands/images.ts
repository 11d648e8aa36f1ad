import type { CAC } from 'cac'
import { clusterImages, type ClusterImageRow } from '@shoal/core/images/inventory.ts'
import type { KubeObject } from '@shoal/core'
import { CliError } from '../client.ts'
import { formatTable } from '../format.ts'
import { connect, withConnectionFlags, type ConnectionFlags } from '../kube.ts'
import { getJson, readAction } from './read/api.ts'

/**
 * `shoal image VERB`: the images the cluster holds, as its own registry
 * mirror (agent/images). `ls` lists every name and ID the nodes report in
 * their status.images, with the nodes holding each.
 */

export interface ImageFlags extends ConnectionFlags {
  output?: string
}

/** 1536 → `1.5kB`, as `docker images` prints sizes (powers of 1000). */
export function formatSize (bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB']
  let v = bytes
  let u = 0
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++ }
  return u === 0 ? `${v}B` : `${v >= 100 ? v.toFixed(0) : v.toFixed(1)}${units[u]!}`
}

/** `shoal image ls`: NAME, ID (12 hex, as docker prints it), SIZE, NODES. */
export function formatImageList (rows: readonly ClusterImageRow[], output: string | undefined): string {
  if (output === 'json') return JSON.stringify({ items: rows }, null, 2) + '\n'
  if (output !== undefined) throw new CliError(`-o ${output}: unknown output format (use json)`)
  if (rows.length === 0) return 'No images found on any node.\n'
  return formatTable(['NAME', 'ID', 'SIZE', 'NODES'], rows.map(r => [r.name, r.id.slice('sha256:'.length, 'sha256:'.length + 12), formatSize(r.sizeBytes), r.nodes.join(',')]))
}

export function registerImageCommands (cli: CAC): void {
  withConnectionFlags(cli.command('image [verb]', 'The images the cluster\'s nodes hold and serve each other: `shoal image ls`'), { namespaced: false })
    .option('-o, --output <format>', 'json')
    .example('shoal image ls')
    .action(readAction(async (verb: string | undefined, flags: ImageFlags) => {
      if (verb !== 'ls') throw new CliError(verb === undefined ? 'shoal image needs a verb: ls' : `unknown verb ${JSON.stringify(verb)} for shoal image: use ls`)
      const nodes = await getJson<{ items: KubeObject[] }>(connect(flags), '/api/v1/nodes')
      process.stdout.write(formatImageList(clusterImages(nodes.items), flags.output))
    }))
}
