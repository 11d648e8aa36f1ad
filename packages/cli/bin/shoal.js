#!/usr/bin/env node
// The `shoal` command. Needs Node.js >= 22.18, which runs the TypeScript sources directly.
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`error: shoal needs Node.js 22.18 or later, this is ${process.version} (inside the project, run it through npm or npx)\n`)
  process.exit(1)
}
await import('../src/main.ts')
