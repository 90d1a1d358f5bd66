import { isObject } from '@segment/actions-core'
import express from 'express'
import type { NextFunction, Request, Response } from 'express'
import { BadRequest, cleanMessage, createHarness, isStackOverflow, redactAnswer, sentence } from '../harness'
import { checkPublicKey, failureReason, isExpectedFailure, STACK_OVERFLOW_MESSAGE, toErrorOutput } from '../harness'
import type { ErrorOutput, Harness, RunAnswer, Settings } from '../harness'
import { isAllowedOrigin, listenOnLoopback, loopbackHostOnly } from '../lib/loopback'
import type { LoopbackServer } from '../lib/loopback'
import { DELETE_BODY_KEYS, unknownKeys, unknownKeysSentence } from '../lib/body-keys'
import {
  bodyHelp,
  missingPublicKey,
  publicKeysOf,
  readActionRequest,
  readAuthSettings,
  readDeleteRequest,
  settingKeys
} from './read-request'
import { testerRoutes } from './tester'
import type { DeliveriesSource } from './tester'

/**
 * The local development server, compatible with actions-cli's (`./bin/run serve` in the action-destinations
 * monorepo), so the Actions Tester and partners' curl commands work unchanged. Routes and answer shapes learned from
 * segmentio/action-destinations, packages/cli/src/lib/server.ts:
 *
 * - `GET /manifest` -> the destination definition (JSON) plus `directoryName`.
 * - `POST /authenticate` with the settings as the body (or `{ settings }`) -> `{ ok, error?, fields? }`.
 * - `POST /refreshAccessToken` with `{ settings }` -> `{ ok: true, data }`, or 400 `{ ok: false, error }`; for this
 *   destination, which has no OAuth, always the framework's 400.
 * - `POST /delete` (only for a destination with `onDelete`, as actions-cli) with `{ payload: { userId, anonymousId },
 *   settings }` -> runs the framework's `onDelete`; answers the exchange with Koala (actions-cli answers `[]`: it
 *   never sees the request), or `[ErrorOutput]`.
 * - `POST /<action>` with `{ payload, settings, mapping?, auth?, features? }` -> the list of HTTP exchanges the
 *   request made ({@link Exchange}), or `[ErrorOutput]` when the action failed. Additions: `{ output }` when the action
 *   made no request (a skipped event), `{ multistatus }` for a batch (`payload` is an array).
 *
 * The server keeps the routes: reading and refusing bodies (read-request.ts), CORS, answers and their redaction. Running
 * the destination is the harness's (src/harness): it sends to the Koala sandbox or the URL the local tools were given,
 * refuses what actions-core 3.170 would crash on (an invalid mapping: 400 for the request; per event, a `null`
 * context or a value nested too deeply: 400 for that event alone, the rest of a batch still runs), runs each request
 * on a fresh `Destination` and reports its exchanges.
 *
 * Requests whose `Host` is not a loopback name get 403 (see `loopbackHostOnly`), against DNS rebinding.
 */

/** Options of {@link createServer}. */
export interface ServerOptions {
  /**
   * The destination to serve, redirected to where its requests go (default: Koala (Cloud) sending to Koala itself,
   * with the local tools' default timeout).
   */
  harness?: Harness
  /** `directoryName` in `GET /manifest`, as actions-cli reports it (default `koala-cloud`). */
  directoryName?: string
  /** Largest accepted request body, in bytes (default 5 MB: room for Segment's largest events, 1 MB properties). */
  bodyLimitBytes?: number
  /** Where the one line per request goes (default: nowhere). Lines never contain the Public Key. */
  log?: (line: string) => void
  /** The local Tracking API's URL and the delivery page a query asks for, for the tester (default: none). */
  deliveries?: DeliveriesSource
}

/** A running server: its URL, port, the `http.Server` and `close()`. */
export type RunningServer = LoopbackServer

/** Default body limit: 5 MB. */
export const DEFAULT_BODY_LIMIT_BYTES = 5 * 1024 * 1024

export { isAllowedOrigin }

/** One answer element the server adds to actions-cli's list, last: what the request held that was ignored. */
export interface WarningsElement {
  warnings: string[]
}

/** The answer of `POST /<action>`: the harness's run, and what the request held that was ignored. */
export type ActionAnswer = RunAnswer | [...RunAnswer, WarningsElement]

/** Answers JSON, indented and ending with a newline so curl output reads well in a terminal. */
function sendJson(res: Response, status: number, value: unknown): void {
  res
    .status(status)
    .type('application/json')
    .send(`${JSON.stringify(value, null, 2)}\n`)
}

/** The routes that answer `{ ok, error? }` rather than a list of exchanges. */
const OK_ROUTES = ['/authenticate', '/refreshAccessToken']

/** Sends a refusal in the shape of the route: `{ ok: false, error }` for {@link OK_ROUTES}, else `[ErrorOutput]`. */
function refuse(req: Request, res: Response, status: number, message: string): void {
  const text = redactAnswer(message, publicKeysOf(req.body))
  if (OK_ROUTES.includes(req.path)) {
    sendJson(res, status, { ok: false, error: text })
    return
  }
  const output: ErrorOutput = { statusCode: status, message: text, requestError: true }
  sendJson(res, status, [output])
}

/**
 * Builds the server's express app (not listening).
 *
 * @param options see {@link ServerOptions}.
 */
export function createServer(options: ServerOptions = {}): express.Express {
  const harness = options.harness ?? createHarness()
  const definition = harness.definition
  const directoryName = options.directoryName ?? 'koala-cloud'
  const limit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES
  const log = options.log
  /** An error output with the harness's hint about where the local tools sent the request, if it has one. */
  const withHint = (output: ErrorOutput, api: 'ingestion' | 'deletion'): ErrorOutput => {
    const hint = harness.hintFor(output.statusCode, output.message, api)
    return hint ? { ...output, message: `${output.message} ${hint}` } : output
  }
  // Built once for /manifest and the route list; each request runs on its own (see Harness.destination).
  const manifestDestination = harness.destination()
  const actionSlugs = Object.keys(manifestDestination.actions)
  const routes = [
    'GET /',
    'GET /manifest',
    'POST /authenticate',
    'POST /refreshAccessToken',
    ...(manifestDestination.onDelete ? ['POST /delete'] : []),
    ...actionSlugs.map((slug) => `POST /${slug}`)
  ]

  const app = express()
  app.disable('x-powered-by')

  // One line per request, once it is answered. Paths here never hold the key (it travels in the body).
  if (log) {
    app.use((req, res, next) => {
      const started = process.hrtime.bigint()
      res.once('finish', () => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6
        // An action's expected failure (see runAction) adds its one-line reason, already redacted.
        const reason = typeof res.locals.reason === 'string' ? ` - ${res.locals.reason}` : ''
        log(`[server] ${req.method} ${req.path} ${res.statusCode} ${Math.round(ms)} ms${reason}`)
      })
      next()
    })
  }

  // Only requests addressed to this machine by a loopback name: a page whose domain resolves to 127.0.0.1 (DNS
  // rebinding) would otherwise pass the CORS check below as a same-origin page.
  app.use(loopbackHostOnly(refuse))

  // CORS: only Segment's app and local pages; a request from any other page is refused outright, so a web page
  // cannot make this server call Koala with a simple (non-preflighted) request either.
  app.use((req, res, next) => {
    const origin = req.get('origin')
    if (!origin) return next()
    if (!isAllowedOrigin(origin)) {
      return refuse(req, res, 403, `Requests from the origin ${origin} are not allowed.`)
    }
    res.set('Access-Control-Allow-Origin', origin)
    res.vary('Origin')
    if (req.method === 'OPTIONS') {
      res.set('Access-Control-Allow-Methods', 'GET, POST, OPTIONS')
      res.set('Access-Control-Allow-Headers', 'Content-Type')
      res.set('Access-Control-Max-Age', '600')
      return void res.status(204).end()
    }
    next()
  })

  // POST bodies must be JSON; say so before parsing rather than silently seeing no body.
  app.use((req, res, next) => {
    if (req.method !== 'POST') return next()
    const hasBody = req.get('transfer-encoding') !== undefined || Number(req.get('content-length') ?? 0) > 0
    if (!hasBody) return next()
    if (!req.is('application/json')) {
      const help = bodyHelp(req.path)
      return refuse(req, res, 415, `The body must be JSON (Content-Type: application/json). ${help}`)
    }
    next()
  })
  app.use(express.json({ limit, strict: false }))

  app.use(testerRoutes(harness.targets.apiUrl, options.deliveries))

  app.get('/manifest', (_req, res) => {
    sendJson(res, 200, { ...manifestDestination.definition, directoryName })
  })

  app.post('/authenticate', async (req, res) => {
    const settings = readAuthSettings(req.body)
    const keys = publicKeysOf(req.body)
    if (settings.public_key === undefined) {
      // The framework's schema check would say "The root value is missing the required field 'public_key'".
      const message = missingPublicKey(req.body as Record<string, unknown>, settingKeys(definition))
      return sendJson(res, 200, redactAnswer({ ok: false, error: message, fields: { public_key: message } }, keys))
    }
    // The same check as an action's, so both routes refuse the same keys with the same message; the framework's
    // schema check would let a number through (converted to text), and names a missing key itself.
    if (settings.public_key !== undefined) {
      try {
        checkPublicKey(settings.public_key)
      } catch (error) {
        const message = (error as Error).message
        return sendJson(res, 200, redactAnswer({ ok: false, error: message, fields: { public_key: message } }, keys))
      }
    }
    try {
      // The framework validates the settings against the schema, then runs testAuthentication.
      await harness.testAuthentication(settings)
      sendJson(res, 200, { ok: true })
    } catch (error) {
      const output = toErrorOutput(error)
      sendJson(res, 200, redactAnswer({ ok: false, error: output.message, fields: output.fields ?? {} }, keys))
    }
  })

  app.post('/refreshAccessToken', async (req, res) => {
    const body: unknown = req.body
    const settings = isObject(body) && isObject(body.settings) ? body.settings : {}
    try {
      const data: unknown = await harness
        .destination()
        .refreshAccessToken(settings as unknown as Settings, (isObject(body) ? body : {}) as never)
      sendJson(res, 200, { ok: true, data })
    } catch (error) {
      sendJson(res, 400, redactAnswer({ ok: false, error: (error as Error).message }, publicKeysOf(body)))
    }
  })

  app.post('/delete', async (req, res, next) => {
    if (!definition.onDelete) return next()
    const { payload, settings } = readDeleteRequest(req.body)
    const keys = publicKeysOf(req.body)
    if (settings.public_key === undefined) {
      throw new BadRequest(
        400,
        missingPublicKey(req.body as Record<string, unknown>, settingKeys(definition), DELETE_BODY_KEYS)
      )
    }
    const strayKeys = unknownKeys(req.body, DELETE_BODY_KEYS)
    const straySettings = unknownKeys(settings, settingKeys(definition))
    const warnings = [
      ...(strayKeys.length
        ? [
            `${unknownKeysSentence(
              'The body',
              strayKeys,
              DELETE_BODY_KEYS,
              'which this server does not read; the body may have'
            )} Ignored, as actions-cli ignores it.`
          ]
        : []),
      ...(straySettings.length
        ? [
            unknownKeysSentence(
              '"settings"',
              straySettings,
              settingKeys(definition),
              'not a setting (ignored); the settings are'
            )
          ]
        : [])
    ]
    const withWarnings = (answer: unknown[]) => (warnings.length ? [...answer, { warnings }] : answer)
    try {
      const { exchanges, result } = await harness.deletePerson(payload, settings)
      const answer = exchanges.length > 0 ? exchanges : [{ output: result ?? null }]
      sendJson(res, 200, redactAnswer(withWarnings(answer), keys))
    } catch (error) {
      const output = withHint(toErrorOutput(error), 'deletion')
      if (isExpectedFailure(error, output)) res.locals.reason = redactAnswer(failureReason(error, output), keys)
      else log?.(`[server] POST /delete failed: ${redactAnswer((error as Error)?.stack ?? String(error), keys)}`)
      sendJson(res, 200, redactAnswer(withWarnings([output]), keys))
    }
  })

  app.post('/:action', async (req, res, next) => {
    const slug = String(req.params.action)
    if (!actionSlugs.includes(slug)) return next()
    const input = readActionRequest(req.body, {
      settings: settingKeys(definition),
      fields: Object.keys(definition.actions[slug].fields),
      action: slug
    })
    const keys = publicKeysOf(req.body)
    const { warnings, ...run } = input
    const ran = await harness.runAction(
      slug,
      run,
      log && ((line) => log(redactAnswer(line, keys))),
      (reason) => void (res.locals.reason = redactAnswer(reason, keys))
    )
    const withHints = ran.map((element) => ('statusCode' in element ? withHint(element, 'ingestion') : element))
    const answer: ActionAnswer = warnings.length
      ? [...(withHints as RunAnswer), { warnings }]
      : (withHints as RunAnswer)
    sendJson(res, 200, redactAnswer(answer, keys))
  })

  app.use((req, res) => {
    const known = routes.some((route) => route.endsWith(` ${req.path}`))
    if (known) return refuse(req, res, 405, `${req.method} is not supported here. Routes: ${routes.join(', ')}.`)
    refuse(req, res, 404, `There is no route ${req.method} ${req.path}. Routes: ${routes.join(', ')}.`)
  })

  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const err = error as { status?: number; type?: string; message?: string }
    if (error instanceof BadRequest) return refuse(req, res, error.status, error.message)
    const help = bodyHelp(req.path)
    if (err?.type === 'entity.too.large') {
      return refuse(req, res, 413, `The request body is larger than the ${formatBytes(limit)} this server accepts.`)
    }
    if (err?.type === 'entity.parse.failed') {
      return refuse(req, res, 400, `The body is not valid JSON (${err.message ?? 'parse error'}). ${help}`)
    }
    if (err?.type === 'charset.unsupported') {
      return refuse(req, res, 415, `${sentence(err.message ?? 'Unsupported charset')} Send the body as UTF-8. ${help}`)
    }
    const encoding = req.get('content-encoding')
    if (err?.type === undefined && err?.status === 400 && encoding && encoding.toLowerCase() !== 'identity') {
      // A zlib error while inflating the body ("Decompression failed", "incorrect header check").
      const reason = cleanMessage(err.message ?? 'invalid data')
      return refuse(
        req,
        res,
        400,
        `The body could not be decompressed as Content-Encoding ${encoding}: ${sentence(reason)} ${help}`
      )
    }
    if (typeof err?.status === 'number' && err.status >= 400 && err.status < 500) {
      return refuse(req, res, err.status, `${sentence(cleanMessage(err.message ?? 'Bad request'))} ${help}`)
    }
    if (isStackOverflow(error)) return refuse(req, res, 400, STACK_OVERFLOW_MESSAGE)
    const keys = publicKeysOf(req.body)
    const message = redactAnswer(cleanMessage(err?.message ?? String(error)), keys)
    log?.(`[server] ${req.method} ${req.path} failed: ${redactAnswer((error as Error)?.stack ?? message, keys)}`)
    refuse(req, res, 500, `The server failed to handle this request: ${sentence(message)}`)
  })

  return app
}

function formatBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MB` : `${bytes} bytes`
}

/**
 * Starts the server on 127.0.0.1 (never another interface: it sends data with the key it is given).
 *
 * @param port the port; 0 picks a free one.
 * @param options see {@link ServerOptions}.
 * @returns the running server; `close()` stops it.
 * @throws the listen error (e.g. `EADDRINUSE`) when the port is taken.
 */
export async function startServer(port: number, options: ServerOptions = {}): Promise<RunningServer> {
  return listenOnLoopback(createServer(options), port)
}
