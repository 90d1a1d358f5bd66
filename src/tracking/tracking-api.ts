import { isObject } from '@segment/actions-core'
import type { JSONObject } from '@segment/actions-core'
import express from 'express'
import type { NextFunction, Request, Response } from 'express'
import { listenOnLoopback, loopbackHostOnly } from '../lib/loopback'
import type { LoopbackServer } from '../lib/loopback'
import { serveCdnSettings } from './cdn-settings'
import { deliveryRoutes } from './deliveries'
import { receivedAtText } from './enrich'
import { Journal, replayJournal } from './journal'
import { Pipeline } from './pipeline'
import { batchCallSizes, MAX_SERIALISED_PER_RAW_BYTE } from './raw-sizes'
import type { DeliveryRecord, PipelineOptions, RefusedRequest } from './pipeline'
import { droppedLines } from './terminal'

/**
 * A local Segment Tracking API (`api.segment.io/v1`) that Segment's own libraries can be pointed at unchanged, feeding
 * {@link Pipeline}. Sources: Segment's "HTTP API Source" docs (`src/connections/sources/catalog/libraries/server/
 * http-api/index.md` in segmentio/segment-docs, HTTP below) and segmentio/analytics-next (AN below).
 *
 * - `POST /v1/{identify,track,page,screen,group,alias}`, their one-letter forms analytics.js posts to (`/v1/i`, `/v1/t`,
 *   ..., AN packages/browser/src/plugins/segmentio/index.ts), `POST /v1/batch` and `/v1/b` (analytics.js's batches,
 *   AN batched-dispatcher.ts).
 * - The write key in the body's `writeKey` or as HTTP Basic auth's user name (HTTP, "Authentication").
 * - JSON whatever the Content-Type: analytics.js sends `text/plain` (AN shared-dispatcher.ts).
 * - Answers as Segment: 200 `{"success":true}`; 400 for invalid JSON, a call over 32 KB, a batch request over 500 KB or
 *   a batch event over 32 KB (HTTP, "Max request size") and a missing write key. What Segment takes and then drops
 *   (an unknown write key, a batch of more than 2,500 events, a call missing what its type needs) is answered 200 and
 *   recorded as "failed on ingest" (HTTP, "Errors"; the drops observed live and listed in Delivery Overview).
 * - CORS for any origin on the intake (analytics.js 1.84 sends `Authorization` and `X-Retry-Count`, which need a
 *   preflight); the delivery view only for local pages.
 * - `GET /v1/deliveries`, `GET /v1/deliveries/settled` and `DELETE /v1/deliveries`: src/tracking/deliveries.ts.
 * - `GET /v1/projects/:writeKey/settings`: the source settings analytics.js loads from its `cdnURL` (cdn-settings.ts).
 */

/** 32 KB per call and per batched event, 500 KB per batch request; KB is 1,024 bytes as analytics-node counts it. */
export const MAX_CALL_BYTES = 32 * 1024
export const MAX_BATCH_BYTES = 500 * 1024
/** HTTP: "Each batch request can only have up to 2500 events". */
export const MAX_BATCH_EVENTS = 2500

const SINGLE_PATHS: Record<string, string> = {
  identify: 'identify',
  i: 'identify',
  track: 'track',
  t: 'track',
  page: 'page',
  p: 'page',
  screen: 'screen',
  s: 'screen',
  group: 'group',
  g: 'group',
  alias: 'alias',
  a: 'alias'
}
const BATCH_PATHS = ['batch', 'b']
/** analytics.js's paths: Segment treats them as client-side traffic (it fills in the IP). */
const CLIENT_PATHS = new Set(['i', 't', 'p', 's', 'g', 'a', 'b'])

/** Options of {@link createTrackingApi}. */
export interface TrackingApiOptions extends PipelineOptions {
  /** The source's write key; any non-empty key when absent (a local source that takes everything). */
  writeKey?: string
  pipeline?: Pipeline
  /** The journal's folder (src/tracking/journal.ts): accepted events are on disk there before the 200; none if unset. */
  journalDir?: string
}

/** Segment's answer to an empty or missing write key (observed live; no Segment doc gives it). */
export const INVALID_WRITE_KEY = {
  success: false,
  message: 'An invalid write key was provided',
  code: 'invalid_request'
} as const

/** The write key of a request: the body's `writeKey`, else Basic auth's user name (`key:` base64). */
function writeKeyOf(req: Request, body: JSONObject): string | undefined {
  if (typeof body.writeKey === 'string' && body.writeKey.trim()) return body.writeKey.trim()
  const header = req.get('authorization') ?? ''
  const match = /^Basic\s+(\S+)$/i.exec(header)
  if (!match) return undefined
  // "Include a colon before encoding" (HTTP); a key encoded without one still works there.
  const user = Buffer.from(match[1], 'base64').toString('utf8').split(':')[0].trim()
  return user || undefined
}

function byteLength(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8')
}

/**
 * The index of the first batch item whose JSON is over {@link MAX_CALL_BYTES}, or -1. Serialising every item of every
 * batch cost more than parsing the body, so an item is serialised only when its size as sent could be over the limit
 * once serialised ({@link MAX_SERIALISED_PER_RAW_BYTE}); the answer is the same as serialising them all.
 *
 * @param items the body's `batch` array as parsed, each measured as the client sent it (not as the call made of it).
 */
function firstOversized(raw: Buffer, items: unknown[]): number {
  const mayExceed = (bytes: number) => bytes * MAX_SERIALISED_PER_RAW_BYTE > MAX_CALL_BYTES
  if (!mayExceed(raw.length)) return -1
  const sizes = batchCallSizes(raw)
  const known = sizes !== undefined && sizes.length === items.length
  return items.findIndex((item, index) => !(known && !mayExceed(sizes[index])) && byteLength(item) > MAX_CALL_BYTES)
}

/** A request refused as a whole; `events` are the calls its body held, when it parsed. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly body: { success: false; message: string; code?: string },
    readonly events?: RefusedRequest['events']
  ) {
    super(body.message)
  }
}

const failure = (message: string, events?: RefusedRequest['events']) =>
  new Refusal(400, { success: false, message }, events)

const text = (value: unknown) => (typeof value === 'string' ? value : undefined)

/** The messageId and type of each call a parsed body holds (a batch's items, or the one call). */
function eventsOf(body: unknown, single: string | undefined): RefusedRequest['events'] {
  if (!isObject(body)) return undefined
  const calls = single ? [{ ...body, type: single }] : Array.isArray(body.batch) ? body.batch : undefined
  return calls?.map((call) => {
    const item = isObject(call) ? call : {}
    return {
      ...(text(item.messageId) ? { messageId: text(item.messageId) } : {}),
      ...(text(item.type) ? { type: text(item.type) } : {})
    }
  })
}

function parsedOrUndefined(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8')) as unknown
  } catch {
    return undefined
  }
}

/** Builds the Tracking API's express app and its pipeline (not listening). */
export function createTrackingApi(options: TrackingApiOptions = {}): { app: express.Express; pipeline: Pipeline } {
  const pipeline = options.pipeline ?? new Pipeline(options)
  const configuredKey = options.writeKey?.trim() || undefined
  const app = express()
  app.disable('x-powered-by')
  app.use(loopbackHostOnly())
  if (options.log) {
    const log = options.log
    app.use((req, res, next) => {
      // The path as requested: inside `app.use('/v1', ...)` express strips the mount from `req.path`.
      res.once('finish', () => log(`[tracking] ${req.method} ${req.originalUrl.split('?', 1)[0]} ${res.statusCode}`))
      next()
    })
  }

  app.use(deliveryRoutes(pipeline))
  app.get('/v1/projects/:writeKey/settings', serveCdnSettings)

  // CORS for the intake: Segment's API is called from any site. Source for the headers: AN fetch-dispatcher.ts.
  app.use('/v1', (req, res, next) => {
    const origin = req.get('origin')
    if (origin) res.set('Access-Control-Allow-Origin', origin).vary('Origin')
    if (req.method !== 'OPTIONS') return next()
    res.set('Access-Control-Allow-Methods', 'POST, OPTIONS')
    res.set('Access-Control-Allow-Headers', req.get('access-control-request-headers') ?? 'content-type, authorization')
    res.set('Access-Control-Max-Age', '900')
    res.status(204).end()
  })

  // Any Content-Type: the body is read as bytes and parsed as JSON here, so text/plain works as on Segment's API.
  app.post('/v1/:kind', express.raw({ type: () => true, limit: 4 * MAX_BATCH_BYTES }), async (req, res) => {
    const kind = String(req.params.kind)
    const single = SINGLE_PATHS[kind]
    if (!single && !BATCH_PATHS.includes(kind)) {
      return void res.status(404).json({ success: false, message: `There is no route POST ${req.path}.` })
    }
    const receivedAt = new Date()
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
    const limit = single ? MAX_CALL_BYTES : MAX_BATCH_BYTES
    if (raw.length > limit) {
      throw failure(
        `Exceed payload limit: this ${single ? 'call' : 'batch'} is ${raw.length} bytes; the limit is ${limit} bytes.`,
        eventsOf(parsedOrUndefined(raw), single)
      )
    }
    let body: unknown
    try {
      body = JSON.parse(raw.toString('utf8'))
    } catch (error) {
      throw failure(`Invalid JSON: ${(error as Error).message}`)
    }
    if (!isObject(body)) throw failure('Invalid JSON: the body must be a JSON object.')
    const request = body as JSONObject
    const key = writeKeyOf(req, request)
    if (!key) throw new Refusal(400, INVALID_WRITE_KEY, eventsOf(request, single))

    let calls: JSONObject[]
    if (single) {
      calls = [{ ...request, type: single }]
    } else {
      if (!Array.isArray(request.batch)) throw failure('Invalid JSON: a batch needs a "batch" array of calls.')
      const items = request.batch
      calls = items.map((item) => (isObject(item) ? item : { type: item }))
      const big = firstOversized(raw, items)
      if (big !== -1) {
        // HTTP, "Max request size": "Segment's API responds with 400 Bad Request if these limits are exceeded", for
        // the whole request; the reason names the event so the user knows which one to shrink and which were lost.
        const events = eventsOf(request, single) ?? []
        const id = events[big].messageId
        const count = calls.length
        throw failure(
          `Exceed payload limit: batch[${big}]${id ? ` (messageId ${JSON.stringify(id)})` : ''} is ` +
            `${byteLength(items[big]).toLocaleString('en-US')} bytes, over Segment's 32 KB (${MAX_CALL_BYTES} bytes) ` +
            `per event: Segment refuses the whole batch with 400, so ` +
            (count === 1
              ? 'its one event was not accepted.'
              : `none of its ${count.toLocaleString('en-US')} events was accepted.`),
          events
        )
      }
    }
    const arrival = {
      receivedAt,
      batch: single ? undefined : request,
      ip: req.socket.remoteAddress?.replace(/^::ffff:/, ''),
      clientSide: CLIENT_PATHS.has(kind)
    }
    const at = receivedAtText(arrival)
    // Events answered 200 and dropped: the terminal says why (one line per reason), not only `POST ... 200`.
    const dropped: DeliveryRecord[] = []
    const drop = (record: DeliveryRecord | undefined) => void (record && dropped.push(record))
    if (calls.length === 0) {
      pipeline.refuseRequest(req.path, 200, 'empty_batch: the batch holds no calls.')
    } else if (configuredKey && key !== configuredKey) {
      const reason = 'Unknown write key: this source takes only the write key it was started with (--write-key).'
      for (const call of calls) drop(pipeline.refuseAtIngest(call, { code: 'invalid_write_key', reason }, at))
    } else if (calls.length > MAX_BATCH_EVENTS) {
      const reason = `The batch holds ${calls.length} events; Segment takes at most ${MAX_BATCH_EVENTS} per batch and drops the whole batch.`
      for (const call of calls) drop(pipeline.refuseAtIngest(call, { code: 'batch_too_large', reason }, at))
    } else {
      for (const call of calls) drop(pipeline.ingest(call, arrival))
    }
    if (options.log) for (const line of droppedLines(req.path, dropped)) options.log(line)
    // 200 only once the accepted events are on disk (the journal); else a 5xx, which the libraries retry.
    const unsaved = await pipeline.journal?.commit().then(
      () => undefined,
      (error: Error) => error
    )
    if (unsaved) return void res.status(503).json({ success: false, message: `Journal: ${unsaved.message}` })
    res.json({ success: true })
  })

  // Segment answers a GET on its intake "malformed JSON" with 400 (observed live), not 405.
  app.all('/v1/:kind', (_req, _res) => {
    throw failure('malformed JSON')
  })

  app.use(
    (req, res) => void res.status(404).json({ success: false, message: `There is no route ${req.method} ${req.path}.` })
  )

  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const err = error as { type?: string; status?: number; message?: string }
    let refusal: Refusal
    if (error instanceof Refusal) refusal = error
    else if (err?.type === 'entity.too.large') refusal = failure('Exceed payload limit')
    else
      refusal = new Refusal(err?.status && err.status < 500 ? err.status : 400, {
        success: false,
        message: String(err?.message)
      })
    pipeline.refuseRequest(req.path, refusal.status, refusal.body.message, refusal.events)
    res.status(refusal.status).json(refusal.body)
  })

  return { app, pipeline }
}

/** A running Tracking API. */
export interface RunningTrackingApi extends LoopbackServer {
  pipeline: Pipeline
  /** The journal, when `journalDir` was given. */
  journal?: Journal
  /**
   * Stops taking calls, delivers everything buffered (retries included), logs the final outcomes per action
   * ({@link Pipeline.close}), then stops listening.
   */
  close: () => Promise<void>
}

/**
 * Starts the Tracking API on 127.0.0.1:`port` (0 picks a free one).
 *
 * @throws the listen error (e.g. `EADDRINUSE`), or Error for a configuration {@link Pipeline} refuses.
 */
export async function startTrackingApi(port: number, options: TrackingApiOptions = {}): Promise<RunningTrackingApi> {
  const { app, pipeline } = createTrackingApi(options)
  // Attached before the port takes calls: no 200 goes out before its events are on disk.
  const journal = options.journalDir ? Journal.open(options.journalDir) : undefined
  if (journal) pipeline.journal = journal
  const server = await listenOnLoopback(app, port).catch((error: unknown) => {
    journal?.abandon()
    throw error
  })
  if (journal) replayJournal(journal, pipeline, options.log)
  return {
    ...server,
    pipeline,
    journal,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.server.close(() => resolve()))
      server.server.closeIdleConnections()
      await pipeline.close()
      journal?.close()
      server.server.closeAllConnections()
      await closed
    }
  }
}
