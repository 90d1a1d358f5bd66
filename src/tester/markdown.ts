// The definition's descriptions are Markdown (Segment's app renders them): the tester renders their `code` spans and
// shows the rest as text. Nothing is parsed as HTML.

/** Text with each `code` span as a <code> element; an unpaired backtick stays as it is. */
export function withCodeSpans(text: string): (Node | string)[] {
  const parts: (Node | string)[] = []
  let last = 0
  for (const match of text.matchAll(/`([^`]+)`/g)) {
    const index = match.index ?? 0
    if (index > last) parts.push(text.slice(last, index))
    const code = document.createElement('code')
    code.textContent = match[1]
    parts.push(code)
    last = index + match[0].length
  }
  if (last < text.length) parts.push(text.slice(last))
  return parts
}
