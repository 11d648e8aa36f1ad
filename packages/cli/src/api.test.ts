import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { CliError } from './client.ts'
import { failureLine, ServerError, statusOf, warningTexts } from './api.ts'

describe('failureLine', () => {
  it('prints a Status as kubectl does: Error from server (Reason): message', () => {
    const err = new ServerError(404, { reason: 'NotFound', message: 'deployments.apps "x" not found', code: 404 })
    assert.equal(failureLine(err), 'Error from server (NotFound): deployments.apps "x" not found')
    assert.equal(failureLine(err, 'error when deleting "a.yaml": '), 'Error from server (NotFound): error when deleting "a.yaml": deployments.apps "x" not found')
  })

  it('prints a 422 with causes as The KIND "NAME" is invalid: field: message', () => {
    const err = new ServerError(422, { reason: 'Invalid', message: 'Deployment.apps "x" is invalid: …', details: { kind: 'Deployment', name: 'x', causes: [{ field: 'spec.replicas', message: 'Invalid value: -1: must be greater than or equal to 0' }] } })
    assert.equal(failureLine(err), 'The Deployment "x" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0')
  })

  it('a body that is not a Status gets the reason of its code; CLI errors print as error: …', () => {
    assert.equal(failureLine(new ServerError(503, statusOf(503, 'no leader\n'))), 'Error from server (ServiceUnavailable): no leader')
    assert.equal(failureLine(new CliError('bad\nflag')), 'error: bad flag')
  })
})

describe('warningTexts', () => {
  it('reads each warning of a joined Warning header, unescaped', () => {
    assert.deepEqual(warningTexts('299 - "unknown field \\"spec.replica\\"", 299 - "a, b"'), ['unknown field "spec.replica"', 'a, b'])
    assert.deepEqual(warningTexts(['299 - "one"', '299 - "two"']), ['one', 'two'])
    assert.deepEqual(warningTexts(undefined), [])
  })
})
