import { createTestIntegration } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import { sandboxSettingsLines } from '../src/cli/lib/local-sandbox'
import { USER_AGENT } from '../src/destinations/koala-cloud/config'
import { createHarness } from '../src/harness'
import { deletionViolation } from '../src/sandbox/deletions'
import { startSandbox } from '../src/sandbox/sandbox-server'
import type { RunningSandbox } from '../src/sandbox/sandbox-server'

// The sandbox's model of Koala's GDPR endpoint: key, body, what a deletion removes, and its receipt.

const PUBLIC = 'pk_sandbox_test_key'
const SECRET = 'sk_sandbox_secret_key'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

let sandbox: RunningSandbox
beforeAll(async () => {
  sandbox = await startSandbox(0, { keys: [PUBLIC], secretKeys: [SECRET] })
})
afterAll(() => sandbox.close())
beforeEach(() => sandbox.reset())

const identify = (messageId: string, email?: string, profileId?: string) => ({
  ...(profileId ? { profile_id: profileId } : {}),
  ...(email ? { email } : {}),
  identifies: [{ type: 'identify', message_id: messageId, sent_at: '2026-11-30T08:00:00.000Z' }]
})
const pageViews = (messageIds: string[], profileId: string) => ({
  profile_id: profileId,
  page_views: messageIds.map((id) => ({ type: 'page', message_id: id, sent_at: '2026-11-30T08:00:00.000Z' }))
})
const company = {
  domain: 'acme.com',
  identifies: [{ type: 'identify', message_id: 'g1', sent_at: '2026-11-30T08:00:00.000Z' }]
}

async function post(path: string, body: unknown) {
  const response = await fetch(`${sandbox.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT },
    body: JSON.stringify(body)
  })
  expect(response.status).toBe(200)
}

function requestDeletion(body: unknown, key: string | null = SECRET, init: { contentType?: string } = {}) {
  return fetch(`${sandbox.url}/api/v1/deletion-requests`, {
    method: 'POST',
    headers: {
      'content-type': init.contentType ?? 'application/json',
      'user-agent': USER_AGENT,
      ...(key === null ? {} : { authorization: `Bearer ${key}` })
    },
    body: typeof body === 'string' ? body : JSON.stringify(body)
  })
}

const receipt = (id: string, key = SECRET) =>
  fetch(`${sandbox.url}/api/v1/deletion-requests/${id}`, { headers: { authorization: `Bearer ${key}` } })

describe('POST /api/v1/deletion-requests', () => {
  it("removes the person's bodies (by email, and by each profile_id seen with it), keeps the rest, returns an id", async () => {
    await post(`/web/projects/${PUBLIC}/batch`, identify('a1', 'ann@example.com', 'ko-ann'))
    await post(`/web/projects/${PUBLIC}/batch`, pageViews(['a2', 'a3'], 'ko-ann'))
    await post(`/web/projects/${PUBLIC}/batch`, identify('b1', 'bob@example.com'))
    await post(`/web/projects/${PUBLIC}/accounts/batch`, company)
    const response = await requestDeletion({ emails: [' Ann@Example.com'] })
    expect(response.status).toBe(200)
    const answer = (await response.json()) as { deletion_request_id: string }
    expect(Object.keys(answer)).toEqual(['deletion_request_id'])
    expect(answer.deletion_request_id).toMatch(UUID)
    expect(sandbox.received).toEqual([identify('b1', 'bob@example.com'), company])
    expect([...sandbox.messageIds].sort()).toEqual(['b1', 'g1'])

    const read = await receipt(answer.deletion_request_id)
    expect(read.status).toBe(200)
    const body = (await read.json()) as Record<string, unknown>
    expect(body).toEqual({
      id: answer.deletion_request_id,
      status: 'completed',
      input: [' Ann@Example.com'],
      deleted_receipt: [
        { email: 'ann@example.com', profiles: ['ko-ann'], bodies: 2, identifies: 1, events: 0, page_views: 2 }
      ],
      created_at: expect.any(String) as unknown,
      updated_at: body.created_at,
      messages: []
    })
  })

  it('an email it holds nothing for: a receipt with zero counts', async () => {
    const answer = (await (await requestDeletion({ emails: ['nobody@example.com'] })).json()) as {
      deletion_request_id: string
    }
    expect(
      ((await (await receipt(answer.deletion_request_id)).json()) as { deleted_receipt: unknown }).deleted_receipt
    ).toEqual([{ email: 'nobody@example.com', profiles: [], bodies: 0, identifies: 0, events: 0, page_views: 0 }])
  })

  it.each([
    ['no Authorization header', null, 'An Authorization: Bearer <secret key> header is required.'],
    ['the Public Key', PUBLIC, 'This is a public key; deletion requests take a secret API key.'],
    ['an unknown secret key', 'sk_other', 'Unknown secret key.']
  ])('%s: 401, nothing removed', async (_name, key, error) => {
    await post(`/web/projects/${PUBLIC}/batch`, identify('a1', 'ann@example.com'))
    const response = await requestDeletion({ emails: ['ann@example.com'] }, key)
    expect(response.status).toBe(401)
    expect(await response.json()).toEqual({ ok: false, error })
    expect(sandbox.received).toHaveLength(1)
  })

  it.each([
    ['an array', [], 'The body must be a JSON object: {"emails": ["..."]}.'],
    ['no emails', {}, 'emails must be an array of email addresses.'],
    ['a string', { emails: 'ann@example.com' }, 'emails must be an array of email addresses.'],
    ['an empty list', { emails: [] }, 'emails must hold at least one email address.'],
    ['a number', { emails: ['ann@example.com', 7] }, 'emails[1] must be an email address.'],
    ['not an email', { emails: ['usr_1'] }, 'emails[0] must be an email address.'],
    ['another key', { emails: ['ann@example.com'], email: 'x' }, 'Unknown key "email": the body takes only emails.'],
    [
      '51 emails',
      { emails: Array.from({ length: 51 }, (_, i) => `p${i}@example.com`) },
      'emails has 51 entries; at most 50 are taken per request.'
    ]
  ])('%s: 400 with the reason, nothing removed', async (_name, body, error) => {
    await post(`/web/projects/${PUBLIC}/batch`, identify('a1', 'ann@example.com'))
    const response = await requestDeletion(body)
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({ ok: false, error })
    expect(sandbox.received).toHaveLength(1)
  })

  it('takes 50 emails', () => {
    expect(deletionViolation({ emails: Array.from({ length: 50 }, (_, i) => `p${i}@example.com`) })).toBeUndefined()
  })

  it('malformed JSON or another content type: 400, and no batch counter moves', async () => {
    const broken = await requestDeletion('{"emails": [', SECRET)
    expect(broken.status).toBe(400)
    const text = await requestDeletion('emails=a@b.c', SECRET, { contentType: 'text/plain' })
    expect(text.status).toBe(400)
    expect(await text.json()).toEqual({ ok: false, error: 'The body must be JSON (Content-Type: application/json).' })
    expect(sandbox.stats()).toMatchObject({ requests: 0, rejected: {}, contractViolations: 0 })
  })
})

describe('GET /api/v1/deletion-requests/{id}', () => {
  it('needs the bearer key, and answers 404 for an unknown id', async () => {
    const unknown = await receipt('3772f22a-4f8d-4d14-8fa2-987a38c3456e')
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toEqual({ ok: false, error: 'No deletion request with this id.' })
    const { deletion_request_id: id } = (await (await requestDeletion({ emails: ['ann@example.com'] })).json()) as {
      deletion_request_id: string
    }
    expect((await receipt(id, 'sk_other')).status).toBe(401)
    sandbox.reset()
    expect((await receipt(id)).status).toBe(404)
  })
})

describe("the destination's onDelete against the sandbox", () => {
  it('deletes the person by the userId email; the receipt counts what went', async () => {
    await post(`/web/projects/${PUBLIC}/batch`, identify('a1', 'ann@example.com'))
    const integration = createTestIntegration(createHarness({ appUrl: sandbox.url }).definition)
    const event = { type: 'identify', userId: 'ANN@example.com', anonymousId: 'anon-1' } as SegmentEvent
    const result = (await integration.onDelete?.(event, { public_key: PUBLIC, secret_key: SECRET })) as unknown as {
      data: { deletion_request_id: string }
    }
    expect(sandbox.received).toEqual([])
    const body = (await (await receipt(result.data.deletion_request_id)).json()) as { deleted_receipt: unknown }
    expect(body.deleted_receipt).toEqual([
      { email: 'ann@example.com', profiles: [], bodies: 1, identifies: 1, events: 0, page_views: 0 }
    ])
  })
})

it('the start banner counts the secret keys, never shows them', () => {
  expect(sandboxSettingsLines({}, [], [SECRET])).toEqual([
    '  Deletion requests: only the 1 Secret Key listed in KOALA_SANDBOX_SECRET_KEYS is accepted; any other key gets 401.'
  ])
  expect(sandboxSettingsLines({}, [], ['sk_a', 'sk_b']).join('\n')).not.toContain('sk_a')
})
