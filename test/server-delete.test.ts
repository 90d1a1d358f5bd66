import { USER_AGENT } from '../src/destinations/koala-cloud/config'
import { call, DELETION_KEY, identifyEvent, KEY, local, refusedWith, useLocalServer } from './support/local-server'

// `POST /delete`: actions-cli's deletion route, run against the sandbox's deletion endpoint.

useLocalServer()

const settings = { public_key: KEY, secret_key: DELETION_KEY }

/** Nothing of the Secret Key in `text` beyond the four characters redaction shows. */
function expectNoSecret(text: string) {
  expect(text).not.toContain(DELETION_KEY)
  expect(text).not.toContain(DELETION_KEY.slice(0, 8))
}

describe('POST /delete', () => {
  it("runs the destination's onDelete: the exchange with Koala, the key hidden, the person's bodies removed", async () => {
    expect(
      (await call('/identify', { body: { payload: identifyEvent(), settings: { public_key: KEY } } })).status
    ).toBe(200)
    expect(local.sandbox.received).toHaveLength(1)
    const answer = await call('/delete', {
      body: { payload: { userId: ' Ada@Example.com ', anonymousId: 'anon-1' }, settings }
    })
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual([
      {
        request: {
          url: `${local.sandbox.url}/api/v1/deletion-requests`,
          method: 'POST',
          headers: {
            authorization: '<redacted>',
            'content-type': 'application/json',
            'user-agent': USER_AGENT
          },
          body: '{"emails":["ada@example.com"]}'
        },
        response: {
          statusCode: 200,
          statusMessage: 'OK',
          headers: expect.objectContaining({ 'content-type': 'application/json; charset=utf-8' }) as unknown,
          body: { deletion_request_id: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown }
        }
      }
    ])
    expectNoSecret(answer.text)
    expect(local.sandbox.received).toEqual([])
    const logged = local.logs.join('\n')
    expect(logged).toMatch(/\[server\] POST \/delete 200 \d+ ms/)
    expectNoSecret(logged)
  })

  it.each([
    [
      'a userId that is not an email',
      { userId: 'usr_1', anonymousId: 'anon-1' },
      settings,
      400,
      'The userId of this deletion request is not an email address'
    ],
    [
      'no userId',
      { anonymousId: 'anon-1' },
      settings,
      400,
      'The userId of this deletion request is not an email address'
    ],
    [
      'no Secret Key',
      { userId: 'ada@example.com' },
      { public_key: KEY },
      401,
      'Koala takes deletion requests only with a Secret Key, so this person was not deleted'
    ]
  ])('%s: the error, as actions-cli answers it (200 with [output])', async (_name, payload, given, status, start) => {
    const answer = await call('/delete', { body: { payload, settings: given } })
    expect(answer.status).toBe(200)
    expect(answer.body).toHaveLength(1)
    expect(answer.body[0]).toMatchObject({ statusCode: status, requestError: true })
    expect(answer.body[0].message).toMatch(new RegExp(`^${start}`))
    expect(local.logs.join('\n')).toContain(`[server] POST /delete 200`)
  })

  it("Koala's 401 for an unknown secret key: the key redacted from the answer and the log", async () => {
    const wrong = 'sk_live_wrong_key_987654321'
    const answer = await call('/delete', {
      body: { payload: { userId: 'ada@example.com' }, settings: { public_key: KEY, secret_key: wrong } }
    })
    expect(answer.body).toEqual(
      refusedWith(
        401,
        'Koala refused the Secret Key (401: Unknown secret key). Check the Secret Key setting: create a secret ' +
          'API key in Koala under Settings > API Keys (the Public Key does not work here).'
      )
    )
    expect(answer.text).not.toContain(wrong)
    expect(local.logs.join('\n')).not.toContain(wrong)
  })

  it.each([
    ['no payload', { settings }, '"payload" must be an object with the userId to delete.'],
    [
      'a string payload',
      { payload: 'ada@example.com', settings },
      '"payload" must be an object with the userId to delete.'
    ],
    ['settings not an object', { payload: { userId: 'a@b.co' }, settings: 'x' }, '"settings" must be an object.']
  ])('%s: 400 with what to send', async (_name, body, start) => {
    const answer = await call('/delete', { body })
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual(
      refusedWith(
        400,
        `${start} Send a JSON object: {"payload": {"userId": "<the email of the person to delete>", "anonymousId": ` +
          '"..."}, "settings": {"public_key": "<your Koala Public Key>", "secret_key": "<your Koala Secret Key>"}}, ' +
          'with Content-Type: application/json.'
      )
    )
  })
})
