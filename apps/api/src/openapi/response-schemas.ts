import { CONFIGURATION_KINDS, DELIVERY_CODES, DELIVERY_STATUSES, DESTINATION_TYPES, ENCRYPTION_MODES, INTERVALS, LANGUAGES, PERMISSIONS, ROLES, RUN_KINDS, RUN_STATUSES, RESTORE_MODES, RESTORE_RECOVERIES, RESTORE_STATUSES, RESTORE_UNIT_NAMES, RUN_TRIGGERS, VERIFICATION_RESULTS, VERIFY_AFTER_UPLOAD, VERIFY_SCHEDULES, WEBHOOK_EVENTS, WEBHOOK_FORMATS } from '@pbx/contracts';

/**
 * JSON Schemas of the responses (hand-written: responses are built by mappers, not zod); every
 * enum is the contracts' vocabulary, so a new value shows up here by itself.
 */
const oneOf = (values: readonly string[]) => ({ type: 'string', enum: [...values] });
const str = { type: 'string' };
const nstr = { type: ['string', 'null'] };
const dt = { type: 'string', format: 'date-time' };
const ndt = { type: ['string', 'null'], format: 'date-time' };
const int = { type: 'integer' };
const bool = { type: 'boolean' };
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const page = (item: string) => ({
  type: 'object',
  required: ['items', 'total', 'page', 'limit'],
  properties: { items: { type: 'array', items: ref(item) }, total: int, page: int, limit: int },
});

export const RESPONSE_SCHEMAS: Record<string, Record<string, unknown>> = {
  Problem: {
    type: 'object',
    description: 'RFC 7807 problem details (application/problem+json).',
    required: ['type', 'title', 'status', 'detail'],
    properties: {
      type: str,
      title: str,
      status: int,
      detail: str,
      instance: str,
      code: str,
      errors: { type: 'array', items: { type: 'object', required: ['field', 'message'], properties: { field: str, message: str } } },
    },
  },
  Destination: {
    type: 'object',
    description: 'A destination without its secrets: each stored secret shows as "***" plus has<Field>: true.',
    required: ['id', 'type'],
    properties: { id: { type: 'string', format: 'uuid' }, type: oneOf(DESTINATION_TYPES) },
    additionalProperties: true,
  },
  Configuration: {
    type: 'object',
    required: ['id', 'kind', 'name', 'reportTo', 'interval', 'timezone', 'destinations', 'nextRunAt'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      kind: oneOf(CONFIGURATION_KINDS),
      name: str,
      reportTo: str,
      interval: oneOf(INTERVALS),
      startAt: nstr,
      timezone: str,
      data: { type: 'object', description: 'backup: { coreData, cdrAndVoicemails, announcements }', properties: { coreData: bool, cdrAndVoicemails: bool, announcements: bool } },
      items: { type: 'object', description: 'archive: { cdr: { enabled, daysToKeep }, voicemails: { enabled, daysToKeep } }' },
      keepLast: { type: ['integer', 'null'] },
      keepDaily: { type: ['integer', 'null'], description: 'backup: keep the newest copy of each of the last N days that have one (restic forget --keep-daily, in the time zone); null = off' },
      keepWeekly: { type: ['integer', 'null'], description: 'backup: the same per ISO week (Monday to Sunday)' },
      keepMonthly: { type: ['integer', 'null'], description: 'backup: the same per calendar month' },
      maxAgeDays: { type: ['integer', 'null'], description: 'backup: copies taken more than N days ago are removed unless keepLast keeps them' },
      uploadWindows: {
        type: 'array',
        description: 'backup: local times (time zone) when an upload may start; to before from crosses midnight; empty = any time',
        items: { type: 'object', required: ['from', 'to'], properties: { from: str, to: str } },
      },
      destinations: { type: 'array', items: ref('Destination') },
      notifyOnSuccess: bool,
      language: oneOf(LANGUAGES),
      encryption: {
        type: 'object',
        description: 'age encryption of the archives (docs/encryption.md). The passphrase is never returned: hasPassphrase shows one is stored.',
        required: ['mode'],
        properties: { mode: oneOf(ENCRYPTION_MODES), recipients: { type: 'array', items: str }, hasPassphrase: bool },
      },
      verify: {
        type: 'object',
        description: 'backup: how stored copies are checked — afterUpload size (default) or sha256 (read back right after each upload); schedule: the newest copy at every destination is read back that often',
        required: ['afterUpload'],
        properties: { afterUpload: oneOf(VERIFY_AFTER_UPLOAD), schedule: oneOf(VERIFY_SCHEDULES) },
      },
      webhooks: {
        type: 'array',
        description: 'Where the notifier also tells about failures, successes and staleness (docs/notifications.md). The secret is never returned: hasSecret shows one is stored.',
        items: {
          type: 'object',
          required: ['id', 'url', 'format', 'events', 'hasSecret'],
          properties: { id: { type: 'string', format: 'uuid' }, url: str, format: oneOf(WEBHOOK_FORMATS), events: { type: 'array', items: oneOf(WEBHOOK_EVENTS) }, hasSecret: bool },
        },
      },
      nextRunAt: ndt,
      lastSuccessAt: ndt,
      lastRun: {
        type: ['object', 'null'],
        description: 'list and read: the newest run of the configuration (null when it never ran)',
        required: ['id', 'status', 'finishedAt', 'createdAt'],
        properties: { id: { type: 'string', format: 'uuid' }, status: oneOf(RUN_STATUSES), finishedAt: ndt, createdAt: dt },
      },
      createdAt: dt,
      updatedAt: dt,
    },
  },
  Delivery: {
    type: 'object',
    properties: {
      destinationId: str,
      type: str,
      target: str,
      status: oneOf(DELIVERY_STATUSES),
      code: { type: ['string', 'null'], enum: [...DELIVERY_CODES, null] },
      attempts: int,
      error: nstr,
      location: nstr,
      bytesSent: int,
      startedAt: ndt,
      finishedAt: ndt,
      nextAttemptAt: { ...ndt, description: 'when a delivery waiting after a transient failure tries again (status pending; code and error say why)' },
      heldUntil: { ...ndt, description: 'when a delivery held for its configuration\'s upload window starts (status waiting; not a failure)' },
      verification: {
        type: ['object', 'null'],
        description: 'the last read-back of the stored copy (POST /runs/{id}/verify): verified, mismatch, missing, notVerifiable or the destination\'s failure code',
        required: ['result', 'at'],
        properties: { result: oneOf(VERIFICATION_RESULTS), at: ndt },
      },
    },
  },
  Run: {
    type: 'object',
    required: ['id', 'kind', 'configurationId', 'configurationName', 'trigger', 'status', 'deliveries'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      kind: { ...oneOf(RUN_KINDS), description: 'backup, archive, or safety: the safety backup a replace restore took before it changed anything (no configuration, never delivered; restore it to undo that restore)' },
      configurationId: { ...nstr, description: 'null for a safety run' },
      configurationName: str,
      restoreId: { ...nstr, description: 'a safety run: the restore that took it' },
      trigger: oneOf(RUN_TRIGGERS),
      status: oneOf(RUN_STATUSES),
      catchUp: bool,
      scheduledFor: ndt,
      deferredUntil: ndt,
      deferrals: { type: 'array', items: { type: 'object', properties: { at: dt, until: dt, heldBy: nstr } } },
      startedAt: ndt,
      packedAt: ndt,
      finishedAt: ndt,
      artifact: { type: ['object', 'null'], properties: { fileName: str, size: { type: ['integer', 'null'] }, sha256: nstr, removedAt: ndt } },
      progress: { type: ['object', 'null'], properties: { bytes: int, entriesDone: int, entriesTotal: { type: ['integer', 'null'] } } },
      counts: { type: ['object', 'null'], additionalProperties: { type: 'number' } },
      deliveries: { type: 'array', items: ref('Delivery') },
      error: nstr,
      createdAt: dt,
    },
  },
  DeadLetter: {
    type: 'object',
    properties: {
      id: str,
      queue: str,
      messageId: str,
      type: nstr,
      routingKey: nstr,
      runId: nstr,
      reason: str,
      attempts: int,
      firstFailedAt: dt,
      lastFailedAt: dt,
      recordedAt: dt,
      replayedAt: ndt,
      replayedBy: nstr,
      discardedAt: ndt,
      discardedBy: nstr,
      headers: { type: 'object' },
      body: { type: 'string', description: 'Only on GET /dead-letters/{id}.' },
    },
  },
  DestinationTestReport: {
    type: 'object',
    required: ['ok', 'steps'],
    properties: {
      ok: bool,
      steps: { type: 'array', items: { type: 'object', properties: { step: str, ok: bool, detail: str } } },
      code: oneOf(DELIVERY_CODES),
      hostKeyFingerprint: str,
    },
  },
  UsbVolumes: {
    type: 'object',
    required: ['items'],
    properties: {
      items: {
        type: 'array',
        items: {
          type: 'object',
          required: ['device'],
          properties: {
            device: { type: 'string', description: "The volume's folder name below USB_MOUNT_ROOT (a usb destination's `device`)" },
            freeBytes: { type: 'integer', description: 'Free bytes for an unprivileged writer' },
            totalBytes: { type: 'integer', description: "The file system's size" },
          },
        },
      },
    },
  },
  DropboxAuthorizeUrl: {
    type: 'object',
    required: ['url'],
    properties: { url: { type: 'string', format: 'uri', description: "Dropbox's authorize page (response_type=code, token_access_type=offline)" } },
  },
  DeliveryCodeText: {
    type: 'object',
    required: ['sentence', 'hint'],
    properties: { sentence: { type: 'string', description: 'What happened' }, hint: { type: 'string', description: 'What to do about it' } },
  },
  DeliveryCodeTexts: {
    type: 'object',
    description: 'Every delivery code in words, in one language (the texts of the report mails).',
    required: ['language', 'codes'],
    properties: {
      language: oneOf(LANGUAGES),
      codes: { type: 'object', required: [...DELIVERY_CODES], properties: Object.fromEntries(DELIVERY_CODES.map((c) => [c, ref('DeliveryCodeText')])), additionalProperties: false },
    },
  },
  Me: {
    type: 'object',
    description: "The calling token: its name (admin for ADMIN_API_TOKEN), role and what that role may do; and the PBX's time zone (DEFAULT_TIMEZONE, a new configuration's default).",
    required: ['name', 'role', 'permissions', 'timezone'],
    properties: { name: str, role: oneOf(ROLES), permissions: { type: 'array', items: oneOf(PERMISSIONS) }, timezone: str },
  },
  RunStatusEvent: {
    type: 'object',
    description: 'GET /runs/{id}/events, event `status`: the run\'s status; the stream ends after the one with final: true.',
    required: ['status', 'error', 'final'],
    properties: { status: oneOf(RUN_STATUSES), error: nstr, final: bool },
  },
  RunProgressEvent: {
    type: 'object',
    description: 'GET /runs/{id}/events, event `progress`: packing (bytes written; the total is unknown until packed), then delivering (bytes of all destinations).',
    required: ['phase', 'bytesDone', 'bytesTotal', 'percent', 'entriesDone'],
    properties: {
      phase: oneOf(['queued', 'deferred', 'packing', 'delivering', 'done']),
      bytesDone: int,
      bytesTotal: { type: ['integer', 'null'] },
      percent: { type: ['integer', 'null'], minimum: 0, maximum: 100 },
      entriesDone: { type: ['integer', 'null'] },
    },
  },
  RunDeliveryEvent: {
    type: 'object',
    description: 'GET /runs/{id}/events, event `delivery`: one destination\'s state (status running while an attempt uploads).',
    required: ['id', 'destinationId', 'type', 'target', 'status', 'attempts', 'bytesDone', 'bytesTotal', 'code', 'error', 'nextAttemptAt', 'heldUntil'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      destinationId: { type: 'string', format: 'uuid' },
      type: oneOf(DESTINATION_TYPES),
      target: str,
      status: oneOf(DELIVERY_STATUSES),
      attempts: int,
      bytesDone: int,
      bytesTotal: { type: ['integer', 'null'] },
      code: { type: ['string', 'null'], enum: [...DELIVERY_CODES, null] },
      error: nstr,
      nextAttemptAt: ndt,
      heldUntil: ndt,
    },
  },
  ConfigurationPage: page('Configuration'),
  RunPage: page('Run'),
  DeadLetterPage: page('DeadLetter'),
  AuditEvent: {
    type: 'object',
    required: ['id', 'at', 'tokenId', 'tokenName', 'action', 'targetType', 'targetId', 'outcome', 'clientAddress'],
    properties: {
      id: str,
      at: dt,
      tokenId: nstr,
      tokenName: { type: 'string', description: 'the token name, "admin" (ADMIN_API_TOKEN), "cli:<user>" (ops CLI) or "anonymous"' },
      action: str,
      targetType: nstr,
      targetId: nstr,
      outcome: { type: 'string', enum: ['ok', 'refused', 'failed'] },
      clientAddress: nstr,
      detail: { type: ['object', 'null'], description: 'non-secret facts: HTTP status and code of a refusal, a pinned fingerprint' },
    },
  },
  AuditEventPage: page('AuditEvent'),
  ConfigurationEnvelope: { type: 'object', properties: { configuration: ref('Configuration'), run: ref('Run') } },
  RunEnvelope: { type: 'object', required: ['run'], properties: { run: ref('Run') } },
  Restore: {
    type: 'object',
    required: ['id', 'status', 'phase', 'source', 'mode', 'preview', 'bytesDone', 'bytesTotal', 'sections', 'safetyBackup', 'error'],
    properties: {
      id: { ...str, format: 'uuid' },
      status: oneOf(RESTORE_STATUSES),
      phase: { ...nstr, description: "the engine's phase: waiting (for the maintenance lock), verifying, previewing, safety-backup, restoring, done" },
      source: {
        description: '{ runId } | { destinationId, file } | { uploadId }',
        oneOf: [
          { type: 'object', required: ['runId'], properties: { runId: { ...str, format: 'uuid' } } },
          { type: 'object', required: ['destinationId', 'file'], properties: { destinationId: { ...str, format: 'uuid' }, file: str } },
          { type: 'object', required: ['uploadId'], properties: { uploadId: { ...str, format: 'uuid' } } },
        ],
      },
      mode: oneOf(RESTORE_MODES),
      preview: bool,
      allowOtherPbx: bool,
      bytesDone: int,
      bytesTotal: { type: ['integer', 'null'] },
      sections: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            name: { ...oneOf(RESTORE_UNIT_NAMES), description: 'what was restored as a whole: coreData (archive section core), cdrAndVoicemails (cdr and voicemail), announcements' },
            status: str,
            counts: { type: 'object', properties: { rowsInserted: int, rowsDeleted: int, filesWritten: int } },
            recovery: { ...oneOf(RESTORE_RECOVERIES), description: 'only after the restorer died mid-restore: what recovery on restart did to this section' },
          },
        },
      },
      safetyBackup: { type: ['object', 'null'], description: 'the backup of the PBX taken before a replace (restore its run, safetyRunId, to undo); path: its key in the artifact store', properties: { path: str, size: int, sha256: str } },
      safetyRunId: { ...nstr, description: 'the run of kind safety that keeps the safety backup: GET /runs/{id}/download, or POST /restores { source: { runId } } to undo this restore' },
      previewResult: {
        type: ['object', 'null'],
        description: 'preview only (null until it finished): the archive, and per section the table and audio differences (libs/restore RestorePreview)',
        required: ['archive', 'sections'],
        properties: {
          archive: {
            type: 'object',
            required: ['pbxId', 'kind', 'createdAt', 'configurationName', 'sections'],
            properties: { pbxId: str, kind: str, createdAt: dt, configurationName: str, sections: { type: 'array', items: str, description: "the .sar manifest's section names" }, counts: { type: 'object', additionalProperties: int } },
          },
          sections: {
            type: 'array',
            items: {
              type: 'object',
              required: ['section', 'mode', 'tables', 'audio'],
              properties: {
                section: oneOf(RESTORE_UNIT_NAMES),
                mode: oneOf(RESTORE_MODES),
                tables: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['table', 'rowsInArchive', 'rowsAdded', 'rowsRemoved', 'rowsChanged', 'rowsUnchanged'],
                    properties: { table: str, rowsInArchive: int, rowsAdded: int, rowsRemoved: int, rowsChanged: int, rowsUnchanged: int },
                  },
                },
                audio: {
                  type: ['object', 'null'],
                  required: ['folder', 'filesAdded', 'filesReplaced', 'filesRemoved', 'filesUnchanged', 'bytesToWrite'],
                  properties: { folder: str, filesAdded: int, filesReplaced: int, filesRemoved: int, filesUnchanged: int, bytesToWrite: int },
                },
              },
            },
          },
        },
      },
      error: nstr,
      createdAt: dt,
      startedAt: ndt,
      finishedAt: ndt,
    },
  },
  RestoreEnvelope: { type: 'object', required: ['restore'], properties: { restore: ref('Restore') } },
  RestorePage: page('Restore'),
  Upload: {
    type: 'object',
    required: ['uploadId', 'url', 'size', 'received', 'complete', 'expiresAt'],
    properties: {
      uploadId: { ...str, format: 'uuid' },
      url: { ...str, description: 'PUT the file here' },
      size: { type: ['integer', 'null'], description: 'the announced size (null until known)' },
      received: { ...int, description: 'bytes received so far (also the Upload-Offset header)' },
      complete: bool,
      expiresAt: { ...dt, description: 'the upload is removed then (UPLOAD_TTL_MS), finished or not' },
    },
  },
  StoredCopyList: {
    type: 'object',
    required: ['items'],
    properties: {
      items: {
        type: 'array',
        items: {
          type: 'object',
          required: ['file', 'size', 'modifiedAt', 'writtenByThisService'],
          properties: {
            file: str,
            size: int,
            modifiedAt: { ...ndt, description: "the destination's last-write time (null when it reports none)" },
            writtenByThisService: { ...bool, description: 'a delivery of this service wrote it' },
          },
        },
      },
    },
  },
  ReplayCount: { type: 'object', required: ['replayed'], properties: { replayed: int } },
  DiscardCount: { type: 'object', required: ['discarded'], properties: { discarded: int } },
};
