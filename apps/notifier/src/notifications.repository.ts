import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

export interface NotificationKey {
  /** A run id, or a configuration id for staleness alerts. */
  subjectId: string;
  /** The message type (backup.failed …) or `stale:<iso time of the last success>`. */
  kind: string;
}

/**
 * The `notifications` table: at most one mail per (subject, kind).
 *
 * Use inside ONE transaction: `claim` → send → `markSent` → commit. `claim` inserts the
 * row and locks it, so a concurrent duplicate (redelivery, second replica) waits on the
 * lock and then sees `sent_at`; a failed send rolls the transaction back and leaves no
 * row marked sent.
 */
@Injectable()
export class NotificationsRepository {
  /** true: not sent yet, the row is ours (locked) until the transaction ends; false: already sent. */
  async claim(manager: EntityManager, key: NotificationKey, recipient: string): Promise<boolean> {
    await manager.query(
      'INSERT INTO notifications (subject_id, kind, recipient) VALUES ($1, $2, $3) ON CONFLICT (subject_id, kind) DO NOTHING',
      [key.subjectId, key.kind, recipient],
    );
    const rows: { sent_at: Date | null }[] = await manager.query(
      'SELECT sent_at FROM notifications WHERE subject_id = $1 AND kind = $2 FOR UPDATE',
      [key.subjectId, key.kind],
    );
    return rows.length === 1 && rows[0].sent_at === null;
  }

  async markSent(manager: EntityManager, key: NotificationKey, recipient: string): Promise<void> {
    await manager.query('UPDATE notifications SET sent_at = now(), recipient = $3 WHERE subject_id = $1 AND kind = $2', [
      key.subjectId,
      key.kind,
      recipient,
    ]);
  }
}
