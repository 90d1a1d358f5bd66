import { defaultValues, Destination, isObject } from '@segment/actions-core'
import type {
  DecoratedResponse,
  DestinationDefinition,
  InputField,
  JSONObject,
  SegmentEvent
} from '@segment/actions-core'
import express from 'express'
import type { NextFunction, Request, Response } from 'express'
import koalaCloud from '../destinations/koala-cloud'
import { listenOnLoopback, loopbackHostOnly } from '../lib/loopback'
import type { LoopbackServer } from '../lib/loopback'
import { checkPublicKey } from '../destinations/koala-cloud/config'
import { MAX_BATCH_SIZE } from '../destinations/koala-cloud/fields'
import type { Settings } from '../destinations/koala-cloud/generated-types'
import {
  enableBatchingOf,
  findTooDeep,
  mappingProblem,
  mappingShapeProblem,
  STACK_OVERFLOW_MESSAGE,
  tooDeepMessage,
  unprocessableEvent
} from './event-checks'
import { ACTION_BODY_KEYS, DELETE_BODY_KEYS, unknownKeys, unknownKeysSentence } from './body-keys'
import { testerRoutes } from './tester'
import { cleanMessage, isStackOverflow, redactAnswer, sentence, toErrorOutput, toExchanges } from './exchanges'
import type { ErrorOutput, Exchange } from './exchanges'

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
 * Before the framework runs, the server refuses what actions-core 3.170 would crash on (see `event-checks.ts`): an
 * invalid mapping (400 for the request) and, per event, a `null` context or a value nested too deeply (400 for that
 * event alone; the rest of a batch still runs).
 *
 * Requests whose `Host` is not a loopback name get 403 (see `loopbackHostOnly`), against DNS rebinding.
 *
 * Every request runs on a fresh `Destination`: the framework's `Destination` keeps every response it ever saw in
 * `destination.responses`, so a shared one would mix concurrent requests' exchanges and grow without bound.
 */

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** The destination to serve (default: Koala (Cloud)). */
  definition?: DestinationDefinition<Settings>
  /** `directoryName` in `GET /manifest`, as actions-cli reports it (default `koala-cloud`). */
  directoryName?: string
  /** Largest accepted request body, in bytes (default 5 MB: room for Segment's largest events, 1 MB properties). */
  bodyLimitBytes?: number
  /** Where the one line per request goes (default: nowhere). Lines never contain the Public Key. */
  log?: (line: string) => void
  /** The local Tracking API's URL and delivery view, for the tester's Event Delivery section (default: none). */
  deliveries?: () => { url: string; data: unknown }
}

/** A running server: its URL, port, the `http.Server` and `close()`. */
export type RunningServer = LoopbackServer

/** Default body limit: 5 MB. */
export const DEFAULT_BODY_LIMIT_BYTES = 5 * 1024 * 1024

/**
 * Origins allowed to call the server from a browser: Segment's app (where the Actions Tester runs, in its US and EU
 * workspaces, production and staging) and any page served from this machine. Source: the origin list of
 * actions-cli's server.
 */
const ALLOWED_ORIGINS = [
  /^https:\/\/(eu1\.)?app\.segment\.(com|build)$/,
  /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/
]

/** Whether a browser page at `origin` may call this server. */
export function isAllowedOrigin(origin: string): boolean {
  return ALLOWED_ORIGINS.some((pattern) => pattern.test(origin))
}

const ACTION_BODY_HELP =
  'Send a JSON object: {"payload": <a Segment event, or an array of events for a batch>, ' +
  '"settings": {"public_key": "<your Koala Public Key>"}, "mapping": <optional, merged over the defaults>}, ' +
  'with Content-Type: application/json.'

const AUTH_BODY_HELP =
  'Send the settings as a JSON object: {"public_key": "<your Koala Public Key>"} (or {"settings": {...}}), ' +
  'with Content-Type: application/json.'

const REFRESH_BODY_HELP =
  'Send a JSON object: {"settings": {"public_key": "<your Koala Public Key>"}}, with Content-Type: application/json.'

const DELETE_BODY_HELP =
  'Send a JSON object: {"payload": {"userId": "<the email of the person to delete>", "anonymousId": "..."}, ' +
  '"settings": {"public_key": "<your Koala Public Key>", "secret_key": "<your Koala Secret Key>"}}, with ' +
  'Content-Type: application/json.'

/** The hint that ends a refusal of a request to `path`: what that route takes. */
function bodyHelp(path: string): string {
  if (path === '/authenticate') return AUTH_BODY_HELP
  if (path === '/delete') return DELETE_BODY_HELP
  return path === '/refreshAccessToken' ? REFRESH_BODY_HELP : ACTION_BODY_HELP
}

/** The refusal of an array `payload` whose mapping sets `enable_batching: false`. */
export const BATCHING_OFF =
  'Batching is off in the mapping ("enable_batching": false), so Segment would never send these events as a batch: ' +
  'send one event per request (an object "payload"), or set "enable_batching": true in the mapping.'

/** A request the server refuses before running anything; answered with its status. */
class BadRequest extends Error {
  constructor(readonly status: number, message: string) {
    super(message)
  }
}

/** {@link enableBatchingOf}, its refusal a 400. */
function batchingOf(value: unknown): boolean | undefined {
  try {
    return enableBatchingOf(value)
  } catch (error) {
    throw new BadRequest(400, (error as Error).message)
  }
}

// The framework's schema check (ajv-human-errors) names a required field that has no value by its key only.
const MISSING_FIELD = /^The root value is missing the required field '([^']+)'\.$/

/**
 * `message` with, for each required field the framework's schema check found without a value, a sentence naming the
 * field's label and the fix: the framework drops empty text before that check when it runs one event, so an empty
 * messageId reads as a missing field. E.g. `The root value is missing the required field 'message_id'. The MessageId
 * field (message_id) has no value in this event (empty text counts as none): map it to $.messageId, its default, or
 * to where your events carry it.`
 *
 * @param missing the keys the check named (from its `fields`, or the message itself).
 */
function withFieldHints(message: string, missing: string[], fields: Record<string, InputField>): string {
  const hints = missing.flatMap((key) => {
    const field = fields[key]
    if (!field) return []
    const path = isObject(field.default) ? field.default['@path'] : undefined
    const fix =
      typeof path === 'string'
        ? `map it to ${path}, its default, or to where your events carry it`
        : 'map it to where your events carry it'
    return [`The ${field.label} field (${key}) has no value in this event (empty text counts as none): ${fix}.`]
  })
  return hints.length ? `${message} ${hints.join(' ')}` : message
}

/** The keys of the required fields an error output of the framework's schema check says have no value. */
function missingFields(output: ErrorOutput): string[] {
  return Object.values(output.fields ?? {}).flatMap((text) => MISSING_FIELD.exec(text)?.[1] ?? [])
}

/** One per-event status of a batch, as the framework's `executeBatch` returns them. */
export type MultistatusNode = Awaited<ReturnType<Destination<Settings>['executeBatch']>>[number]

/** What a valid action request carries. */
interface ActionRequest {
  payload: JSONObject | JSONObject[]
  settings: Settings
  mapping: JSONObject
  auth?: JSONObject
  features?: Record<string, boolean>
  /** What the request holds that the server ignores (see body-keys.ts), for the answer. */
  warnings: string[]
}

/** What {@link readActionRequest} checks keys against: the destination's settings and the action's fields. */
interface KnownKeys {
  settings: string[]
  fields: string[]
  action: string
}

/** The keys of the destination's settings (`public_key`, `secret_key`). */
function settingKeys(definition: DestinationDefinition<Settings>): string[] {
  return Object.keys(definition.authentication?.fields ?? {})
}

/**
 * The refusal of a request without `settings.public_key`, naming where it goes and, when the body or its settings
 * hold keys that are not theirs (`setting`, `publicKey`), those keys and the valid ones.
 *
 * @param bodyKeys the keys the body may have; `undefined` when the body is the settings (`/authenticate`).
 */
function missingPublicKey(body: Record<string, unknown>, known: string[], bodyKeys?: string[]): string {
  const parts: string[] = []
  if (bodyKeys) {
    parts.push(
      '"settings.public_key" is missing: put your Koala Public Key there (Koala: Settings > Install), as ' +
        '{"settings": {"public_key": "<your Koala Public Key>"}}.'
    )
    const straySettings = unknownKeys(body.settings, known)
    if (straySettings.length) {
      parts.push(
        unknownKeysSentence('"settings"', straySettings, known, 'not a setting of this destination; its settings are')
      )
    }
    const stray = unknownKeys(body, bodyKeys)
    if (stray.length) {
      parts.push(unknownKeysSentence('The body', stray, bodyKeys, 'which this server does not read; the body may have'))
    }
  } else {
    parts.push(
      '"public_key" is missing: put your Koala Public Key there (Koala: Settings > Install), as ' +
        '{"public_key": "<your Koala Public Key>"} or {"settings": {"public_key": "<your Koala Public Key>"}}.'
    )
    // /authenticate takes the settings as the body or under "settings".
    const nested = isObject(body.settings)
    const valid = nested ? known : [...known, 'settings']
    const stray = unknownKeys(nested ? body.settings : body, valid)
    if (stray.length) {
      const where = nested ? '"settings"' : 'The body'
      const what = nested ? 'not a setting of this destination; its settings are' : 'not a setting; the body may have'
      parts.push(unknownKeysSentence(where, stray, valid, what))
    }
  }
  return parts.join(' ')
}

/**
 * Checks the body of `POST /<action>` and the Public Key in it (the framework does not validate settings when an
 * action is executed directly).
 *
 * @throws BadRequest (400) naming what is wrong and what to send.
 */
function readActionRequest(body: unknown, known: KnownKeys): ActionRequest {
  if (body === undefined) throw new BadRequest(400, `The request has no body. ${ACTION_BODY_HELP}`)
  if (!isObject(body)) {
    throw new BadRequest(400, `The body is ${Array.isArray(body) ? 'an array' : 'not an object'}. ${ACTION_BODY_HELP}`)
  }
  const { payload, settings, mapping, auth, features } = body
  const strayKeys = unknownKeys(body, ACTION_BODY_KEYS)
  const stray = strayKeys.length
    ? unknownKeysSentence('The body', strayKeys, ACTION_BODY_KEYS, 'which this server does not read; the body may have')
    : undefined
  if (payload === undefined || payload === null) {
    throw new BadRequest(400, `"payload" is missing.${stray ? ` ${stray}` : ''} ${ACTION_BODY_HELP}`)
  }
  if (Array.isArray(payload)) {
    if (payload.length === 0) throw new BadRequest(400, `"payload" is an empty array. ${ACTION_BODY_HELP}`)
    if (payload.length > MAX_BATCH_SIZE) {
      throw new BadRequest(
        400,
        `"payload" has ${payload.length} events; a batch holds at most ${MAX_BATCH_SIZE}, as Segment sends them.`
      )
    }
    const bad = payload.findIndex((event) => !isObject(event))
    if (bad !== -1) throw new BadRequest(400, `"payload[${bad}]" is not an object: each must be a Segment event.`)
  } else if (!isObject(payload)) {
    throw new BadRequest(400, `"payload" must be a Segment event (an object) or an array of them. ${ACTION_BODY_HELP}`)
  }
  for (const [name, value] of Object.entries({ settings, mapping, auth, features })) {
    if (value !== undefined && value !== null && !isObject(value)) {
      throw new BadRequest(400, `"${name}" must be an object. ${ACTION_BODY_HELP}`)
    }
    // Events are checked one by one (see runAction); these parts belong to the whole request.
    const tooDeep = findTooDeep(value)
    if (tooDeep) throw new BadRequest(400, tooDeepMessage(`"${name}"`, tooDeep))
  }
  const settingsObject = isObject(settings) ? settings : {}
  if (settingsObject.public_key === undefined) {
    throw new BadRequest(400, missingPublicKey(body, known.settings, ACTION_BODY_KEYS))
  }
  try {
    checkPublicKey(settingsObject.public_key)
  } catch (error) {
    throw new BadRequest(400, (error as Error).message)
  }
  const strayFields = unknownKeys(mapping, known.fields)
  const straySettings = unknownKeys(settingsObject, known.settings)
  const warnings = [
    ...(stray ? [`${stray} Ignored, as actions-cli ignores it.`] : []),
    ...(strayFields.length
      ? [
          unknownKeysSentence(
            '"mapping"',
            strayFields,
            known.fields,
            `not a field of the ${known.action} action (ignored: each field keeps its default); its fields are`
          )
        ]
      : []),
    ...(straySettings.length
      ? [unknownKeysSentence('"settings"', straySettings, known.settings, 'not a setting (ignored); the settings are')]
      : [])
  ]
  return {
    payload: payload as JSONObject | JSONObject[],
    settings: settingsObject as unknown as Settings,
    mapping: (mapping ?? {}) as JSONObject,
    auth: (auth ?? undefined) as JSONObject | undefined,
    features: (features ?? undefined) as Record<string, boolean> | undefined,
    warnings
  }
}

/** One answer element the server adds to actions-cli's list, last: what the request held that was ignored. */
export interface WarningsElement {
  warnings: string[]
}

/** One answer element the server adds to actions-cli's list: what the action returned without making a request. */
export interface OutputElement {
  output: unknown
}

/** One answer element the server adds to actions-cli's list: the batch's per-event statuses, in payload order. */
export interface MultistatusElement {
  multistatus: MultistatusNode[]
}

/** The answer of `POST /<action>`. */
export type ActionAnswer =
  | (Exchange | OutputElement | MultistatusElement | WarningsElement)[]
  | [ErrorOutput]
  | [ErrorOutput, WarningsElement]

/** The multistatus entry of an event refused before the framework ran: the shape of the framework's own 400s. */
function refusedNode(message: string): MultistatusNode {
  return {
    status: 400,
    errortype: 'PAYLOAD_VALIDATION_FAILED',
    errormessage: message,
    errorreporter: 'INTEGRATIONS'
  } as MultistatusNode
}

/**
 * Runs one action request on a fresh `Destination` and collects its exchanges.
 *
 * @param log receives the stack trace of an unexpected failure (an error without a status).
 * @param note receives the one-line reason of an expected failure (one of the framework's errors).
 * @returns the answer, not yet redacted.
 * @throws BadRequest (400) when `mapping` has a directive at its top, when `enable_batching` is not a boolean the
 *   framework would read, when an array payload comes with `enable_batching` false (or `"false"`), or when the merged
 *   mapping is not valid.
 */
async function runAction(
  definition: DestinationDefinition<Settings>,
  slug: string,
  input: ActionRequest,
  log?: (line: string) => void,
  note?: (reason: string) => void
): Promise<ActionAnswer> {
  const shape = mappingShapeProblem(input.mapping)
  if (shape) throw new BadRequest(400, shape)
  const destination = new Destination<Settings>(definition)
  const action = destination.actions[slug]
  // The mapping a user gives replaces the defaults field by field, as in actions-cli.
  const mapping = { ...defaultValues(action.definition.fields), ...input.mapping }
  // Segment hands an action a batch only when its mapping enables batching; otherwise it sends events one by one.
  if (batchingOf(mapping.enable_batching) === false && Array.isArray(input.payload)) {
    throw new BadRequest(400, BATCHING_OFF)
  }
  // mapping-kit would refuse it inside the action with a stack trace for a message; say what is wrong instead.
  const problem = mappingProblem(mapping)
  if (problem) throw new BadRequest(400, problem)
  const auth = input.auth as Parameters<typeof action.execute>[0]['auth']
  try {
    if (Array.isArray(input.payload)) {
      // Events the framework would crash on fail alone; the others run as one batch, and each status goes back to
      // its event's index.
      const refused = input.payload.map((event) => unprocessableEvent(event))
      const runnable = input.payload.filter((_, index) => refused[index] === undefined)
      const ran = runnable.length
        ? await action.executeBatch({
            data: runnable,
            settings: input.settings,
            mapping,
            auth,
            features: input.features
          })
        : []
      let next = 0
      const multistatus = refused.map((message) => {
        if (message !== undefined) return refusedNode(message)
        const node = ran[next++] as MultistatusNode & { errormessage?: unknown }
        const missing = typeof node.errormessage === 'string' ? MISSING_FIELD.exec(node.errormessage)?.[1] : undefined
        if (!missing) return node
        return {
          ...node,
          errormessage: withFieldHints(node.errormessage as string, [missing], action.definition.fields)
        }
      })
      return [...(await toExchanges(destination.responses)), { multistatus }]
    }
    const refused = unprocessableEvent(input.payload)
    if (refused !== undefined) return [{ statusCode: 400, message: refused, requestError: true }]
    const results = await action.execute({
      data: input.payload,
      settings: input.settings,
      mapping,
      auth,
      features: input.features
    })
    const exchanges = await toExchanges(destination.responses)
    if (exchanges.length > 0) return exchanges
    // No request was made: show what the action returned instead (a skipped event says why).
    return [{ output: results[results.length - 1]?.data ?? null }]
  } catch (error) {
    const found = toErrorOutput(error)
    const output = { ...found, message: withFieldHints(found.message, missingFields(found), action.definition.fields) }
    if (isExpectedFailure(error, output)) {
      // One of the framework's error classes (Koala's 500, a refused event, …): an outcome the answer reports, not a
      // fault of the server, so the request's log line gets a one-line reason and no stack trace.
      note?.(failureReason(error, output))
    } else {
      // The answer holds no stack trace; the terminal running the server gets one (keys redacted by the caller's log).
      log?.(`[server] POST /${slug} failed: ${(error as Error)?.stack ?? String(error)}`)
    }
    return [output]
  } finally {
    destination.responses.length = 0
  }
}

/**
 * Whether an action's failure is an outcome rather than a fault of the server: an error carrying a numeric `status`
 * (the framework's PayloadValidationError, RetryableError, InvalidAuthenticationError, IntegrationError, …), or one
 * {@link toErrorOutput} maps to a 4xx (the framework's schema validation, a stack overflow on a too deeply nested
 * value).
 */
function isExpectedFailure(error: unknown, output: ErrorOutput): boolean {
  return typeof (error as { status?: unknown })?.status === 'number' || output.statusCode < 500
}

/** Longest reason appended to a request's log line, in characters. */
const MAX_LOGGED_REASON = 600

/** One line saying why an action failed, e.g. `RetryableError 500: Koala could not …`, cut to 600 characters. */
function failureReason(error: unknown, output: ErrorOutput): string {
  const name = (error as { name?: unknown })?.name
  const line = `${typeof name === 'string' && name ? `${name} ` : ''}${output.statusCode}: ${cleanMessage(
    output.message
  )}`
  return line.length > MAX_LOGGED_REASON ? `${line.slice(0, MAX_LOGGED_REASON - 1)}…` : line
}

/** The settings in a request body: its `settings` object, else the body itself (as actions-cli sends them to /authenticate). */
function settingsIn(body: Record<string, unknown>): Record<string, unknown> {
  return isObject(body.settings) ? body.settings : body
}

/** The settings of `POST /authenticate`: the body itself, as actions-cli sends it, or its `settings`. */
function readAuthSettings(body: unknown): Settings {
  if (body === undefined) throw new BadRequest(400, `The request has no body. ${AUTH_BODY_HELP}`)
  if (!isObject(body)) {
    throw new BadRequest(400, `The body is ${Array.isArray(body) ? 'an array' : 'not an object'}. ${AUTH_BODY_HELP}`)
  }
  return settingsIn(body) as unknown as Settings
}

/** The Public Key and Secret Key of a request body, as given and trimmed (the destination trims them), for redaction. */
function publicKeysOf(body: unknown): string[] {
  if (!isObject(body)) return []
  const settings = settingsIn(body)
  return [settings.public_key, settings.secret_key].flatMap((key) => (typeof key === 'string' ? [key, key.trim()] : []))
}

/**
 * Checks the body of `POST /delete`.
 *
 * @returns the deletion request (an event with `userId` and `anonymousId`) and the settings.
 * @throws BadRequest (400) naming what is wrong and what to send.
 */
function readDeleteRequest(body: unknown): { payload: JSONObject; settings: JSONObject } {
  if (body === undefined) throw new BadRequest(400, `The request has no body. ${DELETE_BODY_HELP}`)
  if (!isObject(body)) {
    throw new BadRequest(400, `The body is ${Array.isArray(body) ? 'an array' : 'not an object'}. ${DELETE_BODY_HELP}`)
  }
  const { payload, settings } = body
  if (!isObject(payload)) {
    throw new BadRequest(400, `"payload" must be an object with the userId to delete. ${DELETE_BODY_HELP}`)
  }
  if (settings !== undefined && !isObject(settings)) {
    throw new BadRequest(400, `"settings" must be an object. ${DELETE_BODY_HELP}`)
  }
  return { payload: payload as JSONObject, settings: (settings ?? {}) as JSONObject }
}

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

type RequestOptions = ReturnType<NonNullable<DestinationDefinition<Settings>['extendRequest']>>
type AfterResponse = (request: Request, options: unknown, response: Response) => Response

/**
 * `definition` with every response of a request made outside an action (onDelete's) added to `responses`, decorated
 * as the framework decorates an action's (`request`, `options`), so {@link toExchanges} can show it: the framework
 * records only actions' requests.
 */
function recording(
  definition: DestinationDefinition<Settings>,
  responses: DecoratedResponse[]
): DestinationDefinition<Settings> {
  return {
    ...definition,
    extendRequest: (data) => {
      // The request client takes `afterResponse` hooks from here (actions-core merges them in), though the
      // extension's type does not name them.
      const options = (definition.extendRequest?.(data) ?? {}) as RequestOptions & { afterResponse?: AfterResponse[] }
      const record: AfterResponse = (request, requestOptions, response) => {
        const decorated = Object.assign(response, { request, options: requestOptions }) as unknown as DecoratedResponse
        responses.push(decorated)
        return response
      }
      return { ...options, afterResponse: [...(options.afterResponse ?? []), record] }
    }
  }
}

/**
 * Builds the server's express app (not listening).
 *
 * @param options see {@link ServerOptions}.
 */
export function createServer(options: ServerOptions = {}): express.Express {
  const definition = options.definition ?? koalaCloud
  const directoryName = options.directoryName ?? 'koala-cloud'
  const limit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES
  const log = options.log
  // Built once for /manifest and the route list; action requests get their own (see runAction).
  const manifestDestination = new Destination<Settings>(definition)
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

  app.use(testerRoutes(options.deliveries))

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
      await new Destination<Settings>(definition).testAuthentication(settings)
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
      const data: unknown = await new Destination<Settings>(definition).refreshAccessToken(
        settings as unknown as Settings,
        (isObject(body) ? body : {}) as never
      )
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
    const responses: DecoratedResponse[] = []
    const destination = new Destination<Settings>(recording(definition, responses))
    try {
      const result: unknown = await destination.onDelete?.(payload as unknown as SegmentEvent, settings)
      const exchanges = await toExchanges(responses)
      const answer = exchanges.length > 0 ? exchanges : [{ output: result ?? null }]
      sendJson(res, 200, redactAnswer(withWarnings(answer), keys))
    } catch (error) {
      const output = toErrorOutput(error)
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
    const ran = await runAction(
      definition,
      slug,
      input,
      log && ((line) => log(redactAnswer(line, keys))),
      (reason) => void (res.locals.reason = redactAnswer(reason, keys))
    )
    const answer = input.warnings.length ? [...ran, { warnings: input.warnings }] : ran
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
