import type { CAC } from 'cac'

/** The commands that change the cluster: create, apply, delete, scale, expose, set image, rollout, exec. */
export function registerWriteCommands (_cli: CAC): void {}
