import nock from 'nock'
import { defaultValues, Destination, PayloadValidationError, RetryableError } from '@segment/actions-core'
import definition from '../../src/destinations/koala-cloud'
import { performError } from './helpers'

// Failing tests for two bugs found in the folder's code at babf101 (see the report): they pass once fixed.

describe('bug: Segment’s abort signal', () => {
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

describe('bug: a Company Domain with an empty label', () => {
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
