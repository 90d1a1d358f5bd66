/**
 * Summarises a V8 CPU profile (the `.cpuprofile` JSON written by the inspector's `Profiler.stop`) into the buckets
 * the benchmark reports: the framework's mapping, validation and subscriptions, the request client, Node's
 * sockets and HTTP, the destination's own code, GC. Self time of a native frame (JSON.stringify, RegExp, ...) goes
 * to the nearest caller with a source file, so `JSON.stringify` called by the request client counts as the request
 * client's.
 */

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}

interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}

/** The parts of a `.cpuprofile` this module reads. */
export interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples?: number[]
  timeDeltas?: number[]
}

/** One line of the summary. */
export interface ProfileLine {
  name: string
  ms: number
  /** Share of the profile's busy (non-idle) time, 0..100. */
  percent: number
}

/** The summary: buckets and the hottest functions, by self time. */
export interface ProfileSummary {
  busyMs: number
  idleMs: number
  buckets: ProfileLine[]
  functions: ProfileLine[]
}

const SPECIAL: Record<string, string> = {
  '(garbage collector)': 'GC',
  '(program)': 'V8/native, unattributed (program)',
  '(idle)': 'idle',
  '(root)': 'V8/native, unattributed (program)'
}

/** The bucket of a frame with a source file, or undefined for a native frame (its caller decides). */
export function bucketOf(url: string): string | undefined {
  if (!url) return undefined
  if (url.includes('/dist/src/')) return 'our code (koala.ts, actions, config)'
  if (url.includes('/dist/bench/')) return 'bench harness'
  if (url.includes('actions-core/dist/cjs/mapping-kit')) return 'framework: mapping-kit (transformBatch)'
  if (/actions-core\/dist\/cjs\/(schema-validation|remove-empty-values)|node_modules\/ajv/.test(url)) {
    return 'framework: schema validation (ajv)'
  }
  if (url.includes('destination-subscriptions')) return 'framework: subscriptions (FQL)'
  if (/actions-core\/dist\/cjs\/(request-client|create-request-client|fetch|middleware)/.test(url)) {
    return 'request client (actions-core)'
  }
  if (/node_modules\/(cross-fetch|node-fetch|whatwg-url|tr46|webidl-conversions)\//.test(url)) {
    return 'request client (cross-fetch/node-fetch)'
  }
  if (url.includes('actions-core/')) return 'framework: other (destination-kit, action)'
  if (url.startsWith('node:')) {
    return /_http|net|stream|dns|socket|tls|tcp|buffer|string_decoder/.test(url)
      ? 'sockets & HTTP (node core)'
      : 'node core (events, timers, promises)'
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  return pkg ? `other: ${pkg[1]}` : `other: ${url}`
}

/**
 * Summarises a profile.
 *
 * @param top how many functions to list.
 */
export function summariseProfile(profile: CpuProfile, top = 12): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)

  const bucketCache = new Map<number, string>()
  const bucketOfNode = (id: number): string => {
    const cached = bucketCache.get(id)
    if (cached) return cached
    let current: number | undefined = id
    let bucket: string | undefined
    const frame = byId.get(id)?.callFrame
    if (frame && SPECIAL[frame.functionName] && !frame.url) bucket = SPECIAL[frame.functionName]
    while (!bucket && current !== undefined) {
      bucket = bucketOf(byId.get(current)?.callFrame.url ?? '')
      current = parent.get(current)
    }
    bucket ??= 'V8/native, unattributed (program)'
    bucketCache.set(id, bucket)
    return bucket
  }

  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  const selfUs = new Map<number, number>()
  for (let i = 0; i < samples.length; i++) {
    // A sample stands for the time until the next one (the last one gets the average).
    const us =
      i + 1 < deltas.length ? deltas[i + 1] : (profile.endTime - profile.startTime) / Math.max(1, samples.length)
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, us))
  }

  const buckets = new Map<string, number>()
  const functions = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const bucket = bucketOfNode(id)
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + us)
    if (bucket === 'idle') continue
    const frame = byId.get(id)?.callFrame
    const file = frame?.url ? frame.url.replace(/^.*\/(node_modules|dist)\//, '').replace(/^file:\/\//, '') : ''
    const name = `${frame?.functionName || '(anonymous)'} ${
      file ? `${file}:${(frame?.lineNumber ?? 0) + 1}` : `[${bucket}]`
    }`
    functions.set(name, (functions.get(name) ?? 0) + us)
  }

  const idleUs = buckets.get('idle') ?? 0
  buckets.delete('idle')
  const busyUs = [...buckets.values()].reduce((sum, us) => sum + us, 0)
  const lines = (map: Map<string, number>, limit: number): ProfileLine[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, us]) => ({ name, ms: us / 1000, percent: busyUs > 0 ? (100 * us) / busyUs : 0 }))
  return { busyMs: busyUs / 1000, idleMs: idleUs / 1000, buckets: lines(buckets, 50), functions: lines(functions, top) }
}
