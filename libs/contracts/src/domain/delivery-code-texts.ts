import type { DeliveryCode } from './delivery-codes';
import type { Language } from './language';

/** One delivery code in words: what happened, and what to do about it. */
export interface DeliveryCodeText {
  /** What happened, in words an administrator understands. */
  sentence: string;
  /** What to do about it. */
  hint: string;
}

/**
 * Every delivery result code as a sentence plus a hint, per language — the one copy: the
 * notifier's reports and the api's GET /api/v1/vocabulary/delivery-codes (which the admin UI
 * shows) read it. Typed as a full Record so adding a code or a language without its texts
 * fails the typecheck.
 */
export const DELIVERY_CODE_TEXTS: Record<Language, Record<DeliveryCode, DeliveryCodeText>> = {
  en: {
    successful: { sentence: 'The backup was stored successfully.', hint: 'Nothing to do.' },
    mountfail: {
      sentence: 'The destination could not be reached or mounted.',
      hint: 'Check that the server or share is online and reachable from the PBX, that the share name is right and, for USB, that the stick is plugged in.',
    },
    alreadyRunning: {
      sentence: 'Another backup to this destination was still running.',
      hint: 'Move the start times of overlapping configurations apart, or wait for the running backup to finish.',
    },
    mailtobig: {
      sentence: 'The backup is too large to be sent by e-mail.',
      hint: 'Choose another destination type (network share, SFTP, Dropbox) or include less data (for example call records and voicemails).',
    },
    sftpRightProblem: {
      sentence: 'The SFTP user is not allowed to write to the target directory.',
      hint: 'Give the user write permission on the directory, or choose a directory the user owns.',
    },
    authFailed: {
      sentence: 'The destination refused the login.',
      hint: 'Check user name and password or key in the destination settings; for Dropbox, connect the account again.',
    },
    hostKeyMismatch: {
      sentence: "The SFTP server's host key does not match the stored fingerprint.",
      hint: 'If the server was reinstalled, verify the new fingerprint with its administrator and update it; otherwise the connection may be intercepted.',
    },
    notFound: {
      sentence: 'The target directory or share does not exist.',
      hint: 'Create it on the destination or correct the path in the destination settings.',
    },
    quotaExceeded: {
      sentence: 'The destination is full (quota or disk space exhausted).',
      hint: 'Free up space, keep fewer backups ("keep last"), or raise the quota.',
    },
    timeout: {
      sentence: 'The destination did not answer in time.',
      hint: 'Check the network connection and the load of the destination server; the next scheduled run tries again.',
    },
    ioError: {
      sentence: 'Writing the backup to the destination failed.',
      hint: 'Check the destination disk and the network connection; the technical detail below says more.',
    },
  },
  de: {
    successful: { sentence: 'Die Sicherung wurde erfolgreich gespeichert.', hint: 'Nichts zu tun.' },
    mountfail: {
      sentence: 'Das Ziel war nicht erreichbar oder konnte nicht eingebunden werden.',
      hint: 'Prüfen Sie, ob Server bzw. Freigabe eingeschaltet und von der TK-Anlage erreichbar sind, ob der Freigabename stimmt und, bei USB, ob der Stick eingesteckt ist.',
    },
    alreadyRunning: {
      sentence: 'Zu diesem Ziel lief noch eine andere Sicherung.',
      hint: 'Verschieben Sie die Startzeiten sich überschneidender Konfigurationen oder warten Sie, bis die laufende Sicherung beendet ist.',
    },
    mailtobig: {
      sentence: 'Die Sicherung ist zu groß für den Versand per E-Mail.',
      hint: 'Wählen Sie einen anderen Zieltyp (Netzwerkfreigabe, SFTP, Dropbox) oder sichern Sie weniger Daten (z. B. Verbindungsdaten und Voicemails).',
    },
    sftpRightProblem: {
      sentence: 'Der SFTP-Benutzer darf nicht in das Zielverzeichnis schreiben.',
      hint: 'Geben Sie dem Benutzer Schreibrechte auf das Verzeichnis oder wählen Sie ein Verzeichnis, das ihm gehört.',
    },
    authFailed: {
      sentence: 'Das Ziel hat die Anmeldung abgelehnt.',
      hint: 'Prüfen Sie Benutzername und Passwort bzw. Schlüssel in den Zieleinstellungen; bei Dropbox verbinden Sie das Konto erneut.',
    },
    hostKeyMismatch: {
      sentence: 'Der Host-Schlüssel des SFTP-Servers passt nicht zum gespeicherten Fingerabdruck.',
      hint: 'Wurde der Server neu installiert, prüfen Sie den neuen Fingerabdruck mit dessen Administrator und tragen Sie ihn ein; andernfalls wird die Verbindung möglicherweise abgehört.',
    },
    notFound: {
      sentence: 'Das Zielverzeichnis oder die Freigabe existiert nicht.',
      hint: 'Legen Sie es auf dem Ziel an oder korrigieren Sie den Pfad in den Zieleinstellungen.',
    },
    quotaExceeded: {
      sentence: 'Das Ziel ist voll (Kontingent oder Speicherplatz erschöpft).',
      hint: 'Schaffen Sie Platz, bewahren Sie weniger Sicherungen auf („Anzahl behalten“) oder erhöhen Sie das Kontingent.',
    },
    timeout: {
      sentence: 'Das Ziel hat nicht rechtzeitig geantwortet.',
      hint: 'Prüfen Sie die Netzwerkverbindung und die Auslastung des Zielservers; der nächste geplante Lauf versucht es erneut.',
    },
    ioError: {
      sentence: 'Das Schreiben der Sicherung auf das Ziel ist fehlgeschlagen.',
      hint: 'Prüfen Sie den Datenträger des Ziels und die Netzwerkverbindung; die technische Angabe unten nennt Einzelheiten.',
    },
  },
};
