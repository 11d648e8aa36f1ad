import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { waitFor } from '../helpers/wait.ts'

/** What a finished command left: its exit code (null when a signal ended it) and its output. */
export interface RunResult { code: number | null, stdout: string, stderr: string }

export interface ExecOptions {
  env?: NodeJS.ProcessEnv
  input?: string
  /** SIGKILL the command after this long (default 60 s). */
  timeoutMs?: number
}

/** Run a command to completion and collect its output; never throws for a non-zero exit. */
export async function exec (cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<RunResult> {
  const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'] })
  if (opts.input !== undefined) child.stdin!.on('error', () => {}).end(opts.input) // a command that exits unread: its status tells
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
  try {
    // 'close', not 'exit': only then has all the output been read.
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('close', resolve)
      child.once('error', err => { reject(new Error(`cannot run ${cmd}: ${err.message}`)) })
    })
    return { code, stdout, stderr }
  } finally {
    clearTimeout(timer)
  }
}

/** Run a command that must succeed; its stdout, or an error naming the command and quoting its stderr. */
export async function must (cmd: string, args: readonly string[] = [], opts: ExecOptions = {}): Promise<string> {
  const res = await exec(cmd, args, opts)
  if (res.code !== 0) throw new Error(`\`${[cmd, ...args].join(' ')}\` failed (exit ${res.code}): ${(res.stderr.trim() || res.stdout.trim()).slice(0, 500)}`)
  return res.stdout
}

/**
 * Start a long-running process that outlives its starter: its own session
 * (a terminal's Ctrl-C does not reach it), output appended to `logPath`,
 * unref'd so a CLI that started it can exit. Node still reaps it when it ends.
 */
export function spawnDetached (argv: readonly string[], logPath: string, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const [cmd, ...args] = argv
  if (cmd === undefined) throw new Error('spawnDetached: empty command')
  const fd = openSync(logPath, 'a')
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env })
    // A failed spawn is reported by untilReady; without a listener it would crash the process.
    child.on('error', () => {})
    child.unref()
    return child
  } finally {
    closeSync(fd)
  }
}

/**
 * Wait until `ready()` holds, polling, while `child` runs; fail at once, with
 * the end of its log, if it exits first (and stop polling then).
 */
export async function untilReady (child: ChildProcess, what: string, logTail: () => string, ready: () => Promise<boolean>, opts: { timeoutMs: number, intervalMs: number }): Promise<void> {
  let exited = false
  const exit = endOf(child).then(ended => {
    exited = true
    throw new Error(`${what} ${ended} before it was ready: ${logTail()}`)
  })
  await Promise.race([exit, waitFor(what, async () => exited || await ready().catch(() => false), opts)])
}

/** How `child` ended: "exited (code 1)", "exited (SIGKILL)", "could not start (…)". */
async function endOf (child: ChildProcess): Promise<string> {
  if (child.exitCode !== null || child.signalCode !== null) return `exited (${child.signalCode ?? `code ${child.exitCode}`})`
  return await new Promise<string>(resolve => {
    child.once('exit', (code, signal) => { resolve(`exited (${signal ?? `code ${code}`})`) })
    child.once('error', err => { resolve(`could not start (${err.message})`) })
  })
}

/** True while process `pid` exists and is not a zombie. */
export function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    // /proc/PID/stat: "pid (comm) S ..."; comm may hold spaces and parentheses, the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

/** The last `chars` characters of a log file, trimmed; '' when it does not exist. */
export function tail (path: string, chars = 1500): string {
  try {
    return readFileSync(path, 'utf8').slice(-chars).trim()
  } catch {
    return ''
  }
}
