import { Command } from 'commander'
import { readFileSync } from 'fs'
import * as path from 'path'
import { PROJECT_ROOT } from '../src/lib/paths'
import { sandboxPort } from '../src/cli/lib/local-sandbox'
import { listenOnLoopback } from '../src/lib/loopback'
import type { LoopbackServer } from '../src/lib/loopback'
import registerServe from '../src/cli/commands/serve'
import { checkRequestTimeout, serverPort } from '../src/cli/lib/local-server'
import { listenFailure } from '../src/lib/process'
import registerStart from '../src/cli/commands/start'
import { samePortCheck, startBoth } from '../src/cli/lib/start-both'

/**
 * `npm start` (`./bin/run start`) when it cannot start: each failure is reported as itself, and only a port in use
 * gets the hint about another program. The command never gets to listen here, so nothing keeps running.
 */

const ENV_NAMES = [
  'PORT',
  'KOALA_SANDBOX_PORT',
  'KOALA_SANDBOX_FAULTS',
  'KOALA_SANDBOX_KEYS',
  'KOALA_SANDBOX_SECRET_KEYS',
  'KOALA_API_URL',
  'KOALA_APP_URL',
  'KOALA_REQUEST_TIMEOUT_MS',
  'TRACKING_API_PORT'
]
const savedEnv = Object.fromEntries(ENV_NAMES.map((name) => [name, process.env[name]]))
let occupied: LoopbackServer
let occupiedPort: number

beforeAll(async () => {
  occupied = await listenOnLoopback(() => undefined, 0)
  occupiedPort = occupied.port
})

afterAll(() => occupied.close())

beforeEach(() => {
  for (const name of ENV_NAMES) delete process.env[name]
  jest.spyOn(console, 'log').mockImplementation(() => undefined)
})

afterEach(() => {
  jest.restoreAllMocks()
  for (const name of ENV_NAMES) {
    if (savedEnv[name] === undefined) delete process.env[name]
    else process.env[name] = savedEnv[name]
  }
})

/** Runs `start` (or `serve`) as the command line would, and returns the error it fails with. */
async function startFails(env: Record<string, string>, command: 'start' | 'serve' = 'start'): Promise<Error> {
  Object.assign(process.env, env)
  const program = new Command().exitOverride()
  if (command === 'start') registerStart(program)
  else registerServe(program)
  return program.parseAsync(['node', 'run', command]).then(
    () => {
      throw new TypeError('start did not fail')
    },
    (error: Error) => error
  )
}

it('a bad KOALA_SANDBOX_FAULTS is reported as itself, not as a port problem', async () => {
  const error = await startFails({ KOALA_SANDBOX_FAULTS: 'bogus=2', KOALA_SANDBOX_PORT: '0', PORT: '0' })
  expect(error.message).toBe(
    'KOALA_SANDBOX_FAULTS: "bogus=2" is not kind=probability with kind 500, 503, 429, reset, slow, accept-reset and ' +
      'a probability from 0 to 1.'
  )
})

it('a sandbox port in use gets the hint about another program and KOALA_SANDBOX_PORT', async () => {
  const error = await startFails({ KOALA_SANDBOX_PORT: String(occupiedPort), PORT: '0' })
  expect(error.message).toBe(
    `Could not start the Koala sandbox on 127.0.0.1:${occupiedPort}: the port is in use ` +
      `(listen EADDRINUSE: address already in use 127.0.0.1:${occupiedPort}). Is another program using it? ` +
      'Choose another port with KOALA_SANDBOX_PORT.'
  )
})

it('a server port in use gets the hint about PORT (and the sandbox started first is stopped)', async () => {
  // A port that was free a moment ago, for the sandbox.
  const free = await listenOnLoopback(() => undefined, 0)
  await free.close()
  const error = await startFails({ KOALA_SANDBOX_PORT: String(free.port), PORT: String(occupiedPort) })
  expect(error.message).toBe(
    `Could not listen on 127.0.0.1:${occupiedPort}: the port is in use ` +
      `(listen EADDRINUSE: address already in use 127.0.0.1:${occupiedPort}). Is another program using it? ` +
      'Choose another port with PORT.'
  )
  // The sandbox start had started no longer answers; and start sets no environment variable for the destination.
  await expect(fetch(`${free.url}/__sandbox/stats`)).rejects.toThrow('fetch failed')
  expect(process.env.KOALA_API_URL).toBeUndefined()
})

describe('listenFailure', () => {
  it('gives any other error its own message, without the port hint', () => {
    const denied = Object.assign(new Error('listen EACCES: permission denied 127.0.0.1:80'), { code: 'EACCES' })
    expect(listenFailure('Could not listen on 127.0.0.1:80', denied, 'Choose another port with PORT.').message).toBe(
      'Could not listen on 127.0.0.1:80: listen EACCES: permission denied 127.0.0.1:80.'
    )
  })
})

describe('configuration', () => {
  it.each(['abc', '0', '-5', '1.5', '1e3'])(
    'refuses KOALA_REQUEST_TIMEOUT_MS=%s before anything starts (serve and start)',
    async (value) => {
      const message =
        `KOALA_REQUEST_TIMEOUT_MS "${value}" is not a whole number of milliseconds above 0. Set it to one such as ` +
        '5000, or unset it for the default of 10000.'
      for (const command of ['start', 'serve'] as const) {
        const error = await startFails({ KOALA_REQUEST_TIMEOUT_MS: value, KOALA_SANDBOX_PORT: '0', PORT: '0' }, command)
        expect(error.message).toBe(message)
      }
      expect(process.env.KOALA_API_URL).toBeUndefined()
    }
  )

  it('accepts a whole number of milliseconds, or nothing', () => {
    for (const value of [undefined, '', ' ', '1', '250', '10000'])
      expect(() => checkRequestTimeout(value)).not.toThrow()
  })

  it('never prints the password of a KOALA_API_URL it refuses', async () => {
    const error = await startFails({ KOALA_API_URL: 'ftp://user:s3cr3tpw@127.0.0.1:3500', PORT: '0' }, 'serve')
    expect(error.message).toMatch(/^KOALA_API_URL "ftp:\/\/…@127\.0\.0\.1:3500" is not an http\(s\) base URL\./)
    expect(error.message).not.toContain('s3cr3tpw')
  })

  it('a blank PORT or KOALA_SANDBOX_PORT means unset: the default port, not a random one', () => {
    for (const blank of ['', '  ']) {
      process.env.PORT = blank
      process.env.KOALA_SANDBOX_PORT = blank
      expect([serverPort(), sandboxPort()]).toEqual([3000, 3001])
    }
    process.env.PORT = '0'
    expect(serverPort()).toBe(0)
  })

  it.each([
    ['PORT', 'abc', () => serverPort()],
    ['PORT', '70000', () => serverPort()],
    ['PORT', '0x10', () => serverPort()],
    ['KOALA_SANDBOX_PORT', '-1', () => sandboxPort()],
    ['KOALA_SANDBOX_PORT', '30.5', () => sandboxPort()]
  ])('refuses %s=%s, naming the variable', (name, value, read) => {
    process.env[name] = value
    expect(read).toThrow(`${name}: the port "${value}" is not a number from 0 to 65535 (0 picks a free port).`)
  })

  it('PORT equal to KOALA_SANDBOX_PORT: an error naming both, before anything starts', async () => {
    const error = await startFails({ PORT: String(occupiedPort), KOALA_SANDBOX_PORT: String(occupiedPort) })
    expect(error.message).toBe(
      `PORT and KOALA_SANDBOX_PORT are both ${occupiedPort}: the local server and the Koala sandbox need a port ` +
        'each. Set one of them to another port.'
    )
    expect(process.env.KOALA_API_URL).toBeUndefined()
  })

  it('says which of the two holds its default, and lets two 0s (two free ports) through', () => {
    process.env.PORT = '3001'
    expect(() => samePortCheck(3001, 3001)).toThrow(
      'PORT and KOALA_SANDBOX_PORT are both 3001 (KOALA_SANDBOX_PORT by default): the local server and the Koala ' +
        'sandbox need a port each. Set one of them to another port.'
    )
    expect(() => samePortCheck(0, 0)).not.toThrow()
  })

  it.each(['500=', '500=0.6,429=0.6'])('refuses KOALA_SANDBOX_FAULTS=%s before anything starts', async (faults) => {
    const error = await startFails({ KOALA_SANDBOX_FAULTS: faults, KOALA_SANDBOX_PORT: '0', PORT: '0' })
    expect(error.message).toMatch(/^KOALA_SANDBOX_FAULTS: /)
    expect(process.env.KOALA_API_URL).toBeUndefined()
  })

  it.each([
    ['start', 'ftp://127.0.0.1:3001'],
    ['start', 'localhost:3001'],
    ['serve', 'not a url'],
    ['serve', 'http://127.0.0.1:3001?x=1']
  ] as const)('%s refuses KOALA_API_URL=%s with a clear message', async (command, url) => {
    const error = await startFails({ KOALA_API_URL: url, KOALA_SANDBOX_PORT: '0', PORT: '0' }, command)
    expect(error.message).toBe(
      `KOALA_API_URL "${url}" is not an http(s) base URL. Set it to one such as http://127.0.0.1:3001 (a sandbox) or ` +
        "https://api2.getkoala.com, without a query or fragment, or unset it to send to Koala's production API."
    )
  })

  it('the start banner says when faults and a key list are active', async () => {
    Object.assign(process.env, {
      PORT: '0',
      KOALA_SANDBOX_PORT: '0',
      TRACKING_API_PORT: '0',
      KOALA_SANDBOX_FAULTS: '500=0.2,accept-reset=0.02',
      KOALA_SANDBOX_KEYS: 'pk_one, pk_two,'
    })
    const lines: string[] = []
    const started = await startBoth((line) => lines.push(line))
    try {
      expect(lines.slice(0, 3)).toEqual([
        `Koala sandbox listening on ${started.sandbox!.url}: accepted bodies at ${
          started.sandbox!.url
        }/__sandbox/received, ` + `counts at ${started.sandbox!.url}/__sandbox/stats`,
        '  Faults injected (KOALA_SANDBOX_FAULTS): 500=0.2, accept-reset=0.02 (probability per batch request): some ' +
          'requests fail on purpose.',
        '  Only the 2 Public Keys listed in KOALA_SANDBOX_KEYS are accepted; any other key gets 401.'
      ])
      expect(lines.join('\n')).not.toContain('pk_one')
    } finally {
      await started.close()
    }
  })

  it('points deletion requests at the sandbox too, unless KOALA_APP_URL is set; refuses a bad KOALA_APP_URL', async () => {
    Object.assign(process.env, { PORT: '0', KOALA_SANDBOX_PORT: '0', TRACKING_API_PORT: '0' })
    const lines: string[] = []
    const started = await startBoth((line) => lines.push(line))
    try {
      // One harness for the server and the Tracking API, pointed at the sandbox; nothing written to the environment.
      expect(started.harness.targets).toEqual({
        apiUrl: started.sandbox!.url,
        appUrl: started.sandbox!.url,
        requestTimeoutMs: 10_000
      })
      expect(process.env.KOALA_API_URL).toBeUndefined()
      expect(process.env.KOALA_APP_URL).toBeUndefined()
      const banner = lines[1].split('\n')
      expect(banner[0]).toBe(
        `Koala (Cloud) local server listening on ${started.server.url} (actions-cli compatible), sending to ` +
          `${started.sandbox!.url}, deletion requests to ${started.sandbox!.url}`
      )
      expect(banner).toContain(`  POST ${started.server.url}/delete`)
    } finally {
      await started.close()
    }
    Object.assign(process.env, { KOALA_APP_URL: 'http://127.0.0.1:4999/', KOALA_REQUEST_TIMEOUT_MS: '2500' })
    const elsewhere = await startBoth(() => undefined)
    try {
      expect(elsewhere.harness.targets).toEqual({
        apiUrl: elsewhere.sandbox!.url,
        appUrl: 'http://127.0.0.1:4999',
        requestTimeoutMs: 2500
      })
    } finally {
      await elsewhere.close()
    }
    for (const command of ['start', 'serve'] as const) {
      const error = await startFails({ KOALA_APP_URL: 'app.getkoala.com', KOALA_SANDBOX_PORT: '0', PORT: '0' }, command)
      expect(error.message).toBe(
        'KOALA_APP_URL "app.getkoala.com" is not an http(s) base URL. Set it to one such as http://127.0.0.1:3001 ' +
          '(a sandbox) or https://app.getkoala.com, without a query or fragment, or unset it to send deletion ' +
          "requests to Koala's app."
      )
    }
  })

  it('the start banner adds nothing when neither is set', async () => {
    Object.assign(process.env, { PORT: '0', KOALA_SANDBOX_PORT: '0', TRACKING_API_PORT: '0' })
    const lines: string[] = []
    const started = await startBoth((line) => lines.push(line))
    try {
      expect(lines[1]).toMatch(/^Koala \(Cloud\) local server listening on /)
    } finally {
      await started.close()
    }
  })

  it("the README's start banner is the one npm start prints, on the default ports", async () => {
    Object.assign(process.env, { PORT: '0', KOALA_SANDBOX_PORT: '0', TRACKING_API_PORT: '0' })
    const readme = readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8')
    const shown = /`npm start` first prints[^]*?```text\n([^]*?)\n```/.exec(readme)?.[1]
    const lines: string[] = []
    const started = await startBoth((line) => lines.push(line))
    try {
      // Free ports here, so the comparison puts the defaults back (3000, 3001, 3002).
      const printed = lines
        .join('\n')
        .split(started.server.url)
        .join('http://127.0.0.1:3000')
        .split(started.sandbox!.url)
        .join('http://127.0.0.1:3001')
        .split(started.tracking.url)
        .join('http://127.0.0.1:3002')
        .split(started.tracking.url.replace('http://', ''))
        .join('127.0.0.1:3002')
        // The tests' journal is in a folder of their own (test/support/node-with-fetch.js); npm start's default:
        .split(started.tracking.journal?.file ?? '(no journal)')
        .join('.koala-local/journal/journal.ndjson')
      expect(shown).toBe(printed)
    } finally {
      await started.close()
    }
  })
})
