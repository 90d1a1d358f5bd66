import http from 'http'
import { Command } from 'commander'
import { hostRequest } from './support/host-request'
import registerSandbox from '../src/cli/commands/sandbox'
import { sandboxSettingsLines } from '../src/cli/lib/local-sandbox'
import { USER_AGENT } from '../src/destinations/koala-cloud/config'
import { contractViolation, parseFaults, startSandbox } from '../src/sandbox/sandbox-server'
import type { RunningSandbox } from '../src/sandbox/sandbox-server'

// The Koala sandbox on its own: its contract check, its fault settings, its help text and who it answers.

const KEY = 'pk_sandbox_test_key'

/** A body the destination sends (an identify), every part within the contract. */
const identifyBody = () => ({
  email: 'ada@example.com',
  ip: '203.0.113.5',
  traits: { email: 'Ada@Example.com', name: 'Ada' },
  identifies: [
    {
      type: 'identify',
      message_id: 'sb-1',
      sent_at: '2026-11-30T08:00:00.000Z',
      traits: { name: 'Ada' },
      context: { source: 'segment-cloud' }
    }
  ]
})

/** A track body as the destination sends it. */
const trackBody = () => ({
  profile_id: 'prof_1',
  traits: {},
  events: [
    {
      type: 'track',
      event: 'Signed Up',
      message_id: 'sb-2',
      sent_at: '2026-11-30T08:00:00.000Z',
      properties: {},
      context: {}
    }
  ]
})

describe('contractViolation: Koala documented contract, strictly', () => {
  it('accepts what the destination sends, and other valid forms', () => {
    expect(contractViolation(identifyBody())).toBeUndefined()
    expect(contractViolation(trackBody())).toBeUndefined()
    expect(
      contractViolation({
        email: 'a@example.com',
        page_views: [{ type: 'page', message_id: 'p', sent_at: '2026-11-30T10:00:00+02:00' }]
      })
    ).toBeUndefined()
    expect(
      contractViolation({
        profile_id: 'p',
        events: [{ type: 'track', event: 'E', message_id: 'm', sent_at: '2026-11-30T10:00:00Z' }]
      })
    ).toBeUndefined()
  })

  it.each<[string, Record<string, unknown>, string]>([
    [
      'the repro: a track entry in identifies, sent_at "1"',
      { email: 'a@example.com', identifies: [{ type: 'track', message_id: 's', sent_at: '1' }] },
      'identifies[0].type must be "identify" in identifies, but it is "track".'
    ],
    [
      'an identify entry in events',
      { ...trackBody(), events: [{ ...trackBody().events[0], type: 'identify' }] },
      'events[0].type must be "track" in events, but it is "identify".'
    ],
    [
      'a track entry in page_views',
      { email: 'a@example.com', page_views: [{ type: 'track', message_id: 'p', sent_at: '2026-11-30T10:00:00Z' }] },
      'page_views[0].type must be "page" in page_views, but it is "track".'
    ],
    [
      'no type',
      { email: 'a@example.com', identifies: [{ message_id: 's', sent_at: '2026-11-30T10:00:00Z' }] },
      'identifies[0].type is required: "identify" in identifies.'
    ],
    [
      'sent_at "1"',
      { email: 'a@example.com', identifies: [{ type: 'identify', message_id: 's', sent_at: '1' }] },
      'identifies[0].sent_at must be an ISO-8601 date and time with a zone, e.g. "2026-11-30T08:00:00.000Z", but it is "1".'
    ],
    [
      'sent_at without a zone',
      { email: 'a@example.com', identifies: [{ type: 'identify', message_id: 's', sent_at: '2026-11-30T10:00:00' }] },
      'identifies[0].sent_at must be an ISO-8601 date and time with a zone, e.g. "2026-11-30T08:00:00.000Z", but it is "2026-11-30T10:00:00".'
    ],
    [
      'sent_at a date only',
      { email: 'a@example.com', identifies: [{ type: 'identify', message_id: 's', sent_at: '2026-11-30' }] },
      'identifies[0].sent_at must be an ISO-8601 date and time with a zone, e.g. "2026-11-30T08:00:00.000Z", but it is "2026-11-30".'
    ],
    [
      'sent_at on a day that does not exist',
      { email: 'a@example.com', identifies: [{ type: 'identify', message_id: 's', sent_at: '2026-02-30T10:00:00Z' }] },
      'identifies[0].sent_at must be an ISO-8601 date and time with a zone, e.g. "2026-11-30T08:00:00.000Z", but it is "2026-02-30T10:00:00Z".'
    ],
    [
      'sent_at at hour 25',
      { email: 'a@example.com', identifies: [{ type: 'identify', message_id: 's', sent_at: '2026-11-30T25:00:00Z' }] },
      'identifies[0].sent_at must be an ISO-8601 date and time with a zone, e.g. "2026-11-30T08:00:00.000Z", but it is "2026-11-30T25:00:00Z".'
    ],
    [
      'sent_at a number',
      { email: 'a@example.com', identifies: [{ type: 'identify', message_id: 's', sent_at: 1764489600000 }] },
      'identifies[0].sent_at must be an ISO-8601 date and time with a zone, e.g. "2026-11-30T08:00:00.000Z", but it is 1764489600000.'
    ],
    [
      'an email without @',
      { ...identifyBody(), email: 'ada.example.com' },
      'email must be an email address (a string with "@"), but it is "ada.example.com".'
    ],
    [
      'an email that is not a string',
      { ...identifyBody(), email: 42 },
      'email must be an email address (a string with "@"), but it is 42.'
    ],
    [
      'an empty profile_id next to a valid email',
      { ...identifyBody(), profile_id: '' },
      'profile_id must be a non-empty string, but it is "".'
    ],
    [
      'a profile_id that is a number',
      { ...trackBody(), profile_id: 7 },
      'profile_id must be a non-empty string, but it is 7.'
    ],
    ['an ip that is a number', { ...identifyBody(), ip: 1 }, 'ip must be a string, but it is 1.'],
    ['traits that are an array', { ...identifyBody(), traits: ['a'] }, 'traits must be an object, but it is ["a"].'],
    ['traits null', { ...identifyBody(), traits: null }, 'traits must be an object, but it is null.'],
    [
      'an event without a name',
      { ...trackBody(), events: [{ ...trackBody().events[0], event: undefined }] },
      'events[0].event is required: the name of the event.'
    ],
    [
      'an event with an empty name',
      { ...trackBody(), events: [{ ...trackBody().events[0], event: ' ' }] },
      'events[0].event must be a non-empty string, but it is " ".'
    ],
    [
      'an unknown top-level key',
      { ...identifyBody(), user_id: 'u1' },
      'Unknown top-level key "user_id": the body takes only profile_id, email, ip, traits, identifies, events, page_views.'
    ],
    [
      'two unknown top-level keys',
      { ...identifyBody(), userId: 'u1', anonymousId: 'a1' },
      'Unknown top-level keys "userId", "anonymousId": the body takes only profile_id, email, ip, traits, identifies, events, page_views.'
    ],
    [
      'an entry that is not an object',
      { email: 'a@example.com', identifies: ['x'] },
      'identifies[0] must be an object, but it is "x".'
    ],
    [
      'an empty message_id',
      { email: 'a@example.com', identifies: [{ type: 'identify', message_id: '', sent_at: '2026-11-30T10:00:00Z' }] },
      'identifies[0].message_id must be a non-empty string, but it is "".'
    ],
    ['no identifier', { identifies: identifyBody().identifies }, 'profile_id or email is required.'],
    [
      'more than 30 entries',
      { email: 'a@example.com', identifies: Array.from({ length: 31 }, () => identifyBody().identifies[0]) },
      'identifies has 31 entries; at most 30 are allowed per request.'
    ],
    [
      'no entry',
      { email: 'a@example.com', identifies: [] },
      'At least one of identifies, events or page_views must have an entry.'
    ]
  ])('refuses %s, naming the key', (_name, body, reason) => {
    expect(contractViolation(body)).toBe(reason)
  })

  describe('over HTTP', () => {
    let sandbox: RunningSandbox
    beforeAll(async () => {
      sandbox = await startSandbox(0, { keys: [KEY] })
    })
    afterAll(() => sandbox.close())

    const send = (body: unknown) =>
      fetch(`${sandbox.url}/web/projects/${KEY}/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT },
        body: JSON.stringify(body)
      })

    it('answers the repro 400 with the reason and keeps nothing', async () => {
      sandbox.reset()
      const response = await send({
        email: 'a@example.com',
        identifies: [{ type: 'track', message_id: 's', sent_at: '1' }]
      })
      expect(response.status).toBe(400)
      expect(await response.json()).toEqual({
        ok: false,
        error: 'identifies[0].type must be "identify" in identifies, but it is "track".'
      })
      expect(sandbox.received).toEqual([])
      expect(sandbox.stats()).toMatchObject({ requests: 1, accepted: 0, contractViolations: 1 })
    })

    it('accepts a valid body', async () => {
      sandbox.reset()
      const response = await send(identifyBody())
      expect(response.status).toBe(200)
      expect(sandbox.received).toEqual([identifyBody()])
    })
  })
})

describe('DNS rebinding: the sandbox answers only requests addressed to a loopback name', () => {
  let sandbox: RunningSandbox
  beforeAll(async () => {
    sandbox = await startSandbox(0, { keys: [KEY] })
  })
  afterAll(() => sandbox.close())

  it.each(['attacker.example:PORT', 'attacker.example', '127.0.0.1.nip.io:PORT', '0.0.0.0:PORT', '127.0.0.2:PORT'])(
    'refuses Host %s with 403 and a message, and reveals nothing',
    async (host) => {
      sandbox.reset()
      await fetch(`${sandbox.url}/web/projects/${KEY}/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT },
        body: JSON.stringify(identifyBody())
      })
      const hostHeader = host.replace('PORT', String(sandbox.port))
      const answer = await hostRequest(`${sandbox.url}/__sandbox/received`, hostHeader)
      expect(answer.status).toBe(403)
      expect(JSON.parse(answer.text)).toEqual({
        ok: false,
        error:
          `This request is addressed to the host "${hostHeader}": this local server answers only requests addressed ` +
          'to 127.0.0.1, localhost or [::1] (any port), so a web page cannot reach it through a domain name that ' +
          'points at this machine (DNS rebinding).'
      })
      expect(answer.text).not.toContain('ada@example.com')
      // Nor can such a page write into it.
      const write = await hostRequest(`${sandbox.url}/web/projects/${KEY}/batch`, hostHeader, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT },
        body: JSON.stringify(identifyBody())
      })
      expect(write.status).toBe(403)
      expect(sandbox.stats().requests).toBe(1)
    }
  )

  it.each(['127.0.0.1:PORT', 'localhost:PORT', 'LOCALHOST', '[::1]:PORT', '127.0.0.1'])(
    'serves Host %s',
    async (host) => {
      const answer = await hostRequest(`${sandbox.url}/__sandbox/stats`, host.replace('PORT', String(sandbox.port)))
      expect(answer.status).toBe(200)
      expect(JSON.parse(answer.text)).toMatchObject({ contractViolations: 0 })
    }
  )
})

describe('KOALA_SANDBOX_FAULTS', () => {
  it('takes every kind', () => {
    expect(parseFaults('500=0.1, 503=0.1,429=0.1,reset=0.1,slow=0.1,accept-reset=0.05')).toEqual({
      '500': 0.1,
      '503': 0.1,
      '429': 0.1,
      reset: 0.1,
      slow: 0.1,
      'accept-reset': 0.05
    })
    expect(parseFaults('')).toEqual({})
    expect(parseFaults('500=1')).toEqual({ '500': 1 })
    expect(parseFaults('500=0.7,429=0.2,reset=0.1')).toEqual({ '500': 0.7, '429': 0.2, reset: 0.1 })
  })

  it.each(['500=', '500', '=0.1', '500=abc', '500=0x1', '500=1e-1', '500=0.1=0.2', '500=-0.1', '500=1.5'])(
    'refuses %s, naming it',
    (spec) => {
      expect(() => parseFaults(spec)).toThrow(
        `KOALA_SANDBOX_FAULTS: "${spec}" is not kind=probability with kind 500, 503, 429, reset, slow, accept-reset ` +
          'and a probability from 0 to 1.'
      )
    }
  )

  it('names the flag a spec came from, when it came from one', () => {
    expect(() => parseFaults('foo=0.1', '--faults')).toThrow(
      '--faults: "foo=0.1" is not kind=probability with kind 500, 503, 429, reset, slow, accept-reset and a ' +
        'probability from 0 to 1.'
    )
  })

  it('refuses probabilities adding up to more than 1', () => {
    expect(() => parseFaults('500=0.6,429=0.3,reset=0.2')).toThrow(
      'KOALA_SANDBOX_FAULTS: the probabilities add up to 1.1, more than 1. Each request gets at most one fault, so ' +
        'together they must stay within 1 (for example 500=0.2,429=0.1).'
    )
  })

  it('refuses a kind given twice', () => {
    expect(() => parseFaults('500=0.1,500=0.2')).toThrow(
      'KOALA_SANDBOX_FAULTS: the kind 500 is given twice; give each kind once.'
    )
  })
})

describe('the sandbox command', () => {
  it('--help lists every fault kind', () => {
    const program = new Command()
    registerSandbox(program)
    const sandbox = program.commands.find((command) => command.name() === 'sandbox')!
    const help = sandbox.helpInformation()
    for (const kind of ['500', '503', '429', 'reset', 'slow', 'accept-reset']) {
      expect(help).toMatch(new RegExp(`^\\s+${kind}\\s{2,}\\S`, 'm'))
    }
    expect(help).toContain('KOALA_SANDBOX_FAULTS')
    expect(help).toContain('KOALA_SANDBOX_KEYS')
  })

  it('its banner says when faults or a key list are active, and nothing otherwise', () => {
    expect(sandboxSettingsLines({}, [])).toEqual([])
    expect(sandboxSettingsLines({ '500': 0 }, [])).toEqual([])
    expect(sandboxSettingsLines({}, ['pk_a'])).toEqual([
      '  Only the 1 Public Key listed in KOALA_SANDBOX_KEYS is accepted; any other key gets 401.'
    ])
    expect(sandboxSettingsLines({ '500': 0.2, reset: 0.05 }, ['pk_a', 'pk_b'])).toEqual([
      '  Faults injected (KOALA_SANDBOX_FAULTS): 500=0.2, reset=0.05 (probability per batch request): some requests ' +
        'fail on purpose.',
      '  Only the 2 Public Keys listed in KOALA_SANDBOX_KEYS are accepted; any other key gets 401.'
    ])
  })
})

describe('a client that gives up mid-body', () => {
  it('is not counted as a contract violation', async () => {
    const sandbox = await startSandbox(0, { keys: [KEY] })
    try {
      await new Promise<void>((resolve) => {
        const request = http.request(`${sandbox.url}/web/projects/${KEY}/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': '1000', 'user-agent': USER_AGENT }
        })
        request.on('error', () => resolve())
        request.write('{"email":"ada@exa')
        // Give the sandbox time to start reading the body, then drop the connection as a timed-out client does.
        setTimeout(() => {
          request.destroy()
          resolve()
        }, 100)
      })
      // Bounded wait for the sandbox to see the abort.
      for (let i = 0; i < 50 && sandbox.stats().requests === 0; i++) await new Promise((r) => setTimeout(r, 20))
      await new Promise((r) => setTimeout(r, 100))
      expect(sandbox.stats()).toMatchObject({ requests: 1, accepted: 0, contractViolations: 0 })
    } finally {
      await sandbox.close()
    }
  })
})
