import type { DestinationDefinition } from '@segment/actions-core'
import * as fs from 'fs'
import { createRequire } from 'module'
import * as path from 'path'
import { DESTINATION_DIR } from '../../lib/paths'

/** A destination definition of any settings type, as the tools read it. */
export type AnyDestination = DestinationDefinition<unknown>

// A real Node `require` (also inside Jest, whose own `require` has no extension hooks or cache to clear).
const nodeRequire = createRequire(__filename)

/** The part of the TypeScript compiler the hook uses (loaded lazily: `typescript` is a development dependency). */
interface TypeScriptApi {
  transpileModule(
    source: string,
    options: { compilerOptions: Record<string, unknown>; fileName: string }
  ): { outputText: string }
  ModuleKind: { CommonJS: unknown }
  ScriptTarget: { ES2022: unknown }
}

/**
 * Lets Node `require` TypeScript files by transpiling them one at a time (no type checking), as the monorepo's CLI
 * does with its require hook, so the tools read the destination's source rather than a possibly stale `dist/`.
 * Does nothing when something (ts-node, a test runner) already handles `.ts`.
 *
 * @throws Error naming the fix when the `typescript` package is not installed.
 */
function registerTypeScriptHook(): void {
  if (nodeRequire.extensions['.ts']) return
  let ts: TypeScriptApi
  try {
    ts = nodeRequire('typescript') as TypeScriptApi
  } catch {
    throw new Error('Reading TypeScript sources needs the `typescript` package: run `npm install` first.')
  }
  nodeRequire.extensions['.ts'] = (module, filename) => {
    const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
      fileName: filename,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
        inlineSourceMap: true
      }
    })
    ;(module as unknown as { _compile(code: string, file: string): void })._compile(outputText, filename)
  }
}

/**
 * Finds a destination's entry file.
 *
 * @param target a destination folder (holding `index.ts` or `index.js`) or the entry file itself.
 * @returns the absolute path of the entry file.
 * @throws Error when there is no such file.
 */
export function resolveEntry(target: string): string {
  const absolute = path.resolve(target)
  if (fs.existsSync(absolute) && fs.statSync(absolute).isFile()) return absolute
  for (const name of ['index.ts', 'index.js']) {
    const candidate = path.join(absolute, name)
    if (fs.existsSync(candidate)) return candidate
  }
  throw new Error(`No destination at ${target}: expected a folder with index.ts or index.js, or the entry file.`)
}

/**
 * Loads a destination definition fresh from its source: every module of the destination's folder is dropped from
 * Node's module cache first, so a second call (e.g. in `generate:types --watch`) sees edits.
 *
 * @param target the destination folder or entry file; defaults to `src/destinations/koala-cloud`.
 * @returns the entry's default export (or the module itself when it has none).
 * @throws Error when the entry is missing, does not compile, or does not export an object with `name` and
 *   `actions`.
 */
export function loadDestination(target: string = DESTINATION_DIR): AnyDestination {
  const entry = resolveEntry(target)
  if (entry.endsWith('.ts')) registerTypeScriptHook()
  const folder = path.dirname(entry) + path.sep
  for (const key of Object.keys(nodeRequire.cache)) {
    if (key.startsWith(folder)) delete nodeRequire.cache[key]
  }
  const loaded = nodeRequire(entry) as { default?: unknown }
  const definition = (loaded?.default ?? loaded) as Partial<AnyDestination> | undefined
  if (!definition || typeof definition !== 'object' || typeof definition.name !== 'string' || !definition.actions) {
    throw new Error(`${entry} does not export a destination definition (an object with name and actions).`)
  }
  return definition as AnyDestination
}
