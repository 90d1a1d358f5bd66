/** Ends `text` with a full stop unless it already ends a sentence (`.`, `!` or `?`), so messages can be joined. */
export function endSentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`
}
