/**
 * The harness: the local tools' one way in to the destination (see harness.ts). Besides running it, it passes on what
 * the local tools read of the destination's folder, so that no other part of src/ imports the folder.
 */
export { createHarness, DEFAULT_REQUEST_TIMEOUT_MS, Harness } from './harness'
export type { DeletionRun, HarnessOptions } from './harness'
export { DELETIONS_HELD, redirectDefinition, redirectRequest, rewriteUrl, trimBase } from './redirect'
export type { KoalaTargets } from './redirect'
export { redactAnswer, redactKey, redactProjectUrl } from './redact'
export { BadRequest, BATCHING_OFF, failureReason, isExpectedFailure } from './run-action'
export type { ActionInput, MultistatusElement, MultistatusNode, OutputElement, RunAnswer } from './run-action'
export { cleanMessage, isStackOverflow, sentence, toErrorOutput, toExchanges } from './exchanges'
export type { ErrorOutput, Exchange } from './exchanges'
export {
  enableBatchingOf,
  findTooDeep,
  mappingProblem,
  mappingShapeProblem,
  MAX_NESTING_DEPTH,
  STACK_OVERFLOW_MESSAGE,
  tooDeepMessage,
  unprocessableEvent
} from './event-checks'

// What the local tools read of the folder: only exports the folder keeps.
export { checkPublicKey, KOALA_API_URL, KOALA_APP_URL, projectUrl } from '../destinations/koala-cloud/config'
export { isRetryable } from '../destinations/koala-cloud/errors'
export { MAX_BATCH_SIZE } from '../destinations/koala-cloud/fields'
export { ENDPOINT } from '../destinations/koala-cloud/functions'
export type { Settings } from '../destinations/koala-cloud/generated-types'
