import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ipBytes, pem } from './cert.ts'
import { namedBits, oid, time, unsignedInteger } from './der.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('DER encoding', () => {
  it('encodes object identifiers with base-128 arcs', () => {
    assert.equal(hex(oid('1.3.101.112')), '06032b6570')
    assert.equal(hex(oid('2.5.29.17')), '0603551d11')
    assert.equal(hex(oid('1.3.6.1.5.5.7.3.1')), '06082b06010505070301')
  })

  it('keeps integers positive and minimal', () => {
    assert.equal(hex(unsignedInteger(Uint8Array.of(0x80))), '02020080')
    assert.equal(hex(unsignedInteger(Uint8Array.of(0, 0, 5))), '020105')
    assert.equal(hex(unsignedInteger(new Uint8Array(0))), '020100')
  })

  it('drops trailing zero bits of named bit strings (KeyUsage)', () => {
    assert.equal(hex(namedBits([0])), '03020780')
    assert.equal(hex(namedBits([0, 5, 6])), '03020186')
  })

  it('uses UTCTime until 2049 and GeneralizedTime from 2050', () => {
    assert.equal(Buffer.from(time(new Date('2049-12-31T23:59:59Z'))).subarray(2).toString(), '491231235959Z')
    assert.equal(time(new Date('2049-12-31T23:59:59Z'))[0], 0x17)
    assert.equal(Buffer.from(time(new Date('2124-01-01T00:00:00Z'))).subarray(2).toString(), '21240101000000Z')
    assert.equal(time(new Date('2124-01-01T00:00:00Z'))[0], 0x18)
  })

  it('encodes long lengths in the long form', () => {
    const big = unsignedInteger(new Uint8Array(200).fill(1))
    assert.equal(hex(big.subarray(0, 3)), '0281c8')
  })
})

describe('ipBytes', () => {
  const cases: Array<[string, string | undefined]> = [
    ['127.0.0.1', '7f000001'],
    ['10.1.2.3', '0a010203'],
    ['::1', '00000000000000000000000000000001'],
    ['fe80::1:2', 'fe800000000000000000000000010002'],
    ['::ffff:10.0.0.1', '00000000000000000000ffff0a000001'],
    ['2001:db8:0:0:0:0:0:1', '20010db8000000000000000000000001'],
    ['256.0.0.1', undefined],
    ['localhost', undefined],
    ['1::2::3', undefined],
    ['1:2:3', undefined]
  ]
  for (const [ip, want] of cases) it(`${ip} → ${want ?? 'not an IP'}`, () => assert.equal(ipBytes(ip) === undefined ? undefined : hex(ipBytes(ip)!), want))
})

describe('pem', () => {
  it('armours base64 in 64-column lines', () => {
    const text = pem('CERTIFICATE', new Uint8Array(100).fill(255))
    const lines = text.trim().split('\n')
    assert.equal(lines[0], '-----BEGIN CERTIFICATE-----')
    assert.equal(lines.at(-1), '-----END CERTIFICATE-----')
    assert.equal(lines[1]!.length, 64)
    assert.equal(lines.slice(1, -1).join(''), Buffer.from(new Uint8Array(100).fill(255)).toString('base64'))
  })
})
