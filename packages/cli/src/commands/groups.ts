import type { CAC } from 'cac'

/**
 * The kubectl-style commands, by the module that registers them: main loads
 * only the group of the command asked for (every group for help or an
 * unknown command), so a command never loads the others' code.
 */
export const COMMAND_GROUPS: ReadonlyArray<{ readonly commands: readonly string[], readonly register: (cli: CAC) => Promise<void> }> = [
  { commands: ['get', 'describe', 'logs', 'cluster-info', 'version'], register: async cli => { (await import('./read.ts')).registerReadCommands(cli) } },
  { commands: ['create', 'apply', 'delete', 'scale', 'expose', 'set', 'rollout', 'exec', 'cordon', 'uncordon', 'drain'], register: async cli => { (await import('./write.ts')).registerWriteCommands(cli) } },
  { commands: ['image'], register: async cli => { (await import('./images.ts')).registerImageCommands(cli) } }
]
