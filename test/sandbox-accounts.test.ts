import { createTestIntegration } from '@segment/actions-core'
import nock from 'nock'
import { USER_AGENT } from '../src/destinations/koala-cloud/config'
import { createHarness } from '../src/harness'
import { accountContractViolation, startSandbox } from '../src/sandbox/sandbox-server'
import type { RunningSandbox } from '../src/sandbox/sandbox-server'
import { fixture } from './destination/helpers'

// The sandbox's company endpoint, POST /web/projects/{key}/accounts/batch, and the Group action sent to it for real.

const KEY = 'pk_sandbox_test_key'
const identify = (message_id: string) => ({
  type: 'identify',
  message_id,
  sent_at: '2026-11-30T08:00:00.000Z',
  traits: { name: 'Acme', group_id: 'org_1' }
})

describe('accountContractViolation', () => {
  it.each([
    [{ domain: 'acme.com', identifies: [identify('a1')] }, undefined],
    [{ account_id: 'acct_1', identifies: [identify('a1')] }, undefined],
    ['text', 'The body must be a JSON object.'],
    [{ identifies: [identify('a1')] }, 'domain or account_id is required.'],
    [
      { domain: 'acme.com', email: 'ann@acme.com', identifies: [identify('a1')] },
      'Unknown top-level key "email" for a company: the accounts body takes only domain, account_id, identifies, events.'
    ],
    [
      { domain: 'acme.com', profile_id: 'p', page_views: [], identifies: [identify('a1')] },
      'Unknown top-level keys "profile_id", "page_views" for a company: the accounts body takes only domain, account_id, identifies, events.'
    ],
    [
      { domain: 'https://www.acme.com/', identifies: [identify('a1')] },
      'domain must be a bare lowercase domain such as acme.com, but it is "https://www.acme.com/".'
    ],
    [{ account_id: '', identifies: [identify('a1')] }, 'account_id must be a non-empty string, but it is "".'],
    [{ domain: 'acme.com', identifies: [] }, 'At least one of identifies or events must have an entry.'],
    [
      { domain: 'acme.com', identifies: [{ ...identify('a1'), type: 'track' }] },
      'identifies[0].type must be "identify" in identifies, but it is "track".'
    ],
    [
      { domain: 'acme.com', identifies: [{ ...identify('a1'), traits: 'Acme' }] },
      'identifies[0].traits must be an object, but it is "Acme".'
    ],
    [
      { domain: 'acme.com', identifies: Array.from({ length: 31 }, (_, i) => identify(`a${i}`)) },
      'identifies has 31 entries; at most 30 are allowed per request.'
    ]
  ])('%j -> %p', (body, expected) => {
    expect(accountContractViolation(body)).toBe(expected)
  })
})

describe('the Group action against the running sandbox', () => {
  let sandbox: RunningSandbox
  beforeAll(async () => {
    sandbox = await startSandbox(0, { keys: [KEY] })
  })
  afterAll(async () => {
    await sandbox.close()
  })

  it('accepts the real group calls as company bodies, counted apart from person requests', async () => {
    nock.enableNetConnect('127.0.0.1')
    const testDestination = createTestIntegration(createHarness({ apiUrl: sandbox.url }).definition)
    const events = [
      fixture('analytics-node.ndjson', 8),
      fixture('analytics-node.ndjson', 11),
      fixture('http-api.ndjson', 3),
      fixture('analytics-next-browser.ndjson', 9)
    ]
    const responses = await testDestination.testBatchAction('group', {
      events,
      settings: { public_key: KEY },
      useDefaultMappings: true
    })
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200])
    expect(responses[0].request.headers.get('user-agent')).toBe(USER_AGENT)
    expect((sandbox.received as { domain: string }[]).map((body) => body.domain).sort()).toEqual([
      'acme.example.com',
      'globex.example.net',
      'hooli.example.com',
      'initech.example.com'
    ])
    expect(sandbox.stats()).toMatchObject({
      requests: 0,
      accepted: 0,
      contractViolations: 0,
      uniqueMessageIds: 4,
      accounts: { requests: 4, accepted: 4, entries: 4 }
    })
  })
})

describe('faults on the company endpoint', () => {
  const body = (message_id: string) => JSON.stringify({ domain: 'acme.com', identifies: [identify(message_id)] })
  const post = (url: string, path: string, message_id: string) =>
    fetch(`${url}/web/projects/${KEY}/${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'User-Agent': USER_AGENT },
      body: body(message_id)
    })

  it('are injected as on the person endpoint and counted for it apart', async () => {
    const sandbox = await startSandbox(0, { keys: [KEY], faults: { '503': 1 } })
    try {
      const answer = await post(sandbox.url, 'accounts/batch', 'a1')
      expect(answer.status).toBe(503)
      expect(await answer.json()).toEqual({ ok: false, error: 'Injected fault.' })
      expect(sandbox.stats()).toMatchObject({
        requests: 0,
        rejected: { '503': 1 },
        faults: { '503': 1 },
        accounts: { requests: 1, accepted: 0, entries: 0, rejected: { '503': 1 }, faults: { '503': 1 } }
      })
      expect(sandbox.accountMessageIds.size).toBe(0)
    } finally {
      await sandbox.close()
    }
  })

  it('keep each endpoint’s message_ids and duplicates apart', async () => {
    const sandbox = await startSandbox(0, { keys: [KEY] })
    try {
      for (const id of ['a1', 'a1', 'a2']) expect((await post(sandbox.url, 'accounts/batch', id)).status).toBe(200)
      expect([...sandbox.accountMessageIds]).toEqual(['a1', 'a2'])
      expect(sandbox.profileMessageIds.size).toBe(0)
      expect(sandbox.stats()).toMatchObject({
        duplicates: 1,
        uniqueMessageIds: 2,
        accounts: { accepted: 3, entries: 3, uniqueMessageIds: 2, duplicates: 1 }
      })
      expect(sandbox.stats().accounts.rejected).toEqual({})
      expect(sandbox.stats().accounts.faults).toEqual({})
    } finally {
      await sandbox.close()
    }
  })
})
