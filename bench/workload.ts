import type { JSONObject, JSONValue, SegmentEvent } from '@segment/actions-core'
// Koala's limit of entries per array in one request, the rule the sandbox checks too.
import { MAX_ENTRIES_PER_REQUEST } from '../src/destinations/koala-cloud/config'
import { seededRandom } from '../src/destinations/koala-cloud/__tests__/__helpers__/test-data'

/**
 * The benchmark's workload: deterministic, Segment-shaped identify, track, page and group events for a set of people
 * and their companies, modelled on the repository's real Segment events
 * (`test/destination/fixtures/`: analytics-node 3.1.0 server events, analytics.js
 * 2.0 browser events with `context.page`/`userAgentData`/`campaign`, a mobile analytics-swift context, Engage
 * audience events with `context.personas`). Everything derives from one seed, so every process of a run (the
 * sink, the workers, the orchestrator) regenerates exactly the same events.
 */

/** Workload parameters, all set by `npm run bench` flags. */
export interface WorkloadOptions {
  /** Number of events (default 10,000). */
  events: number
  /** Number of distinct people (default 500). */
  people: number
  /** Seed of the pseudo-random generator. */
  seed: number
  /** Share of identify events, 0..1 (default 0.25). */
  identifyShare: number
  /** Share of page events, 0..1 (default 0.15). */
  pageShare: number
  /** Share of group events, 0..1 (default 0.05); the rest (at least 0) are track events. */
  groupShare: number
  /** Share of track and page events sent by analytics.js, 0..1 (default 0): the destination skips those by design. */
  browserTrackShare: number
  /**
   * Mean number of events in one visit (session) of a person (default 10; the captured fixture sessions have 12 and
   * 15 events). 1 means no locality at all: every event comes from an independently drawn person.
   */
  sessionEvents: number
  /** How many sessions are in progress at once, their events interleaved (default 50). */
  activeSessions: number
}

/** The bench's workload unless its flags say otherwise. */
export const DEFAULT_WORKLOAD: WorkloadOptions = {
  events: 10_000,
  people: 500,
  seed: 42,
  identifyShare: 0.25,
  pageShare: 0.15,
  groupShare: 0.05,
  browserTrackShare: 0,
  sessionEvents: 10,
  activeSessions: 50
}

/** One person of the workload, with the identity Koala should see for every one of their events. */
export interface Person {
  userId: string
  anonymousId: string
  /** Canonical (lowercase) email; absent for visitors known only by their Koala profile_id. */
  email?: string
  /** Koala's `ko_id`; present for some people. */
  profileId?: string
  /** `profile_id \0 email`, both normalised: the person Koala must file each of their entries under. */
  key: string
  firstName: string
  lastName: string
  title: string
  plan: string
  company: { id: string; name: string; domain: string; industry: string; employee_count: number; plan: string }
  ip: string
  userAgent: string
  locale: string
  timezone: string
  createdAt: string
}

/** A generated event with what the benchmark needs to check its delivery. */
export interface WorkloadEvent {
  event: SegmentEvent
  /** Whom Koala must file it under: the person's key ({@link Person.key}), or `domain \0 <domain>` for a group. */
  personKey: string
  /** True when the destination is expected to skip it (analytics.js track). */
  skipped: boolean
}

/** The generated workload. */
export interface Workload {
  options: WorkloadOptions
  people: Person[]
  events: WorkloadEvent[]
}

type Random = () => number

const pick = <T>(random: Random, list: readonly T[]): T => list[Math.floor(random() * list.length)]
const int = (random: Random, min: number, max: number): number => min + Math.floor(random() * (max - min + 1))

function uuid(random: Random): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

const FIRST_NAMES = ['Jordan', 'Alex', 'Sam', 'Robin', 'Casey', 'Taylor', 'Morgan', 'Jamie', 'Riley', 'Avery', 'Léa']
const LAST_NAMES = ['Rivera', 'Kim', 'Nguyen', 'Schmidt', 'Okafor', 'Rossi', 'Tanaka', 'Dubois', 'Novak', 'Müller']
const TITLES = ['Head of Growth', 'RevOps Manager', 'Account Executive', 'VP Marketing', 'Data Engineer', 'CTO']
const INDUSTRIES = ['Software', 'Fintech', 'Healthcare', 'Retail', 'Logistics', 'Education']
const COMPANY_NAMES = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark', 'Wayne', 'Soylent', 'Tyrell']
const PLANS = ['free', 'starter', 'growth', 'enterprise']
const LOCALES: [string, string][] = [
  ['en-US', 'America/New_York'],
  ['en-US', 'America/Chicago'],
  ['de-DE', 'Europe/Berlin'],
  ['fr-FR', 'Europe/Paris'],
  ['en-GB', 'Europe/London'],
  ['ja-JP', 'Asia/Tokyo']
]
const USER_AGENTS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148'
]
const PAGES: [string, string, string][] = [
  ['/pricing', '', 'Pricing | Example'],
  ['/signup', '?plan=growth', 'Create your account | Example'],
  ['/docs/getting-started', '?ref=hn', 'Getting started | Example Docs'],
  ['/app/dashboard', '', 'Dashboard | Example'],
  ['/blog/intent-signals', '?utm_source=newsletter&utm_medium=email&utm_campaign=fall_launch', 'Intent signals | Blog']
]

/**
 * Builds the people. Identity mix (as Koala customers send it): 70% known by email only, 20% by email and the
 * Koala `ko_id` profile_id, 10% by profile_id only (visitors not yet identified).
 */
function makePeople(random: Random, count: number): Person[] {
  const people: Person[] = []
  for (let i = 0; i < count; i++) {
    const firstName = pick(random, FIRST_NAMES)
    const lastName = pick(random, LAST_NAMES)
    const companyName = pick(random, COMPANY_NAMES)
    const domain = `${companyName.toLowerCase()}.example.${pick(random, ['com', 'net', 'org'])}`
    const roll = random()
    const email =
      roll < 0.9
        ? `${firstName.normalize('NFD').replace(/[^A-Za-z]/g, '')}.${lastName
            .normalize('NFD')
            .replace(/[^A-Za-z]/g, '')}${i}@${domain}`.toLowerCase()
        : undefined
    const profileId = roll >= 0.7 ? uuid(random) : undefined
    const [locale, timezone] = pick(random, LOCALES)
    const plan = pick(random, PLANS)
    people.push({
      userId: `usr_${i.toString(36)}_${int(random, 1000, 9999)}`,
      anonymousId: uuid(random),
      email,
      profileId,
      key: `${profileId ?? ''}\u0000${email ?? ''}`,
      firstName,
      lastName,
      title: pick(random, TITLES),
      plan,
      company: {
        id: `org_${companyName.toLowerCase()}_${int(random, 100, 9999)}`,
        name: `${companyName} ${pick(random, ['Analytics', 'Labs', 'Inc', 'GmbH'])}`,
        domain,
        industry: pick(random, INDUSTRIES),
        employee_count: int(random, 5, 5000),
        plan
      },
      ip: `${pick(random, ['203.0.113', '198.51.100'])}.${int(random, 1, 254)}`,
      userAgent: pick(random, USER_AGENTS),
      locale,
      timezone,
      createdAt: new Date(Date.UTC(2024, int(random, 0, 11), int(random, 1, 28), int(random, 0, 23))).toISOString()
    })
  }
  return people
}

/**
 * The email as a client library might spell it: mostly canonical, sometimes capitalised or padded (10%), which
 * the destination must not treat as another person.
 */
function spelledEmail(random: Random, email: string): string {
  const roll = random()
  if (roll < 0.05) return email.charAt(0).toUpperCase() + email.slice(1)
  if (roll < 0.1) return ` ${email.toUpperCase()} `
  return email
}

type Library = 'node' | 'browser' | 'mobile' | 'http' | 'engage'

function makeContext(random: Random, person: Person, library: Library, millis: number): JSONObject {
  const [path, search, title] = pick(random, PAGES)
  const page: JSONObject = {
    path,
    referrer: random() < 0.5 ? 'https://news.example.org/item?id=4242' : '',
    search,
    title,
    url: `https://www.example.com${path}${search}`
  }
  switch (library) {
    case 'browser':
      return {
        page,
        userAgent: person.userAgent,
        userAgentData: {
          brands: [
            { brand: 'Not:A-Brand', version: '8' },
            { brand: 'Chromium', version: '156' }
          ],
          mobile: false,
          platform: 'Linux'
        },
        locale: person.locale,
        library: { name: 'analytics.js', version: 'next-1.84.3' },
        campaign: search.includes('utm_')
          ? { name: 'fall_launch', source: 'newsletter', medium: 'email', term: '', content: '' }
          : {},
        timezone: person.timezone,
        ip: person.ip
      }
    case 'mobile':
      return {
        active: true,
        app: { name: 'ExampleMobile', version: '612', build: '4.2.0.612', namespace: 'com.example.mobile' },
        device: { id: `D${Math.floor(millis % 1e6)}`, manufacturer: 'Apple', model: 'iPhone16,1', type: 'ios' },
        ip: person.ip,
        library: { name: 'analytics-swift', version: '1.6.1' },
        locale: person.locale,
        network: { bluetooth: false, carrier: 'Example Mobile', cellular: true, wifi: false },
        os: { name: 'iOS', version: '18.1' },
        screen: { width: 393, height: 852, density: 3 },
        timezone: person.timezone,
        userAgent: USER_AGENTS[3]
      }
    case 'http':
      return { library: { name: 'example-backend', version: '2.3.0' }, ip: person.ip }
    case 'engage':
      return {
        library: { name: 'unknown', version: 'unknown' },
        personas: {
          computation_class: 'audience',
          computation_id: `aud_${int(random, 1000, 9999)}`,
          computation_key: 'visited_pricing_3x_last_7_days',
          namespace: 'spa_example',
          space_id: 'spa_example'
        }
      }
    default: {
      const context: JSONObject = {
        ip: person.ip,
        userAgent: person.userAgent,
        locale: person.locale,
        timezone: person.timezone,
        library: { name: '@segment/analytics-node', version: '3.1.0' }
      }
      if (random() < 0.4) context.page = page
      return context
    }
  }
}

const TRACK_EVENTS: [string, (random: Random, person: Person) => JSONObject][] = [
  [
    'Pricing Page Viewed',
    (random) => ({
      plan_tab: pick(random, ['monthly', 'annual']),
      currency: 'USD',
      visible_plans: ['starter', 'growth', 'enterprise'],
      scroll_depth_pct: int(random, 10, 100),
      experiment: { id: 'exp_pricing_v3', variant: pick(random, ['A', 'B']) }
    })
  ],
  [
    'Trial Started',
    (random, person) => ({
      plan: person.plan,
      trial_days: 14,
      seats: int(random, 1, 50),
      annual: random() < 0.5,
      coupon: null,
      mrr_estimate: Math.round(random() * 100000) / 100,
      features: ['sso', 'api_access', 'slack_alerts'],
      source: { channel: 'organic', landing_page: '/pricing', utm: { source: 'newsletter', medium: 'email' } }
    })
  ],
  [
    'Report Exported',
    (random) => ({
      format: pick(random, ['csv', 'xlsx', 'pdf']),
      rows: int(random, 1, 100000),
      filters: { segment: 'Accounts in market 🔥', region: pick(random, ['EMEA', 'NA', 'APAC']) },
      title: 'Rapport trimestriel — 四半期レポート',
      delta: -Math.round(random() * 1000) / 100,
      tags: []
    })
  ],
  [
    'Order Completed',
    (random) => {
      const products = Array.from({ length: int(random, 1, 4) }, (_, i) => ({
        product_id: `prod_${int(random, 100, 999)}`,
        sku: `SKU-${int(random, 10000, 99999)}`,
        name: pick(random, ['Seats', 'Intent add-on', 'API credits', 'Support plan']),
        price: int(random, 10, 500),
        quantity: int(random, 1, 10),
        position: i + 1
      }))
      const total = products.reduce((sum, p) => sum + p.price * p.quantity, 0)
      return { order_id: `ord_${int(random, 100000, 999999)}`, total, revenue: total, currency: 'USD', products }
    }
  ],
  [
    'Integration Connected',
    (random) => ({ integration: pick(random, ['salesforce', 'hubspot', 'slack']), initiated_by: 'admin' })
  ],
  ['Seat Added', (random) => ({ seats_total: int(random, 2, 200), role: pick(random, ['member', 'admin']) })],
  [
    'Feature Used',
    (random) => ({ feature: pick(random, ['intent-feed', 'playbooks', 'alerts']), duration_ms: int(random, 50, 90000) })
  ]
]

/** Picks people with a skewed activity (a few very active people, a long tail), as real accounts behave. */
function personPicker(random: Random, people: Person[]): () => Person {
  const weights = people.map((_, i) => 1 / Math.pow(i + 1, 0.8))
  const cumulative: number[] = []
  let total = 0
  for (const weight of weights) cumulative.push((total += weight))
  // Shuffle which person gets which weight so activity does not follow creation order.
  const order = people.map((_, i) => i)
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[order[i], order[j]] = [order[j], order[i]]
  }
  return () => {
    const target = random() * total
    let low = 0
    let high = cumulative.length - 1
    while (low < high) {
      const mid = (low + high) >> 1
      if (cumulative[mid] < target) low = mid + 1
      else high = mid
    }
    return people[order[low]]
  }
}

/**
 * Generates the workload. The same options always give the same events, byte for byte.
 *
 * @throws RangeError when `events` or `people` is not a positive integer.
 */
export function generateWorkload(options: WorkloadOptions): Workload {
  if (!Number.isInteger(options.events) || options.events < 1) throw new RangeError('events must be a positive integer')
  if (!Number.isInteger(options.people) || options.people < 1) throw new RangeError('people must be a positive integer')
  const random = seededRandom(`bench:${options.seed}`)
  const people = makePeople(random, options.people)
  const skewedPerson = personPicker(random, people)
  // Every person visits at least once (when there are enough events); beyond that, visits follow the skew.
  const unvisited = [...people]
  const nextSessionPerson = (): Person => {
    if (unvisited.length > 0 && random() < 0.6) {
      const index = Math.floor(random() * unvisited.length)
      const [person] = unvisited.splice(index, 1)
      return person
    }
    const person = skewedPerson()
    const index = unvisited.indexOf(person)
    if (index >= 0) unvisited.splice(index, 1)
    return person
  }
  // Traffic arrives as interleaved visits: `activeSessions` people are active at once, each for a geometric number of
  // events with mean `sessionEvents`; when a visit ends, another (skewed) person starts one.
  const sessionLength = (): number => {
    if (options.sessionEvents <= 1) return 1
    const p = 1 / options.sessionEvents
    return 1 + Math.floor(Math.log(1 - random()) / Math.log(1 - p))
  }
  const sessions = Array.from({ length: Math.max(1, options.activeSessions) }, () => ({
    person: nextSessionPerson(),
    remaining: sessionLength()
  }))
  const nextPerson = (): Person => {
    const session = sessions[Math.floor(random() * sessions.length)]
    const person = session.person
    if (--session.remaining <= 0) {
      session.person = nextSessionPerson()
      session.remaining = sessionLength()
    }
    return person
  }
  const events: WorkloadEvent[] = []
  let clock = Date.UTC(2026, 10, 30, 0, 0, 0)

  for (let n = 0; n < options.events; n++) {
    clock += int(random, 0, 500)
    const person = nextPerson()
    const roll = random()
    const type =
      roll < options.identifyShare
        ? 'identify'
        : roll < options.identifyShare + options.pageShare
        ? 'page'
        : roll < options.identifyShare + options.pageShare + options.groupShare
        ? 'group'
        : 'track'
    const isIdentify = type === 'identify'
    const timestamp = new Date(clock).toISOString()
    const sentAt = new Date(clock + int(random, 5, 400)).toISOString()
    const receivedAt = new Date(clock + int(random, 400, 900)).toISOString()
    const email = person.email ? spelledEmail(random, person.email) : undefined

    let library: Library
    let skipped = false
    if (isIdentify) {
      library = pick(random, ['browser', 'browser', 'node', 'node', 'mobile', 'engage'] as const)
    } else if (type !== 'group' && random() < options.browserTrackShare) {
      library = 'browser'
      skipped = true
    } else {
      library = pick(random, ['node', 'node', 'node', 'mobile', 'http', 'engage'] as const)
    }
    const context = makeContext(random, person, library, clock)
    const messageId =
      library === 'browser'
        ? `ajs-next-${clock}-${uuid(random)}`
        : library === 'engage'
        ? `personas_${uuid(random).replace(/-/g, '')}`
        : library === 'node'
        ? `node-next-${clock}-${uuid(random)}`
        : uuid(random)

    const base = {
      messageId,
      timestamp,
      originalTimestamp: timestamp,
      sentAt: library === 'engage' ? null : sentAt,
      receivedAt,
      integrations: library === 'http' ? { All: true, 'Koala (Cloud)': true } : {},
      userId: person.email ? person.userId : null,
      anonymousId: person.anonymousId,
      context
    }

    let event: SegmentEvent
    if (isIdentify) {
      const traits: { [k: string]: JSONValue } = {
        name: `${person.firstName} ${person.lastName}`,
        firstName: person.firstName,
        lastName: person.lastName,
        title: person.title,
        plan: person.plan,
        logins: int(random, 1, 400),
        created_at: person.createdAt,
        company: person.company,
        marketing_opt_in: random() < 0.5
      }
      if (email) traits.email = email
      if (person.profileId) traits.profile_id = person.profileId
      if (random() < 0.3) {
        traits.address = { street: '100 Example Ave', city: 'Springfield', state: 'IL', postalCode: '62701' }
      }
      if (library === 'engage') traits.visited_pricing_3x_last_7_days = random() < 0.7
      event = { ...base, type: 'identify', traits } as SegmentEvent
    } else if (type === 'group') {
      const { company } = person
      const traits = {
        name: company.name,
        website: `https://www.${company.domain}`,
        industry: company.industry,
        employees: company.employee_count,
        plan: company.plan
      }
      delete context.traits
      event = { ...base, type: 'group', groupId: company.id, traits } as SegmentEvent
      events.push({ event, personKey: `domain\u0000${company.domain}`, skipped: false })
      continue
    } else if (type === 'page') {
      const path = pick(random, ['/pricing', '/docs/getting-started', '/customers', '/blog/intent-signals'])
      const properties = {
        url: `https://www.example.com${path}`,
        path,
        title: `${path.slice(1)} | Example`,
        referrer: 'https://www.example.com/',
        search: ''
      }
      const contextTraits: JSONObject = {}
      if (email) contextTraits.email = email
      if (person.profileId) contextTraits.profile_id = person.profileId
      if (!skipped) context.traits = contextTraits
      event = { ...base, type: 'page', name: path.slice(1), properties } as SegmentEvent
    } else {
      const [name, makeProperties] =
        library === 'engage'
          ? ['Audience Entered', () => ({ audience_key: 'visited_pricing_3x_last_7_days' })]
          : pick(random, TRACK_EVENTS)
      const properties: { [k: string]: JSONValue } = makeProperties(random, person)
      if (person.profileId && !person.email) properties.profile_id = person.profileId
      // Server libraries pass the user's traits in context.traits, as the track spec suggests for Actions.
      const contextTraits: JSONObject = {}
      if (email) contextTraits.email = email
      if (person.profileId && person.email) contextTraits.profile_id = person.profileId
      if (!skipped && Object.keys(contextTraits).length > 0) context.traits = contextTraits
      event = { ...base, type: 'track', event: name, properties } as SegmentEvent
    }
    events.push({ event, personKey: person.key, skipped })
  }
  return { options, people, events }
}

/** The action a Segment event goes to: the presets' (Identify, Track) or the Page and Group mappings'. */
export function actionOf(event: SegmentEvent): 'identify' | 'track' | 'page' | 'group' {
  return event.type === 'identify' || event.type === 'page' || event.type === 'group' ? event.type : 'track'
}

/**
 * Segment's batching as the benchmark models it: each action has its own buffer, filled in arrival order and
 * flushed when it holds `batchSize` events (then whatever is left at the end).
 *
 * @returns the batches in the order they are flushed, each holding events of one action.
 */
export function segmentBatches(events: WorkloadEvent[], batchSize: number): WorkloadEvent[][] {
  const buffers = new Map<string, WorkloadEvent[]>()
  const batches: WorkloadEvent[][] = []
  for (const item of events) {
    const action = actionOf(item.event)
    const buffer = buffers.get(action) ?? []
    buffer.push(item)
    buffers.set(action, buffer)
    if (buffer.length === batchSize) {
      batches.push(buffer)
      buffers.set(action, [])
    }
  }
  for (const buffer of buffers.values()) if (buffer.length > 0) batches.push(buffer)
  return batches
}

/**
 * The minimum number of Koala requests for these batches: one per person per batch per 30 entries (each batch holds
 * one action's events). Skipped events need no request.
 */
export function minimumRequests(batches: WorkloadEvent[][]): number {
  let requests = 0
  for (const batch of batches) {
    const perPerson = new Map<string, number>()
    for (const item of batch) {
      if (!item.skipped) perPerson.set(item.personKey, (perPerson.get(item.personKey) ?? 0) + 1)
    }
    for (const count of perPerson.values()) requests += Math.ceil(count / MAX_ENTRIES_PER_REQUEST)
  }
  return requests
}
