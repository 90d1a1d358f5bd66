import { FAULT_DESCRIPTIONS, FAULT_KINDS, parseFaults, startSandbox } from '../../sandbox/sandbox-server'
import type { RunningSandbox, SandboxFaults } from '../../sandbox/sandbox-server'
import { envSetting, listenFailure, parsePort } from '../../lib/process'

/** The sandbox's port: `$KOALA_SANDBOX_PORT` when set and not blank, else 3001. */
export function sandboxPort(option?: string): number {
  if (option !== undefined) return parsePort(option, '--port')
  const env = envSetting('KOALA_SANDBOX_PORT')
  return env === undefined ? 3001 : parsePort(env, 'KOALA_SANDBOX_PORT')
}

/** The keys listed in `KOALA_SANDBOX_KEYS` (comma-separated, blanks ignored); empty means any key. */
export function sandboxKeys(name = 'KOALA_SANDBOX_KEYS'): string[] {
  return (process.env[name] ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter(Boolean)
}

/** The secret keys of deletion requests listed in `KOALA_SANDBOX_SECRET_KEYS`, as {@link sandboxKeys}. */
export const sandboxSecretKeys = (): string[] => sandboxKeys('KOALA_SANDBOX_SECRET_KEYS')

/**
 * The lines a start banner adds when the sandbox does not behave like a plain Koala: faults injected, or only some
 * keys accepted. Keys are counted, never shown.
 *
 * @returns no lines when neither is set.
 */
export function sandboxSettingsLines(
  faults: SandboxFaults,
  keys: readonly string[],
  secretKeys: readonly string[] = []
): string[] {
  const lines: string[] = []
  const active = FAULT_KINDS.filter((kind) => (faults[kind] ?? 0) > 0)
  if (active.length > 0) {
    lines.push(
      `  Faults injected (KOALA_SANDBOX_FAULTS): ${active.map((kind) => `${kind}=${faults[kind]}`).join(', ')} ` +
        '(probability per batch request): some requests fail on purpose.'
    )
  }
  if (keys.length > 0) {
    const which =
      keys.length === 1
        ? 'the 1 Public Key listed in KOALA_SANDBOX_KEYS is'
        : `the ${keys.length} Public Keys listed in KOALA_SANDBOX_KEYS are`
    lines.push(`  Only ${which} accepted; any other key gets 401.`)
  }
  if (secretKeys.length > 0) {
    const which =
      secretKeys.length === 1
        ? 'the 1 Secret Key listed in KOALA_SANDBOX_SECRET_KEYS is'
        : `the ${secretKeys.length} Secret Keys listed in KOALA_SANDBOX_SECRET_KEYS are`
    lines.push(`  Deletion requests: only ${which} accepted; any other key gets 401.`)
  }
  return lines
}

/**
 * Starts the sandbox on 127.0.0.1:`port` with the keys and faults its environment settings give
 * (`KOALA_SANDBOX_KEYS`, `KOALA_SANDBOX_SECRET_KEYS`, `KOALA_SANDBOX_FAULTS`), as `sandbox` and `start` both run it.
 *
 * @param log where the sandbox's one line per accepted batch goes.
 * @param failure the start of the message when it cannot listen, e.g. `Could not listen on 127.0.0.1:3001`.
 * @param portHint the sentence after it saying how to choose another port.
 * @returns the running sandbox and the banner lines of {@link sandboxSettingsLines}.
 * @throws Error for a malformed `KOALA_SANDBOX_FAULTS` (checked before listening), or the listen failure.
 */
export async function startConfiguredSandbox(
  port: number,
  log: (line: string) => void,
  failure: string,
  portHint = 'Choose another port with KOALA_SANDBOX_PORT.'
): Promise<{ sandbox: RunningSandbox; settingsLines: string[] }> {
  const faults = parseFaults(process.env.KOALA_SANDBOX_FAULTS)
  const keys = sandboxKeys()
  const secretKeys = sandboxSecretKeys()
  try {
    const sandbox = await startSandbox(port, { keys, secretKeys, faults, log })
    return { sandbox, settingsLines: sandboxSettingsLines(faults, keys, secretKeys) }
  } catch (error) {
    throw listenFailure(failure, error, portHint)
  }
}

/** The part of `sandbox --help` that lists every fault kind. */
export const FAULTS_HELP = [
  'KOALA_SANDBOX_FAULTS injects faults into batch requests: comma-separated kind=probability items, each ' +
    'probability from 0 to 1, adding up to at most 1, e.g. 500=0.2,429=0.1,reset=0.05,slow=0.05. Kinds:',
  ...FAULT_KINDS.map((kind) => `  ${kind.padEnd(13)} ${FAULT_DESCRIPTIONS[kind]}`)
].join('\n')
