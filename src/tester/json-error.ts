// Pointing at invalid JSON in the tester's editors.

/** Thrown inside the scanner where the text stops being JSON. */
class At extends Error {
  constructor(readonly offset: number) {
    super(`invalid JSON at ${offset}`)
  }
}

/**
 * Where JSON text stops being valid: the offset of the first character a JSON parser refuses (the text's length
 * when it ends too early). Browsers' JSON.parse messages do not always say where.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0
  const fail = (): never => {
    throw new At(i)
  }
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++
  }
  const literal = (word: string) => {
    for (const char of word) {
      if (text[i] !== char) fail()
      i++
    }
  }
  const string = () => {
    i++
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail()
      if (text[i] === '\\') {
        i++
        if (text[i] === 'u') {
          for (let k = 0; k < 4; k++) {
            i++
            if (!/[0-9a-fA-F]/.test(text[i] ?? '')) fail()
          }
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x') || i >= text.length) fail()
      }
      i++
    }
    if (i >= text.length) fail()
    i++
  }
  const number = () => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i))
    if (!match) fail()
    i += (match as RegExpExecArray)[0].length
  }
  const value = (): void => {
    space()
    const char = text[i]
    if (char === '{') {
      i++
      space()
      if (text[i] === '}') return void i++
      for (;;) {
        space()
        if (text[i] !== '"') fail()
        string()
        space()
        if (text[i] !== ':') fail()
        i++
        value()
        space()
        if (text[i] === ',') i++
        else if (text[i] === '}') return void i++
        else fail()
      }
    }
    if (char === '[') {
      i++
      space()
      if (text[i] === ']') return void i++
      for (;;) {
        value()
        space()
        if (text[i] === ',') i++
        else if (text[i] === ']') return void i++
        else fail()
      }
    }
    if (char === '"') return string()
    if (char === 't') return literal('true')
    if (char === 'f') return literal('false')
    if (char === 'n') return literal('null')
    if (char === '-' || (char >= '0' && char <= '9')) return number()
    fail()
  }
  try {
    value()
    space()
    return i < text.length ? i : -1
  } catch (error) {
    return Math.min((error as At).offset, text.length)
  }
}

/** Parses JSON, or throws an Error that says at which line and column it is not JSON. */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    const offset = jsonErrorOffset(text)
    const before = text.slice(0, Math.max(offset, 0))
    const line = before.split('\n').length
    const column = before.length - before.lastIndexOf('\n')
    throw new Error(`${what} is not valid JSON at line ${line}, column ${column}: ${(error as Error).message}`)
  }
}
