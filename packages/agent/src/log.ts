import { pino, type Logger as PinoLogger } from 'pino'

export type Logger = PinoLogger

/**
 * The agent's root logger: JSON lines on stdout, or pino-pretty when a person
 * is watching (stdout is a TTY). `SHOAL_LOG_LEVEL` sets the level (default info).
 * Modules take `root.child({ module: 'members' })`.
 */
export function createRootLogger (opts: { level?: string, name?: string, pretty?: boolean } = {}): Logger {
  const level = opts.level ?? process.env.SHOAL_LOG_LEVEL ?? 'info'
  const pretty = opts.pretty ?? process.stdout.isTTY
  const base = opts.name !== undefined ? { node: opts.name } : {}
  if (pretty) {
    return pino({ level, base, transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } } })
  }
  // Synchronous writes: a line logged just before exit is never lost or torn.
  return pino({ level, base }, pino.destination({ fd: 1, sync: true }))
}

/** A silent logger for library use and tests. */
export function createSilentLogger (): Logger {
  return pino({ level: 'silent' })
}
