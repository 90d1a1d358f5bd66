import * as fs from 'fs'
import * as path from 'path'
import type { JSONObject } from '@segment/actions-core'

/** The journal's file format and its folder's lock (src/tracking/journal.ts writes and reads them). */

/** The journal's file in its folder. */
export const JOURNAL_FILE = 'journal.ndjson'
/** The lock file in the journal's folder: the pid of the process using it. */
export const LOCK_FILE = 'lock'

/** An accepted event found in the journal without a settled line. */
export interface JournalEntry {
  seq: number
  receivedAt: string
  event: JSONObject
  line: string
}

/** Whether a process with this pid runs (one we may not signal runs too). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as { code?: unknown }).code === 'EPERM'
  }
}

/** Takes the folder's lock, or throws naming the process that holds it. */
export function lock(dir: string): void {
  const file = path.join(dir, LOCK_FILE)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' })
      return
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EEXIST') throw error
    }
    const pid = Number(fs.readFileSync(file, 'utf8').trim())
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new Error(
        `The journal ${dir} is in use by process ${pid}. Stop that process, or give this one another folder ` +
          `(--journal <dir> or KOALA_JOURNAL_DIR), or run without a journal (--no-journal).`
      )
    }
    // Left by a process that ended without releasing it (killed, crashed).
    fs.rmSync(file, { force: true })
  }
  throw new Error(`Could not take the lock ${file}.`)
}

/** The accepted events of a journal's text without a settled line, in order; a torn or damaged line is skipped. */
export function unsettled(text: string): {
  entries: JournalEntry[]
  lastSeq: number
  damaged: number
  /** Whether the text ends inside a line. */
  torn: boolean
} {
  const accepted = new Map<number, JournalEntry>()
  const settled = new Set<number>()
  let lastSeq = 0
  let damaged = 0
  for (const line of text.split('\n')) {
    if (!line) continue
    let parsed: { a?: unknown; r?: unknown; e?: unknown; s?: unknown }
    try {
      parsed = JSON.parse(line) as typeof parsed
    } catch {
      // The last line of a write cut short by a crash: no request was answered for it.
      damaged++
      continue
    }
    if (typeof parsed.a === 'number' && typeof parsed.r === 'string' && parsed.e && typeof parsed.e === 'object') {
      accepted.set(parsed.a, { seq: parsed.a, receivedAt: parsed.r, event: parsed.e as JSONObject, line: `${line}\n` })
      lastSeq = Math.max(lastSeq, parsed.a)
    } else if (Array.isArray(parsed.s)) {
      // A settled line may name an event newer than any accepted line left (one compacted away): numbering
      // continues past it too, so a new event never takes the number of a settled one.
      for (const seq of parsed.s) {
        if (typeof seq !== 'number') continue
        settled.add(seq)
        lastSeq = Math.max(lastSeq, seq)
      }
    } else {
      damaged++
    }
  }
  const entries = [...accepted.values()].filter((entry) => !settled.has(entry.seq)).sort((a, b) => a.seq - b.seq)
  return { entries, lastSeq, damaged, torn: text.length > 0 && !text.endsWith('\n') }
}
