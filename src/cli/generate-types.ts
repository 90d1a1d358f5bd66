import { fieldsToJsonSchema } from '@segment/actions-core'
import type { DestinationDefinition, InputField } from '@segment/actions-core'
import type { JSONSchema4 } from 'json-schema'
import { compile } from 'json-schema-to-typescript'
import * as fs from 'fs'
import * as path from 'path'

/** The banner actions-cli puts at the top of every generated file. */
const BANNER = '// Generated file. DO NOT MODIFY IT BY HAND.'

/** Prettier settings of the monorepo, used to format generated code the same way. */
const STYLE = { semi: false, singleQuote: true, trailingComma: 'none', printWidth: 120 } as const

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
  return compile(schema, name, { bannerComment: BANNER, style: STYLE })
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
    files.set(path.join(dir, slug, 'generated-types.ts'), await typesFor(action.fields, 'Payload'))
  }
  return files
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
