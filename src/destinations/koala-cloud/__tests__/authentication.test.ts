import nock from 'nock'
import { AUTH_PATH, EXPECTED_USER_AGENT, HELP, KOALA, newDestination, SETTINGS, useNock } from './__helpers__/helpers'

// The destination's testAuthentication (Segment's "Test connection"): GET {base}/web/projects/{key}/auth.

useNock()

describe('testAuthentication', () => {
  it('accepts a key Koala accepts (200), asking GET {base}/web/projects/{key}/auth with our User-Agent', async () => {
    // nock's own header matcher: a request with another User-Agent finds no mock and fails.
    const scope = nock(KOALA).get(AUTH_PATH).matchHeader('user-agent', EXPECTED_USER_AGENT).reply(200, { ok: true })
    await expect(newDestination().testAuthentication(SETTINGS)).resolves.toBeUndefined()
    expect(scope.isDone()).toBe(true)
  })

  it('rejects a key Koala refuses (401) saying what Koala answered and where the key is', async () => {
    nock(KOALA).get(AUTH_PATH).reply(401, { error: 'Unknown public key' })
    // The framework's own prefix is `Credentials are invalid: <status> `; every error carries a status for it.
    await expect(newDestination().testAuthentication(SETTINGS)).rejects.toThrow(
      new Error(`Credentials are invalid: 401 Koala did not accept this Public Key: Unknown public key. ${HELP}`)
    )
  })

  it('reads well when Koala gives no reason (404, empty body)', async () => {
    nock(KOALA).get(AUTH_PATH).reply(404)
    await expect(newDestination().testAuthentication(SETTINGS)).rejects.toThrow(
      new Error(`Credentials are invalid: 404 Koala did not accept this Public Key. ${HELP}`)
    )
  })

  it('does not follow a redirect, and says so', async () => {
    nock(KOALA).get(AUTH_PATH).reply(301, '', { Location: 'https://elsewhere.example.com/' })
    await expect(newDestination().testAuthentication(SETTINGS)).rejects.toThrow(
      new Error(
        "Credentials are invalid: 301 Koala answered with a redirect (301 to https://elsewhere.example.com/); events are only sent to Koala's ingestion API itself, so it was not followed. If KOALA_API_URL is set, check it."
      )
    )
  })

  it('quotes a plain-text refusal (403) too', async () => {
    nock(KOALA).get(AUTH_PATH).reply(403, 'Project disabled', { 'content-type': 'text/plain' })
    await expect(newDestination().testAuthentication(SETTINGS)).rejects.toThrow(
      new Error(`Credentials are invalid: 403 Koala did not accept this Public Key: Project disabled. ${HELP}`)
    )
  })

  it('does not call a rate limit or an outage a bad key', async () => {
    nock(KOALA).get(AUTH_PATH).reply(503, 'upstream unavailable')
    await expect(newDestination().testAuthentication(SETTINGS)).rejects.toThrow(
      new Error(
        'Credentials are invalid: 503 Koala could not check the Public Key right now. Try again in a few minutes.'
      )
    )
    nock(KOALA).get(AUTH_PATH).reply(429, '')
    await expect(newDestination().testAuthentication(SETTINGS)).rejects.toThrow(
      new Error(
        'Credentials are invalid: 429 Koala could not check the Public Key right now. Try again in a few minutes.'
      )
    )
  })

  it('rejects an unsafe key without asking Koala', async () => {
    const anyHost = nock(/.*/).persist().get(/.*/).reply(200, { ok: true })
    await expect(newDestination().testAuthentication({ public_key: 'pk/../x' })).rejects.toThrow(
      new Error(
        `Credentials are invalid: 400 The Public Key setting may contain only letters, digits, "_" and "-". ${HELP}`
      )
    )
    expect(anyHost.isDone()).toBe(false)
  })

  it('requires the public_key setting (framework validation)', async () => {
    await expect(newDestination().testAuthentication({} as never)).rejects.toThrow(
      new Error("The root value is missing the required field 'public_key'.")
    )
  })
})
