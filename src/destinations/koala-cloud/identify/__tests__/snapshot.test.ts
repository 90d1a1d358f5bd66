import { describeActionSnapshots } from '../../__tests__/action-snapshot'

describeActionSnapshots('identify')
