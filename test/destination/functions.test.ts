import {
  IntegrationError,
  InvalidAuthenticationError,
  PayloadValidationError,
  RetryableError
} from '@segment/actions-core'
import { checkPublicKey, koalaBaseUrl, projectUrl, redactKey, redactProjectUrl } from '../config'
import { koalaError, networkError } from '../errors'
import { domainProblem, isIpAddress, normaliseDomain, normaliseEmail, preparePayload, toUtcIso } from '../functions'

/**
 * The shared functions of config.ts, functions.ts and errors.ts, called directly for the inputs the framework never lets reach them
 * (its schema validation runs first) and for what the local server and sandbox reuse (redaction).
 */

afterEach(() => {
  delete process.env.KOALA_API_URL
})

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
    // A leap second passes the framework's date-time format but is not a JavaScript date: the minute's last ms.
    ['2026-12-31T23:59:60Z', '2026-12-31T23:59:59.999Z'],
    ['2026-12-31T23:59:60.5+01:00', '2026-12-31T22:59:59.999Z'],
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
    ['2026-11-30T23:59:60.000Z', '2026-11-30T23:59:59.999Z'],
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
    ['-acme.com', undefined],
    ['acme..com', undefined],
    [`${'a'.repeat(64)}.com`, undefined],
    // Unicode that IDNA refuses (a replacement character, a zero-width joiner), or maps to an empty label.
    ['ab\uFFFDc.com', undefined],
    // Full-width letters and dots fold before the `www.` rule: one company, one key.
    ['\uFF37\uFF37\uFF37.acme.example.com', 'acme.example.com'],
    ['acme\uFF0Ecom:8443', 'acme.com'],
    ['xn--zz.com', undefined],
    ['xn--mnchen-3ya.de', 'xn--mnchen-3ya.de'],
    [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`, undefined],
    [
      `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`,
      `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`
    ],
    ['x\u200D.com', undefined],
    ['\u00AD.com', undefined],
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
    ['a@example..com', undefined],
    ['a@example.com, b@example.com', undefined],
    // Invisible and control characters would make a second, different person.
    ['a@b.com\u200b', undefined],
    ['\u200ba@b.com', undefined],
    ['a\u0000b@example.com', undefined],
    ['a@b.com/x', undefined],
    ['a@b.com?x', undefined],
    ['a@exa_mple.com', undefined],
    ['a@-example.com', undefined],
    ['.a@example.com', undefined],
    ['a..b@example.com', undefined],
    ['a@b.1', undefined],
    ['ops@xn--80ak6aa92e.xn--p1ai', 'ops@xn--80ak6aa92e.xn--p1ai'],
    ["o'brien@example.co.uk", "o'brien@example.co.uk"],
    [42, undefined],
    [null, undefined]
  ])('%p gives %p', (value, expected) => {
    expect(normaliseEmail(value)).toBe(expected)
  })
})

describe('isIpAddress', () => {
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
    ['1.2.3.4 ', false],
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
    ['fe80::1%eth0', false],
    ['not-an-ip', false],
    ['', false],
    [12345, false],
    [null, false]
  ])('%p: %p', (value, expected) => {
    expect(isIpAddress(value)).toBe(expected)
  })
})

describe('domainProblem', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7 is an IP address'],
    ['http://203.0.113.7:8080/about', '203.0.113.7 is an IP address'],
    ['2001:db8::1', '2001:db8::1 is an IP address'],
    ['https://[2001:db8::1]/', '[2001:db8::1] is an IP address'],
    // Not an address (a part above 255): what is wrong is its ending.
    ['999.1.1.1', 'its ending .1 is not a top-level domain such as .com'],
    ['localhost', 'localhost has no dot and ending such as .com'],
    ['ann@acme.com', 'it is an email address']
  ])('%p: %p', (given, expected) => {
    expect(domainProblem(given)).toBe(expected)
  })
})

describe('preparePayload', () => {
  it('refuses a Sent At that is not a date, naming the field and the fix', () => {
    const preparation = preparePayload('identify', {
      message_id: 'm1',
      sent_at: '9999-12-31T23:59:59.999-01:00',
      traits: { email: 'a@example.com' }
    })
    expect(preparation.outcome).toBe('invalid')
    const error = (preparation as { error: PayloadValidationError }).error
    expect(error).toBeInstanceOf(PayloadValidationError)
    expect(error.message).toBe(
      'The Sent At field is not a date: "9999-12-31T23:59:59.999-01:00". Map it to an ISO-8601 timestamp such as $.timestamp.'
    )
  })

  it('refuses a whitespace-only MessageId', () => {
    const preparation = preparePayload('track', {
      message_id: '   ',
      event: 'x',
      sent_at: '2026-11-30T10:00:00Z',
      traits: { email: 'a@example.com' }
    })
    expect(preparation).toMatchObject({
      outcome: 'invalid',
      error: {
        message:
          'The MessageId field is empty. Map it to the Segment messageId ($.messageId): Koala uses it to de-duplicate events.'
      }
    })
  })
})

describe('koalaError', () => {
  it.each([
    [400, { status: 'rejected' }, undefined, IntegrationError, 400, 'Koala rejected the request (400).'],
    [409, 'conflict', undefined, IntegrationError, 409, 'Koala rejected the request (409): conflict.'],
    [501, '', undefined, IntegrationError, 501, 'Koala rejected the request (501).'],
    [
      504,
      { error: { detail: 'upstream' } },
      undefined,
      RetryableError,
      504,
      'Koala is temporarily unavailable (504): {"detail":"upstream"}.'
    ],
    [429, '', '1', RetryableError, 429, 'Koala rate-limited the request (429). Koala asked to retry after 1 second.'],
    [
      429,
      '',
      ' 12 ',
      RetryableError,
      429,
      'Koala rate-limited the request (429). Koala asked to retry after 12 seconds.'
    ],
    [
      403,
      'nope',
      undefined,
      InvalidAuthenticationError,
      401,
      'Koala answered 403 for this Public Key: nope. Check the Public Key setting: copy it from Koala under Settings > Install.'
    ]
  ])('%i %p (Retry-After %p) gives %p', (status, body, retryAfter, errorClass, errorStatus, message) => {
    const error = koalaError(status, body, retryAfter) as Error & { status: number }
    expect(error).toBeInstanceOf(errorClass)
    expect({ status: error.status, message: error.message }).toEqual({ status: errorStatus, message })
  })
})

describe('networkError', () => {
  it.each([
    [{}, 503, 'Could not reach Koala (network error).'],
    [null, 503, 'Could not reach Koala (network error).'],
    [{ code: 'EPIPE' }, 503, 'Could not reach Koala (EPIPE).'],
    [{ name: 'TimeoutError', message: 'slow' }, 504, 'Koala did not answer within 10000 ms (slow).'],
    [
      { code: 'REQUESTTIMEOUTERROR', message: 'late' },
      504,
      'Koala did not answer within 10000 ms (REQUESTTIMEOUTERROR late).'
    ]
  ])('%p gives a retryable %i', (error, status, message) => {
    const mapped = networkError(error)
    expect(mapped).toBeInstanceOf(RetryableError)
    expect({ status: mapped.status, message: mapped.message }).toEqual({ status, message })
  })

  it('redacts the key in the URL the client quotes', () => {
    const error = Object.assign(
      new Error('request to https://api2.getkoala.com/web/projects/pk_live_secret/auth failed, reason: socket hang up'),
      { code: 'ECONNRESET' }
    )
    expect(networkError(error).message).toBe(
      'Could not reach Koala (ECONNRESET request to https://api2.getkoala.com/web/projects/pk_l…/auth failed, reason: socket hang up).'
    )
  })
})

describe('config', () => {
  it('koalaBaseUrl: production unless KOALA_API_URL (trimmed, without trailing slashes) says otherwise', () => {
    expect(koalaBaseUrl()).toBe('https://api2.getkoala.com')
    process.env.KOALA_API_URL = '  http://127.0.0.1:3001//  '
    expect(koalaBaseUrl()).toBe('http://127.0.0.1:3001')
    process.env.KOALA_API_URL = '   '
    expect(koalaBaseUrl()).toBe('https://api2.getkoala.com')
  })

  it('projectUrl encodes nothing it has not validated', () => {
    expect(projectUrl('pk_AZ-09', 'auth')).toBe('https://api2.getkoala.com/web/projects/pk_AZ-09/auth')
    expect(() => projectUrl('pk/x', 'batch')).toThrow(PayloadValidationError)
  })

  it.each([undefined, null, '', '   '])('checkPublicKey(%p) says the key is empty', (value) => {
    expect(() => checkPublicKey(value)).toThrow(
      new PayloadValidationError(
        'The Public Key setting is empty. Check the Public Key setting: copy it from Koala under Settings > Install.'
      )
    )
  })

  it.each([
    [42, 'a number'],
    [{}, 'an object'],
    [true, 'a boolean']
  ])('checkPublicKey(%p) says the key must be text', (value, kind) => {
    expect(() => checkPublicKey(value)).toThrow(
      new PayloadValidationError(
        `The Public Key setting must be text, but it is ${kind}. Check the Public Key setting: copy it from Koala under Settings > Install.`
      )
    )
  })

  it('redactKey hides every occurrence of the key but its first four characters', () => {
    expect(redactKey('key pk_live_abc in /web/projects/pk_live_abc/batch', 'pk_live_abc')).toBe(
      'key pk_l… in /web/projects/pk_l…/batch'
    )
    expect(redactKey('nothing to hide', undefined)).toBe('nothing to hide')
    expect(redactKey('nothing to hide', '')).toBe('nothing to hide')
  })

  it('redactProjectUrl hides the key in a project path without knowing it', () => {
    expect(redactProjectUrl('/web/projects/pk_live_abc/batch?x=1')).toBe('/web/projects/pk_l…/batch?x=1')
    // Never more than half of a short key, and a second pass changes nothing.
    expect(redactProjectUrl('https://h/web/projects/ab/auth')).toBe('https://h/web/projects/a…/auth')
    expect(redactProjectUrl('/web/projects/abcd/batch')).toBe('/web/projects/ab…/batch')
    expect(redactProjectUrl(redactProjectUrl('/web/projects/pk_live_abc/batch'))).toBe('/web/projects/pk_l…/batch')
    expect(redactKey('key abc here', 'abc')).toBe('key a… here')
    // Credentials written into a base URL (a proxy in KOALA_API_URL) are hidden too, user name included.
    expect(redactProjectUrl('http://user:s3cr3tpw@127.0.0.1:3500/web/projects/pk_live_abc/batch')).toBe(
      'http://…@127.0.0.1:3500/web/projects/pk_l…/batch'
    )
    expect(redactProjectUrl('see https://token@proxy.example.com/ and mailto:a@example.com')).toBe(
      'see https://…@proxy.example.com/ and mailto:a@example.com'
    )
    // A URL inside JSON, with an email further on: the JSON is left whole.
    const json = '{"url":"https://www.example.com","traits":{"email":"jordan@acme.example.com"}}'
    expect(redactProjectUrl(json)).toBe(json)
  })
})
