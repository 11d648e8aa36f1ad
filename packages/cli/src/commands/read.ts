import type { CAC } from 'cac'

/** The commands that read the cluster: get, describe, logs, cluster-info (filled in by the CLI work of the API issue). */
export function registerReadCommands (_cli: CAC): void {}
