import { checkPublicKey } from '../src/destinations/koala-cloud/config'
import { findTooDeep, MAX_NESTING_DEPTH } from '../src/harness'
import { call, example, identifyEvent, KEY, local, refusedWith, repoRoot, useLocalServer } from './support/local-server'

// The local server refuses what it cannot run, with a 4xx that says what to send, and keeps running.

useLocalServer()

/** What config.ts's checkPublicKey says about a key. */
function publicKeyMessage(key: unknown): string {
  try {
    checkPublicKey(key)
  } catch (error) {
    return (error as Error).message
  }
  throw new TypeError(`checkPublicKey accepted ${JSON.stringify(key)}`)
}

describe('settings are checked before anything is sent', () => {
  it.each([
    ['missing settings', undefined, '"settings.public_key" is missing: put your Koala Public Key there'],
    ['an empty key', { public_key: '  ' }, 'The Public Key setting must be letters, digits'],
    ['a key with a slash', { public_key: 'pk/../admin' }, 'The Public Key setting must be letters, digits'],
    ['a key with a query', { public_key: 'pk?x=1' }, 'The Public Key setting must be letters, digits'],
    // config.ts words this case; the server passes its message on (see the /authenticate test below).
    ['a key that is not a string', { public_key: 12 }, publicKeyMessage(12)]
  ])('%s -> 400 naming the Public Key', async (_name, settings, start) => {
    const answer = await call('/identify', { body: { settings, payload: identifyEvent() } })
    expect(answer.status).toBe(400)
    expect(answer.body).toHaveLength(1)
    expect(answer.body[0]).toMatchObject({ statusCode: 400, requestError: true })
    expect(answer.body[0].message.startsWith(start)).toBe(true)
    expect(answer.body[0].message).toContain('Settings > Install')
    expect(local.sandbox.stats().requests).toBe(0)
  })
})

describe('a missing or misspelled settings key names settings.public_key, the fix and the keys the body may have', () => {
  const MISSING =
    '"settings.public_key" is missing: put your Koala Public Key there (Koala: Settings > Install), as ' +
    '{"settings": {"public_key": "<your Koala Public Key>"}}.'
  const ACTION_KEYS =
    'the body may have "payload", "settings", "mapping", "auth", "features" and "subscriptionMetadata".'
  const AUTH_MISSING =
    '"public_key" is missing: put your Koala Public Key there (Koala: Settings > Install), as ' +
    '{"public_key": "<your Koala Public Key>"} or {"settings": {"public_key": "<your Koala Public Key>"}}.'

  it.each<[string, Record<string, unknown>, string]>([
    ['no settings', {}, MISSING],
    [
      '"setting" for "settings"',
      { setting: { public_key: KEY } },
      `${MISSING} The body has "setting" (did you mean "settings"?), which this server does not read; ${ACTION_KEYS}`
    ],
    [
      '"publicKey" for "public_key"',
      { settings: { publicKey: KEY } },
      `${MISSING} "settings" has "publicKey" (did you mean "public_key"?), not a setting of this destination; its ` +
        'settings are "public_key" and "secret_key".'
    ]
  ])('an action with %s: 400, nothing sent', async (_name, body, message) => {
    const answer = await call('/identify', { body: { payload: identifyEvent(), ...body } })
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual(refusedWith(400, message))
    expect(local.sandbox.stats().requests).toBe(0)
  })

  it('/delete with "setting": 400 naming settings.public_key and the two keys of its body', async () => {
    const answer = await call('/delete', {
      body: { payload: { userId: 'ada@example.com' }, setting: { public_key: KEY } }
    })
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual(
      refusedWith(
        400,
        `${MISSING} The body has "setting" (did you mean "settings"?), which this server does not read; the body may ` +
          'have "payload" and "settings".'
      )
    )
  })

  it.each<[string, Record<string, unknown>, string]>([
    [
      '"setting" for "settings"',
      { setting: { public_key: KEY } },
      `${AUTH_MISSING} The body has "setting" (did you mean "settings"?), not a setting; the body may have ` +
        '"public_key", "secret_key" and "settings".'
    ],
    [
      '"publicKey" under "settings"',
      { settings: { publicKey: KEY } },
      `${AUTH_MISSING} "settings" has "publicKey" (did you mean "public_key"?), not a setting of this destination; ` +
        'its settings are "public_key" and "secret_key".'
    ]
  ])('/authenticate with %s: ok false, naming public_key', async (_name, body, message) => {
    const answer = await call('/authenticate', { body })
    expect(answer.body).toEqual({ ok: false, error: message, fields: { public_key: message } })
  })
})

describe('keys the server does not read: the request runs as in actions-cli, and the answer ends with a warning', () => {
  it('"mappings" instead of "mapping": sent with the default mapping, warned', async () => {
    const answer = await call('/identify', {
      body: { settings: { public_key: KEY }, payload: identifyEvent(), mappings: { email: { '@path': '$.userId' } } }
    })
    expect(answer.status).toBe(200)
    expect(answer.body).toHaveLength(2)
    expect(JSON.parse(answer.body[0].request.body).email).toBe('ada@example.com')
    expect(answer.body[1]).toEqual({
      warnings: [
        'The body has "mappings" (did you mean "mapping"?), which this server does not read; the body may have ' +
          '"payload", "settings", "mapping", "auth", "features" and "subscriptionMetadata". Ignored, as actions-cli ' +
          'ignores it.'
      ]
    })
  })

  it('a mapping key that is no field ("emial") and a setting that is none: sent, warned for each', async () => {
    const answer = await call('/identify', {
      body: {
        settings: { public_key: KEY, publicKey: 'x' },
        payload: identifyEvent(),
        mapping: { emial: { '@path': '$.userId' } }
      }
    })
    expect(answer.status).toBe(200)
    expect(answer.body[0].response.statusCode).toBe(200)
    expect(answer.body[answer.body.length - 1]).toEqual({
      warnings: [
        '"mapping" has "emial" (did you mean "email"?), not a field of the identify action (ignored: each field ' +
          'keeps its default); its fields are "email", "profile_id", "traits", "sent_at", "context", "device_ip", ' +
          '"message_id", "enable_batching" and "batch_size".',
        '"settings" has "publicKey" (did you mean "public_key"?), not a setting (ignored); the settings are ' +
          '"public_key" and "secret_key".'
      ]
    })
  })

  it('"payloads" instead of "payload": the refusal names it', async () => {
    const answer = await call('/track', { body: { settings: { public_key: KEY }, payloads: identifyEvent() } })
    expect(answer.status).toBe(400)
    expect(answer.body[0].message).toBe(
      '"payload" is missing. The body has "payloads" (did you mean "payload"?), which this server does not read; the ' +
        'body may have "payload", "settings", "mapping", "auth", "features" and "subscriptionMetadata". Send a JSON ' +
        'object: {"payload": <a Segment event, or an array of events for a batch>, "settings": {"public_key": ' +
        '"<your Koala Public Key>"}, "mapping": <optional, merged over the defaults>}, with Content-Type: ' +
        'application/json.'
    )
  })

  it('what the Tester sends (payload, settings, mapping of its fields) gets no warning', async () => {
    const answer = await call('/identify', {
      body: {
        payload: identifyEvent(),
        settings: { public_key: KEY },
        mapping: { email: { '@path': '$.traits.email' } }
      }
    })
    expect(answer.body).toHaveLength(1)
    expect(answer.body[0].response.statusCode).toBe(200)
  })
})

describe('bad requests get a 4xx that says what to send, and the server keeps running', () => {
  const SEND = 'Send a JSON object: {"payload": '
  it.each<
    [
      string,
      string,
      { raw?: string; body?: unknown; headers?: Record<string, string>; method?: string },
      number,
      string
    ]
  >([
    [
      'malformed JSON',
      '/track',
      { raw: '{"payload": ', headers: { 'content-type': 'application/json' } },
      400,
      'The body is not valid JSON'
    ],
    [
      'wrong content type',
      '/track',
      { raw: 'payload=1', headers: { 'content-type': 'text/plain' } },
      415,
      'The body must be JSON (Content-Type: application/json).'
    ],
    [
      'form content type',
      '/identify',
      { raw: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      415,
      'The body must be JSON'
    ],
    ['no body', '/track', {}, 400, 'The request has no body.'],
    ['an array body', '/track', { body: [identifyEvent()] }, 400, 'The body is an array.'],
    ['a string body', '/track', { body: 'hello' }, 400, 'The body is not an object.'],
    [
      'a null body',
      '/track',
      { raw: 'null', headers: { 'content-type': 'application/json' } },
      400,
      'The body is not an object.'
    ],
    ['no payload', '/track', { body: { settings: { public_key: KEY } } }, 400, '"payload" is missing.'],
    [
      'a string payload',
      '/track',
      { body: { settings: { public_key: KEY }, payload: 'x' } },
      400,
      '"payload" must be a Segment event'
    ],
    [
      'an empty batch',
      '/track',
      { body: { settings: { public_key: KEY }, payload: [] } },
      400,
      '"payload" is an empty array.'
    ],
    [
      'a batch with a non-object',
      '/track',
      { body: { settings: { public_key: KEY }, payload: [identifyEvent(), 3] } },
      400,
      '"payload[1]" is not an object'
    ],
    [
      'an array as settings',
      '/track',
      { body: { settings: [KEY], payload: identifyEvent() } },
      400,
      '"settings" must be an object.'
    ],
    [
      'an array as mapping',
      '/track',
      { body: { settings: { public_key: KEY }, mapping: [], payload: identifyEvent() } },
      400,
      '"mapping" must be an object.'
    ],
    [
      'a string as features',
      '/track',
      { body: { settings: { public_key: KEY }, features: 'x', payload: identifyEvent() } },
      400,
      '"features" must be an object.'
    ]
  ])('%s', async (_name, route, init, status, start) => {
    const answer = await call(route, init)
    expect(answer.status).toBe(status)
    expect(answer.body).toEqual(refusedWith(status, expect.any(String)))
    expect(answer.body[0].message.startsWith(start)).toBe(true)
    if (!start.startsWith('"payload[1]"')) expect(answer.body[0].message).toContain(SEND)
    expect(local.sandbox.stats().requests).toBe(0)
  })

  it('a batch over Segment-sized batches -> 400', async () => {
    const payload = Array.from({ length: 1001 }, () => ({ type: 'track' }))
    const answer = await call('/track', { body: { settings: { public_key: KEY }, payload } })
    expect(answer.status).toBe(400)
    expect(answer.body[0].message).toBe('"payload" has 1001 events; a batch holds at most 1000, as Segment sends them.')
  })

  it('an unknown action -> 404 listing the routes', async () => {
    const answer = await call('/screen', { body: { settings: { public_key: KEY }, payload: identifyEvent() } })
    expect(answer.status).toBe(404)
    expect(answer.body[0].message).toBe(
      'There is no route POST /screen. Routes: GET /, GET /manifest, POST /authenticate, POST /refreshAccessToken, POST /delete, POST /identify, POST /track, POST /page, POST /group.'
    )
  })

  it('a known route with the wrong method -> 405', async () => {
    const answer = await call('/track', { method: 'GET' })
    expect(answer.status).toBe(405)
    expect(answer.body[0].message).toMatch(/^GET is not supported here\. Routes: GET \/, GET \/manifest/)
  })

  it('accepts a 1 MB property and delivers it whole', async () => {
    const big = 'x'.repeat(1024 * 1024)
    const answer = await call('/track', {
      body: {
        settings: { public_key: KEY },
        payload: {
          type: 'track',
          event: 'Big',
          messageId: 'srv-big-1',
          timestamp: '2026-11-30T10:00:00Z',
          properties: { big },
          context: { traits: { email: 'big@example.com' } }
        }
      }
    })
    expect(answer.status).toBe(200)
    expect(answer.body).toHaveLength(1)
    expect(answer.body[0].response.statusCode).toBe(200)
    expect((local.sandbox.received[0] as { events: { properties: { big: string } }[] }).events[0].properties.big).toBe(
      big
    )
  })

  it('refuses a body over 5 MB with a clear 413, then keeps serving', async () => {
    const answer = await call('/track', {
      body: {
        settings: { public_key: KEY },
        payload: { type: 'track', properties: { big: 'x'.repeat(6 * 1024 * 1024) } }
      }
    })
    expect(answer.status).toBe(413)
    expect(answer.body).toEqual(refusedWith(413, 'The request body is larger than the 5 MB this server accepts.'))
    const after = await call('/manifest', { method: 'GET' })
    expect(after.status).toBe(200)
  })
})

describe('events the framework cannot process fail alone with a 400, never a 500', () => {
  const NULL_CONTEXT =
    'The event\'s "context" is null: it must be an object (or left out). ' +
    "Segment's framework cannot process a null context."
  const NULL_PERSONAS =
    'The event\'s "context.personas" is null: it must be an object (or left out). ' +
    "Segment's framework cannot process a null context.personas."
  const TOO_DEEP = (under: string) =>
    `The event is nested too deeply for Segment's framework to process (under "${under}"): it holds objects or ` +
    `arrays more than ${MAX_NESTING_DEPTH} levels deep, and the framework runs out of stack space on such values. ` +
    `Up to ${MAX_NESTING_DEPTH} levels work: flatten the deepest values or send them as a JSON string.`

  const trackEvent = (messageId: string, overrides: Record<string, unknown> = {}) => ({
    type: 'track',
    event: 'X',
    messageId,
    timestamp: '2026-11-30T03:57:07Z',
    context: { traits: { email: 'a@example.com' } },
    ...overrides
  })
  /** `{ a: { a: … 'leaf' } }`, `levels` objects deep. */
  const nested = (levels: number) => {
    let value: unknown = 'leaf'
    for (let i = 0; i < levels; i++) value = { a: value }
    return value
  }
  const refusedNode = (errormessage: string) => ({
    status: 400,
    errortype: 'PAYLOAD_VALIDATION_FAILED',
    errormessage,
    errorreporter: 'INTEGRATIONS'
  })
  const sentIds = () =>
    (local.sandbox.received as { events: { message_id: string }[] }[]).flatMap((body) =>
      body.events.map((e) => e.message_id)
    )

  it('a batch with a null context: the valid event is delivered, the other fails alone (the repro)', async () => {
    const answer = await call('/track', {
      body: { settings: { public_key: KEY }, payload: [trackEvent('m2'), trackEvent('m3', { context: null })] }
    })
    expect(answer.status).toBe(200)
    expect(answer.body).toHaveLength(2)
    expect(answer.body[0].response.statusCode).toBe(200)
    const { multistatus } = answer.body[1]
    expect(multistatus).toHaveLength(2)
    expect(multistatus[0]).toMatchObject({ status: 200 })
    expect(multistatus[0].sent.events.map((entry: { message_id: string }) => entry.message_id)).toEqual(['m2'])
    expect(multistatus[1]).toEqual(refusedNode(NULL_CONTEXT))
    expect(sentIds()).toEqual(['m2'])
  })

  it('keeps every status at its event index when refused and valid events interleave', async () => {
    const payload = [
      trackEvent('i0', { context: { personas: null, traits: { email: 'a@example.com' } } }),
      trackEvent('i1'),
      trackEvent('i2', { properties: { deep: nested(3000) } }),
      trackEvent('i3', { context: undefined }),
      trackEvent('i4', { context: null })
    ]
    const answer = await call('/track', { body: { settings: { public_key: KEY }, payload } })
    const { multistatus } = answer.body[answer.body.length - 1]
    expect(multistatus.map((node: { status: number }) => node.status)).toEqual([400, 200, 400, 400, 400])
    expect(multistatus[0]).toEqual(refusedNode(NULL_PERSONAS))
    expect(multistatus[2]).toEqual(refusedNode(TOO_DEEP('properties')))
    // i3 has no context and no traits: the destination's own refusal, at its own index.
    expect(multistatus[3]).toMatchObject({ errortype: 'PAYLOAD_VALIDATION_FAILED' })
    expect(multistatus[3].errormessage).toMatch(/^Koala needs an email or a Koala profile_id/)
    expect(multistatus[4]).toEqual(refusedNode(NULL_CONTEXT))
    expect(sentIds()).toEqual(['i1'])
  })

  it('a batch in which no event can be processed answers the statuses and sends nothing', async () => {
    const answer = await call('/track', {
      body: { settings: { public_key: KEY }, payload: [trackEvent('n0', { context: null })] }
    })
    expect(answer.body).toEqual([{ multistatus: [refusedNode(NULL_CONTEXT)] }])
    expect(local.sandbox.stats().requests).toBe(0)
  })

  it.each<[string, Record<string, unknown>, string]>([
    ['a null context', { context: null }, NULL_CONTEXT],
    ['a null context.personas', { context: { personas: null, traits: { email: 'a@example.com' } } }, NULL_PERSONAS],
    [
      'an array context',
      { context: [] },
      'The event\'s "context" is an array: it must be an object (or left out). ' +
        "Segment's spec defines context as an object."
    ],
    [
      'a string context.personas',
      { context: { personas: 'x', traits: { email: 'a@example.com' } } },
      'The event\'s "context.personas" is a string: it must be an object (or left out). ' +
        "Segment's spec defines context.personas as an object."
    ],
    // 3000 levels is an 18 KB event, well within Segment's 32 KB: actions-core's removeUndefined overflowed on it.
    ['a property nested 3000 levels deep', { properties: { p: nested(3000) } }, TOO_DEEP('properties')],
    [
      'a context nested 3000 levels deep',
      { context: { traits: { email: 'a@x.com' }, p: nested(3000) } },
      TOO_DEEP('context')
    ]
  ])('a single event with %s -> [{statusCode: 400}], nothing sent', async (_name, overrides, message) => {
    const answer = await call('/track', {
      body: { settings: { public_key: KEY }, payload: trackEvent('s1', overrides) }
    })
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual([{ statusCode: 400, message, requestError: true }])
    expect(local.sandbox.stats().requests).toBe(0)
  })

  it(`delivers an event ${MAX_NESTING_DEPTH} levels deep, the depth that works, in a batch and alone`, async () => {
    // The event is level 1, properties level 2, so the property holds MAX - 2 more objects.
    const deepest = trackEvent('d1', { properties: { p: nested(MAX_NESTING_DEPTH - 2) } })
    expect(findTooDeep(deepest)).toBeUndefined()
    expect(findTooDeep({ ...deepest, properties: { p: nested(MAX_NESTING_DEPTH - 1) } })).toEqual({
      under: 'properties'
    })
    const single = await call('/track', { body: { settings: { public_key: KEY }, payload: deepest } })
    expect(single.body[0].response.statusCode).toBe(200)
    const batch = await call('/track', {
      body: { settings: { public_key: KEY }, payload: [{ ...deepest, messageId: 'd2' }] }
    })
    expect(batch.body[batch.body.length - 1].multistatus[0].status).toBe(200)
    expect(sentIds()).toEqual(['d1', 'd2'])
  })

  it('measures depth without recursion, so no nesting overflows the check itself', () => {
    let value: unknown = 1
    for (let i = 0; i < 200_000; i++) value = [value]
    expect(findTooDeep({ list: value })).toEqual({ under: 'list' })
  })

  it('refuses a mapping nested too deeply for the whole request (400)', async () => {
    const answer = await call('/track', {
      body: { settings: { public_key: KEY }, mapping: { properties: nested(3000) }, payload: trackEvent('mp1') }
    })
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual(refusedWith(400, TOO_DEEP('properties').replace('The event is', '"mapping" is')))
  })
})

describe('an invalid mapping is a 400 naming the field, never a stack trace', () => {
  const HELP =
    'Each field takes a JSON value or one directive, for example {"@path": "$.properties.plan"} or ' +
    '{"@template": "{{event}}"}.'

  it('the example track with "event": {"@nope": "x"} (the repro)', async () => {
    const body = { ...(example('track.json') as object), mapping: { event: { '@nope': 'x' } } }
    const answer = await call('/track', { body })
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual(
      refusedWith(400, `The mapping is not valid. Field "event" has an invalid directive: @nope. ${HELP}`)
    )
    expect(answer.text).not.toContain(repoRoot)
    expect(answer.text).not.toMatch(/\bat \S+ \(/)
    expect(local.sandbox.stats().requests).toBe(0)
  })

  it('names every invalid field, in a batch too', async () => {
    const answer = await call('/identify', {
      body: {
        settings: { public_key: KEY },
        mapping: { email: { '@path': 5 }, traits: { '@path': '$.traits', '@template': '{{traits}}' } },
        payload: [identifyEvent()]
      }
    })
    expect(answer.status).toBe(400)
    expect(answer.body[0].message).toBe(
      'The mapping is not valid. Field "email.@path" should be a string or a mapping directive but it is a number. ' +
        `Field "traits" should only have one @-prefixed key but it has 2 keys. ${HELP}`
    )
    expect(local.sandbox.stats().requests).toBe(0)
  })
})

describe('/authenticate and the actions refuse the same keys with the same message', () => {
  it.each([12345, true, ['pk_example_sandbox_key'], { key: KEY }, null])('public_key %j', async (key) => {
    const message = publicKeyMessage(key)
    const auth = await call('/authenticate', { body: { public_key: key } })
    expect(auth.status).toBe(200)
    expect(auth.body).toEqual({ ok: false, error: message, fields: { public_key: message } })
    const track = await call('/track', { body: { settings: { public_key: key }, payload: identifyEvent() } })
    expect(track.body).toEqual([{ statusCode: 400, requestError: true, message }])
    expect(local.sandbox.stats().requests).toBe(0)
  })
})
