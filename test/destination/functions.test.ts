import { PayloadValidationError } from '@segment/actions-core'
import { checkPublicKey, projectUrl } from '../../src/destinations/koala-cloud/config'
import type { PreparedProfile } from '../../src/destinations/koala-cloud/functions'
import { normaliseDomain, normaliseEmail, preparePayload, toUtcIso } from '../../src/destinations/koala-cloud/functions'

/** The ip an identify sends when its traits.ip is `value` and its Device IP is `DEVICE`. */
function ipOf(value: unknown): string | undefined {
  const preparation = preparePayload('identify', {
    message_id: 'm1',
    sent_at: '2026-11-30T10:00:00Z',
    traits: { email: 'a@example.com', ip: value as string },
    device_ip: 'DEVICE'
  })
  if (preparation.outcome !== 'ready') throw new PayloadValidationError('not prepared')
  return (preparation.prepared as PreparedProfile).ip
}

describe('toUtcIso', () => {
  it.each([
    [undefined, undefined],
    [1796032800000, undefined],
    ['', undefined],
    ['not a date', undefined],
    ['2026-11-30', undefined],
    // Forms outside the pattern: only ones that start like an ISO date-time are even tried.
    ['2026-11-30T10:00:00.000+02:00[Europe/Paris]', undefined],
    ['30/11/2026 10:00', undefined],
    // A leap second passes the framework's date-time format but is not a JavaScript date: refused.
    ['2026-12-31T23:59:60Z', undefined],
    ['2026-12-31T23:59:60.5+01:00', undefined],
    // Past year 9999 in UTC, JavaScript writes `+010000-...`: refused rather than sent in a form Koala cannot read.
    ['9999-12-31T23:59:59.999-01:00', undefined],
    ['0000-01-01T00:00:00Z', '0000-01-01T00:00:00.000Z'],
    ['  2026-11-30T10:00:00Z  ', '2026-11-30T10:00:00.000Z'],
    ['2026-11-30T10:00Z', '2026-11-30T10:00:00.000Z'],
    ['2026-11-30T10:00:00+14:00', '2026-11-29T20:00:00.000Z'],
    // Already Koala's form (Segment's own timestamps): returned as it is, leap days by the Gregorian rule.
    ['2026-11-30T08:00:00.000Z', '2026-11-30T08:00:00.000Z'],
    ['2024-02-29T12:00:00.000Z', '2024-02-29T12:00:00.000Z'],
    ['2000-02-29T00:00:00.000Z', '2000-02-29T00:00:00.000Z'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
    // That form but no such instant as written: converted as any other text is.
    ['2026-11-30T24:00:00.000Z', '2026-12-01T00:00:00.000Z'],
    ['2026-11-30T23:59:60.000Z', undefined],
    ['2026-13-01T00:00:00.000Z', undefined]
  ])('%p gives %p', (value, expected) => {
    expect(toUtcIso(value)).toBe(expected)
  })

  it.each([
    '2026-02-29T12:00:00.000Z',
    '1900-02-29T00:00:00.000Z',
    '2026-04-31T10:00:00.000Z',
    '2026-01-00T10:00:00.000Z'
  ])('never passes %p on unchanged: the day does not exist', (value) => {
    expect(toUtcIso(value)).not.toBe(value)
  })
})

describe('normaliseDomain', () => {
  it.each([
    ['https://WWW.Acme.Example.com:8443/about?x=1', 'acme.example.com'],
    ['acme.com', 'acme.com'],
    ['  ACME.com  ', 'acme.com'],
    ['http://acme.com/', 'acme.com'],
    ['//acme.com/pricing', 'acme.com'],
    ['acme.com.', 'acme.com'],
    ['www.acme.co.uk', 'acme.co.uk'],
    ['acme.com#team', 'acme.com'],
    ['acme.com?ref=segment', 'acme.com'],
    ['münchen.de', 'xn--mnchen-3ya.de'],
    ['https://bücher.example/de', 'xn--bcher-kva.example'],
    ['例え.テスト', 'xn--r8jz45g.xn--zckzah'],
    // `www.` stays when removing it would leave no domain.
    ['www.com', 'www.com'],
    ['sub-domain.acme.io', 'sub-domain.acme.io'],
    ['', undefined],
    ['   ', undefined],
    ['localhost', undefined],
    ['acme', undefined],
    ['acme .com', undefined],
    ['203.0.113.7', undefined],
    ['http://203.0.113.7:8080/', undefined],
    ['[2001:db8::1]', undefined],
    ['acme.c0m', undefined],
    ['acme.123', undefined],
    ['jane@acme.com', undefined],
    // WHATWG URL reads these as hosts, but they are no DNS names (RFC 1035 labels), so no company's domain.
    ['-acme.com', undefined],
    [`${'a'.repeat(64)}.com`, undefined],
    ['acme_corp.com', undefined],
    ['acme..com', undefined],
    ['.acme.com', undefined],
    ['\u00AD.com', undefined],
    // Unicode that IDNA refuses (a replacement character, a zero-width joiner), or maps to an empty label.
    ['ab\uFFFDc.com', undefined],
    // Full-width letters and dots fold before the `www.` rule: one company, one key.
    ['\uFF37\uFF37\uFF37.acme.example.com', 'acme.example.com'],
    ['acme\uFF0Ecom:8443', 'acme.com'],
    ['xn--zz.com', undefined],
    ['xn--mnchen-3ya.de', 'xn--mnchen-3ya.de'],
    [
      `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`,
      `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`
    ],
    [
      `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`,
      `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`
    ],
    ['x\u200D.com', undefined],
    [42, undefined],
    [undefined, undefined]
  ])('%p gives %p', (value, expected) => {
    expect(normaliseDomain(value)).toBe(expected)
  })
})

describe('normaliseEmail', () => {
  it.each([
    [' A@B.example ', 'a@b.example'],
    ['no-at-sign', undefined],
    ['   ', undefined],
    ['jörg@exämple.de', 'jörg@exämple.de'],
    ['x.y+tag@sub.example.org', 'x.y+tag@sub.example.org'],
    // Not a bare address: sent as is, it would be a person that cannot exist in Koala.
    ['Jordan <jordan@example.com>', undefined],
    ['@', undefined],
    ['jordan@', undefined],
    ['@example.com', undefined],
    ['a b@example.com', undefined],
    ['a@@example.com', undefined],
    ['a@example', undefined],
    // The address pattern is simple: one @, no space, list, display name or invisible character, and a domain of
    // dot-separated parts ending in two letters or more (or punycode). What it lets through is sent as written,
    // lowercased.
    ['a@example..com', undefined],
    ['a@example.com, b@example.com', undefined],
    // Invisible and control characters would make a second, different person.
    ['a@b.com\u200b', undefined],
    ['\u200ba@b.com', undefined],
    ['a\u0000b@example.com', undefined],
    ['a@b.com/x', undefined],
    ['a@b.com?x', undefined],
    ['a@exa_mple.com', 'a@exa_mple.com'],
    ['a@-example.com', 'a@-example.com'],
    ['.a@example.com', '.a@example.com'],
    ['a..b@example.com', 'a..b@example.com'],
    ['a@b.12', undefined],
    ['a@b.1', undefined],
    ['ops@xn--80ak6aa92e.xn--p1ai', 'ops@xn--80ak6aa92e.xn--p1ai'],
    ["o'brien@example.co.uk", "o'brien@example.co.uk"],
    [42, undefined],
    [null, undefined]
  ])('%p gives %p', (value, expected) => {
    expect(normaliseEmail(value)).toBe(expected)
  })
})

describe('the ip (an IP address in traits.ip replaces Device IP)', () => {
  it.each([
    ['203.0.113.7', true],
    ['0.0.0.0', true],
    ['255.255.255.255', true],
    ['256.1.1.1', false],
    ['1.2.3', false],
    ['1.2.3.4.5', false],
    // A leading zero is octal to some parsers and decimal to others.
    ['01.2.3.4', false],
    ['1.2.3.', false],
    // Trimmed first.
    ['1.2.3.4 ', true],
    ['1.2.3.-4', false],
    ['1.2.3.4:80', false],
    ['2001:db8::1', true],
    ['2001:DB8:0:0:8:800:200C:417A', true],
    ['::', true],
    ['::1', true],
    ['fe80::', true],
    ['1:2:3:4:5:6:7::', true],
    ['::ffff:192.0.2.1', true],
    ['64:ff9b::192.0.2.33', true],
    ['1:2:3:4:5:6:192.0.2.1', true],
    ['1:2:3:4:5:6:7:8', true],
    ['1:2:3:4:5:6:7:8:9', false],
    ['1:2:3:4:5:6:7', false],
    ['1:2:3:4:5:6:7:8::', false],
    ['1::2::3', false],
    [':::', false],
    [':1:2:3:4:5:6:7', false],
    ['12345::1', false],
    ['g::1', false],
    ['::ffff:256.0.2.1', false],
    ['::192.0.2.1:1', false],
    ['[::1]', false],
    // Node's net.isIP takes an IPv6 zone.
    ['fe80::1%eth0', true],
    ['not-an-ip', false],
    ['', false],
    [12345, false],
    [null, false]
  ])('%p: %p', (value, expected) => {
    expect(ipOf(value)).toBe(expected ? String(value).trim() : 'DEVICE')
  })
})

describe('the Public Key', () => {
  const refusal = new PayloadValidationError(
    'The Public Key setting must be letters, digits, "_" and "-" only, and not empty. Check the Public Key setting: ' +
      'copy it from Koala under Settings > Install.'
  )

  it.each([undefined, null, '', '   ', 42, {}, true, 'pk/x', 'pk?x', 'pk#x', 'pk%2F', 'pk.x', 'pk x', '..', 'pk_é'])(
    'refuses %p',
    (value) => {
      expect(() => checkPublicKey(value)).toThrow(refusal)
    }
  )

  it('trims, and puts nothing in the path it has not checked', () => {
    expect(checkPublicKey('  pk_AZ-09\n')).toBe('pk_AZ-09')
    expect(projectUrl(' pk_AZ-09 ', 'accounts/batch')).toBe(
      'https://api2.getkoala.com/web/projects/pk_AZ-09/accounts/batch'
    )
    expect(() => projectUrl('pk/x', 'auth')).toThrow(refusal)
  })
})
