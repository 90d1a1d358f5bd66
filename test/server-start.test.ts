import { Command } from 'commander'
import * as http from 'http'
import type { AddressInfo } from 'net'
import { listenFailure } from '../src/cli/commands/serve'
import registerStart from '../src/cli/commands/start'

/**
 * `npm start` (`./bin/run start`) when it cannot start: each failure is reported as itself, and only a port in use
 * gets the hint about another program. The command never gets to listen here, so nothing keeps running.
 */

const ENV_NAMES = ['PORT', 'KOALA_SANDBOX_PORT', 'KOALA_SANDBOX_FAULTS', 'KOALA_SANDBOX_KEYS', 'KOALA_API_URL']
const savedEnv = Object.fromEntries(ENV_NAMES.map((name) => [name, process.env[name]]))
let occupied: http.Server
let occupiedPort: number

beforeAll(async () => {
  occupied = http.createServer()
  await new Promise<void>((resolve) => occupied.listen(0, '127.0.0.1', resolve))
  occupiedPort = (occupied.address() as AddressInfo).port
})

afterAll(async () => {
  await new Promise<void>((resolve) => occupied.close(() => resolve()))
})

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

/** Runs `start` as the command line would, and returns the error it fails with. */
async function startFails(env: Record<string, string>): Promise<Error> {
  Object.assign(process.env, env)
  const program = new Command().exitOverride()
  registerStart(program)
  return program.parseAsync(['node', 'run', 'start']).then(
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
  const error = await startFails({ KOALA_SANDBOX_PORT: '0', PORT: String(occupiedPort) })
  expect(error.message).toBe(
    `Could not listen on 127.0.0.1:${occupiedPort}: the port is in use ` +
      `(listen EADDRINUSE: address already in use 127.0.0.1:${occupiedPort}). Is another program using it? ` +
      'Choose another port with PORT.'
  )
  // start pointed the server at the sandbox it had started; that sandbox no longer answers.
  const sandboxUrl = process.env.KOALA_API_URL
  expect(sandboxUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
  await expect(fetch(`${sandboxUrl}/__sandbox/stats`)).rejects.toThrow('fetch failed')
})

describe('listenFailure', () => {
  it('gives any other error its own message, without the port hint', () => {
    const denied = Object.assign(new Error('listen EACCES: permission denied 127.0.0.1:80'), { code: 'EACCES' })
    expect(listenFailure('Could not listen on 127.0.0.1:80', denied, 'Choose another port with PORT.').message).toBe(
      'Could not listen on 127.0.0.1:80: listen EACCES: permission denied 127.0.0.1:80.'
    )
  })
})
