import type { operations } from '../../api/schema';

/** The audit trail's actions, as the api's filter enum has them (a new one fails typecheck:admin until named here). */
export type AuditAction = NonNullable<NonNullable<operations['AuditEventsController_list']['parameters']['query']>['action']>;

const actionsEn = {
  'configuration.create': 'Configuration created',
  'configuration.update': 'Configuration changed',
  'configuration.delete': 'Configuration deleted',
  'destination.add': 'Destination added',
  'destination.remove': 'Destination removed',
  'destination.test': 'Connection tested',
  'destination.host-key-pin': 'Host key pinned',
  'run.start': 'Run started',
  'run.cancel': 'Run cancelled',
  'run.download': 'Archive downloaded',
  'run.verify': 'Stored copies verified',
  'restore.start': 'Restore started',
  'upload.create': 'Upload begun',
  'upload.write': 'Upload written',
  'dead-letter.replay': 'Dead letter replayed',
  'dead-letter.discard': 'Dead letter discarded',
  'token.create': 'API token created',
  'token.revoke': 'API token revoked',
} satisfies Record<AuditAction, string>;

const actionsDe = {
  'configuration.create': 'Konfiguration angelegt',
  'configuration.update': 'Konfiguration geändert',
  'configuration.delete': 'Konfiguration gelöscht',
  'destination.add': 'Ziel hinzugefügt',
  'destination.remove': 'Ziel entfernt',
  'destination.test': 'Verbindung getestet',
  'destination.host-key-pin': 'Host-Schlüssel festgelegt',
  'run.start': 'Lauf gestartet',
  'run.cancel': 'Lauf abgebrochen',
  'run.download': 'Archiv heruntergeladen',
  'run.verify': 'Gespeicherte Kopien geprüft',
  'restore.start': 'Wiederherstellung gestartet',
  'upload.create': 'Hochladen begonnen',
  'upload.write': 'Hochgeladen',
  'dead-letter.replay': 'Nachricht erneut gesendet',
  'dead-letter.discard': 'Nachricht verworfen',
  'token.create': 'API-Token angelegt',
  'token.revoke': 'API-Token widerrufen',
} satisfies Record<AuditAction, string>;

/** The Audit page's strings (merged into en.ts / de.ts). */
export const auditEn = {
  audit: {
    title: 'Audit',
    intro: 'Every change and every access to PBX data, newest first: who (the token\'s name), what, on which object, from where, and how it ended. Secrets are never recorded.',
    empty: 'No audit events match.',
    action: 'Action',
    any: 'all',
    targetId: 'Object id',
    filter: 'Filter',
    reset: 'Clear filters',
    count: 'Events found: {{count}}',
    col: { at: 'When', who: 'Who', action: 'Action', target: 'Object', outcome: 'Outcome', client: 'From', detail: 'Detail' },
    outcome: { ok: 'ok', refused: 'refused', failed: 'failed' },
    actions: actionsEn,
  },
};

export const auditDe: typeof auditEn = {
  audit: {
    title: 'Protokoll',
    intro: 'Jede Änderung und jeder Zugriff auf Daten der TK-Anlage, neueste zuerst: wer (der Name des Tokens), was, an welchem Objekt, von wo und mit welchem Ausgang. Geheimnisse werden nie aufgezeichnet.',
    empty: 'Keine Protokolleinträge gefunden.',
    action: 'Aktion',
    any: 'alle',
    targetId: 'Objekt-ID',
    filter: 'Filtern',
    reset: 'Filter zurücksetzen',
    count: 'Gefundene Einträge: {{count}}',
    col: { at: 'Wann', who: 'Wer', action: 'Aktion', target: 'Objekt', outcome: 'Ausgang', client: 'Von', detail: 'Einzelheiten' },
    outcome: { ok: 'ok', refused: 'abgelehnt', failed: 'fehlgeschlagen' },
    actions: actionsDe,
  },
};
