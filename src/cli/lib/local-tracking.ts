import * as fs from 'fs'
import * as path from 'path'
import { isObject } from '@segment/actions-core'
import { PROJECT_ROOT } from '../../lib/paths'
import { envSetting, listenFailure, parsePort } from '../../lib/process'
import { DEFAULT_FLUSH_INTERVAL_MS, DEFAULT_MAX_RECORDS, DEFAULT_RETRY_WINDOW_MS } from '../../tracking/pipeline'
import type { PipelineConfig } from '../../tracking/pipeline'
import { startTrackingApi } from '../../tracking/tracking-api'
import type { RunningTrackingApi, TrackingApiOptions } from '../../tracking/tracking-api'
import { unknownKeys, unknownKeysSentence } from '../../lib/body-keys'

/** The flags of `start` that configure the local Segment Tracking API. */
export interface TrackingFlags {
  config?: string
  writeKey?: string
  retryWindow?: string
  flushInterval?: string
  maxRecords?: string
  /** `--journal <dir>`, or false for `--no-journal`. */
  journal?: string | false
}

/** The journal's folder when neither `--journal` nor `KOALA_JOURNAL_DIR` gives one (git-ignored). */
export const DEFAULT_JOURNAL_DIR = path.join(PROJECT_ROOT, '.koala-local', 'journal')

/**
 * The journal's folder: `--journal <dir>`, else `$KOALA_JOURNAL_DIR`, else {@link DEFAULT_JOURNAL_DIR}; undefined
 * (no journal) for `--no-journal` or `KOALA_JOURNAL_DIR=off`.
 */
export function journalDir(flag: string | false | undefined): string | undefined {
  if (flag === false) return undefined
  const dir = flag?.trim() || envSetting('KOALA_JOURNAL_DIR')
  if (dir === 'off') return undefined
  return path.resolve(dir ?? DEFAULT_JOURNAL_DIR)
}

/** The Tracking API's port: `$TRACKING_API_PORT` when set and not blank, else 3002 (0 picks a free port). */
export function trackingPort(): number {
  const env = envSetting('TRACKING_API_PORT')
  return env === undefined ? 3002 : parsePort(env, 'TRACKING_API_PORT')
}

function positiveNumber(text: string | undefined, flag: string, fallback: number, scale: number): number {
  if (text === undefined) return fallback
  const value = Number(text)
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(value > 0)) {
    throw new Error(`${flag}: "${text}" is not a number above 0.`)
  }
  return value * scale
}

/** Most records `--max-records` may keep: each record holds its event and Koala request, a few KB. */
export const MAX_RECORDS_LIMIT = 1_000_000

function maxRecords(text: string | undefined): number {
  if (text === undefined) return DEFAULT_MAX_RECORDS
  const value = Number(text.trim())
  if (!/^\d+$/.test(text.trim()) || value < 1 || value > MAX_RECORDS_LIMIT) {
    throw new Error(
      `--max-records: "${text}" is not a whole number from 1 to ${MAX_RECORDS_LIMIT.toLocaleString('en-US')}.`
    )
  }
  return value
}

/**
 * Reads `--config` (JSON: `{ "settings": {...}, "mappings": { "<action>": {...} } }`, the settings and mappings the
 * Actions Tester sends), `--write-key` (else `$SEGMENT_WRITE_KEY`), `--retry-window` in seconds and
 * `--flush-interval` in milliseconds and `--max-records` (the delivery records kept).
 *
 * @throws Error naming the flag and what to give instead.
 */
export function trackingOptions(flags: TrackingFlags = {}): TrackingApiOptions {
  let config: PipelineConfig | undefined
  if (flags.config !== undefined) {
    let parsed: unknown
    try {
      parsed = JSON.parse(fs.readFileSync(flags.config, 'utf8'))
    } catch (error) {
      throw new Error(`--config ${flags.config}: ${(error as Error).message}`)
    }
    const shape = isObject(parsed) ? parsed : undefined
    if (
      !shape ||
      (shape.settings !== undefined && !isObject(shape.settings)) ||
      (shape.mappings !== undefined && !isObject(shape.mappings))
    ) {
      throw new Error(
        `--config ${flags.config}: give a JSON object {"settings": {"public_key": "..."}, "mappings": {"track": {...}}}.`
      )
    }
    const unknown = unknownKeys(shape, ['settings', 'mappings'])
    if (unknown.length > 0) {
      throw new Error(
        `--config ${flags.config}: ${unknownKeysSentence(
          'It',
          unknown,
          ['settings', 'mappings'],
          'which it may not have; it may have'
        )}`
      )
    }
    config = shape
  }
  return {
    config,
    writeKey: flags.writeKey ?? envSetting('SEGMENT_WRITE_KEY'),
    publicKey: envSetting('KOALA_PUBLIC_KEY'),
    retryWindowMs: positiveNumber(flags.retryWindow, '--retry-window', DEFAULT_RETRY_WINDOW_MS, 1000),
    flushIntervalMs: positiveNumber(flags.flushInterval, '--flush-interval', DEFAULT_FLUSH_INTERVAL_MS, 1),
    keep: maxRecords(flags.maxRecords),
    journalDir: journalDir(flags.journal)
  }
}

/** @throws the listen failure with the hint about TRACKING_API_PORT, or a configuration error. */
export async function startConfiguredTracking(port: number, options: TrackingApiOptions): Promise<RunningTrackingApi> {
  try {
    return await startTrackingApi(port, options)
  } catch (error) {
    if ((error as { code?: unknown })?.code === undefined) throw error
    throw listenFailure(
      `Could not start the Segment Tracking API on 127.0.0.1:${port}`,
      error,
      'Choose another port with TRACKING_API_PORT.'
    )
  }
}

/** A path relative to the current folder when it is inside it, else absolute. */
function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file)
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file
}

/** The banner lines of a running Tracking API. */
export function describeTracking(api: RunningTrackingApi, options: TrackingApiOptions): string {
  const key = options.writeKey ? 'only the write key given with --write-key or SEGMENT_WRITE_KEY' : 'any write key'
  const journal = api.journal ? shownPath(api.journal.file) : undefined
  return [
    `Segment Tracking API listening on ${api.url}/v1 (takes ${key}), delivering through the destination`,
    `  analytics-node: new Analytics({ writeKey, host: '${api.url}' })`,
    `  analytics.js:   AnalyticsBrowser.load({ writeKey, cdnURL: '${api.url}' })`,
    `  Event Delivery: GET ${api.url}/v1/deliveries`,
    journal
      ? `  Journal: ${journal} (accepted events are on disk before the 200; --no-journal turns it off)`
      : '  Journal: off (events buffered when the process dies are lost)'
  ].join('\n')
}

/**
 * What a forced stop prints: how many events have no final outcome, and whether the journal keeps them for the next
 * start (it writes what it has buffered first).
 */
export function abandonTracking(api: RunningTrackingApi): string[] {
  const pending = api.pipeline.pending
  const kept = api.journal?.abandon() ?? 0
  if (pending === 0 && kept === 0) return ['[tracking] every accepted event had its final outcome.']
  const events = (count: number) => `${count.toLocaleString('en-US')} ${count === 1 ? 'event' : 'events'}`
  const lines = [
    `[tracking] not finished: ${events(pending)} without a final outcome (buffered, in flight or waiting for a retry).`
  ]
  lines.push(
    api.journal
      ? `[tracking] the journal ${api.journal.file} keeps ${events(kept)}: the next start delivers them.`
      : '[tracking] there is no journal (--no-journal): they are lost.'
  )
  return lines
}
