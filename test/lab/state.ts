import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * What a lab is, written in its directory so that another process (the CLI
 * in another terminal, a test after a crashed run) can operate on it.
 */
export interface LabState {
  readonly version: 1
  readonly hosts: number
  /** Extra `shoal agent` flags and environment of every host, reused when an agent starts again. */
  readonly agentArgs: readonly string[]
  readonly agentEnv: Readonly<Record<string, string>>
  /** False for hosts without the lab's own agents (engines only): a test runs agents there itself. Absent means true. */
  readonly agents?: boolean
  /** Hosts currently split off onto the second bridge; empty when healed. */
  readonly partition: readonly number[]
  /**
   * Shared directories of the machine the lab may create; cleanup removes
   * them again (when empty) only if they did not exist before.
   */
  readonly hadRunContainerd: boolean
  readonly hadNetnsMount: boolean
}

export const stateFile = (dir: string): string => join(dir, 'lab.json')

export function readState (dir: string): LabState | undefined {
  const path = stateFile(dir)
  if (!existsSync(path)) return undefined
  const state = JSON.parse(readFileSync(path, 'utf8')) as LabState
  if (state.version !== 1) throw new Error(`${path}: unknown lab state version ${String(state.version)}`)
  return state
}

export function writeState (dir: string, state: LabState): void {
  const path = stateFile(dir)
  writeFileSync(`${path}.tmp`, JSON.stringify(state, null, 2) + '\n')
  renameSync(`${path}.tmp`, path)
}
