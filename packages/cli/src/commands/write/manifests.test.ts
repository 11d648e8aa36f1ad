import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { checkValid, expandPaths, parseManifests, readManifestTexts } from './manifests.ts'

const deployment = (name: string, replicas = 1): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers: [{name: c, image: busybox}]
`

const parse = (text: string, source = 'app.yaml') => parseManifests([{ source, text }])

describe('parseManifests', () => {
  it('reads several YAML documents in order, skipping empty ones', () => {
    const ms = parse(`---\n${deployment('a')}---\n# nothing here\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n  namespace: prod\nspec:\n  ports: [{port: 80}]\n---\n`)
    assert.deepEqual(ms.map(m => [m.kind.kind, m.name, m.namespace, m.where]), [['Deployment', 'a', undefined, 'document 1'], ['Service', 'b', 'prod', 'document 3']])
  })

  it('reads JSON, and the items of a kind: List', () => {
    const json = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' } }] })
    const ms = parse(json, 'list.json')
    assert.deepEqual(ms.map(m => [m.kind.kind, m.name, m.where]), [['ConfigMap', 'x', 'document 1, item 1'], ['Namespace', 'ns', 'document 1, item 2']])
  })

  it('a YAML syntax error names the file and the document, and nothing is returned', () => {
    assert.throws(() => parse(`${deployment('a')}---\nkind: Service\nmetadata: {name: [x\n`), /^Error: app\.yaml: document 2: error parsing YAML: .*at line 17, column 1$/, 'the line is counted in the file, not in the document')
  })

  it('a JSON syntax error in a .json file names the file', () => {
    assert.throws(() => parse('{"apiVersion": "v1",', 'x.json'), /x\.json: document 1: error parsing JSON/)
  })

  it('refuses an unknown kind, a kind in the wrong version, a missing kind and a missing name', () => {
    assert.throws(() => parse(`${deployment('a')}---\napiVersion: v1\nkind: Widget\nmetadata: {name: w}\n`), /app\.yaml: document 2: no matches for kind "Widget" in version "v1"/)
    assert.throws(() => parse('apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: w}\n'), /no matches for kind "Deployment" in version "extensions\/v1beta1"/)
    assert.throws(() => parse('metadata: {name: w}\n'), /document 1: apiVersion not set, kind not set/)
    assert.throws(() => parse('apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n'), /document 1: metadata\.name is required/)
    assert.throws(() => parse('- 1\n- 2\n'), /document 1: not an object/)
  })
})

describe('checkValid', () => {
  it('passes a valid object and refuses an invalid one with the server\'s wording, naming file and document', () => {
    const [good, bad] = parse(`${deployment('a')}---\n${deployment('b', -1)}`)
    checkValid(good!, 'default')
    assert.throws(() => checkValid(bad!, 'default'), /^Error: app\.yaml: document 2: The Deployment "b" is invalid: spec\.replicas: Invalid value: -1: must be greater than or equal to 0$/)
  })
})

describe('reading -f', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-manifests-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('a directory means its .yaml, .yml and .json files, sorted, not recursing', () => {
    for (const f of ['b.yml', 'a.yaml', 'c.json', 'notes.txt']) writeFileSync(join(dir, f), '')
    mkdirSync(join(dir, 'sub.yaml'), { recursive: true })
    writeFileSync(join(dir, 'sub.yaml', 'd.yaml'), '')
    assert.deepEqual(expandPaths([dir, '-']), [join(dir, 'a.yaml'), join(dir, 'b.yml'), join(dir, 'c.json'), join(dir, 'sub.yaml'), '-'].filter(p => !p.endsWith('sub.yaml')))
  })

  it('a missing path is an error naming it; - reads stdin once', async () => {
    assert.throws(() => expandPaths([join(dir, 'nope.yaml')]), /the path ".*nope\.yaml" does not exist/)
    const texts = await readManifestTexts(['-'], Readable.from([Buffer.from('kind: x\n')]))
    assert.deepEqual(texts, [{ source: 'STDIN', text: 'kind: x\n' }])
    await assert.rejects(readManifestTexts(['-', '-'], Readable.from([])), /stdin\) may be given only once/)
  })
})
