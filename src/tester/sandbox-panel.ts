// The tester's "What the sandbox holds" section: the bodies the Koala sandbox accepted, newest first, grouped by
// person or company, with its counts. Data from the server's `/tester/sandbox/*` relays.

import { el, pretty } from './dom.js'

type Json = Record<string, unknown>

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T

/** Whom a body is for: its person (email, profile_id) or its company (domain, account_id). */
function ownerOf(body: Json): string {
  if (typeof body.domain === 'string') return `company ${body.domain}`
  if (typeof body.account_id === 'string') return `company (Koala account) ${body.account_id}`
  return `person ${[body.email, body.profile_id].filter((part) => typeof part === 'string').join(' / ')}`
}

export async function refreshSandbox(): Promise<void> {
  try {
    await showSandbox()
  } catch (problem) {
    $('sandbox-stats').textContent = `Could not reach the local server (${(problem as Error).message}). Is it running?`
    $('sandbox-bodies').replaceChildren()
  }
}

async function showSandbox(): Promise<void> {
  const [received, stats] = await Promise.all([
    fetch('/tester/sandbox/received').then(
      (answer) => answer.json() as Promise<{ sandbox: boolean; url: string; data?: Json[] }>
    ),
    fetch('/tester/sandbox/stats').then((answer) => answer.json() as Promise<{ sandbox: boolean; data?: Json }>)
  ])
  if (!received.sandbox || !stats.sandbox) {
    $(
      'sandbox-stats'
    ).textContent = `The server sends to ${received.url}, not to a local Koala sandbox: there is no sandbox to show.`
    $('sandbox-bodies').replaceChildren()
    return
  }
  const counts = stats.data as Json
  const accounts = counts.accounts as Json
  $('sandbox-stats').textContent =
    `Person requests ${String(counts.requests)} (entries ${String(counts.entries)}), company requests ${String(
      accounts.requests
    )} ` +
    `(entries ${String(accounts.entries)}), distinct message_ids ${String(counts.uniqueMessageIds)}, duplicates ` +
    `${String(counts.duplicates)}, contract violations ${String(counts.contractViolations)}, refused by status ` +
    `${JSON.stringify(counts.rejected)}.`
  const groups = new Map<string, Json[]>()
  for (const body of [...(received.data ?? [])].reverse())
    groups.set(ownerOf(body), [...(groups.get(ownerOf(body)) ?? []), body])
  $('sandbox-bodies').replaceChildren(
    ...[...groups].map(([owner, bodies]) =>
      el(
        'div',
        { class: 'group' },
        el('h3', {}, `${owner} (${bodies.length})`),
        ...bodies.map((body) => el('pre', { class: 'sandbox-body' }, pretty(body)))
      )
    )
  )
}
