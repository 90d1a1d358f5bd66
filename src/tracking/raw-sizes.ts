/**
 * The sizes, in bytes as sent, of the calls of a `/v1/batch` body, read off the raw bytes without parsing them, so
 * that the 32 KB per-event check serialises only the calls that could be over it (tracking-api.ts).
 */

/**
 * The most bytes `JSON.stringify` can write for one byte of the JSON text a value was parsed from. Whitespace,
 * duplicate keys and escapes only shrink (`\u00e9` is written `é`, `\/` `/`); an invalid UTF-8 byte becomes U+FFFD, 3
 * bytes; a number grows most: `9e20` (4 bytes) is written `900000000000000000000` (21).
 */
export const MAX_SERIALISED_PER_RAW_BYTE = 21 / 4

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d

const isSpace = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09

/** Thrown inside the scan when the text is not laid out as expected; the caller then knows nothing. */
class Unsure extends Error {}

class Scanner {
  constructor(private readonly raw: Buffer, public at = 0) {}

  skipSpace(): number {
    while (this.at < this.raw.length && isSpace(this.raw[this.at])) this.at++
    if (this.at >= this.raw.length) throw new Unsure()
    return this.raw[this.at]
  }

  expect(byte: number): void {
    if (this.skipSpace() !== byte) throw new Unsure()
    this.at++
  }

  /** From an opening quote to past its closing one. */
  skipString(): void {
    // A loop over the bytes, not Buffer.indexOf per quote: most strings are a few bytes long, and each indexOf call
    // cost more than reading them.
    const raw = this.raw
    let at = this.at + 1
    while (at < raw.length) {
      const byte = raw[at]
      if (byte === QUOTE) {
        this.at = at + 1
        return
      }
      at += byte === BACKSLASH ? 2 : 1
    }
    throw new Unsure()
  }

  /** Past one value of any kind. */
  skipValue(): void {
    const first = this.skipSpace()
    if (first === QUOTE) return void this.skipString()
    if (first !== OPEN_OBJECT && first !== OPEN_ARRAY) {
      // A number, true, false or null: up to the next delimiter.
      while (this.at < this.raw.length) {
        const byte = this.raw[this.at]
        if (byte === COMMA || byte === CLOSE_OBJECT || byte === CLOSE_ARRAY || isSpace(byte)) return
        this.at++
      }
      return
    }
    const raw = this.raw
    let depth = 0
    let at = this.at
    while (at < raw.length) {
      const byte = raw[at]
      if (byte === QUOTE) {
        this.at = at
        this.skipString()
        at = this.at
        continue
      }
      if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) depth++
      else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) depth--
      at++
      if (depth === 0) {
        this.at = at
        return
      }
    }
    throw new Unsure()
  }
}

/**
 * The byte length of each element of the top-level `batch` array, in order, as the elements stand in `raw`.
 *
 * @param raw a request body that `JSON.parse` accepted (UTF-8).
 * @returns one length per element of the array `JSON.parse` keeps as `batch` (the last `"batch"` key), or undefined
 *   when that cannot be told from the bytes for certain: a top-level key written with an escape (it may spell
 *   `batch`), no `batch` array, or text laid out otherwise than JSON.
 */
export function batchCallSizes(raw: Buffer): number[] | undefined {
  try {
    const scan = new Scanner(raw)
    scan.expect(OPEN_OBJECT)
    let sizes: number[] | undefined
    if (scan.skipSpace() === CLOSE_OBJECT) return undefined
    for (;;) {
      if (scan.skipSpace() !== QUOTE) return undefined
      const keyStart = scan.at
      scan.skipString()
      if (raw.subarray(keyStart, scan.at).includes(BACKSLASH)) return undefined
      const isBatch = raw.toString('latin1', keyStart, scan.at) === '"batch"'
      scan.expect(COLON)
      if (isBatch) {
        if (scan.skipSpace() !== OPEN_ARRAY) return undefined
        scan.at++
        sizes = []
        if (scan.skipSpace() === CLOSE_ARRAY) scan.at++
        else {
          for (;;) {
            scan.skipSpace()
            const start = scan.at
            scan.skipValue()
            sizes.push(scan.at - start)
            const next = scan.skipSpace()
            scan.at++
            if (next === CLOSE_ARRAY) break
            if (next !== COMMA) return undefined
          }
        }
      } else scan.skipValue()
      const next = scan.skipSpace()
      scan.at++
      if (next === CLOSE_OBJECT) return sizes
      if (next !== COMMA) return undefined
    }
  } catch (error) {
    if (error instanceof Unsure) return undefined
    throw error
  }
}
