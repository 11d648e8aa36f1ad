/**
 * What the leader knows of one follower's log (etcd's tracker.Progress):
 * - probe: we do not know where its log matches; send one append at a time
 *   and back up on rejection;
 * - replicate: it matches up to `match`; stream appends optimistically, at
 *   most `maxInflight` unacknowledged;
 * - snapshot: a snapshot is on its way; send nothing until it answers.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot'

export class Progress {
  match = 0
  next: number
  state: ProgressState = 'probe'
  /** In probe state: an append was sent and not yet answered. */
  probeSent = false
  /** Last index of each unacknowledged append, oldest first (replicate state). */
  inflight: number[] = []
  /** Index of the snapshot being sent (snapshot state). */
  pendingSnapshot = 0
  /** Heard from since the last check-quorum round. */
  recentActive = false
  readonly maxInflight: number

  constructor (next: number, maxInflight: number) {
    this.next = next
    this.maxInflight = maxInflight
  }

  isPaused (): boolean {
    switch (this.state) {
      case 'probe': return this.probeSent
      case 'replicate': return this.inflight.length >= this.maxInflight
      case 'snapshot': return true
    }
  }

  becomeProbe (): void {
    // After a snapshot, resume right after it; otherwise after what matched.
    this.next = this.state === 'snapshot' ? Math.max(this.match, this.pendingSnapshot) + 1 : this.match + 1
    this.state = 'probe'
    this.probeSent = false
    this.inflight = []
    this.pendingSnapshot = 0
  }

  becomeReplicate (): void {
    this.state = 'replicate'
    this.next = this.match + 1
    this.probeSent = false
    this.inflight = []
    this.pendingSnapshot = 0
  }

  becomeSnapshot (index: number): void {
    this.state = 'snapshot'
    this.pendingSnapshot = index
    this.probeSent = false
    this.inflight = []
  }

  /** An append up to `last` was sent. */
  sentAppend (last: number, entries: number): void {
    if (this.state === 'replicate') {
      if (entries > 0) {
        this.next = last + 1
        this.inflight.push(last)
      }
    } else if (this.state === 'probe') {
      this.probeSent = true
    }
  }

  /** The follower acknowledged up to `index`; returns whether that was news. */
  maybeUpdate (index: number): boolean {
    let updated = false
    if (index > this.match) {
      this.match = index
      updated = true
      this.probeSent = false
    }
    this.next = Math.max(this.next, index + 1)
    while (this.inflight.length > 0 && this.inflight[0]! <= index) this.inflight.shift()
    return updated
  }

  /**
   * The follower rejected an append at `rejected`; `hint` is where its log
   * may match. Returns false for a stale rejection that changes nothing.
   */
  maybeDecrTo (rejected: number, hint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false
      this.next = this.match + 1
      return true
    }
    if (this.next - 1 !== rejected) return false
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1, 1)
    this.probeSent = false
    return true
  }
}
