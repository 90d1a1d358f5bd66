import nock from 'nock'
import { PayloadValidationError } from '@segment/actions-core'
import type { JSONObject, SegmentEvent } from '@segment/actions-core'
import {
  ACCOUNTS_PATH,
  koala,
  KOALA,
  LIBRARY,
  perform,
  performBatch,
  SENT_AT,
  thrown
} from '../../__tests__/__helpers__/helpers'

const group = (id: string, traits: JSONObject, change: Partial<SegmentEvent> = {}): SegmentEvent => ({
  type: 'group',
  groupId: `org_${id}`,
  messageId: `m-${id}`,
  timestamp: SENT_AT,
  userId: 'usr_1',
  traits,
  context: { ...LIBRARY },
  ...change
})
const entry = (id: string, traits: JSONObject) => ({
  type: 'identify',
  message_id: `m-${id}`,
  sent_at: SENT_AT,
  traits
})
const noCompany = (value: string) =>
  `The Company Domain field ${value} is not a domain. Koala needs the company's web address, such as acme.com (a URL ` +
  'such as https://www.acme.com/about works too), or the Koala Account ID field.'

describe('Group', () => {
  it('sends company traits to /accounts/batch as exactly this body, by domain, with group_id', async () => {
    const traits = { name: 'Acme Analytics', website: 'https://WWW.Acme.Example.com:8443/about?x=1', employees: 120 }
    const scope = nock(KOALA)
      .post(ACCOUNTS_PATH, {
        domain: 'acme.example.com',
        identifies: [
          { type: 'identify', message_id: 'm-acme', sent_at: SENT_AT, traits: { ...traits, group_id: 'org_acme' } }
        ]
      })
      .reply(200, { ok: true })
    const { data } = await perform('group', group('acme', traits))
    expect(scope.isDone()).toBe(true)
    expect(data).toEqual({ ok: true })
  })

  it.each([
    ['traits.domain before traits.website', { domain: 'acme.com', website: 'other.com' }, 'acme.com'],
    ['an internationalised domain, as punycode', { domain: 'münchen.de' }, 'xn--mnchen-3ya.de'],
    ['a punycode ending', { domain: 'example.xn--p1ai' }, 'example.xn--p1ai'],
    ['a trailing dot, and www. only before a domain', { domain: 'www.acme.com.' }, 'acme.com'],
    ['www.com stays www.com', { domain: 'www.com' }, 'www.com']
  ])('reads the domain: %s', async (_name, traits, domain) => {
    const received = koala()
    await perform('group', group('acme', traits))
    expect(received.map((request) => request.body.domain)).toEqual([domain])
  })

  it('sends account_id instead of the domain when the Koala Account ID is mapped, and a numeric groupId as text', async () => {
    const received = koala()
    const event = group('acme', { domain: 'acme.com', koala_account: 'acct_42' }, { groupId: 4242 as never })
    await perform('group', event, { mapping: { account_id: { '@path': '$.traits.koala_account' } } })
    expect(received.map((request) => [request.path, request.body])).toEqual([
      [
        ACCOUNTS_PATH,
        {
          account_id: 'acct_42',
          identifies: [entry('acme', { domain: 'acme.com', koala_account: 'acct_42', group_id: '4242' })]
        }
      ]
    ])
  })

  it('sends no group_id when there is none', async () => {
    const received = koala()
    await perform('group', group('acme', { domain: 'acme.com' }), { mapping: { group_id: '' } })
    expect(received.map((request) => request.body)).toEqual([
      { domain: 'acme.com', identifies: [entry('acme', { domain: 'acme.com' })] }
    ])
  })

  it.each([
    ['an email', 'jane@acme.com'],
    ['an IPv4 address', 'http://203.0.113.7/'],
    ['an IPv6 address', 'https://[2001:db8::1]/'],
    ['a name without a dot', 'localhost:8080'],
    ['an ending that is not letters', 'acme.c0m'],
    ['a space', 'acme com']
  ])('refuses %s as the domain, quoting it, sending nothing', async (_name, domain) => {
    const received = koala()
    const error = await thrown(perform('group', group('acme', { domain })))
    expect(error).toBeInstanceOf(PayloadValidationError)
    expect(error.message).toBe(noCompany(JSON.stringify(domain)))
    expect(received).toEqual([])
  })

  it('leaves a call with neither domain nor account id to the framework (Company Domain is then required)', async () => {
    const error = await thrown(perform('group', group('acme', { name: 'Acme' })))
    expect(error.message).toBe(
      'The root value is missing the required field \'domain\'. The root value must match "then" schema.'
    )
  })

  it('refuses one whose Koala Account ID is blank, in a batch too', async () => {
    const received = koala()
    const multistatus = await performBatch('group', [group('acme', { name: 'Acme' })], {
      mapping: { account_id: '  ' }
    })
    expect(received).toEqual([])
    expect(multistatus).toEqual([
      {
        status: 400,
        errortype: 'PAYLOAD_VALIDATION_FAILED',
        errormessage: noCompany('null'),
        errorreporter: 'INTEGRATIONS'
      }
    ])
  })

  it('batches by company: two groups of one domain in one request, an account id in its own', async () => {
    const received = koala()
    const events = [
      group('a', { domain: 'acme.com' }),
      group('b', { domain: 'https://www.acme.com/' }),
      group('c', { domain: 'acme.com', koala_account: 'acct_1' }),
      // Segment redelivering the first: sent once, the same outcome.
      group('a', { domain: 'acme.com' })
    ]
    const mapping = { account_id: { '@path': '$.traits.koala_account' } }
    const multistatus = await performBatch('group', events, { mapping })
    const acme = {
      domain: 'acme.com',
      identifies: [
        entry('a', { domain: 'acme.com', group_id: 'org_a' }),
        entry('b', { domain: 'https://www.acme.com/', group_id: 'org_b' })
      ]
    }
    const account = {
      account_id: 'acct_1',
      identifies: [entry('c', { domain: 'acme.com', koala_account: 'acct_1', group_id: 'org_c' })]
    }
    expect(received.map((request) => request.body)).toEqual([acme, account])
    expect(multistatus).toEqual([
      { status: 200, sent: acme, body: { ok: true } },
      { status: 200, sent: acme, body: { ok: true } },
      { status: 200, sent: account, body: { ok: true } },
      { status: 200, sent: acme, body: { ok: true } }
    ])
  })
})
