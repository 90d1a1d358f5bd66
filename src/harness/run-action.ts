import { defaultValues, Destination, isObject } from '@segment/actions-core'
import type { InputField, JSONObject } from '@segment/actions-core'
import type { Settings } from '../destinations/koala-cloud/generated-types'
import { enableBatchingOf, mappingProblem, mappingShapeProblem, unprocessableEvent } from './event-checks'
import { cleanMessage, toErrorOutput, toExchanges } from './exchanges'
import type { ErrorOutput, Exchange } from './exchanges'

/**
 * Running one action of the destination on one request's input, as actions-cli's local server does: the mapping
 * merged over the action's defaults, the checks of event-checks.ts first (what actions-core 3.170 would crash on),
 * then the framework's `execute` (one event) or `executeBatch` (an array), on a fresh `Destination`, and the HTTP
 * exchanges the run made.
 */

/** Refused before the destination runs, with the HTTP status the local tools answer it with. */
export class BadRequest extends Error {
  constructor(readonly status: number, message: string) {
    super(message)
  }
}

/** The refusal of an array `payload` whose mapping sets `enable_batching: false`. */
export const BATCHING_OFF =
  'Batching is off in the mapping ("enable_batching": false), so Segment would never send these events as a batch: ' +
  'send one event per request (an object "payload"), or set "enable_batching": true in the mapping.'

/** What one run of an action takes: actions-cli's `{ payload, settings, mapping, auth, features }`. */
export interface ActionInput {
  payload: JSONObject | JSONObject[]
  settings: Settings
  mapping: JSONObject
  auth?: JSONObject
  features?: Record<string, boolean>
}

/** One per-event status of a batch, as the framework's `executeBatch` returns them. */
export type MultistatusNode = Awaited<ReturnType<Destination<Settings>['executeBatch']>>[number]

/** One answer element added to actions-cli's list: what the action returned without making a request. */
export interface OutputElement {
  output: unknown
}

/** One answer element added to actions-cli's list: the batch's per-event statuses, in payload order. */
export interface MultistatusElement {
  multistatus: MultistatusNode[]
}

/**
 * What a run of an action gives: the exchanges (then a batch's statuses, or the output of a run without one), or the
 * failure followed by the exchanges made before it (Koala's refusal among them).
 */
export type RunAnswer = (Exchange | OutputElement | MultistatusElement)[] | [ErrorOutput, ...Exchange[]]

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
 * Runs one action on `destination` (fresh for this run: the framework keeps every response it sees in
 * `destination.responses`, which become the run's exchanges) and collects its exchanges.
 *
 * @param log receives the stack trace of an unexpected failure (an error without a status).
 * @param note receives the one-line reason of an expected failure (one of the framework's errors).
 * @returns the answer, not yet redacted.
 * @throws BadRequest (400) when `mapping` has a directive at its top, when `enable_batching` is not a boolean the
 *   framework would read, when an array payload comes with `enable_batching` false (or `"false"`), or when the merged
 *   mapping is not valid.
 */
export async function runAction(
  destination: Destination<Settings>,
  slug: string,
  input: ActionInput,
  log?: (line: string) => void,
  note?: (reason: string) => void
): Promise<RunAnswer> {
  const shape = mappingShapeProblem(input.mapping)
  if (shape) throw new BadRequest(400, shape)
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
      // fault of the tool, so the request's log line gets a one-line reason and no stack trace.
      note?.(failureReason(error, output))
    } else {
      // The answer holds no stack trace; the terminal running the tool gets one (keys redacted by the caller's log).
      log?.(`[server] POST /${slug} failed: ${(error as Error)?.stack ?? String(error)}`)
    }
    // The requests made before the failure (Koala's refusal among them) follow it, so its answer can be shown.
    return [output, ...(await toExchanges(destination.responses))]
  } finally {
    destination.responses.length = 0
  }
}

/**
 * Whether a run's failure is an outcome rather than a fault of the tool: an error carrying a numeric `status`
 * (the framework's PayloadValidationError, RetryableError, InvalidAuthenticationError, IntegrationError, …), or one
 * {@link toErrorOutput} maps to a 4xx (the framework's schema validation, a stack overflow on a too deeply nested
 * value).
 */
export function isExpectedFailure(error: unknown, output: ErrorOutput): boolean {
  return typeof (error as { status?: unknown })?.status === 'number' || output.statusCode < 500
}

/** Longest reason appended to a request's log line, in characters. */
const MAX_LOGGED_REASON = 600

/** One line saying why a run failed, e.g. `RetryableError 500: Koala could not …`, cut to 600 characters. */
export function failureReason(error: unknown, output: ErrorOutput): string {
  const name = (error as { name?: unknown })?.name
  const line = `${typeof name === 'string' && name ? `${name} ` : ''}${output.statusCode}: ${cleanMessage(
    output.message
  )}`
  return line.length > MAX_LOGGED_REASON ? `${line.slice(0, MAX_LOGGED_REASON - 1)}…` : line
}
