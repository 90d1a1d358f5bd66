import type { Command } from 'commander'
import { parseFaults, startSandbox } from '../../sandbox/sandbox'

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
      const sandbox = await startSandbox(Number(process.env.KOALA_SANDBOX_PORT ?? 3001), {
        keys: (process.env.KOALA_SANDBOX_KEYS ?? '').split(',').map((key) => key.trim()),
        faults: parseFaults(process.env.KOALA_SANDBOX_FAULTS),
        log: (line) => console.log(line)
      })
      console.log(`Koala sandbox listening on ${sandbox.url} (accepted bodies: ${sandbox.url}/__sandbox/received)`)
    })
}
