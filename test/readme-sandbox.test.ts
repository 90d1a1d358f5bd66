import { execFile } from 'child_process'
import { readFileSync } from 'fs'
import * as path from 'path'
import { promisify } from 'util'
import { PROJECT_ROOT } from '../src/lib/paths'
import { startBoth } from '../src/cli/lib/start-both'
import type { StartedTools } from '../src/cli/lib/start-both'

// The README's examples, run in order against what `npm start` starts (the identify and batch examples, then its
// try.js with analytics-node): the sandbox then holds exactly the five bodies the README shows, ids and times aside.

jest.setTimeout(60_000)

const README = readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8')
const ENV_NAMES = ['PORT', 'KOALA_SANDBOX_PORT', 'TRACKING_API_PORT', 'KOALA_API_URL', 'KOALA_APP_URL']
const savedEnv = Object.fromEntries(ENV_NAMES.map((name) => [name, process.env[name]]))

let started: StartedTools
beforeAll(async () => {
  for (const name of ENV_NAMES) delete process.env[name]
  Object.assign(process.env, { PORT: '0', KOALA_SANDBOX_PORT: '0', TRACKING_API_PORT: '0' })
  started = await startBoth(() => undefined)
})
afterAll(async () => {
  await started?.close()
  for (const name of ENV_NAMES) {
    if (savedEnv[name] === undefined) delete process.env[name]
    else process.env[name] = savedEnv[name]
  }
})

/** The first fenced block of `language` after `marker` in the README. */
function blockAfter(marker: string, language: string): string {
  const at = README.indexOf(marker)
  expect(at).toBeGreaterThan(-1)
  const found = new RegExp('```' + language + '\\n([^]*?)\\n```').exec(README.slice(at))
  return found?.[1] ?? ''
}

type Body = { identifies?: Entry[]; events?: Entry[] }
type Entry = { message_id: string; sent_at: string }

test('after the identify, the batch and try.js, the sandbox holds the five bodies the README shows', async () => {
  for (const [route, file] of [
    ['identify', 'identify.json'],
    ['track', 'batch.json']
  ]) {
    const response = await fetch(`${started.server.url}/${route}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: readFileSync(path.join(PROJECT_ROOT, 'examples', file), 'utf8')
    })
    expect(response.status).toBe(200)
  }
  const tryJs = blockAfter('save this as `try.js`', 'js').split('http://127.0.0.1:3002').join(started.tracking.url)
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', tryJs], { cwd: PROJECT_ROOT })
  expect(stdout).toBe('sent\n')
  await started.tracking.pipeline.idle()
  const shown = JSON.parse(blockAfter('shows five bodies', 'json')) as Body[]
  const received = JSON.parse(JSON.stringify(started.sandbox!.received)) as Body[]
  // try.js's ids and times vary: the README shortens each id to its start and "…", and shows one run's times.
  received.slice(3).forEach((body, index) => {
    const entries = [...(body.identifies ?? []), ...(body.events ?? [])]
    const shownEntries = [...(shown[3 + index].identifies ?? []), ...(shown[3 + index].events ?? [])]
    entries.forEach((entry, n) => {
      expect(entry.message_id).toMatch(/^node-next-\d+-[0-9a-f]{8}-[0-9a-f-]+$/)
      expect(shownEntries[n].message_id).toMatch(/^node-next-\d+-[0-9a-f]{8}-…$/)
      entry.message_id = shownEntries[n].message_id
      entry.sent_at = shownEntries[n].sent_at
    })
  })
  expect(received).toEqual(shown)
})
