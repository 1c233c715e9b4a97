/** Word lists for realistic-looking PBX data (German business phone system). */
export const FIRST_NAMES = [
  'Anna', 'Ben', 'Clara', 'David', 'Emma', 'Felix', 'Greta', 'Hannah', 'Jonas', 'Julia', 'Karl', 'Lea', 'Lukas', 'Marie',
  'Max', 'Mia', 'Niklas', 'Olivia', 'Paul', 'Sophie', 'Tim', 'Ulrike', 'Vera', 'Werner', 'Yusuf', 'Zoe', 'Jürgen', 'Sören',
  'Aylin', 'Mehmet', 'Katarzyna', 'Piotr', 'Elena', 'Giulia', 'Luca', 'Sven', 'Ingrid', 'Thomas', 'Sabine', 'Stefan',
] as const;

export const LAST_NAMES = [
  'Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Becker', 'Schulz', 'Hoffmann', 'Koch', 'Richter',
  'Klein', 'Wolf', 'Schröder', 'Neumann', 'Schwarz', 'Braun', 'Zimmermann', 'Krüger', 'Hartmann', 'Lange', 'Werner', 'Krause',
  'Lehmann', 'Köhler', 'Maier', 'Huber', 'Kaya', 'Yilmaz', 'Nowak', 'Kowalski', 'Rossi', 'Bianchi', 'Jansen', 'de Vries',
  'Öztürk', 'Ziegler', 'Vogel', "O'Neill",
] as const;

export const GROUP_NAMES = [
  'Vertrieb', 'Support', 'Buchhaltung', 'Empfang', 'Technik', 'Einkauf', 'Personal', 'Geschäftsleitung', 'Lager', 'Service',
  'Marketing', 'IT', 'Hotline', 'Disposition', 'Werkstatt',
] as const;

export const PHONE_MODELS = ['Yealink T46U', 'Yealink T54W', 'Snom D785', 'Snom D735', 'Gigaset N870', 'STARFACE iPhone App', 'STARFACE Android App', 'Softphone'] as const;

export const AREA_CODES = ['30', '40', '69', '89', '221', '211', '711', '351', '341', '511', '911', '231', '201', '421', '621'] as const;
export const MOBILE_PREFIXES = ['151', '152', '157', '160', '170', '171', '172', '175', '176', '179'] as const;

export const CHAT_PHRASES = [
  'Kannst du mich kurz zurückrufen?',
  'Kunde wartet in der Leitung 2',
  'Bin gleich im Meeting, danach gern',
  'Das Angebot ist raus.',
  'Hat jemand die Nummer von "Müller & Söhne"?',
  'Rückruf bitte bis 16 Uhr, danke!',
  'Ich übernehme die Hotline ab 12:00',
  'Mittagspause 🍝',
  'Ticket #4711 ist erledigt',
  'Bitte Anrufe auf mich umleiten,\nich bin im Homeoffice',
  'ok',
  'Danke dir!',
] as const;

export const ANNOUNCEMENT_TOPICS = [
  'welcome', 'after-hours', 'holiday', 'queue-waiting', 'queue-music', 'all-busy', 'please-hold', 'voicemail-greeting',
  'ivr-main-menu', 'ivr-sales', 'ivr-support', 'emergency-closure',
] as const;
