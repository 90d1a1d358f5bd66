import * as fs from 'fs'
import * as path from 'path'
import type { JSONObject } from '@segment/actions-core'
import type { Arrival } from './enrich'
import { JOURNAL_FILE, LOCK_FILE, lock, unsettled } from './journal-file'
import type { JournalEntry } from './journal-file'

export { JOURNAL_FILE, LOCK_FILE, unsettled }
export type { JournalEntry }

/**
 * The Tracking API's journal: Segment answers 200 only once an event is durably queued, and so does the local one.
 * Every event the pipeline accepts (routed to at least one action, so without a final outcome yet) is appended to a
 * file and flushed to disk (`fdatasync`) before the request that carried it is answered; one write per request, and
 * the requests handled in one turn of the event loop share it. When every action an event went to has given it
 * a final outcome (delivered, skipped, failed), a `settled` line follows (written soon after, not waited for). On
 * start, the events accepted earlier without a settled line are delivered again: at least once, which Koala's
 * de-duplication by `message_id` makes harmless.
 *
 * The file (`journal.ndjson` in the journal's folder) holds one JSON object per line:
 * `{"a":7,"r":"<receivedAt>","e":{...event}}` for an accepted event and `{"s":[7,8,9]}` for settled ones. It is
 * rewritten with only the events still waiting when it grows past {@link COMPACT_MIN_BYTES} and {@link COMPACT_FACTOR}
 * times their size, and removed on a clean stop (nothing is waiting then). A `lock` file holds the pid of the process
 * using the folder, so two never write one journal.
 */

/** The file is not rewritten below this size, in bytes. */
export const COMPACT_MIN_BYTES = 1024 * 1024
/** ...and is rewritten once it is this many times larger than the events still waiting. */
export const COMPACT_FACTOR = 4
/** Settled lines wait at most this long for a write to join, in ms. */
const SETTLED_DELAY_MS = 200

/** What the pipeline calls: {@link Journal.accepted} and {@link Journal.settled}. */
export interface PipelineJournal {
  accepted(event: JSONObject, receivedAt: string, records: number): void
  settled(event: JSONObject): void
  commit(): Promise<void>
}

interface Live {
  line: string
  /** Records (one per action) without a final outcome yet. */
  remaining: number
}

interface Waiter {
  resolve: () => void
  reject: (error: Error) => void
}

/** Where a replayed event goes: the pipeline's `ingest`. */
export interface Ingest {
  ingest(call: JSONObject, arrival: Arrival): void
}

/** A write-ahead journal of accepted events in a folder (see the top of this file). */
export class Journal implements PipelineJournal {
  readonly file: string
  /** Events accepted before this process started that have no final outcome: {@link replay} delivers them. */
  recovered: JournalEntry[]
  /** Lines of the file that did not parse (a write cut short by a crash). */
  readonly damaged: number
  private fd: number
  private readonly ids = new WeakMap<JSONObject, number>()
  private readonly live = new Map<number, Live>()
  private liveBytes = 0
  private fileBytes: number
  private nextSeq: number
  private buffer: string[] = []
  private settledSeqs: number[] = []
  private waiters: Waiter[] = []
  /** A flush is scheduled for the end of this turn of the event loop. */
  private scheduled = false
  private timer?: NodeJS.Timeout
  private adopting?: JournalEntry
  private closed = false

  private constructor(readonly dir: string, fd: number, found: ReturnType<typeof unsettled>, size: number) {
    this.file = path.join(dir, JOURNAL_FILE)
    this.fd = fd
    this.recovered = found.entries
    this.damaged = found.damaged
    this.nextSeq = found.lastSeq + 1
    this.fileBytes = size
    // A write cut short left a line without its end: the next line must not continue it.
    if (found.torn) this.buffer.push('\n')
  }

  /**
   * Opens (creating it) the journal in `dir` and reads what an earlier process left without a final outcome.
   *
   * @throws Error when another running process holds the folder, or the folder cannot be written.
   */
  static open(dir: string): Journal {
    const folder = path.resolve(dir)
    fs.mkdirSync(folder, { recursive: true })
    lock(folder)
    try {
      const file = path.join(folder, JOURNAL_FILE)
      const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''
      return new Journal(folder, fs.openSync(file, 'a'), unsettled(text), Buffer.byteLength(text))
    } catch (error) {
      fs.rmSync(path.join(folder, LOCK_FILE), { force: true })
      throw error
    }
  }

  /** Events accepted and not settled yet (this run's and the replayed). */
  get waiting(): number {
    return this.live.size
  }

  /** The file's size as written, in bytes. */
  get size(): number {
    return this.fileBytes
  }

  /** An event the pipeline accepted for `records` actions: appended now, on disk after the next {@link commit}. */
  accepted(event: JSONObject, receivedAt: string, records: number): void {
    let seq: number
    let line: string
    if (this.adopting) {
      // A replayed event: its line is in the file already.
      ;({ seq, line } = this.adopting)
      this.adopting = undefined
    } else {
      seq = this.nextSeq++
      line = `{"a":${seq},"r":${JSON.stringify(receivedAt)},"e":${JSON.stringify(event)}}\n`
      this.buffer.push(line)
    }
    this.ids.set(event, seq)
    this.live.set(seq, { line, remaining: records })
    this.liveBytes += line.length
  }

  /** One of an event's records got its final outcome; the event is settled once all have. */
  settled(event: JSONObject): void {
    const seq = this.ids.get(event)
    const entry = seq === undefined ? undefined : this.live.get(seq)
    if (seq === undefined || !entry || --entry.remaining > 0) return
    this.live.delete(seq)
    this.liveBytes -= entry.line.length
    this.settledSeqs.push(seq)
    if (!this.timer && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = undefined
        this.flush()
      }, SETTLED_DELAY_MS)
      this.timer.unref()
    }
  }

  /**
   * Resolves once every event accepted so far is on disk; rejects when the write failed. The requests handled in one
   * turn of the event loop share one write and one `fdatasync`, at its end.
   */
  commit(): Promise<void> {
    if (this.buffer.length === 0) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject })
      if (this.scheduled) return
      this.scheduled = true
      setImmediate(() => this.flush())
    })
  }

  /**
   * Delivers the recovered events again through `pipeline` (each record marked `replayed`); an event the pipeline
   * does not accept this time (a changed `--config` subscribes no action to it) is settled at once.
   *
   * @returns how many events were replayed.
   */
  replay(pipeline: Ingest): number {
    const entries = this.recovered
    this.recovered = []
    for (const entry of entries) {
      this.adopting = entry
      pipeline.ingest(entry.event, { receivedAt: new Date(entry.receivedAt), clientSide: false, replayed: true })
      if (this.adopting) {
        this.adopting = undefined
        this.settledSeqs.push(entry.seq)
      }
    }
    return entries.length
  }

  /**
   * Writes what is buffered (accepted and settled lines) in one write, flushes it to disk, and answers the waiting
   * commits; then rewrites the file when settled events dominate it. Synchronous: it costs the event loop about as
   * long as the disk takes (under a millisecond for a request's events, measured), and no thread pool hop delays it.
   */
  flush(): void {
    this.scheduled = false
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    if (this.settledSeqs.length) {
      this.buffer.push(`{"s":[${this.settledSeqs.join(',')}]}\n`)
      this.settledSeqs = []
    }
    const waiters = this.waiters
    this.waiters = []
    if (this.buffer.length === 0) return waiters.forEach((waiter) => waiter.resolve())
    const data = Buffer.from(this.buffer.join(''))
    this.buffer = []
    try {
      for (let written = 0; written < data.length; ) written += fs.writeSync(this.fd, data, written)
      fs.fdatasyncSync(this.fd)
      this.fileBytes += data.length
    } catch (error) {
      // Those lines are lost: their requests are answered with an error, so the clients send them again.
      waiters.forEach((waiter) => waiter.reject(error as Error))
      return
    }
    waiters.forEach((waiter) => waiter.resolve())
    if (this.fileBytes > COMPACT_MIN_BYTES && this.fileBytes > COMPACT_FACTOR * this.liveBytes) {
      try {
        this.compact()
      } catch {
        // The old file is still whole; the next flush tries again.
      }
    }
  }

  /**
   * A clean stop: writes what is left and rewrites the file with the events still waiting (none after a drain: the
   * file is removed), then releases the folder.
   */
  close(): void {
    if (this.closed) return
    this.flush()
    this.closed = true
    if (this.live.size > 0) this.compact()
    fs.closeSync(this.fd)
    if (this.live.size === 0) fs.rmSync(this.file, { force: true })
    fs.rmSync(path.join(this.dir, LOCK_FILE), { force: true })
  }

  /**
   * A forced stop (the process exits next): writes what is buffered, releases the folder.
   *
   * @returns how many events stay in the journal without a final outcome (delivered on the next start).
   */
  abandon(): number {
    if (!this.closed) {
      this.flush()
      this.closed = true
      fs.closeSync(this.fd)
      fs.rmSync(path.join(this.dir, LOCK_FILE), { force: true })
    }
    return this.live.size
  }

  /** Rewrites the file with the lines of the events still waiting: a new file, flushed, renamed over the old one. */
  private compact(): void {
    const data = Buffer.from([...this.live.values()].map((entry) => entry.line).join(''))
    const temporary = `${this.file}.tmp`
    const fd = fs.openSync(temporary, 'w')
    try {
      for (let written = 0; written < data.length; ) written += fs.writeSync(fd, data, written)
      fs.fdatasyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
    fs.renameSync(temporary, this.file)
    const folder = fs.openSync(this.dir, 'r')
    try {
      fs.fsyncSync(folder)
    } finally {
      fs.closeSync(folder)
    }
    fs.closeSync(this.fd)
    this.fd = fs.openSync(this.file, 'a')
    this.fileBytes = data.length
  }
}

/**
 * Delivers again through `pipeline` what an earlier run left in `journal` without a final outcome, saying so in the
 * log (`[tracking] journal: replaying 200 events ...`).
 */
export function replayJournal(journal: Journal, pipeline: Ingest, log?: (line: string) => void): void {
  const count = journal.recovered.length
  if (journal.damaged > 0) {
    log?.(`[tracking] journal: skipped ${journal.damaged} unreadable line(s) of ${journal.file} (a write cut short)`)
  }
  if (count > 0) {
    log?.(
      `[tracking] journal: replaying ${count.toLocaleString('en-US')} ${count === 1 ? 'event' : 'events'} ` +
        `accepted before the last stop without a final outcome (${journal.file})`
    )
  }
  journal.replay(pipeline)
}
