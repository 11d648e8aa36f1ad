#!/usr/bin/env node
// The `shoal` command. Needs Node.js >= 22.18, which runs the TypeScript sources directly.
import { readFileSync, statSync } from 'node:fs'
import { enableCompileCache } from 'node:module'

const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`error: shoal needs Node.js 22.18 or later, this is ${process.version} (inside the project, run it through npm or npx)\n`)
  process.exit(1)
}

/**
 * The bundle of the commands (scripts/bundle.ts, made at `npm install`)
 * when it is there and none of the files it was made from changed since;
 * else the sources. The agent always runs from the sources.
 */
function bundle () {
  if (process.argv[2] === 'agent') return undefined
  const dist = new URL('../dist/', import.meta.url)
  try {
    const built = statSync(new URL('shoal.mjs', dist)).mtimeMs
    const inputs = JSON.parse(readFileSync(new URL('inputs.json', dist), 'utf8'))
    for (const input of inputs) if (statSync(new URL(input, dist)).mtimeMs > built) return undefined
    return new URL('shoal.mjs', dist).href
  } catch {
    return undefined
  }
}

// V8's compiled code of the modules, kept on disk (in the temp dir) between runs: a third of a start went to compiling them.
enableCompileCache()
await import(bundle() ?? '../src/main.ts')
