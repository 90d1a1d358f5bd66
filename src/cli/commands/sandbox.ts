import type { Command } from 'commander'
import { parseFaults, startSandbox } from '../../sandbox/sandbox'
import { listenFailure, stopOnSignal } from './serve'

/** `sandbox`: runs the local Koala-compatible ingestion server until interrupted. */
export default function register(program: Command): void {
  program
    .command('sandbox')
    .description(
      'Run a local Koala-compatible ingestion server on 127.0.0.1:$KOALA_SANDBOX_PORT (default 3001). ' +
        'KOALA_SANDBOX_KEYS (comma-separated) limits the accepted keys; KOALA_SANDBOX_FAULTS injects faults, ' +
        'e.g. 500=0.2,429=0.1,reset=0.05,slow=0.05'
    )
    .action(async () => {
      const port = Number(process.env.KOALA_SANDBOX_PORT ?? 3001)
      // Parsed before listening, so a bad fault spec reports itself rather than a port problem.
      const faults = parseFaults(process.env.KOALA_SANDBOX_FAULTS)
      let sandbox
      try {
        sandbox = await startSandbox(port, {
          keys: (process.env.KOALA_SANDBOX_KEYS ?? '').split(',').map((key) => key.trim()),
          faults,
          log: (line) => console.log(line)
        })
      } catch (error) {
        throw listenFailure(
          `Could not listen on 127.0.0.1:${port}`,
          error,
          'Choose another port with KOALA_SANDBOX_PORT.'
        )
      }
      console.log(`Koala sandbox listening on ${sandbox.url} (accepted bodies: ${sandbox.url}/__sandbox/received)`)
      stopOnSignal(() => sandbox.close())
    })
}
