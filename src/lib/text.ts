/** Ends `text` with a full stop unless it already ends a sentence (`.`, `!` or `?`), so messages can be joined. */
export function endSentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`
}

/**
 * Shortens the Public Key in a Koala project path for a log line: `/web/projects/pk_live_abc/batch` becomes
 * `/web/projects/pk_l…/batch`, at most four characters of the key and never more than half of it, so even a short
 * key is not shown whole (the rule the destination's messages follow too). Other text is unchanged.
 */
export function shortenProjectKey(urlPath: string): string {
  return urlPath.replace(
    /(\/web\/projects\/)([^/?#]+)/g,
    (_match, prefix: string, key: string) => `${prefix}${key.slice(0, Math.min(4, Math.floor(key.length / 2)))}…`
  )
}
