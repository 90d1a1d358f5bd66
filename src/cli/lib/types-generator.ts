import { fieldsToJsonSchema } from '@segment/actions-core'
import type { DestinationDefinition, InputField } from '@segment/actions-core'
import type { JSONSchema4 } from 'json-schema'
import { compile } from 'json-schema-to-typescript'
import * as fs from 'fs'
import * as path from 'path'
import typescript from 'prettier/parser-typescript'
import { format } from 'prettier/standalone'

/** The banner actions-cli puts at the top of every generated file. */
const BANNER = '// Generated file. DO NOT MODIFY IT BY HAND.'

/** Prettier settings of the monorepo, used to format generated code the same way. */
const STYLE = { semi: false, singleQuote: true, trailingComma: 'none', printWidth: 120 } as const

/**
 * Formats TypeScript with prettier 2, the version and options the monorepo's `generate:types` uses. The standalone
 * build with its parser given explicitly: jest 27 resolves `prettier` to it anyway (the package's `browser` field).
 */
function formatTypeScript(code: string): string {
  return format(code, { parser: 'typescript', plugins: [typescript], ...STYLE })
}

/** Drops the schema keys that only make generated types noisier (titles become names, enums stay as strings). */
function stripForTypes(schema: JSONSchema4): JSONSchema4 {
  const copy: JSONSchema4 = { ...schema }
  delete copy.title
  delete copy.enum
  if (copy.type === 'object' && copy.properties) {
    copy.properties = Object.fromEntries(
      Object.entries(copy.properties).map(([key, value]) => [key, stripForTypes(value)])
    )
  } else if (copy.type === 'array' && copy.items && !Array.isArray(copy.items)) {
    copy.items = stripForTypes(copy.items)
  }
  return copy
}

/**
 * Compiles a set of fields to a TypeScript interface, as actions-cli's `generate:types` does: the framework's
 * `fieldsToJsonSchema` (with `tsType`) then `json-schema-to-typescript`.
 *
 * @param fields the `InputField`s of an action, or a destination's authentication fields.
 * @param name the interface name: `Settings` or `Payload`.
 * @returns the file's text, banner included.
 */
export async function typesFor(fields: Record<string, InputField>, name: string): Promise<string> {
  const schema = stripForTypes(fieldsToJsonSchema(fields, { tsType: true }))
  return formatTypeScript(await compile(schema, name, { bannerComment: BANNER, format: false }))
}

/**
 * Every `generated-types.ts` a destination folder should contain.
 *
 * @param definition the destination definition.
 * @param dir the destination's folder (`src/destinations/koala-cloud`).
 * @returns absolute file path -> expected text.
 */
export async function expectedTypeFiles(
  definition: DestinationDefinition<unknown>,
  dir: string
): Promise<Map<string, string>> {
  const files = new Map<string, string>()
  files.set(
    path.join(dir, 'generated-types.ts'),
    await typesFor((definition.authentication?.fields ?? {}) as Record<string, InputField>, 'Settings')
  )
  for (const [slug, action] of Object.entries(definition.actions)) {
    // As actions-cli: an action with its own folder gets `<slug>/generated-types.ts`, else `<slug>.types.ts`.
    const file = fs.existsSync(path.join(dir, slug))
      ? path.join(dir, slug, 'generated-types.ts')
      : path.join(dir, `${slug}.types.ts`)
    files.set(file, await typesFor(action.fields, 'Payload'))
  }
  return files
}

/**
 * The generated type files that differ from what the generator produces now (missing files included).
 *
 * @returns absolute paths; empty when everything is up to date.
 */
export async function staleTypeFiles(definition: DestinationDefinition<unknown>, dir: string): Promise<string[]> {
  const stale: string[] = []
  for (const [file, text] of await expectedTypeFiles(definition, dir)) {
    if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) stale.push(file)
  }
  return stale
}

/**
 * Writes the generated types of a destination.
 *
 * @returns the paths that changed.
 */
export async function writeTypeFiles(definition: DestinationDefinition<unknown>, dir: string): Promise<string[]> {
  const changed: string[] = []
  for (const [file, text] of await expectedTypeFiles(definition, dir)) {
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''
    if (current !== text) {
      fs.writeFileSync(file, text)
      changed.push(file)
    }
  }
  return changed
}

/** What `watchTypes` reports and how it loads the definition. */
export interface WatchTypesOptions {
  /** Quiet time after the last change before regenerating, in milliseconds (editors save in bursts). Default 200. */
  debounceMs?: number
  /** Loads the definition fresh from `dir`; the default re-reads the TypeScript source. */
  load: (dir: string) => DestinationDefinition<unknown>
  /** Called after each regeneration with the files that changed (possibly none). */
  onUpdate?: (changed: string[]) => void
  /** Called when loading or generating fails (e.g. a half-typed edit); watching goes on. */
  onError?: (error: Error) => void
}

/** A running watcher; `close()` stops it and cancels a pending regeneration. */
export interface TypeWatcher {
  close(): void
}

/**
 * Whether a changed path (relative to the destination folder) can change the generated types. The generator's own
 * outputs are ignored (otherwise each write would trigger the next), as are tests, snapshots and editor temp files.
 */
export function affectsTypes(relative: string | null): boolean {
  if (relative === null) return true
  const parts = relative.split(/[\\/]/)
  const name = parts[parts.length - 1]
  if (parts.includes('__tests__') || parts.includes('__snapshots__') || parts.includes('node_modules')) return false
  if (name === 'generated-types.ts' || name.endsWith('.types.ts') || name === 'metadata.json') return false
  return /\.(ts|js|json)$/.test(name) && !name.startsWith('.')
}

/**
 * `generate:types --watch`: regenerates a destination's types whenever a source file in its folder changes.
 * Uses `fs.watch` (recursive, Node 20+ on Linux, macOS and Windows), debounced; changes to `generated-types.ts`,
 * `*.types.ts`, `metadata.json`, `__tests__/` and `__snapshots__/` are ignored.
 *
 * @param dir the destination folder.
 * @returns the watcher; it keeps the process alive until closed.
 */
export function watchTypes(dir: string, options: WatchTypesOptions): TypeWatcher {
  const debounceMs = options.debounceMs ?? 200
  let timer: NodeJS.Timeout | undefined
  let running = false
  let again = false
  let closed = false

  const regenerate = async (): Promise<void> => {
    if (running) {
      again = true
      return
    }
    running = true
    try {
      const changed = await writeTypeFiles(options.load(dir), dir)
      if (!closed) options.onUpdate?.(changed)
    } catch (error) {
      if (!closed) options.onError?.(error instanceof Error ? error : new Error(String(error)))
    } finally {
      running = false
      if (again && !closed) {
        again = false
        schedule()
      }
    }
  }
  const schedule = (): void => {
    clearTimeout(timer)
    timer = setTimeout(() => void regenerate(), debounceMs)
  }

  const watcher = fs.watch(dir, { recursive: true }, (_event, filename) => {
    if (affectsTypes(filename === null ? null : filename.toString())) schedule()
  })
  watcher.on('error', (error) => options.onError?.(error))
  return {
    close() {
      closed = true
      clearTimeout(timer)
      watcher.close()
    }
  }
}
