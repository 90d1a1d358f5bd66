import * as fs from 'fs'
import * as path from 'path'

// Reading a tree's imports, for the tests that hold the layout to its rules.

/** Every `.ts` file under `dir`, as paths relative to it. */
export function typeScriptFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return typeScriptFiles(full).map((file) => path.join(entry.name, file))
    return entry.name.endsWith('.ts') ? [entry.name] : []
  })
}

/** The module specifiers a file imports (static imports and re-exports, `require` and `import()` calls). */
export function importsOf(text: string): string[] {
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm),
    ...text.matchAll(/^\s*import\s+'([^']+)'/gm),
    ...text.matchAll(/\b(?:require|import)\(\s*'([^']+)'\s*\)/g)
  ]
  return specifiers.map((match) => match[1])
}
