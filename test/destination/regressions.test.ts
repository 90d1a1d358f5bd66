import { execFileSync } from 'child_process'
import path from 'path'
import nock from 'nock'
import { defaultValues, Destination, PayloadValidationError, RetryableError } from '@segment/actions-core'
import definition from '../../src/destinations/koala-cloud'
import { performError } from './helpers'

// Three edge cases the rewrite first got wrong (found in review), held here.

describe('Segment’s abort signal', () => {
  const settings = {
    public_key: 'pk_test_123',
    subscription: {
      subscribe: 'type = "identify"',
      partnerAction: 'identify',
      mapping: defaultValues(definition.actions.identify.fields)
    }
  }
  const event = {
    type: 'identify',
    messageId: 'm1',
    timestamp: '2026-11-30T10:00:00.000Z',
    traits: { email: 'ann@example.com' }
  }
  afterEach(() => nock.abortPendingRequests())

  it.each([
    ['a timeout signal (actions-core’s RequestTimeoutError)', () => AbortSignal.timeout(20)],
    [
      'an abort (actions-core’s RequestClientError)',
      () => {
        const controller = new AbortController()
        setTimeout(() => controller.abort(), 20)
        return controller.signal
      }
    ]
  ])('%s is a timeout: RetryableError 504, as errors.ts documents', async (_name, signal) => {
    nock('https://api2.getkoala.com').post('/web/projects/pk_test_123/batch').delayConnection(60_000).reply(200, {})
    const error = await new Destination(definition)
      .onEvent(event as never, settings as never, { signal: signal() })
      .then(
        () => undefined,
        (reason: RetryableError) => reason
      )
    expect(error).toBeInstanceOf(RetryableError)
    expect(error?.status).toBe(504)
    expect(error?.message).toMatch(/^Koala did not answer in time \(/)
  })
})

describe('a Company Domain with an empty label', () => {
  it.each(['.com', 'acme..com', '\u00AD.com', '.acme.com'])('%p is refused, not sent as a domain', async (domain) => {
    const event = {
      type: 'group',
      groupId: 'org_1',
      messageId: 'm1',
      timestamp: '2026-11-30T10:00:00.000Z',
      traits: { domain }
    }
    const error = await performError('group', event as never)
    expect(error).toBeInstanceOf(PayloadValidationError)
    expect(error.message).toBe(
      `The Company Domain field ${JSON.stringify(domain)} is not a domain. Koala needs the company's web address, ` +
        'such as acme.com (a URL such as https://www.acme.com/about works too), or the Koala Account ID field.'
    )
  })
})

describe('a timestamp without a zone, its separator a tab, is read as UTC', () => {
  // toUtcIso in a Node process whose time zone is UTC+14 (jest cannot change the zone of its own process).
  const toUtcIsoAt = (timeZone: string, value: string) =>
    execFileSync(
      process.execPath,
      [
        '-e',
        `const ts = require('typescript')
        require.extensions['.ts'] = (m, file) =>
          m._compile(ts.transpileModule(require('fs').readFileSync(file, 'utf8'), { compilerOptions: { module: 1, target: 9, esModuleInterop: true } }).outputText, file)
        process.stdout.write(String(require('./src/destinations/koala-cloud/functions.ts').toUtcIso(${JSON.stringify(
          value
        )})))`
      ],
      { cwd: path.join(__dirname, '..', '..'), env: { ...process.env, TZ: timeZone }, encoding: 'utf8' }
    )

  it('"2026-11-30\\t10:00:00" (actions-core’s date-time format accepts it) is 10:00 UTC on a machine at UTC+14', () => {
    expect(toUtcIsoAt('UTC', '2026-11-30\t10:00:00')).toBe('2026-11-30T10:00:00.000Z')
    expect(toUtcIsoAt('Pacific/Kiritimati', '2026-11-30\t10:00:00')).toBe('2026-11-30T10:00:00.000Z')
  })
})
