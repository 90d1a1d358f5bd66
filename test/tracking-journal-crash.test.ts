import * as fs from 'fs'
import * as os from 'os'
import * as path from 'path'
import { JOURNAL_FILE } from '../src/tracking/journal'
import { identifies, postBatch, ready, receivedIds, spawnStart, waitFor } from './support/spawned-start'
import type { Started } from './support/spawned-start'

/**
 * A crash loses nothing the Tracking API answered 200 for: `start` is killed with SIGKILL while its events are
 * buffered (a flush interval of ten minutes), started again on the same journal, and the sandbox of the second run
 * holds every one of them, each recorded as replayed. Runs the built tools (`node bin/run start`), as `npm start` does
 * after its build.
 */

jest.setTimeout(120_000)

let journalDir: string
const running: Started[] = []

beforeEach(() => {
  journalDir = fs.mkdtempSync(path.join(os.tmpdir(), 'koala-crash-'))
})

afterEach(() => {
  for (const started of running.splice(0)) if (!started.exited()) started.child.kill('SIGKILL')
  fs.rmSync(journalDir, { recursive: true, force: true })
})

function start(flushInterval: string): Started {
  const started = spawnStart(
    'node',
    ['bin/run', 'start', '--journal', journalDir, '--flush-interval', flushInterval],
    {}
  )
  running.push(started)
  return started
}

it('delivers on the next start every event answered 200 before a SIGKILL', async () => {
  const first = start('600000')
  const { tracking, sandbox } = await ready(first)
  const events = identifies('crash', 200)
  expect(await postBatch(tracking, events.slice(0, 120))).toBe(200)
  expect(await postBatch(tracking, events.slice(120))).toBe(200)
  // Buffered: nothing reached Koala yet.
  expect(await receivedIds(sandbox as string)).toEqual([])
  const view = (await (await fetch(`${tracking}/v1/deliveries`)).json()) as { pending: number }
  expect(view.pending).toBe(200)

  first.child.kill('SIGKILL')
  expect(await first.exit).toEqual({ code: null, signal: 'SIGKILL' })

  const second = start('500')
  const again = await ready(second)
  expect(second.output()).toContain(
    `[tracking] journal: replaying 200 events accepted before the last stop without a final outcome (${path.join(
      journalDir,
      JOURNAL_FILE
    )})`
  )
  const expected = events.map((event) => event.messageId as string).sort()
  await waitFor('the sandbox to hold 200 message ids', 30_000, async () => {
    return (await receivedIds(again.sandbox as string)).length >= 200
  })
  expect(await receivedIds(again.sandbox as string)).toEqual(expected)
  const deliveries = (await (await fetch(`${again.tracking}/v1/deliveries?limit=1000`)).json()) as {
    pending: number
    counts: { total: Record<string, number> }
    events: { messageId: string; outcome: string; replayed?: boolean }[]
  }
  expect(deliveries.pending).toBe(0)
  expect(deliveries.counts.total).toEqual({ delivered: 200 })
  expect(deliveries.events.filter((record) => record.replayed === true && record.outcome === 'delivered')).toHaveLength(
    200
  )

  second.child.kill('SIGINT')
  expect(await second.exit).toEqual({ code: 0, signal: null })
  // A clean stop with nothing waiting leaves no journal behind, and releases the folder.
  expect(fs.readdirSync(journalDir)).toEqual([])
})
