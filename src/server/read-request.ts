import { isObject } from '@segment/actions-core'
import type { DestinationDefinition, JSONObject } from '@segment/actions-core'
import { BadRequest, checkPublicKey, findTooDeep, MAX_BATCH_SIZE, tooDeepMessage } from '../harness'
import type { ActionInput, Settings } from '../harness'
import { ACTION_BODY_KEYS, unknownKeys, unknownKeysSentence } from '../lib/body-keys'

/**
 * Reading the bodies of the local server's routes (actions-cli's shapes): what each route takes, and the refusal,
 * naming what is wrong and what to send, of a body that does not fit.
 */

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
export function bodyHelp(path: string): string {
  if (path === '/authenticate') return AUTH_BODY_HELP
  if (path === '/delete') return DELETE_BODY_HELP
  return path === '/refreshAccessToken' ? REFRESH_BODY_HELP : ACTION_BODY_HELP
}

/** What a valid action request carries: the run's input, and what the request holds that the server ignores. */
export interface ActionRequest extends ActionInput {
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
export function settingKeys(definition: DestinationDefinition<Settings>): string[] {
  return Object.keys(definition.authentication?.fields ?? {})
}

/**
 * The refusal of a request without `settings.public_key`, naming where it goes and, when the body or its settings
 * hold keys that are not theirs (`setting`, `publicKey`), those keys and the valid ones.
 *
 * @param bodyKeys the keys the body may have; `undefined` when the body is the settings (`/authenticate`).
 */
export function missingPublicKey(body: Record<string, unknown>, known: string[], bodyKeys?: string[]): string {
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
export function readActionRequest(body: unknown, known: KnownKeys): ActionRequest {
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

/** The settings in a request body: its `settings` object, else the body itself (as actions-cli sends them to /authenticate). */
function settingsIn(body: Record<string, unknown>): Record<string, unknown> {
  return isObject(body.settings) ? body.settings : body
}

/** The settings of `POST /authenticate`: the body itself, as actions-cli sends it, or its `settings`. */
export function readAuthSettings(body: unknown): Settings {
  if (body === undefined) throw new BadRequest(400, `The request has no body. ${AUTH_BODY_HELP}`)
  if (!isObject(body)) {
    throw new BadRequest(400, `The body is ${Array.isArray(body) ? 'an array' : 'not an object'}. ${AUTH_BODY_HELP}`)
  }
  return settingsIn(body) as unknown as Settings
}

/** The Public Key and Secret Key of a request body, as given and trimmed (the destination trims them), for redaction. */
export function publicKeysOf(body: unknown): string[] {
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
export function readDeleteRequest(body: unknown): { payload: JSONObject; settings: JSONObject } {
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
