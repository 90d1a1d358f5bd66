import * as fs from 'fs'
import * as os from 'os'
import * as path from 'path'
import type { JSONObject } from '@segment/actions-core'
import { createHarness } from '../src/harness'
import { startSandbox } from '../src/sandbox/sandbox-server'
import type { RunningSandbox } from '../src/sandbox/sandbox-server'
import { enrich } from '../src/tracking/enrich'
import { COMPACT_MIN_BYTES, Journal, JOURNAL_FILE, LOCK_FILE, unsettled } from '../src/tracking/journal'
import { startTrackingApi } from '../src/tracking/tracking-api'
import type { RunningTrackingApi } from '../src/tracking/tracking-api'

/**
 * The Tracking API's journal (src/tracking/journal.ts): what is on disk when the 200 goes out, what a later start
 * finds, the lock, the bound on the file's size, and a write that fails.
 */

/** Node's own fs module (the namespace `import * as fs` gives cannot be spied on). */
const nodeFs = jest.requireActual<typeof fs>('fs')
let dir: string
const opened: Journal[] = []
let api: RunningTrackingApi | undefined
let sandbox: RunningSandbox | undefined

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'koala-journal-test-'))
})

afterEach(async () => {
  await api?.close()
  api = undefined
  await sandbox?.close()
  sandbox = undefined
  for (const journal of opened.splice(0)) journal.abandon()
  jest.restoreAllMocks()
  fs.rmSync(dir, { recursive: true, force: true })
})

function open(): Journal {
  const journal = Journal.open(dir)
  opened.push(journal)
  return journal
}

const fileText = () => fs.readFileSync(path.join(dir, JOURNAL_FILE), 'utf8')
const event = (id: string, extra: JSONObject = {}): JSONObject => ({ type: 'identify', messageId: id, ...extra })
const AT = '2026-12-07T10:00:00.000Z'

test('an accepted event is in the file once commit resolves; settled events are not found again', async () => {
  const journal = open()
  const [a, b, c] = [event('a'), event('b'), event('c')]
  journal.accepted(a, AT, 1)
  journal.accepted(b, AT, 2)
  journal.accepted(c, AT, 1)
  await journal.commit()
  expect(unsettled(fileText()).entries.map((entry) => entry.event)).toEqual([a, b, c])

  journal.settled(a)
  // b went to two actions: one outcome is not enough.
  journal.settled(b)
  journal.flush()
  expect(unsettled(fileText()).entries.map((entry) => entry.event.messageId)).toEqual(['b', 'c'])
  expect(journal.waiting).toBe(2)
})

test('a later start finds the unsettled events in order, their arrival time kept, a torn last line skipped', async () => {
  const journal = open()
  const events = ['m-1', 'm-2', 'm-3', 'm-4'].map((id) => event(id, { traits: { email: `${id}@example.com` } }))
  for (const one of events) journal.accepted(one, AT, 1)
  await journal.commit()
  journal.settled(events[1])
  // A crash: the process ends without closing; a write was cut short after the last full line.
  journal.abandon()
  fs.appendFileSync(path.join(dir, JOURNAL_FILE), '{"a":99,"r":"2026-12-07T')

  const next = open()
  expect(next.damaged).toBe(1)
  expect(next.recovered.map((entry) => [entry.event, entry.receivedAt])).toEqual([
    [events[0], AT],
    [events[2], AT],
    [events[3], AT]
  ])
  // New events continue the numbering: a settled line never names an older event by mistake.
  const fresh = event('m-5')
  next.accepted(fresh, AT, 1)
  await next.commit()
  expect(unsettled(fileText()).entries.map((entry) => entry.event.messageId)).toEqual(['m-1', 'm-3', 'm-4', 'm-5'])
})

test('a new event never takes the number of one settled after the file was rewritten', async () => {
  // What a rewrite leaves: the waiting event 1, then the settled line of event 2, whose accepted line it dropped.
  const waiting = event('w-1')
  fs.writeFileSync(path.join(dir, JOURNAL_FILE), `{"a":1,"r":"${AT}","e":${JSON.stringify(waiting)}}\n{"s":[2]}\n`)
  const journal = open()
  const fresh = event('w-3')
  journal.accepted(fresh, AT, 1)
  await journal.commit()
  journal.abandon()
  const next = open()
  expect(next.recovered.map((entry) => [entry.seq, entry.event])).toEqual([
    [1, waiting],
    [3, fresh]
  ])
})

test('a folder another running process holds is refused, naming it; one left by a dead process is taken', () => {
  fs.writeFileSync(path.join(dir, LOCK_FILE), `${process.ppid}\n`)
  expect(() => Journal.open(dir)).toThrow(
    `The journal ${dir} is in use by process ${process.ppid}. Stop that process, or give this one another folder ` +
      '(--journal <dir> or KOALA_JOURNAL_DIR), or run without a journal (--no-journal).'
  )
  // No process has pid 2^22 + 1 on Linux (pid_max is at most 2^22).
  fs.writeFileSync(path.join(dir, LOCK_FILE), `${2 ** 22 + 1}\n`)
  open()
  expect(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`)
})

test('the file is rewritten once settled events dominate it, and emptied by a clean stop', async () => {
  const journal = open()
  const keep = event('kept', { traits: { note: 'k'.repeat(1000) } })
  journal.accepted(keep, AT, 1)
  // 4 MB of events accepted and settled, 100 per round, as requests and their deliveries would.
  const padding = 'x'.repeat(4000)
  for (let round = 0; round < 10; round++) {
    const batch = Array.from({ length: 100 }, (_, n) => event(`r${round}-${n}`, { traits: { padding } }))
    for (const one of batch) journal.accepted(one, AT, 1)
    await journal.commit()
    for (const one of batch) journal.settled(one)
  }
  journal.flush()
  const size = fs.statSync(path.join(dir, JOURNAL_FILE)).size
  expect(size).toBe(journal.size)
  // Rewritten at least once: never more than the minimum plus one round (100 events of 4 KB) and a settled line.
  expect(size).toBeLessThan(COMPACT_MIN_BYTES + 100 * 4200 + 2000)
  expect(unsettled(fileText()).entries.map((entry) => entry.event.messageId)).toEqual(['kept'])

  journal.settled(keep)
  journal.close()
  expect(fs.readdirSync(dir)).toEqual([])
})

describe('the Tracking API', () => {
  const identify = (id: string) => ({
    type: 'identify',
    messageId: id,
    userId: id,
    traits: { email: `${id}@x.example` }
  })

  async function start(flushIntervalMs: number): Promise<RunningTrackingApi> {
    sandbox ??= await startSandbox(0)
    api = await startTrackingApi(0, {
      journalDir: dir,
      flushIntervalMs,
      harness: createHarness({ apiUrl: sandbox.url, appUrl: sandbox.url })
    })
    return api
  }

  const post = (url: string, batch: unknown[]) =>
    fetch(`${url}/v1/batch`, { method: 'POST', body: JSON.stringify({ writeKey: 'k', batch }) })

  test('answers 200 only once the whole batch of 2,500 is on disk, written and flushed at once', async () => {
    const running = await start(600_000)
    // What reaches the disk, in order, and when the answer came.
    const order: string[] = []
    const { writeSync, fdatasyncSync } = nodeFs
    jest.spyOn(nodeFs, 'writeSync').mockImplementation(((fd: number, data: Buffer, offset: number) => {
      const accepted = data
        .toString()
        .split('\n')
        .filter((line) => line.startsWith('{"a":')).length
      order.push(accepted ? `write of ${accepted} accepted` : 'write of settled lines')
      return writeSync(fd, data, offset)
    }) as typeof fs.writeSync)
    jest.spyOn(nodeFs, 'fdatasyncSync').mockImplementation((fd: number) => {
      fdatasyncSync(fd)
      order.push('flushed')
    })
    const batch = Array.from({ length: 2500 }, (_, n) => ({ type: 'identify', messageId: `b-${n}`, userId: `u${n}` }))
    const response = await post(running.url, batch)
    order.push(`answer ${response.status}`)
    // The batch's events in one write, flushed, and only then the answer (its lanes' deliveries may settle some
    // meanwhile, in later writes).
    expect(order.slice(0, 2)).toEqual(['write of 2500 accepted', 'flushed'])
    expect(order.indexOf('answer 200')).toBeGreaterThan(1)
    expect(order.filter((step) => step.includes('accepted'))).toEqual(['write of 2500 accepted'])
    const lines = fileText()
      .split('\n')
      .filter((line) => line.startsWith('{"a":'))
    expect(lines.map((line) => (JSON.parse(line) as { e: JSONObject }).e.messageId)).toEqual(
      batch.map((one) => one.messageId)
    )
  })

  test('a journal that cannot be written makes the answer a 503, which the libraries retry', async () => {
    const running = await start(600_000)
    jest.spyOn(nodeFs, 'fdatasyncSync').mockImplementationOnce(() => {
      throw new Error('ENOSPC: no space left on device')
    })
    const response = await post(running.url, [identify('full-1')])
    expect([response.status, await response.json()]).toEqual([
      503,
      { success: false, message: 'Journal: ENOSPC: no space left on device' }
    ])
  })

  test('replays on start what the journal holds: delivered, each record marked replayed', async () => {
    const first = Journal.open(dir)
    // As the pipeline journals them: enriched.
    for (const id of ['r-1', 'r-2'])
      first.accepted(enrich(identify(id), { receivedAt: new Date(AT), clientSide: false }), AT, 1)
    await first.commit()
    first.abandon()

    const running = await start(1)
    await running.pipeline.idle()
    const view = running.pipeline.view()
    expect(view.events.map((record) => [record.messageId, record.outcome, record.replayed, record.receivedAt])).toEqual(
      [
        ['r-2', 'delivered', true, AT],
        ['r-1', 'delivered', true, AT]
      ]
    )
    expect([...(sandbox as RunningSandbox).messageIds].sort()).toEqual(['r-1', 'r-2'])
    running.journal?.flush()
    expect(unsettled(fileText()).entries).toEqual([])
  })
})
