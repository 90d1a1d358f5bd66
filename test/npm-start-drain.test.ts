import * as fs from 'fs'
import * as http from 'http'
import * as os from 'os'
import * as path from 'path'
import { listenOnLoopback } from '../src/lib/loopback'
import { startSandbox } from '../src/sandbox/sandbox-server'
import { JOURNAL_FILE, unsettled } from '../src/tracking/journal'
import type { RunningSandbox, SandboxOptions } from '../src/sandbox/sandbox-server'
import { identifies, postBatch, ready, receivedIds, spawnStart, toolPid, waitFor } from './support/spawned-start'
import type { Started } from './support/spawned-start'

/**
 * Ctrl-C loses nothing: however `npm start` is told to stop (SIGINT to its process group, as a terminal's Ctrl-C, which
 * reaches node twice: from the terminal and from npm; SIGINT or SIGTERM to npm or to node alone; another signal during
 * the drain), every event the Tracking API answered 200 for reaches Koala, the summary is printed and the exit code is
 * 0. Only a third request forces the stop (exit code 130), and the output then says what was not finished.
 *
 * Koala is a sandbox in this process (KOALA_API_URL), so what it received outlives `npm start`. The events wait in a
 * ten-minute buffer (`--flush-interval`), so only the drain can deliver them. `--ignore-scripts` leaves out the
 * build (see test/npm-start-signals.test.ts). Linux only (`/proc`), as CI.
 */

jest.setTimeout(120_000)

const STOP_TIMEOUT_MS = 30_000

let sandbox: RunningSandbox | undefined
let npm: Started | undefined

afterEach(async () => {
  const pid = npm?.child.pid
  if (npm && pid && !npm.exited()) process.kill(-pid, 'SIGKILL')
  npm = undefined
  await sandbox?.close()
  sandbox = undefined
})

/**
 * Starts the sandbox (or, given `koala`, sends there instead) and `npm start` in a process group of its own, and has
 * 200 events buffered.
 */
async function startWithBufferedEvents(
  options: SandboxOptions = {},
  koala?: string,
  journal: string[] = ['--no-journal']
): Promise<{ npmPid: number; nodePid: number }> {
  if (!koala) sandbox = await startSandbox(0, options)
  npm = spawnStart(
    'npm',
    ['start', '--ignore-scripts', '--', '--flush-interval', '600000', ...journal],
    {
      KOALA_API_URL: koala ?? (sandbox as RunningSandbox).url
    },
    { detached: true }
  )
  const { tracking } = await ready(npm)
  const events = identifies('drain', 200)
  expect(await postBatch(tracking, events.slice(0, 50))).toBe(200)
  expect(await postBatch(tracking, events.slice(50))).toBe(200)
  expect(sandbox?.messageIds.size ?? 0).toBe(0)
  const npmPid = npm.child.pid as number
  const nodePid = toolPid(npmPid)
  if (nodePid === undefined) throw new Error(`No node process below npm:\n${npm.output()}`)
  return { npmPid, nodePid }
}

const expectedIds = identifies('drain', 200)
  .map((event) => event.messageId as string)
  .sort()

async function expectEverythingDelivered(): Promise<void> {
  const started = npm as Started
  let timer: NodeJS.Timeout | undefined
  const exit = await Promise.race([
    started.exit,
    new Promise((_, reject) => {
      timer = setTimeout(() => {
        const stats = JSON.stringify(sandbox?.stats())
        reject(new Error(`npm start did not stop (sandbox ${stats}):\n${started.output()}`))
      }, STOP_TIMEOUT_MS)
    })
  ]).finally(() => clearTimeout(timer))
  expect({ exit, output: started.output() }).toEqual({ exit: { code: 0, signal: null }, output: expect.any(String) })
  expect(await receivedIds((sandbox as RunningSandbox).url)).toEqual(expectedIds)
  expect(started.output()).toContain('\nStopping...\n')
  expect(started.output()).toContain('[tracking] draining 200 events\n')
  expect(started.output()).toContain('[tracking] 200 events: 200 delivered\n[tracking]   identify: 200 delivered\n')
}

it.each([
  ['SIGINT', 'the process group (Ctrl-C)'],
  ['SIGTERM', 'the process group'],
  ['SIGINT', 'node'],
  ['SIGTERM', 'node'],
  ['SIGINT', 'npm'],
  ['SIGTERM', 'npm']
] as const)('a %s to %s delivers every buffered event, prints the summary and exits 0', async (signal, target) => {
  const { npmPid, nodePid } = await startWithBufferedEvents()
  process.kill(target === 'node' ? nodePid : target === 'npm' ? npmPid : -npmPid, signal)
  await expectEverythingDelivered()
})

it('a Ctrl-C whose copy from npm reaches node late (100 ms) still delivers everything and exits 0', async () => {
  // What a terminal sees in most tries: the terminal's SIGINT, then npm's own copy a moment later.
  const { npmPid, nodePid } = await startWithBufferedEvents()
  process.kill(-npmPid, 'SIGINT')
  await new Promise((resolve) => setTimeout(resolve, 100))
  process.kill(nodePid, 'SIGINT')
  await expectEverythingDelivered()
  expect((npm as Started).output()).not.toContain('Still stopping')
})

it('a second Ctrl-C during the drain does not stop it', async () => {
  // Every Koala request (one per person, 16 at a time) takes 500 ms: the drain takes about 7 s, so it is still running
  // when the second Ctrl-C comes.
  const { npmPid } = await startWithBufferedEvents({ faults: { slow: 1 }, slowMs: 500 })
  process.kill(-npmPid, 'SIGINT')
  await waitFor('the drain to start', 10_000, () =>
    (npm as Started).output().includes('[tracking] draining 200 events')
  )
  await new Promise((resolve) => setTimeout(resolve, 1200))
  process.kill(-npmPid, 'SIGINT')
  await waitFor('the answer to the second Ctrl-C', 10_000, () => (npm as Started).output().includes('Still stopping'))
  await expectEverythingDelivered()
  expect((npm as Started).output()).not.toContain('Forced to stop.')
})

it('a third Ctrl-C forces the stop: exit code 130, what was not finished, and the journal keeps it', async () => {
  // A Koala that never answers: the drain cannot end before the third Ctrl-C.
  const silent = await listenOnLoopback((_req: http.IncomingMessage, _res: http.ServerResponse) => undefined, 0)
  const journalDir = fs.mkdtempSync(path.join(os.tmpdir(), 'koala-forced-'))
  try {
    const { npmPid } = await startWithBufferedEvents({}, silent.url, ['--journal', journalDir])
    for (let press = 1; press <= 3; press++) {
      process.kill(-npmPid, 'SIGINT')
      if (press < 3) await new Promise((resolve) => setTimeout(resolve, 1200))
    }
    const started = npm as Started
    expect(await started.exit).toEqual({ code: 130, signal: null })
    expect(started.output()).toContain(
      '\nForced to stop.\n[tracking] not finished: 200 events without a final outcome (buffered, in flight or waiting for a retry).\n' +
        `[tracking] the journal ${path.join(
          journalDir,
          JOURNAL_FILE
        )} keeps 200 events: the next start delivers them.\n`
    )
    expect(started.output()).not.toContain('[tracking] 200 events:')
    const kept = unsettled(fs.readFileSync(path.join(journalDir, JOURNAL_FILE), 'utf8'))
    expect(kept.entries.map((entry) => entry.event.messageId).sort()).toEqual(expectedIds)
    // The folder is released: the next start may use it.
    expect(fs.existsSync(path.join(journalDir, 'lock'))).toBe(false)
  } finally {
    await silent.close()
    fs.rmSync(journalDir, { recursive: true, force: true })
  }
})
