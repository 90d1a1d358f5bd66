import { describeActionSnapshots } from '../../__tests__/__helpers__/action-snapshot'

describeActionSnapshots('group')
