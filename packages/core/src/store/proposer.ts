/**
 * What the proposer of a write chooses once, so that every replica applies
 * the same: a create's `uid`, and the `now` of a create, update or patch
 * (the store never reads a clock or draws a random number). Filled here
 * only where the command left them empty (`''` or absent): a controller
 * whose own uid or time matters (a test's, an Event's) sets them itself.
 * ReplicatedStore.write calls this for every command, whoever wrote it:
 * the API, a controller, the kubelet or the agent.
 */

export interface ProposerChoices {
  /** RFC 3339, to the second: the time of this write. */
  readonly now: string
  /** A fresh uid, for each create. */
  readonly uid: () => string
}

const empty = (v: unknown): boolean => typeof v !== 'string' || v === ''

/** `cmd` with its uid and time chosen where it has none; anything not a command is returned as it is, for the store to refuse. */
export function withProposerFields<C> (cmd: C, choose: ProposerChoices): C {
  if (typeof cmd !== 'object' || cmd === null) return cmd
  const o = cmd as Record<string, unknown>
  switch (o.op) {
    case 'create':
      return (empty(o.uid) || empty(o.now) ? { ...o, uid: empty(o.uid) ? choose.uid() : o.uid, now: empty(o.now) ? choose.now : o.now } : cmd) as C
    case 'update':
    case 'patch':
      return (empty(o.now) ? { ...o, now: choose.now } : cmd) as C
    case 'batch':
      return (Array.isArray(o.commands) ? { ...o, commands: o.commands.map(c => withProposerFields(c, choose)) } : cmd) as C
    default:
      return cmd
  }
}
