import { isObject } from '@segment/actions-core'

/**
 * Keys of a request body the local server does not read: a misspelled `settings` or `mapping`, a mapping key that is
 * no field of the action (`emial`), a setting the destination does not have (`publicKey`). actions-cli's server
 * (segmentio/action-destinations, packages/cli/src/lib/server.ts) ignores them all without a word, and the framework
 * drops unknown payload keys (ajv `removeAdditional`); so a request with them still runs here as there, and the
 * answer says what was ignored. Only when the missing key is one the request cannot run without (the Public Key)
 * is it refused, naming the key and the fix.
 */

/** The keys of `POST /<action>`'s body: actions-cli's (it also reads `subscriptionMetadata`). */
export const ACTION_BODY_KEYS = ['payload', 'settings', 'mapping', 'auth', 'features', 'subscriptionMetadata']

/** The keys of `POST /delete`'s body. */
export const DELETE_BODY_KEYS = ['payload', 'settings']

/** `"a"`, `"a" and "b"`, `"a", "b" and "c"`. */
export function quotedList(keys: readonly string[]): string {
  const quoted = keys.map((key) => JSON.stringify(key))
  return quoted.length <= 1 ? quoted.join('') : `${quoted.slice(0, -1).join(', ')} and ${quoted[quoted.length - 1]}`
}

/** How many single-character edits turn `a` into `b` (Levenshtein). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]
}

/** The known key `key` most likely means: ignoring case, `_` and `-`, at most two edits away. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  const plain = (text: string) => text.toLowerCase().replace(/[_-]/g, '')
  let best: { key: string; edits: number } | undefined
  for (const candidate of known) {
    const edits = distance(plain(key), plain(candidate))
    if (edits <= 2 && (!best || edits < best.edits)) best = { key: candidate, edits }
  }
  return best?.key
}

/** The keys of `value` (when it is an object) that are not in `known`, in their order. */
export function unknownKeys(value: unknown, known: readonly string[]): string[] {
  return isObject(value) ? Object.keys(value).filter((key) => !known.includes(key)) : []
}

/**
 * One sentence naming `unknown` keys of `where` and the keys it may have, e.g. `The body has "mappings" (did you
 * mean "mapping"?), which this server does not read; the body may have "payload", "settings" and "mapping".`
 *
 * @param where e.g. `The body`, `"mapping"`.
 * @param what what the known keys are, e.g. `which this server does not read; the body may have`.
 */
export function unknownKeysSentence(where: string, unknown: readonly string[], known: readonly string[], what: string) {
  const named = unknown.map((key) => {
    const near = nearestKey(key, known)
    return `${JSON.stringify(key)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}`
  })
  const list = named.length <= 1 ? named.join('') : `${named.slice(0, -1).join(', ')} and ${named[named.length - 1]}`
  return `${where} has ${list}, ${what} ${quotedList(known)}.`
}
