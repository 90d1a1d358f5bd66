/**
 * How the local tools hide Koala keys in what they show (answers, log lines, banners). The destination's folder
 * knows nothing of this: these are the local tools' own rules.
 */

/** At most four characters and never more than half, so even a short key is not shown whole. */
function shownPart(key: string): string {
  return `${key.slice(0, Math.min(4, Math.floor(key.length / 2)))}…`
}

/** `pk_live_abc` becomes `pk_l…` wherever it stands in `text`. */
export function redactKey(text: string, key: string | undefined): string {
  if (!key) return text
  return text.split(key).join(shownPart(key))
}

/**
 * Hides a URL's secrets without knowing them: `/web/projects/pk_live_abc/batch` becomes `/web/projects/pk_l…/batch`,
 * `https://user:pass@host` becomes `https://…@host`. Applying it twice changes nothing.
 */
export function redactProjectUrl(url: string): string {
  return (
    url
      .replace(/(\/web\/projects\/)([^/?#]+)/g, (match, prefix: string, key: string) =>
        key.endsWith('…') ? match : `${prefix}${shownPart(key)}`
      )
      // RFC 3986's userinfo characters only: a match must not run on past the URL to an email's `@`.
      .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[\w.~%!$&'()*+,;=:-]+@/gi, '$1…@')
  )
}

// A key shorter than this is not treated as a secret in free text: replacing every occurrence of, say, `ab` would
// garble the bodies shown. In URLs it is redacted whatever its length.
const MIN_KEY_LENGTH_FOR_TEXT = 6

/**
 * Redacts the keys everywhere in an answer before it leaves a local tool: every Koala project URL or path
 * (`/web/projects/pk_l…/batch`), and each key itself in any string and any property name (error messages quote URLs,
 * events may use the key as a property name).
 *
 * @param value a JSON-like answer; not modified.
 * @param keys the keys of this request, if known, as given and as used (trimmed): the destination trims the key, so
 *   an event can quote the trimmed key while the settings hold it padded.
 * @returns a redacted copy.
 */
export function redactAnswer<T>(value: T, keys?: string | readonly (string | undefined)[]): T {
  // Longest first, so a padded key is replaced whole before the trimmed key inside it.
  const secrets = (typeof keys === 'string' ? [keys] : keys ?? [])
    .filter((key): key is string => typeof key === 'string' && key.trim().length >= MIN_KEY_LENGTH_FOR_TEXT)
    .sort((a, b) => b.length - a.length)
  const redactText = (text: string) => secrets.reduce((result, key) => redactKey(result, key), redactProjectUrl(text))
  const walk = (item: unknown): unknown => {
    if (typeof item === 'string') return redactText(item)
    if (Array.isArray(item)) return item.map(walk)
    if (item !== null && typeof item === 'object') {
      const copy: Record<string, unknown> = {}
      // Property names too: an event can use the key as a name (`properties: {"pk_live_…": 1}`).
      // defineProperty rather than `=`, so a property named `__proto__` stays a property instead of a prototype.
      for (const [name, inner] of Object.entries(item)) {
        Object.defineProperty(copy, redactText(name), {
          value: walk(inner),
          enumerable: true,
          writable: true,
          configurable: true
        })
      }
      return copy
    }
    return item
  }
  return walk(value) as T
}
