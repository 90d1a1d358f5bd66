// Mapping directives as typed or pasted: a key that starts with `@` and is no directive of mapping-kit (`@pth`) is
// pointed out at once, with the directive it most likely means, instead of surfacing only when the event is run.

/** mapping-kit's directives (@segment/actions-core 3.170, mapping-kit/index.ts: registerDirective calls). */
export const DIRECTIVES = [
  '@path',
  '@template',
  '@literal',
  '@if',
  '@case',
  '@replace',
  '@arrayPath',
  '@flatten',
  '@json',
  '@merge',
  '@transform',
  '@excludeWhenNull',
  '@liquid'
]

/** How many single-character edits turn `a` into `b` (Levenshtein), for "did you mean". */
export function distance(a: string, b: string): number {
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

/** The directive nearest to a misspelt one, when one is close enough to be meant. */
function nearest(key: string): string | undefined {
  let best: string | undefined
  let bestDistance = 3
  for (const directive of DIRECTIVES) {
    const gap = distance(key.toLowerCase(), directive.toLowerCase())
    if (gap < bestDistance) [best, bestDistance] = [directive, gap]
  }
  return best
}

/**
 * One sentence per key of `value` (at any depth) that starts with `@` and is no directive: which key, the directive
 * it likely means, and the mapping rewritten with it. Empty when every directive is known.
 */
export function misspeltDirectives(value: unknown): string[] {
  const found: string[] = []
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk)
    if (node === null || typeof node !== 'object') return
    for (const [key, inner] of Object.entries(node as Record<string, unknown>)) {
      if (key.startsWith('@') && !DIRECTIVES.includes(key)) {
        const meant = nearest(key)
        found.push(
          `"${key}" is not a mapping directive, so the mapping would fail when the event runs.` +
            (meant
              ? ` Did you mean "${meant}"? Write ${JSON.stringify({ [meant]: inner })}.`
              : ` The directives are ${DIRECTIVES.join(', ')}.`)
        )
      }
      walk(inner)
    }
  }
  walk(value)
  return found
}

/** The misspelt directives of a mapping's text; none for text that is not JSON (its own error says so on Run). */
export function misspeltIn(text: string): string[] {
  try {
    return misspeltDirectives(JSON.parse(text) as unknown)
  } catch {
    return []
  }
}
