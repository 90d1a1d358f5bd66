import nock from 'nock'
import { PayloadValidationError } from '@segment/actions-core'
import type { JSONObject, SegmentEvent } from '@segment/actions-core'
import {
  ACCOUNTS_PATH,
  EXPECTED_USER_AGENT,
  fixture,
  KOALA,
  recordKoala,
  runBatch,
  runEvent,
  SENT_AT,
  useNock
} from '../../__tests__/__helpers__/helpers'

useNock()

const NO_COMPANY =
  'Koala needs a company domain or a Koala account id to know which company these traits belong to, and this event ' +
  'has neither. Map the Company Domain field to where your group calls carry the company website, for example ' +
  '$.traits.website or $.traits.domain, or map the Koala Account ID field.'

/** Minimal group event. */
function groupEvent(messageId: string, groupId: string, traits: JSONObject, extra: Partial<SegmentEvent> = {}) {
  const event: SegmentEvent = {
    type: 'group',
    messageId,
    timestamp: SENT_AT,
    userId: 'usr_1',
    groupId,
    traits,
    context: { library: { name: '@segment/analytics-node', version: '3.1.0' } },
    ...extra
  }
  return event
}

/** One company identify entry as Koala takes it. */
const entry = (message_id: string, traits: JSONObject) => ({ type: 'identify', message_id, sent_at: SENT_AT, traits })

describe('Group: real Segment events', () => {
  it('sends an analytics-node group call as exactly the Koala body: identifies on /accounts/batch, by domain', async () => {
    const received = recordKoala()

    const { output } = await runEvent('group', fixture('analytics-node.ndjson', 8))

    expect(output).toEqual({ ok: true })
    expect(received).toHaveLength(1)
    expect(received[0].path).toBe(ACCOUNTS_PATH)
    expect(received[0].headers['user-agent']).toBe(EXPECTED_USER_AGENT)
    expect(received[0].body).toStrictEqual({
      domain: 'acme.example.com',
      identifies: [
        {
          type: 'identify',
          message_id: 'node-next-1796011027310-15ef3feb-53fd-4b62-b596-49843c276c05',
          sent_at: '2026-11-30T03:57:07.310Z',
          traits: {
            name: 'Acme Analytics',
            website: 'https://www.acme.example.com',
            domain: 'acme.example.com',
            employees: 120,
            industry: 'Software',
            plan: 'growth',
            created_at: '2021-04-01T00:00:00.000Z',
            address: { city: 'Springfield', state: 'IL', country: 'USA' },
            is_paying: true,
            group_id: 'org_acme_551'
          }
        }
      ]
    })
  })

  it.each([
    ['analytics-node.ndjson', 11, 'globex.example.net', 'org_globex_7730'],
    ['http-api.ndjson', 3, 'hooli.example.com', 'org_hooli_0042'],
    // analytics.js group calls are sent: the Koala pixel does not send company traits.
    ['analytics-next-browser.ndjson', 9, 'initech.example.com', 'org_initech_3301']
  ])('%s line %i: the domain %s from the website or domain trait, group_id %s', async (file, line, domain, groupId) => {
    const received = recordKoala()
    const event = fixture(file, line)
    await runEvent('group', event)
    expect(received.map((request) => request.body)).toStrictEqual([
      {
        domain,
        identifies: [
          {
            type: 'identify',
            message_id: event.messageId,
            sent_at: new Date(event.timestamp as string).toISOString(),
            traits: { ...event.traits, group_id: groupId }
          }
        ]
      }
    ])
  })

  it('refuses a real group call with neither a domain nor an account id, naming the field and where to map it', async () => {
    const received = recordKoala()
    await expect(runEvent('group', fixture('spec-examples.ndjson', 4))).rejects.toThrow(
      new PayloadValidationError(NO_COMPANY)
    )
    expect(received).toEqual([])
  })

  // The mapping is right and the value is not: the message says what is wrong with the value and what a valid one
  // looks like, and does not send the user to map the field they already mapped.
  it.each([
    ['http://203.0.113.7/', '203.0.113.7 is an IP address'],
    ['https://[2001:db8::1]/', '[2001:db8::1] is an IP address'],
    ['jane@acme.com', 'it is an email address'],
    ['acme com', 'it contains a space'],
    ['https:///about', 'it has no host name'],
    ['localhost:8080', 'localhost has no dot and ending such as .com'],
    ['acme.c0m', 'its ending .c0m is not a top-level domain such as .com'],
    [`${'a'.repeat(64)}.com`, `${'a'.repeat(64)}.com is longer than a domain can be`],
    ['acme_corp.com', 'acme_corp.com has characters a domain cannot have']
  ])('refuses the website %p, quoting it and saying why it is not a domain', async (website, problem) => {
    const received = recordKoala()
    await expect(runEvent('group', groupEvent('g1', 'org_1', { website }))).rejects.toThrow(
      new PayloadValidationError(
        `The Company Domain field ${JSON.stringify(website)} is not a domain: ${problem}. A valid one is the ` +
          "company's web address, such as acme.com (a URL such as https://www.acme.com/about works too). Send the " +
          'domain in the value this field maps, or map the Koala Account ID field.'
      )
    )
    expect(received).toEqual([])
  })

  it('an empty traits.domain hides traits.website from the default mapping: refused as having no company', async () => {
    await expect(
      runEvent('group', groupEvent('g1', 'org_1', { domain: '', website: 'https://www.acme.com' }))
    ).rejects.toThrow(new PayloadValidationError(NO_COMPANY))
  })

  it('sends account_id instead of domain when the Koala Account ID is mapped', async () => {
    const received = recordKoala()
    await runEvent('group', groupEvent('g1', 'org_1', { domain: 'acme.com', plan: 'pro' }), {
      mapping: { account_id: { '@path': '$.traits.koala_account' } }
    })
    await runEvent('group', groupEvent('g2', 'org_1', { domain: 'acme.com', koala_account: 'acct_42' }), {
      mapping: { account_id: { '@path': '$.traits.koala_account' } }
    })
    expect(received.map((request) => request.body)).toStrictEqual([
      { domain: 'acme.com', identifies: [entry('g1', { domain: 'acme.com', plan: 'pro', group_id: 'org_1' })] },
      {
        account_id: 'acct_42',
        identifies: [entry('g2', { domain: 'acme.com', koala_account: 'acct_42', group_id: 'org_1' })]
      }
    ])
  })

  it('sends a numeric groupId as text, and no group_id when there is none', async () => {
    const received = recordKoala()
    await runEvent('group', groupEvent('g1', 'x', { domain: 'acme.com' }, { groupId: 4242 as unknown as string }))
    await runEvent('group', groupEvent('g2', 'x', { domain: 'acme.com' }), { mapping: { group_id: '' } })
    expect(received.map((request) => request.body.identifies)).toStrictEqual([
      [entry('g1', { domain: 'acme.com', group_id: '4242' })],
      [entry('g2', { domain: 'acme.com' })]
    ])
  })
})

describe('Group: performBatch', () => {
  it('two group ids on one domain: one request carrying two identifies', async () => {
    const received = recordKoala()
    const multistatus = await runBatch('group', [
      groupEvent('g1', 'workspace_eu', { website: 'https://www.acme.com', plan: 'pro' }),
      groupEvent('g2', 'workspace_us', { website: 'acme.com/', plan: 'enterprise' })
    ])
    const body = {
      domain: 'acme.com',
      identifies: [
        entry('g1', { website: 'https://www.acme.com', plan: 'pro', group_id: 'workspace_eu' }),
        entry('g2', { website: 'acme.com/', plan: 'enterprise', group_id: 'workspace_us' })
      ]
    }
    expect(received.map((request) => request.body)).toStrictEqual([body])
    expect(multistatus).toStrictEqual([
      { status: 200, sent: body, body: { ok: true } },
      { status: 200, sent: body, body: { ok: true } }
    ])
  })

  it('31 groups of one domain: 30 identifies, then 1', async () => {
    const received = recordKoala()
    const events = Array.from({ length: 31 }, (_, i) => groupEvent(`g${i}`, `tenant_${i}`, { domain: 'acme.com' }))
    const multistatus = await runBatch('group', events)
    expect(received.map((request) => (request.body.identifies as unknown[]).length).sort((a, b) => b - a)).toEqual([
      30, 1
    ])
    expect(multistatus.map((result) => result.status)).toEqual(Array(31).fill(200))
  })

  it('a failed request fails exactly its events; an event without a company fails alone; the same event twice is sent once', async () => {
    nock(KOALA)
      .post(ACCOUNTS_PATH, (body: JSONObject) => body.domain === 'acme.com')
      .reply(503, { error: 'busy' })
    nock(KOALA)
      .post(ACCOUNTS_PATH, (body: JSONObject) => body.domain === 'globex.com')
      .reply(200, { ok: true })
    const globex = groupEvent('g3', 'org_3', { domain: 'globex.com' })

    const multistatus = await runBatch('group', [
      groupEvent('g1', 'org_1', { domain: 'acme.com' }),
      groupEvent('g2', 'org_2', { name: 'No Domain Inc' }),
      globex,
      globex
    ])

    const acmeBody = { domain: 'acme.com', identifies: [entry('g1', { domain: 'acme.com', group_id: 'org_1' })] }
    const globexBody = { domain: 'globex.com', identifies: [entry('g3', { domain: 'globex.com', group_id: 'org_3' })] }
    expect(multistatus).toStrictEqual([
      {
        status: 503,
        errortype: 'SERVICE_UNAVAILABLE',
        errormessage: 'Koala is temporarily unavailable (503): busy.',
        sent: acmeBody,
        body: { error: 'busy' },
        errorreporter: 'DESTINATION'
      },
      { status: 400, errortype: 'PAYLOAD_VALIDATION_FAILED', errormessage: NO_COMPANY, errorreporter: 'INTEGRATIONS' },
      { status: 200, sent: globexBody, body: { ok: true } },
      { status: 200, sent: globexBody, body: { ok: true } }
    ])
  })

  it('a messageId reused by another company’s different event fails the later one', async () => {
    recordKoala()
    const multistatus = await runBatch('group', [
      groupEvent('same', 'org_1', { domain: 'acme.com' }),
      groupEvent('same', 'org_2', { domain: 'globex.com' })
    ])
    expect(multistatus[1]).toStrictEqual({
      status: 400,
      errortype: 'PAYLOAD_VALIDATION_FAILED',
      errormessage:
        'The MessageId "same" is already used by another company\'s event in this batch, and Koala keeps only one ' +
        'event per message_id. Map the MessageId field to the Segment messageId ($.messageId), which is unique per event.',
      errorreporter: 'INTEGRATIONS'
    })
  })
})
