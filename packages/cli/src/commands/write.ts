import type { CAC } from 'cac'
import { registerApply } from './write/apply.ts'
import { registerCordon } from './write/cordon.ts'
import { registerCreate } from './write/create.ts'
import { registerDelete } from './write/delete.ts'
import { registerExec } from './write/exec.ts'
import { registerExpose } from './write/expose.ts'
import { registerRollout } from './write/rollout.ts'
import { registerScale } from './write/scale.ts'
import { registerSet } from './write/set-image.ts'

/**
 * The commands that change the cluster, kubectl-style: create, apply, delete,
 * scale, expose, set image, rollout, exec, cordon, uncordon, drain. Each
 * lives in its own file under write/; this only registers them.
 */
export function registerWriteCommands (cli: CAC): void {
  joinStdinFilename(process.argv)
  registerCreate(cli)
  registerApply(cli)
  registerDelete(cli)
  registerScale(cli)
  registerExpose(cli)
  registerSet(cli)
  registerRollout(cli)
  registerExec(cli)
  registerCordon(cli)
}

/** The commands whose -f names a manifest, where `-f -` means stdin. */
const FILE_COMMANDS = new Set(['create', 'apply', 'delete'])

/**
 * `-f -` (stdin) as `--filename=-`: the argument parser cac uses reads a `-`
 * after a flag as the start of another flag, and would refuse `-f -` with
 * "value is missing". Only for the manifest commands, and only before `--`.
 */
export function joinStdinFilename (argv: string[]): void {
  if (!FILE_COMMANDS.has(argv[2] ?? '')) return
  for (let i = 3; i < argv.length - 1; i++) {
    if (argv[i] === '--') return
    if ((argv[i] === '-f' || argv[i] === '--filename') && argv[i + 1] === '-') argv.splice(i, 2, '--filename=-')
  }
}
