import { isObject } from '@segment/actions-core'
import validateMapping from '@segment/actions-core/mapping-kit/validate'
import { endSentence } from '../lib/text'

/**
 * Checks the harness runs before handing a request to actions-core 3.170, for inputs the framework itself
 * crashes on (a TypeError or a stack overflow that would otherwise come back as a retryable-looking 500) or reports
 * with a stack trace. Each returns a message that says what is wrong and what works instead.
 */

/**
 * The deepest nesting of objects and arrays the local tools let through, counting the event (or the `mapping`, the
 * `settings`, …) itself as level 1. actions-core walks events recursively (`removeUndefined`, mapping-kit), so a deep
 * enough value overflows the stack. Measured with `npm start` on Node 20.20: an event whose `context` holds about
 * 2,680 levels already overflows in a batch (a single event goes further: about 5,000 levels in `properties`); 1,000 works
 * everywhere, with room for the deeper stacks of other Node versions and callers. Segment's 32 KB event limit is no
 * guard: an 18 KB event nests 3,000 levels.
 */
export const MAX_NESTING_DEPTH = 1000

/** How deep a value nests past {@link MAX_NESTING_DEPTH}, and under which top-level key. */
export interface TooDeep {
  /** The top-level key (or array index) under which the limit was passed; undefined when the limit is below 2. */
  under?: string
}

/**
 * Measures nesting without recursion (a recursive walk would overflow on exactly the values it must refuse), and
 * stops as soon as `limit` is passed, so a 5 MB body costs one bounded pass.
 *
 * @param value any JSON value.
 * @param limit the deepest nesting allowed; the value itself is level 1 when it is an object or an array.
 * @returns where the limit was passed, or undefined when the value is within it.
 */
export function findTooDeep(value: unknown, limit: number = MAX_NESTING_DEPTH): TooDeep | undefined {
  if (value === null || typeof value !== 'object') return undefined
  // Three parallel stacks rather than an object and an array of entries per node: the local Segment pipeline runs
  // this on every event it takes. Children are pushed in key order and popped last first, as before.
  const values: object[] = [value]
  const depths: number[] = [1]
  const unders: (string | undefined)[] = [undefined]
  while (values.length > 0) {
    const node = values.pop() as Record<string, unknown> | unknown[]
    const depth = depths.pop() as number
    const under = unders.pop()
    if (depth > limit) return { under }
    const keys = Array.isArray(node) ? undefined : Object.keys(node)
    const count = keys ? keys.length : (node as unknown[]).length
    for (let i = 0; i < count; i++) {
      const child = keys ? (node as Record<string, unknown>)[keys[i]] : (node as unknown[])[i]
      if (child === null || typeof child !== 'object') continue
      values.push(child)
      depths.push(depth + 1)
      unders.push(depth === 1 ? (keys ? keys[i] : String(i)) : under)
    }
  }
  return undefined
}

/**
 * The message for a value nested past {@link MAX_NESTING_DEPTH}.
 *
 * @param what what is nested, e.g. `The event` or `"mapping"`.
 * @param found where, from {@link findTooDeep}.
 */
export function tooDeepMessage(what: string, found: TooDeep): string {
  const where = found.under !== undefined ? ` (under "${found.under}")` : ''
  return (
    `${what} is nested too deeply for Segment's framework to process${where}: it holds objects or arrays more than ` +
    `${MAX_NESTING_DEPTH} levels deep, and the framework runs out of stack space on such values. Up to ` +
    `${MAX_NESTING_DEPTH} levels work: flatten the deepest values or send them as a JSON string.`
  )
}

/**
 * The message for a stack overflow the checks above did not foresee: a 400, since running the same request again
 * overflows again, and Segment must not retry it.
 */
export const STACK_OVERFLOW_MESSAGE =
  "Segment's framework ran out of stack space on this request (Maximum call stack size exceeded), usually because " +
  `a value in it is nested too deeply (up to ${MAX_NESTING_DEPTH} levels work). Sending it again will not help.`

/** `null`, `an array`, `a string`, … for messages. */
function kindOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return `${typeof value === 'object' ? 'an' : 'a'} ${typeof value}`
}

/**
 * Why the framework cannot process this event, if it cannot.
 *
 * - `context` or `context.personas` present but not an object: actions-core's `resolveAudienceMembership`
 *   (audience-membership.js) destructures `rawData.context.personas` with `= {}` defaults, which apply to `undefined`
 *   only, so a `null` there throws a TypeError before the destination runs, for the whole batch. Other non-objects
 *   do not crash that code, but Segment's spec makes `context` an object, and the destination reads it as one.
 * - nested deeper than {@link MAX_NESTING_DEPTH}.
 *
 * @param event one Segment event (an object).
 * @returns the message of a 400 for this event alone, or undefined when the framework can take it.
 */
export function unprocessableEvent(event: Record<string, unknown>): string | undefined {
  const { context } = event
  if (context !== undefined && !isObject(context)) return notAnObject('context', context)
  if (context !== undefined && context.personas !== undefined && !isObject(context.personas)) {
    return notAnObject('context.personas', context.personas)
  }
  const tooDeep = findTooDeep(event)
  return tooDeep ? tooDeepMessage('The event', tooDeep) : undefined
}

/** The message for a `context` (or `context.personas`) that is not an object. */
function notAnObject(name: string, value: unknown): string {
  const why =
    value === null
      ? `Segment's framework cannot process a null ${name}.`
      : `Segment's spec defines ${name} as an object.`
  return `The event's "${name}" is ${kindOf(value)}: it must be an object (or left out). ${why}`
}

/**
 * Checks the shape of the `mapping` a request gives, before it is merged over the defaults: an object of field
 * names. A directive at the top (`{"@path": "$.x"}`) would be merged in as if `@path` were a field, and mapping-kit
 * would then report the whole mapping as a directive with a dozen keys.
 *
 * @param mapping the request's `mapping` (an object).
 * @returns the message of a 400, or undefined when every top-level key can be a field name.
 */
export function mappingShapeProblem(mapping: Record<string, unknown>): string | undefined {
  const directives = Object.keys(mapping).filter((key) => key.startsWith('@'))
  if (directives.length === 0) return undefined
  const named = directives.map((key) => JSON.stringify(key)).join(', ')
  return (
    `"mapping" must be an object of field names, each with a value or one directive, for example ` +
    `{"event": {"@path": "$.event"}}; it has ${directives.length > 1 ? 'the directives' : 'the directive'} ${named} ` +
    'at its top level. Put each directive under the field it fills, or leave "mapping" out to use the defaults.'
  )
}

// The field path mapping-kit's ValidationError starts its message with: `/event/@if has ...`.
const VALIDATION_MESSAGE = /^\/(\S*) (.+)$/s

/**
 * Validates a mapping with actions-core's mapping-kit (`validate`, the check `transform` runs first) and rewrites
 * its errors as one message: mapping-kit reports several errors as an AggregateError whose message is every inner
 * error's stack trace.
 *
 * @param mapping the mapping the action will run (the defaults merged with the request's).
 * @returns e.g. `The mapping is not valid. Field "event" has an invalid directive: @nope. Each field …`, or undefined.
 */
export function mappingProblem(mapping: unknown): string | undefined {
  try {
    validateMapping(mapping)
    return undefined
  } catch (error) {
    const errors: unknown[] =
      error !== null && typeof error === 'object' && Symbol.iterator in error
        ? [...(error as Iterable<unknown>)]
        : [error]
    const lines = errors.map((inner) => {
      const text = (inner instanceof Error ? inner.message : String(inner)).trim()
      const match = VALIDATION_MESSAGE.exec(text)
      if (!match) return text
      const [, path, rest] = match
      return path ? `Field "${path.split('/').join('.')}" ${rest}` : `The mapping ${rest}`
    })
    return (
      `The mapping is not valid. ${lines.map(endSentence).join(' ')} ` +
      'Each field takes a JSON value or one directive, for example {"@path": "$.properties.plan"} or ' +
      '{"@template": "{{event}}"}.'
    )
  }
}

/**
 * The mapping's `enable_batching` as the framework's schema check reads a boolean field (ajv's `coerceTypes`, which
 * actions-core turns on): `"true"` and `1` are true, `"false"`, `0` and `null` false. A directive (an object) is
 * left to mapping-kit.
 *
 * @returns the boolean, or `undefined` for a directive or no value (an action without the field).
 * @throws TypeError for any other value, naming the field, rather than running either path on it.
 */
export function enableBatchingOf(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value
  if (value === 'true' || value === 1) return true
  if (value === 'false' || value === 0 || value === null) return false
  if (value === undefined || isObject(value)) return undefined
  throw new TypeError(
    `"enable_batching" in the mapping is ${JSON.stringify(value)}; it must be true (Segment may send batches) or ` +
      'false (one event per request). The framework also reads "true", "false", 1 and 0 as those.'
  )
}
