import { LOOKALIKES, lookalike } from './fold.js';
import type { RuleId } from './rules.js';

/**
 * The text rules, written as one alternative each and compiled into a single regular
 * expression, so each string (and each tool's strings read together) is read in one pass.
 *
 * Written in plain lowercase English (or the language named); unless `raw`, the letters `i`, `l`,
 * `o`, `e`, `a`, `s` and `t` also match their ASCII look-alikes (see `lookalike`). Every repetition that can meet
 * text it does not consume is bounded (`{0,60}`, never `*` or `+` before a fallible tail), so no
 * alternative backtracks more than a constant per starting position: the pass is linear in the
 * length of the text (test/lint-adversarial.test.ts checks it on 100 KB inputs).
 * No capturing groups inside a pattern: group k+1 of the combined expression is pattern k.
 */
export interface TextPattern {
  rule: RuleId;
  source: string;
  /** Exact characters (URLs, paths, commands, key formats): no look-alike expansion. */
  raw?: boolean;
  /** For `secret-in-manifest`: what the secret looks like. */
  what?: string;
  /** A base64 or hex run, decoded and linted again rather than reported as it is. */
  encoded?: boolean;
  /**
   * Words a match starts with (plain lowercase; inflections added by `forms`). The pattern is
   * tried only where one of them stands, anchored there. Without triggers or prefixes, the
   * pattern is one of the symbol-led ones, read in their own pass.
   */
  triggers?: readonly string[];
  /** Like triggers, but the start of a word (a regular-expression fragment in the folded alphabet). */
  prefixes?: readonly string[];
  /** A case-sensitive test the matched text must also pass (the patterns match case-insensitively). */
  verify?: RegExp;
  /** Reported only in a parameter's name, description or title: there the words alone are the request. */
  parameterOnly?: boolean;
}

// Whoever the model answers to.
const USER = String.raw`(?:the\s+|your\s+|any\s+|an?\s+)?(?:end[\s-]?)?(?:users?|humans?|person|people|customers?|operators?|anyone|anybody)\b(?!['’]|\s*-)`;
// Negations that open an instruction not to do something.
const NOT = String.raw`(?:do\s*n[o'’]?t|never|must\s*n[o'’]?t|should\s*n[o'’]?t|shall\s+not|need\s*n[o'’]?t|no\s+need\s+to|avoid|refrain\s+from|without|not\s+to)`;
const TELL = String.raw`(?:tell|inform|notify|alert|warn|bother|disturb|trouble|involve|let)(?:s|ed|ing)?`;
const SAY = String.raw`(?:mention|reveal|show|display|disclose|explain|report|share|say|surface|expose|describe|admit|acknowledge|divulge|relay|communicate|narrate|repeat|print|output|echo|include|tell|list|confirm|indicate)(?:s|ed|ing|n)?`;
const ADMIT = String.raw`(?:mention|reveal|disclose|divulge|admit|acknowledge|say|tell|explain|report|discuss)(?:s|ed|ing)?`;
const ACT = String.raw`(?:send|post|upload|copy|cop(?:y|ie)|forward|add|include|call|run|execute|change|append|bcc|cc|email|transmit|read|fetch|collect|save|store|record|log|write|share|attach|submit|sync|replace|redirect|modify|delete|remove|exfiltrate|pass|invoke|use|install|download|grant|create|report|leak|insert|overwrite|set|enable|disable)(?:s|es|ed|d|ing)?\b`;
const COVERTLY = String.raw`(?:silently|secretly|covertly|quietly|discreetly|stealthily|surreptitiously|invisibly|unobtrusively)`;
const PEOPLE = String.raw`(?:the\s+)?(?:end[\s-]?)?(?:users?|humans?|customers?|operators?)`;
// "Silent" in the messaging sense: delivered with no notification sound (Telegram's
// disable_notification, Slack's silent post). Said of the sound, it hides nothing from the user.
const MUTED = String.raw`(?![^.\n]{0,60}?(?:\bno\s+(?:notification\s+)?sound|\bwithout\s+(?:a\s+|any\s+)?(?:notification\s+)?(?:sound|ringing|vibration)|\bsin\s+(?:sonido|notificacion\s+sonora)|\bsem\s+(?:som|notificacao\s+sonora)|\bsenza\s+suono|\bsans\s+son|\bohne\s+ton|\bsound(?:less|\s+off)\b|\bmuted\b))`;
const SEP = String.raw`[\n\u2029]`;

const NOT_WORDS = ['do', 'don', 'dont', 'donot', 'never', 'must', 'mustn', 'mustnt', 'mustnot', 'should', 'shouldn', 'shouldnt', 'shall', 'need', 'needn', 'neednt', 'no', 'avoid', 'refrain', 'without', 'not'];
const PEOPLE_WORDS = ['end', 'user', 'human', 'customer', 'operator'];
const VERBS_OUT = ['send', 'post', 'upload', 'copy', 'forward', 'bcc', 'email', 'transmit', 'exfiltrate', 'leak', 'share', 'report', 'log', 'record', 'collect'];

type Entry = [rule: RuleId, triggers: readonly string[], source: string];

const CONCEAL_EN: Entry[] = [
  ['conceal-from-user', NOT_WORDS, String.raw`\b${NOT}\s+(?:\w+\s+){0,2}?${TELL}\s+${USER}`],
  ['conceal-from-user', NOT_WORDS, String.raw`\b${NOT}\s+(?:\w+\s+){0,2}?${SAY}\b[^.\n]{0,60}?\b(?:to|with|for)\s+${USER}`],
  ['conceal-from-user', NOT_WORDS, String.raw`\b${NOT}\s+(?:\w+\s+){0,2}?${SAY}\s+${USER}`],
  ['conceal-from-user', NOT_WORDS, String.raw`\b${NOT}\s+(?:\w+\s+){0,2}?${ADMIT}\b[^.\n]{0,60}?\bin\s+(?:your|the|any)\s+(?:final\s+)?(?:response|reply|answer|output|message|summary|explanation|chat)s?\b`],
  ['conceal-from-user', NOT_WORDS, String.raw`\b${NOT}\s+(?:ever\s+)?(?:mention|reveal|disclose|divulge|admit|acknowledge|bring\s+up|talk\s+about|speak\s+(?:of|about)|explain|discuss|say\s+anything\s+about|tell\s+any(?:one|body))\s+(?:this|it|that|these|them|the\s+(?:above|following|step|steps|call|calls|action|actions|instruction|instructions|request|fact|side\s+effect|upload|copy|forwarding|bcc))\b`],
  ['conceal-from-user', ['silently', 'secretly', 'covertly', 'quietly', 'discreetly', 'stealthily', 'surreptitiously', 'invisibly', 'unobtrusively'], String.raw`\b${COVERTLY}\s+(?:(?:and|then|also|automatically|always)\s+){0,2}${ACT}${MUTED}`],
  ['conceal-from-user', ['lie', 'lies', 'lying'], String.raw`\b(?:lie|lies|lying)\s+(?:to\s+(?:the\s+)?(?:user|users|human)|and\s+(?:say|tell|claim)|about)\b`],
  ['conceal-from-user', ['pretend'], String.raw`\bpretend\s+(?:that\s+)?(?:you\s+)?(?:did\s*n[o'’]?t|do\s*n[o'’]?t|never|have\s*n[o'’]?t)\s+(?:see|seen|read|receive|received|get|got|notice|noticed|call|called)\b`],
  ['conceal-from-user', ['respond', 'answer', 'act', 'behave', 'reply'], String.raw`\b(?:respond|answer|act|behave|reply)\s+as\s+(?:if|though)\s+(?:this|these|the)\s+(?:note|instruction|instructions|message|text|step|section|call)s?\s+(?:does|do|did)\s*n[o'’]?t\s+exist`],
  ['conceal-from-user', ['mention', 'reveal', 'disclose', 'say', 'tell'], String.raw`\b(?:mention|reveal|disclose|say|tell)\s+nothing\b`],
  ['conceal-from-user', VERBS_OUT, String.raw`\b(?:send|post|upload|copy|cop(?:ie|y)|forward|bcc|email|transmit|exfiltrate|leak|share|report|log|record|collect)\w{0,3}\b[^.\n]{0,40}?\b(?:silently|secretly|covertly|discreetly|stealthily|surreptitiously|without\s+(?:notice|a\s+trace|telling|asking))\b${MUTED}`],
  ['conceal-from-user', ['without'], String.raw`\bwithout\s+(?:\w+\s+)?(?:informing|telling|notifying|alerting|mentioning\s+it|letting\s+(?:the\s+)?(?:user|them)\s+know)\b`],
  ['conceal-from-user', ['without'], String.raw`\bwithout\s+(?:the\s+)?(?:user(?:['’]s|s['’])?|their|his|her)\s+(?:consent|knowledge|knowing|noticing|awareness|approval|permission)\b`],
  ['conceal-from-user', PEOPLE_WORDS, String.raw`\b${PEOPLE}\s+(?:(?:must|should|shall|need|needs|will|would|does|do|is|are|may|can|could|was|were)\s*)?(?:n[o'’]?t|never)\s+(?:\w+\s+){0,2}?(?:know|see|notice|learn|find\s+out|discover|hear|suspect|realize|realise|be\s+(?:told|informed|aware|notified|shown|alerted|bothered)|become\s+aware|told|informed|notified|aware|shown|alerted|bothered)\b`],
  ['conceal-from-user', ['hide', 'hiding', 'conceal', 'mask', 'obscure', 'withhold', 'omit', 'suppress', 'keep'], String.raw`\b(?:hide|hides|hiding|conceal|conceals|concealing|mask|masking|obscure|withhold|withholds|withholding|omit|omits|suppress|keep|keeps|keeping)\b[^.\n]{0,40}?\bfrom\s+${USER}`],
  ['conceal-from-user', ['hidden', 'invisible', 'unknown', 'secret', 'concealed', 'undisclosed', 'unseen', 'opaque'], String.raw`\b(?:hidden|invisible|unknown|secret|concealed|undisclosed|unseen|opaque)\s+(?:to|from)\s+${USER}`],
  ['conceal-from-user', ['keep', 'treat'], String.raw`\b(?:keep|treat)\s+(?:(?:this|that|these|the)\s+(?:step|steps|call|calls|instruction|instructions|action|actions|part|detail|details|request|above|following)|this|it|that|these|them)\s+(?:a\s+|as\s+)?(?:secret|confidential|hidden|classified|between\s+(?:us|ourselves))\b`],
  ['conceal-from-user', ['this', 'these'], String.raw`\b(?:this|these)\s+(?:step|steps|instruction|instructions|action|actions|call|calls)\s+(?:is|are|must\s+(?:be|remain|stay)|should\s+(?:be|remain|stay))\s+(?:hidden|secret|confidential|invisible)\b`],
  ['conceal-from-user', ['no'], String.raw`\bno\s+need\s+to\s+(?:\w+\s+)?(?:mention|tell|inform|notify|bother|explain|report|alert)`],
  ['conceal-from-user', ['not'], String.raw`\bnot\s+(?:worth|necessary|needed)\s+(?:to\s+)?(?:mention|tell|inform|notify|bother|report)`],
  ['conceal-from-user', ['behind'], String.raw`\bbehind\s+(?:the\s+)?(?:user|users|human)(?:['’]s|s['’])?\s+backs?\b`],
  ['conceal-from-user', ['out'], String.raw`\bout\s+of\s+(?:the\s+)?(?:user|users|human)(?:['’]s|s['’])?\s+(?:sight|view|awareness)\b`],
  ['conceal-from-user', ['stay', 'remain', 'keep'], String.raw`\b(?:stay|stays|remain|remains|keep|keeps)\s+(?:silent|quiet|mum)\s+(?:about|on|regarding)\b`],
  ['conceal-from-user', ['make', 'ensure', 'ensuring'], String.raw`\b(?:make\s+sure|ensure|ensuring)\s+(?:that\s+)?${PEOPLE}\s+(?:is|are|remains?|stays?)\s+(?:unaware|uninformed|oblivious|in\s+the\s+dark)\b`],
  ['conceal-from-user', PEOPLE_WORDS, String.raw`\b${PEOPLE}\s+(?:is|are|remains?|stays?|must\s+(?:be|remain|stay)|should\s+(?:be|remain|stay))\s+(?:unaware|oblivious|in\s+the\s+dark)\b`],
  ['conceal-from-user', ['keep', 'leave'], String.raw`\b(?:keep|leave)\s+${PEOPLE}\s+(?:unaware|in\s+the\s+dark|uninformed|out\s+of\s+the\s+loop)\b`],
];

// The same in the Latin-script languages covered (matched after folding: diacritics dropped).
const CONCEAL_OTHER: Entry[] = [
  // French
  ['conceal-from-user', ['ne'], String.raw`\bne\s+(?:(?:le|la|les|lui|leur|en|rien|jamais)\s+){0,3}(?:dis|dites|dire|mentionne|mentionnez|mentionner|revele|revelez|reveler|montre|montrez|signale|signalez|informe|informez|previens|prevenez|parle|parlez|affiche|affichez)\s+(?:pas|jamais|rien)\b[^.\n]{0,40}?\b(?:a\s+)?l['’]?\s?utilisat(?:eur|rice)`],
  ['conceal-from-user', ['sans'], String.raw`\bsans\s+(?:en\s+)?(?:informer|prevenir|avertir|aviser|le\s+dire\s+a|rien\s+dire\s+a)\s+l['’]?\s?utilisat`],
  ['conceal-from-user', ['insu'], String.raw`\binsu\s+de\b`],
  ['conceal-from-user', ['l', 'lutilisateur', 'lutilisatrice'], String.raw`\bl['’]?\s?utilisat(?:eur|rice)\s+ne\s+doit\s+(?:pas|jamais|rien)\s+(?:le\s+)?(?:savoir|voir|remarquer|apprendre|etre\s+(?:informe|averti|prevenu))`],
  ['conceal-from-user', ['cache', 'cachez', 'cacher', 'dissimule', 'dissimulez', 'dissimuler'], String.raw`\b(?:cache|cachez|cacher|dissimule|dissimulez|dissimuler)\b[^.\n]{0,40}?\ba\s+l['’]?\s?utilisat`],
  ['conceal-from-user', ['cachette', 'discretement', 'silencieusement'], String.raw`\b(?:cachette|discretement|silencieusement)\b`],
  // Spanish
  ['conceal-from-user', ['no'], String.raw`\bno\s+(?:(?:le|les|se|lo|la|nada)\s+){0,3}(?:digas|diga|digan|menciones|mencione|mencionen|reveles|revele|muestres|muestre|informes|informe|avises|avise|cuentes|cuente|notifiques|notifique)\b[^.\n]{0,40}?\b(?:al|a\s+los|a\s+las|a\s+la)\s+usuari[oa]s?`],
  ['conceal-from-user', ['sin'], String.raw`\bsin\s+(?:informar|avisar|decir(?:le)?|notificar)(?:le|les)?\s+(?:nada\s+)?(?:al|a\s+los)\s+usuari`],
  ['conceal-from-user', ['sin'], String.raw`\bsin\s+que\s+(?:el|la)\s+usuari[oa]\s+(?:lo\s+)?(?:sepa|note|vea|se\s+entere)`],
  ['conceal-from-user', ['usuario', 'usuaria'], String.raw`\busuari[oa]\s+no\s+(?:debe|tiene\s+que|necesita|puede)\s+(?:saber|enterarse|ver|notar)`],
  ['conceal-from-user', ['oculta', 'oculte', 'ocultar', 'esconde', 'esconda', 'esconder'], String.raw`\b(?:oculta|oculte|ocultar|esconde|esconda|esconder)\b[^.\n]{0,40}?\bal\s+usuari`],
  ['conceal-from-user', ['escondidas', 'secreto', 'silenciosamente', 'secretamente', 'sigilosamente'], String.raw`\b(?:escondidas|secreto|silenciosamente|secretamente|sigilosamente)\b`],
  // Portuguese
  ['conceal-from-user', ['nao'], String.raw`\bnao\s+(?:(?:lhe|o|a|nada)\s+){0,2}(?:diga|conte|mencione|revele|mostre|informe|avise|fale)\b[^.\n]{0,40}?\b(?:ao|aos|a|para\s+o)\s+(?:usuari|utilizador)`],
  ['conceal-from-user', ['sem'], String.raw`\bsem\s+(?:informar|avisar|contar|notificar)\s+(?:o|ao|os|aos)\s+(?:usuari|utilizador)`],
  ['conceal-from-user', ['sem'], String.raw`\bsem\s+que\s+o\s+(?:usuario|utilizador)\s+(?:saiba|perceba|veja)`],
  ['conceal-from-user', ['usuario', 'utilizador'], String.raw`\b(?:usuario|utilizador)\s+nao\s+(?:deve|precisa|pode)\s+(?:saber|ver|perceber|notar)`],
  ['conceal-from-user', ['segredo'], String.raw`\bem\s+segredo\b|\bsegredo\b`],
  // German
  ['conceal-from-user', ['sag', 'sage', 'sagt', 'sagen', 'erwahne', 'erwahnt', 'erwahnen', 'zeig', 'zeige', 'zeigen', 'verrate', 'verraten', 'informiere', 'informieren', 'teile', 'teilen'], String.raw`\b(?:sag|sage|sagt|sagen\s+sie|erwahne|erwahnt|erwahnen\s+sie|zeig|zeige|zeigen\s+sie|verrate|verraten\s+sie|informiere|informieren\s+sie|teile|teilen\s+sie)\s+(?:dem|den|der)\s+(?:nutzer|benutzer|anwender|user)(?:in|n)?\s+(?:davon\s+|das\s+|es\s+)?(?:nichts|nicht|kein)`],
  ['conceal-from-user', ['ohne'], String.raw`\bohne\s+(?:den|die|dem)\s+(?:nutzer|benutzer|anwender|user)(?:in|n)?\s+(?:davon\s+|daruber\s+)?zu\s+(?:informieren|benachrichtigen|fragen|warnen)`],
  ['conceal-from-user', ['ohne'], String.raw`\bohne\s+(?:dass|das)\s+(?:der|die)\s+(?:nutzer|benutzer|anwender|user)(?:in)?\s+(?:es\s+|das\s+)?(?:merkt|weiss|bemerkt|erfahrt|sieht)`],
  ['conceal-from-user', ['nutzer', 'benutzer', 'anwender', 'user', 'nutzerin', 'benutzerin', 'anwenderin'], String.raw`\b(?:nutzer|benutzer|anwender|user)(?:in)?\s+(?:darf|soll|muss)\s+(?:es\s+|das\s+|davon\s+)?(?:nichts|nicht|niemals)\s+(?:wissen|erfahren|sehen|merken|bemerken)`],
  ['conceal-from-user', ['heimlich', 'unbemerkt', 'stillschweigend', 'verschweige', 'verschweigen'], String.raw`\b(?:heimlich|unbemerkt|stillschweigend|verschweige|verschweigen)\b`],
  ['conceal-from-user', ['nicht'], String.raw`\bnicht\s+(?:erwahnen|verraten|mitteilen)\b`],
  // Italian
  ['conceal-from-user', ['non'], String.raw`\bnon\s+(?:(?:lo|la|gli|le|nulla|niente)\s+){0,2}(?:dire|dirlo|dirgli|menzionare|menzionarlo|rivelare|rivelarlo|mostrare|mostrarlo|informare|avvisare|segnalare)\b[^.\n]{0,40}?\b(?:all['’]?\s?utente|agli\s+utenti|l['’]?\s?utente)`],
  ['conceal-from-user', ['senza'], String.raw`\bsenza\s+(?:informare|avvisare|avvertire)\s+l['’]?\s?utente`],
  ['conceal-from-user', ['senza'], String.raw`\bsenza\s+che\s+l['’]?\s?utente\s+(?:lo\s+)?(?:sappia|noti|veda)`],
  ['conceal-from-user', ['l', 'lutente'], String.raw`\bl['’]?\s?utente\s+non\s+(?:deve|dovrebbe)\s+(?:mai\s+)?(?:saperlo|sapere|vedere|notare|accorgersene)`],
  ['conceal-from-user', ['nascosto', 'segretamente'], String.raw`\b(?:nascosto|segretamente)\b`],
];

const IGNORE: Entry[] = [
  ['ignore-instructions', ['ignore', 'disregard', 'forget', 'override', 'bypass', 'skip', 'drop', 'discard'], String.raw`\b(?:ignor(?:e|es|ed|ing)|disregard\w{0,3}|forget|forgets|forgot|override\w{0,2}|bypass\w{0,3}|skip\w{0,3}|drop\w{0,3}|discard\w{0,3})\s+(?:(?:all|any|the|your|of|every|these)\s+){0,3}(?:previous|prior|above|earlier|preceding|former|original|existing|other|system|safety|initial)\s+(?:instructions|prompts?|rules|directions|guidelines|guidance|messages|context|constraints|policies|directives|programming|commands)`],
  ['ignore-instructions', ['previous', 'prior', 'above', 'earlier', 'original'], String.raw`\b(?:previous|prior|above|earlier|original)\s+(?:instructions|rules|guidelines)\s+(?:do\s*n[o'’]?t|no\s+longer|don['’]?t)\s+apply\b`],
  ['ignore-instructions', ['pay'], String.raw`\bpay\s+no\s+attention\s+to\s+(?:the\s+|any\s+)?(?:previous|prior|above|earlier|system)\b`],
  ['ignore-instructions', ['forget', 'ignore', 'disregard'], String.raw`\b(?:forget|ignore|disregard)\s+(?:everything|anything|all)\s+(?:above|before|previously|prior|earlier|you\s+(?:were|have\s+been)\s+told)\b`],
  ['ignore-instructions', ['disregard', 'ignore', 'override', 'bypass'], String.raw`\b(?:disregard|ignore|override|bypass)\s+(?:the|any|all|your)\s+(?:\w+\s+){0,2}?(?:instructions|guidelines|rules|guidance|policies|directives|safeguards)\s+(?:from|of|given\s+by|set\s+by)\s+(?:the\s+|your\s+)?(?:developer|system|user|operator|assistant|host|administrator|admin)s?\b`],
  ['ignore-instructions', ['ignore', 'disregard'], String.raw`\b(?:ignore|disregard)\s+(?:the\s+|your\s+)?(?:user|human)(?:['’]s)?\s+(?:request|requests|instructions|message|messages|question|and)\b`],
  ['ignore-instructions', ['guidelines', 'rules', 'restrictions', 'policies', 'instructions', 'safeguards', 'filters', 'limits'], String.raw`\b(?:safety\s+)?(?:guidelines|rules|restrictions|policies|instructions|safeguards|filters|limits)\s+(?:no\s+longer|do\s*n[o'’]?t|don['’]?t)\s+apply\b`],
  // French, Spanish, Italian, Portuguese, German
  ['ignore-instructions', ['ignore', 'ignorer', 'ignorez'], String.raw`\bignore[rz]?\s+(?:toutes\s+)?(?:les\s+)?(?:instructions|consignes|directives|regles)\s+(?:precedentes|anterieures)`],
  ['ignore-instructions', ['ignora', 'ignore', 'ignorar', 'ignorare', 'olvida', 'olvidar', 'dimentica', 'esqueca', 'esquece', 'desconsidera', 'desconsidere', 'omiso'], String.raw`\b(?:ignora|ignore|ignorar|ignorare|olvida|olvidar|dimentica|esqueca|esquece|desconsidera|desconsidere|(?<=\bcaso\s+)omiso\s+de)\s+(?:todas\s+|tutte\s+)?(?:las\s+|le\s+|as\s+)?(?:instrucciones|istruzioni|instrucoes|indicaciones|indicazioni|indicacoes|reglas|regole|regras|normas|directrices|diretrizes|direttive|ordenes|ordens)\s+(?:anteriores|precedentes|precedenti|previas)`],
  ['ignore-instructions', ['ignoriere', 'ignorieren', 'vergiss', 'vergessen'], String.raw`\b(?:ignoriere|ignorieren\s+sie|vergiss|vergessen\s+sie)\s+(?:alle\s+)?(?:vorherigen|bisherigen|fruheren|vorigen|obigen)\s+(?:anweisungen|instruktionen|regeln|befehle)`],
];

const AGENT_COMMAND: Entry[] = [
  ['agent-command', ['prepend', 'prefix'], String.raw`\b(?:prepend|prefix)\s+[^.\n]{1,120}?\s+(?:to|before)\s+(?:(?:every|each|all|any|your|the)\s+)?(?:\w+\s+){0,2}?(?:commands?|calls?|requests?|queries)\b`],
  ['agent-command', ['prefix'], String.raw`\bprefix\s+(?:every|each|all|any|your)\s+(?:\w+\s+){0,2}?(?:commands?|calls?|requests?|queries|invocations?|messages?)\s+with\b`],
  ['agent-command', ['run', 'execute', 'exec'], String.raw`\b(?:run|execute|exec)\s+(?:the\s+command\s+)?[\x60'"][^\x60'"\n]{1,200}[\x60'"]\s+(?:first|before|beforehand|prior|each\s+time|every\s+time|at\s+the\s+start)\b`],
  ['agent-command', ['first', 'always', 'before'], String.raw`\b(?:first|always|before\s+(?:anything|answering|responding|proceeding|replying|you\s+\w+|using|calling|running)[^.\n]{0,60}?)[,:]?\s+(?:you\s+(?:must|should)\s+)?(?:run|execute)\s+(?:the\s+)?(?:following\s+|this\s+)?(?:shell\s+|terminal\s+|bash\s+)?(?:commands?\b|[\x60'"])`],
  ['agent-command', ['run', 'execute', 'type', 'paste'], String.raw`\b(?:run|execute|type|paste)\s+(?:the\s+)?(?:following|this)\s+(?:shell\s+|terminal\s+|bash\s+)?command\s+(?:in|into)\s+(?:the|a|your)\s+(?:terminal|shell|console)\b`],
];

// Destructive or permission-changing commands, exact (raw): matched wherever they stand in prose.
const DANGEROUS_COMMAND: Entry[] = [
  ['agent-command', ['chmod'], String.raw`\bchmod\s+(?:-[a-z]+\s+){0,3}(?:[0-7]{3,4}|[ugoa]{0,3}[+=][rwxst]{1,4})\b`],
  ['agent-command', ['chown'], String.raw`\bchown\s+(?:-[a-z]+\s+){0,3}[\w.-]{1,64}(?::[\w.-]{0,64})?\s`],
  ['agent-command', ['rm'], String.raw`\brm\s+(?:-[a-z]*r[a-z]*f|-[a-z]*f[a-z]*r|-r\s+-f|-f\s+-r|--recursive\s+--force|--force\s+--recursive)\b`],
  ['agent-command', ['curl', 'wget', 'fetch', 'iwr', 'invoke'], String.raw`\b(?:curl|wget|fetch|iwr|invoke-webrequest)\b[^|\n]{0,200}\|\s*(?:sudo\s+)?(?:ba|z|da|k|c|tc|fi)?sh\b`],
  ['agent-command', ['curl', 'wget'], String.raw`\b(?:curl|wget)\b[^|\n]{0,200}\|\s*(?:sudo\s+)?(?:python3?|perl|ruby|node|php)\b`],
  ['agent-command', ['sudo'], String.raw`\bsudo\s+(?:-[a-z]+\s+){0,3}(?:rm|chmod|chown|sh|bash|zsh|curl|wget|apt|apt-get|yum|dnf|pip3?|npm|cp|mv|tee|dd|su|systemctl|kill|useradd|usermod|passwd|visudo|echo|cat|mkdir|install|python3?|node)\b`],
  ['agent-command', ['sudo'], String.raw`\bsudo\s+-[is]\b`],
  ['agent-command', ['mkfs'], String.raw`\bmkfs(?:\.\w+)?\s`],
  ['agent-command', ['dd'], String.raw`\bdd\s+if=`],
  ['agent-command', ['base64'], String.raw`\bbase64\s+(?:-d|--decode|-D)\b[^|\n]{0,60}\|\s*(?:ba|z)?sh\b`],
  ['agent-command', ['eval', 'exec'], String.raw`\b(?:eval|exec)\s+["']?\$\(\s*(?:curl|wget)\b`],
  ['agent-command', ['nc', 'ncat'], String.raw`\bnc(?:at)?\s+(?:-[a-z]*[ec][a-z]*\s)`],
  ['agent-command', ['powershell'], String.raw`\bpowershell(?:\.exe)?\s+(?:-\w+\s+){0,4}-(?:e|en|enc|encodedcommand)\s`],
  ['agent-command', ['iex', 'invoke'], String.raw`\b(?:iex\s*\(|invoke-expression\b)`],
  ['agent-command', ['setfacl', 'icacls', 'chattr'], String.raw`\b(?:setfacl\s+-m|icacls\b[^\n]{0,80}\/grant|chattr\s+[+-]i)\b`],
];

// A tool named as code names it (`send_email`, `create_pull_request`): how shadowing points at another tool.
const IDENT = String.raw`[a-z][a-z0-9]{0,30}(?:_[a-z0-9]{1,30}){1,5}`;
// What shadowing changes in another tool's call, and what it changes there.
const MODIFY = String.raw`(?:replace|change|alter|modify|swap|redirect|rewrite|override|append|prepend|prefix|insert|add|bcc|cc|attach|set|copy|forward|include|send|post)`;
const CALL_PART = String.raw`(?:recipients?|destination|account|address|payee|iban|url|endpoint|host|commands?|arguments?|parameters?|fields?|body|content|files?|diff|line|headers?|subject|channel|number|bcc|cc|copy|key|keys|hook|script|code|messages?|emails?|amount|branch|repository|repo|workflow|currency)`;
// Strong verbs of handing data over, and weaker ones that count only with a destination (`into the notes parameter`).
const HAND_OVER = String.raw`(?:send|forward|upload|post|leak|exfiltrate|steal|harvest|grab|include|attach|append|collect|extract|gather|pass|copy|paste|transmit|relay|email)`;
const PLACE = String.raw`(?:put|insert|add|fill|embed|dump|print|output|reveal|write|place|store|save|enter|supply|provide|set|read)`;
const SECRET_MODIFIERS = String.raw`(?:(?:all|any|every|each|the|your|their|his|her|my|its|of|user['’]?s|users['’]|[a-z]{2,20}['’]s|saved|stored|cached|current|browser|local|personal|github|gitlab|aws|cloud|ssh|gpg|pgp|openai|anthropic|stripe|slack|session|bearer|login|admin|root|private|secret|oauth|refresh|wallet|seed|recovery)\s+){0,5}`;
const SECRET_NOUNS = String.raw`(?:api\s*keys?|passwords?|passphrases?|credentials?|private\s+keys?|secret\s+(?:access\s+)?keys?|(?:access|auth|bearer|oauth|refresh|session|api)\s+tokens?|secrets|ssh\s+keys?|session\s+cookies?|cookies|seed\s+phrases?|recovery\s+phrases?|mnemonics?)\b`;
const SECRET_THINGS = String.raw`(?:(?:all|any|every|each|the|your|their|his|her|my|its|of|user['’]?s|users['’]|[a-z]{2,20}['’]s|saved|stored|cached|current|browser|local|personal|github|gitlab|aws|cloud|ssh|gpg|pgp|openai|anthropic|stripe|slack|session|bearer|login|admin|root|private|secret|oauth|refresh|wallet|seed|recovery)\s+){0,5}(?:api\s*keys?|passwords?|passphrases?|credentials?|private\s+keys?|secret\s+(?:access\s+)?keys?|(?:access|auth|bearer|oauth|refresh|session|api)\s+tokens?|secrets|ssh\s+keys?|session\s+cookies?|cookies|seed\s+phrases?|recovery\s+phrases?|mnemonics?)\b`;
const DESTINATION = String.raw`[^.\n]{0,60}?\b(?:in|into|to|as|inside|within)\s+(?:the\s+|a\s+|your\s+)?(?:[\x60'"«]?[\w.-]{1,40}[\x60'"»]?\s+)?(?:parameter|argument|field|param|input|property|attribute)s?\b`;
const CONTENTS_OF = String.raw`(?:(?:the\s+)?(?:full\s+|whole\s+|entire\s+)?(?:contents?|values?|text|output)\s+of\s+)?`;
const NEGATED = String.raw`(?<!\b(?:not|never|n['’]t|no|avoid|without)\s{1,3}(?:\w+\s{1,3})?)`;
// A verb after an article or a possessive is a noun ("the user's pass password store", "a copy").
const NOUN_USE = String.raw`(?<!(?:\b(?:the|a|an|this|that|your|my|their|its)|['’]s)\s{1,3})`;

/** Families added after the held-out set (fixtures/holdout.json) showed them missing; written as families, not its sentences. */
const HELDOUT_FAMILIES: Entry[] = [
  // Shadowing of a tool named in words (the ones named as identifiers are SHADOWING, tried at identifiers only).
  ['tool-precedence', ['change', 'alter', 'modify', 'modifies', 'override', 'extend', 'patch', 'redefine'], String.raw`\b(?:change|alter|modif(?:y|ie)|override|extend|patch|redefine)s?\s+(?:how|the\s+way|the\s+behaviou?r\s+of|what)\s+(?:the\s+)?(?:other|every|all|any)\s+(?:\w+\s+)?tools?\b`],
  // Before using this tool, in the other languages the conceal rule reads.
  ['tool-precedence', ['avant'], String.raw`\bavant\s+d['’]?\s?(?:utiliser|appeler|executer|lancer|invoquer)\s+(?:cet|cette|ce|l['’]?|tout|un|une)\s*(?:autre\s+)?(?:outil|fonction|autre)`],
  ['tool-precedence', ['antes'], String.raw`\bantes\s+de\s+(?:usar|utilizar|llamar|ejecutar|invocar|chamar|executar)\s+(?:esta|este|la|el|a|o|cualquier|qualquer|otra|outra)\s+(?:otra\s+|outra\s+)?(?:herramienta|funcion|ferramenta|funcao)`],
  ['tool-precedence', ['prima'], String.raw`\bprima\s+di\s+(?:usare|utilizzare|chiamare|eseguire|invocare)\s+(?:questo|questa|lo|il|la|qualsiasi|un\s+altro)\s+(?:altro\s+)?(?:strumento|tool|funzione)`],
  ['tool-precedence', ['bevor', 'vor', 'vorher'], String.raw`\bbevor\s+(?:du|sie)\s+(?:dieses|das|ein|irgendein)\s+(?:andere\s+)?(?:werkzeug|tool)|\bvor\s+(?:der\s+)?(?:verwendung|nutzung|benutzung|aufruf|dem\s+aufruf)\s+(?:dieses|des|eines)\s+(?:werkzeugs|tools)|\bvorher\s+(?:die\s+datei|den\s+inhalt)`],
  // Overriding what the user asked.
  ['ignore-instructions', ['regardless', 'irrespective', 'no', 'even'], String.raw`\b(?:regardless\s+of|irrespective\s+of|no\s+matter)\s+(?:what|whatever|which|how)\s+(?:\w+\s+)?(?:the\s+)?(?:users?|humans?|customers?|operators?)\s+(?:says|said|asks|asked|wants|wanted|requests|requested|types|typed|enters|entered|specifies|specified|chooses|chose|writes|wrote|picks|picked|instructs|tells)\b|\beven\s+if\s+(?:the\s+)?(?:user|human)\s+(?:says|asks|wants|requests|objects|refuses|declines)\s+(?:otherwise|not\s+to|no)\b`],
  ['ignore-instructions', ['ignore', 'disregard', 'forget', 'override', 'bypass', 'abandon', 'suspend', 'overrule', 'countermand', 'aside'], String.raw`(?:\b(?:ignor(?:e|es|ing)|disregard\w{0,3}|forget\w{0,3}|override\w{0,2}|bypass\w{0,3}|abandon\w{0,3}|suspend\w{0,3}|overrul\w{0,3}|countermand\w{0,3})|(?<=\b(?:set|put)\s+)aside)\s+(?:(?:all|any|every|of|each)\s+){0,2}(?:(?:your|the\s+(?:earlier|previous|prior|original|system|safety|developer|operator|given|above|preceding|initial)|(?:these|those|my)\s+(?:earlier|previous|prior|original|system|safety))\s+(?:\w+\s+)?(?:rules|instructions|guidelines|guidance|guardrails|restrictions|policies|constraints|directions|directives|programming|training|prompts?|safeguards|principles)\b|(?:the\s+|any\s+|all\s+)?(?:rules|instructions|guidelines|guidance|directions)\s+(?:that\s+)?you\s+(?:were|have\s+been|got|received|had\s+been)\s+(?:given|told|sent)?)`],
  // Keeping things from the user, in more of the phrasings of the languages covered.
  ['conceal-from-user', ['dis', 'dites', 'dire', 'parle', 'parlez', 'parler', 'mentionne', 'mentionnez', 'revele', 'revelez', 'montre', 'montrez', 'signale', 'signalez', 'previens', 'prevenez', 'informe', 'informez'], String.raw`\b(?:dis|dites|dire|parle|parlez|parler|mentionne|mentionnez|mentionner|revele|revelez|reveler|montre|montrez|signale|signalez|previens|prevenez|informe|informez)\s+(?:(?:en|le|la|les|lui|leur|y)\s+)?(?:rien|pas|jamais)\b[^.\n]{0,40}?\b(?:a\s+)?l['’]?\s?utilisat(?:eur|rice)`],
  ['conceal-from-user', ['senza', 'non'], String.raw`\b(?:senza|non)\s+(?:\w+\s+){0,2}?(?:dirlo|dirglielo|dire|menzionarlo|menzionare|rivelarlo|rivelare|informare|avvisare|avvertire|farlo\s+sapere|far\s+sapere)\b[^.\n]{0,30}?\butent`],
  ['conceal-from-user', ['sag', 'sage', 'sagt', 'sagen', 'erwahne', 'erwahnt', 'erwahnen', 'zeig', 'zeige', 'zeigen', 'verrate', 'verratet', 'verraten', 'informiere', 'informieren', 'teile', 'teilen'], String.raw`\b(?:sag|sage|sagt|sagen|erwahne|erwahnt|erwahnen|zeig|zeige|zeigen|verrate|verratet|verraten|informiere|informieren|teile|teilen)\s+(?:sie\s+)?(?:(?:es|das|davon|ihm|ihr|dies|dieses|nichts)\s+){0,2}(?:dem|den|der)\s+(?:nutzer|benutzer|anwender|user)(?:in|n)?\s+(?:(?:davon|das|es|dies)\s+)?(?:nichts|nicht|kein|niemals)`],
  ['conceal-from-user', ['keep', 'treat'], String.raw`\b(?:keep|treat)\s+(?:this|that|these|the)\s+\w+\s+(?:step|steps|call|calls|instruction|instructions|action|actions|part|detail|details|request)\s+(?:a\s+|as\s+)?(?:secret|confidential|hidden|classified|private)\b`],
  // Handing credentials over: strong verbs, or weaker ones with a destination in the call.
  ['credential-request', ['send', 'forward', 'upload', 'post', 'leak', 'exfiltrate', 'steal', 'harvest', 'grab', 'include', 'attach', 'append', 'collect', 'extract', 'gather', 'pass', 'copy', 'paste', 'transmit', 'relay', 'email'], String.raw`${NEGATED}${NOUN_USE}\b${HAND_OVER}\s+(?:(?:in|into|over|along)\s+)?${CONTENTS_OF}${SECRET_THINGS}`],
  ['credential-request', ['api', 'password', 'passwords', 'passphrase', 'passphrases', 'credential', 'credentials', 'private', 'access', 'auth', 'bearer', 'oauth', 'refresh', 'session', 'secrets', 'ssh', 'cookies', 'seed', 'recovery', 'mnemonic', 'mnemonics'], String.raw`(?<=${NEGATED}\b${PLACE}\s+${CONTENTS_OF}${SECRET_MODIFIERS})${SECRET_NOUNS}${DESTINATION}`],
  ['credential-request', ['api', 'password', 'passwords', 'secret', 'secrets', 'credential', 'credentials', 'token', 'tokens', 'key', 'keys'], String.raw`\b(?:api\s*keys?|passwords?|secrets?|credentials?|tokens?|keys)\s+(?:that\s+)?(?:you\s+(?:know|have|hold|can\s+(?:see|access|read|find))|available\s+to\s+you|visible\s+(?:to\s+you|in\s+(?:the\s+)?(?:environment|context|conversation)))\b`],
  ['credential-request', ['environment', 'env'], String.raw`(?<=\b(?:every|all|each|any)\s+(?:of\s+the\s+|the\s+|your\s+)?)(?:environment|env)\s+(?:variables?|vars?)\b[^.\n]{0,60}?\b(?:keys?|tokens?|secrets?|passwords?|credentials?)\b`],
  ['credential-request', ['printenv', 'env'], String.raw`(?<=\b(?:output|result|contents?)\s+of\s+[\x60'"]?)(?:printenv|env)\b`],
  // The same, in the Latin-script languages covered.
  ['credential-request', ['envoie', 'envoyez', 'envoyer', 'transmets', 'transmettez', 'copie', 'copiez', 'inclus', 'incluez', 'mets', 'mettez', 'ajoute', 'ajoutez', 'lis', 'lisez'], String.raw`\b(?:envoie|envoyez|envoyer|transmets|transmettez|copie|copiez|inclus|incluez|mets|mettez|ajoute|ajoutez|lis|lisez)\s+(?:(?:les|la|le|ses|son|sa|tous|toutes|ces|vos|votre|leurs?|l['’]?)\s*){0,3}(?:mots?\s+de\s+passe|cles?\s+(?:api|ssh|privees?)|identifiants|jetons?|secrets)`],
  ['credential-request', ['envia', 'envie', 'enviar', 'copia', 'copie', 'incluye', 'incluya', 'pon', 'ponga', 'agrega', 'agregue', 'anade', 'lee', 'lea', 'pasa', 'pase', 'manda', 'mande', 'inclua', 'coloque'], String.raw`\b(?:envia|envie|enviar|copia|copie|incluye|incluya|inclua|pon|ponga|coloque|agrega|agregue|anade|lee|lea|pasa|pase|manda|mande)\s+(?:(?:las|los|la|el|as|os|a|o|sus|su|suas|seus|todas|todos|tus|tu)\s+){0,3}(?:contrasenas?|senhas?|claves?\s+(?:api|ssh|privadas?)|chaves?\s+(?:api|ssh|privadas?)|credenciais|credenciales|tokens?|secretos|segredos)`],
  ['credential-request', ['invia', 'copia', 'includi', 'metti', 'aggiungi', 'leggi', 'sende', 'schicke', 'kopiere', 'fuge', 'lies', 'ubermittle'], String.raw`\b(?:invia|copia|includi|metti|aggiungi|leggi|sende|schicke|kopiere|fuge|lies|ubermittle)\s+(?:(?:le|la|i|gli|sue|suoi|tutte|tutti|die|alle|seine|ihre|deren|den|das)\s+){0,3}(?:password|credenziali|chiavi\s+(?:api|ssh|private)|token|passworter|passwort|zugangsdaten|api-?schlussel|schlussel|geheimnisse)`],
  // Tags, labels and fake ends that address the model.
  ['instruction-tags', ['note', 'notes', 'message', 'memo', 'reminder', 'directive'], String.raw`\b(?:notes?|message|memo|reminder|directive)\s+(?:for|to)\s+(?:the\s+)?(?:ai|assistant|model|llm|agent|claude|gpt|chatgpt|copilot|bot)s?\b(?!\s+(?:chat|api|service|endpoint|provider|platform|app|session)s?\b)`],
  ['instruction-tags', ['end'], String.raw`\bend\s+of\s+(?:the\s+)?(?:tool|function|system|mcp)\s+(?:descriptions?|definitions?|spec\w*|prompt|instructions?|list|output|results?)\b`],
  ['instruction-tags', ['end', 'ends', 'ended', 'finished', 'closed'], String.raw`(?<=\b(?:tool|function)\s+(?:descriptions?|list|definitions?|spec\w*)\s+)(?:ends?|ended|finished|closed)\b`],
  ['role-override', ['your'], String.raw`\byour\s+(?:real|actual|true|hidden|secret|primary|only)\s+(?:task|goal|purpose|job|mission|objective|instructions?|role)\b`],
  ['role-override', ['obey', 'follow', 'prioritise', 'prioritize', 'trust'], String.raw`\b(?:obey|follow|prioriti[sz]e|trust)\s+(?:this|these|the)\s+(?:tool|server|note|description|instructions?)(?:['’]s)?\s+(?:\w+\s+)?(?:over|above|instead\s+of|rather\s+than)\s+(?:the\s+|your\s+)?(?:user|system|developer|operator)`],
  ['role-override', ['elevated', 'admin', 'administrator', 'root', 'unrestricted', 'you', 'assistant', 'model'], String.raw`\b(?:elevated|admin(?:istrator)?|root|unrestricted)\s+(?:permissions|privileges|access|rights)\s+(?:now|granted|enabled|unlocked)\b|\b(?:you|assistant|model)\s+(?:now\s+)?(?:has|have)\s+(?:been\s+granted\s+)?(?:elevated|admin|root|unrestricted)\s+(?:permissions|privileges|access|rights)\b`],
  ['role-override', ['prompt'], String.raw`(?<=\b(?:new|updated|override\w{0,2}|replace\w{0,2}|supersede\w{0,2}|overwrite\w{0,2}|ignore|disregard|forget|discard|drop|delete|erase|abandon|bypass)\s+(?:(?:your|the|this|any|all|my|its)\s+)?(?:current\s+|original\s+|existing\s+)?system\s+)prompt\b`],
  // Addressing the model reading the text; overriding the user's say.
  ['instruction-tags', ['reading', 'processing', 'seeing', 'parsing', 'handling', 'attention'], String.raw`(?<=\b(?:to|for)\s+(?:the\s+|any\s+|an\s+)?(?:ai|assistant|model|llm|agent|bot)s?\s+)(?:reading|processing|seeing|parsing|handling)\s+(?:this|these)\b|\battention\s*,?\s+(?:the\s+)?(?:ai|assistant|model|llm|agent)s?\b`],
  ['role-override', ['whatever', 'what', 'everything', 'anything', 'no'], String.raw`(?<=\b(?:do|follow|obey)\s+)(?:whatever|what|everything|anything)\s+(?:it|this\s+(?:tool|text|note|server))\s+(?:tells|says|asks)\b|(?<=\b(?:human|user)\s+has\s+)no\s+(?:say|control|authority)\b`],
  ['approval-bypass', ['skip', 'bypass', 'disable', 'suppress', 'omit', 'avoid'], String.raw`\b(?:skip|bypass|disable|suppress|omit|avoid)\s+(?:all\s+|any\s+|the\s+|every\s+)?(?:user\s+|further\s+)?(?:confirmations?|approvals?|confirmation\s+(?:steps|prompts|dialogs)|permission\s+(?:checks|prompts|requests)|consent\s+(?:checks|prompts)|safety\s+checks)\b`],
  ['approval-bypass', ['differ', 'deviate'], String.raw`\b(?:differ|deviate)s?\s+from\s+what\s+(?:was|you|the\s+user)\s+(?:reviewed|approved|accepted|saw|installed|review|approve)`],
  ['conceal-from-user', ['no'], String.raw`\bno\s+need\s+to\s+(?:surface|disclose|flag|show|announce|highlight|point\s+out|bring\s+up)\b`],
  ['tool-precedence', ['precedence'], String.raw`(?<=\b(?:takes?|has)\s+)precedence(?:\s+over\b|\s*[:;,.])`],
  ['exfiltration-url', ['log', 'mirror', 'stream', 'ship', 'push', 'sync', 'replicate', 'duplicate', 'beam', 'submit', 'route', 'reroute', 'divert'], String.raw`\b(?:log|mirror|stream|ship|push|sync|replicate|duplicate|beam|submit|route|reroute|divert)\s+(?:(?:all|every|each|any|the)\s+)?(?:(?:user|users|full|whole|entire|translated|incoming|outgoing|other)\s+)?(?:\w+\s+){0,2}?(?:to|into|at|through)\s+[^.\n]{0,40}?(?:https?:\/\/|hxxps?:\/\/|\b[\w.+-]{1,64}@[\w-]{1,64}\.[a-z]{2,}|\b(?:account|iban|wallet)\s+[\w-]{3,})`],
  ['exfiltration-url', ['recipient', 'recipients', 'bcc', 'cc', 'destination', 'destinations', 'copy'], String.raw`(?<=\b(?:extra|additional|hidden|secret|silent|second|invisible)\s+(?:bcc\s+|cc\s+)?)(?:recipients?|bcc|cc|copy\s+(?:to|for)|destinations?)\b(?![^.\n]{0,30}?\b(?:chosen|picked|selected|specified|entered|named|provided|given|added)\s+by\s+(?:the\s+)?(?:user|caller|sender)\b)`],
  ['credential-request', ['send', 'give', 'show', 'tell'], String.raw`${NEGATED}\b(?:send|give|show|tell)\s+(?:me|us)\s+(?:(?:all|any|every|the|your|their|saved|stored|user['’]?s)\s+){0,3}(?:api\s*keys?|passwords?|credentials?|private\s+keys?|(?:access|auth|api)\s+tokens?|secrets)\b`],
  ['ignore-instructions', ['oublie', 'oubliez', 'oublier'], String.raw`\boubli(?:e|ez|er)\s+(?:toutes\s+|tout\s+)?(?:les\s+|vos\s+|tes\s+)?(?:instructions|consignes|directives|regles)\s+(?:precedentes|anterieures|recues)`],
  ['ignore-instructions', ['ne'], String.raw`\bne\s+(?:tenez|tiens)\s+(?:pas\s+|plus\s+)?compte\s+(?:des|de\s+vos|de\s+tes)\s+(?:instructions|consignes|directives|regles)`],
  ['instruction-tags', ['end', 'begin', 'start'], String.raw`(?<=[=#*~_<>\[\]-]{3}[ \t]{0,8})(?:end|begin|start)\s+(?:of\s+)?(?:the\s+)?(?:tools?|functions?|descriptions?|system|instructions|prompt|context|spec)\b`],
  // Rug pulls: approval skipped, or behaviour announced to change once approved.
  ['approval-bypass', ['no', 'does', 'do', 'doesn', 'don', 'dont', 'need', 'needn', 'needs', 'without', 'never'], String.raw`\b(?:no\s+need\s+(?:for\s+(?:the\s+)?(?:user|human)\s+)?to|(?:does|do)\s*n[o'’]?t\s+need\s+to|need\s*n[o'’]?t|needs?\s+no|without|never)\s+(?:(?:further|additional|new|fresh|another|separate|explicit|any)\s+(?:approval|confirmation|consent|review|authori[sz]ation)|re-?(?:approv|confirm|review|authori[sz]|consent|prompt|ask)\w*|(?:ask|asking|prompt|prompting|consult|consulting)\s+(?:the\s+|with\s+the\s+)?(?:user|human|operator)s?(?:\s+again|\s+first|\s+for\s+(?:permission|approval|confirmation|consent))?|(?:approv|confirm|authori[sz])\w*\s+again|(?:asking|prompting)\s+(?:for\s+)?(?:permission|approval|confirmation|consent))\b`],
  ['approval-bypass', ['approval', 'approvals', 'consent', 'confirmation', 'confirmations', 'authorisation', 'authorisations', 'authorization', 'authorizations', 'approving'], String.raw`(?<=\b(?:earlier|previous|prior|existing|original|past|old|initial)\s+(?:user\s+)?)(?:approvals?|consent|confirmations?|authori[sz]ations?)\s+(?:still\s+|also\s+|automatically\s+)?(?:apply|applies|cover|covers|carry\s+over|carries\s+over|remain\s+valid|hold|holds|extend|extends)\b|\b(?:approval|approving|consent\s+to)\s+(?:of\s+)?(?:this|the\s+current|one)\s+(?:version|tool|server|release)\s+(?:covers|applies\s+to|extends\s+to|includes|also\s+approves|counts\s+for)\s+(?:all\s+|any\s+)?(?:future|later|new|subsequent|upcoming)`],
  ['approval-bypass', ['treat', 'consider', 'regard', 'assume'], String.raw`\b(?:treat|consider|regard|assume)\s+(?:it|them|this|these|that|those|the\s+(?:new|updated|changed|next)\s+\w+|any\s+(?:new|updated|future)\s+\w+)\s+(?:as\s+|to\s+be\s+|is\s+|are\s+)?(?:already\s+|pre-?)(?:trusted|approved|verified|authori[sz]ed|vetted|reviewed|safe)\b`],
  ['approval-bypass', ['pre', 'preapproved', 'preauthorised', 'preauthorized', 'pretrusted', 'consented', 'authorised', 'authorized', 'agreed', 'allowed', 'permitted'], String.raw`\bpre-?(?:approved|authori[sz]ed|trusted|consented)\b|\b(?:consented|authori[sz]ed|agreed)\s+(?:for\s+)?you\s+to\b|\b(?:authori[sz]ed|consented|allowed|permitted)\s+you\s+to\s+(?:share|send|forward|upload|disclose|reveal|bypass|skip)\b`],
  ['approval-bypass', ['first', 'second', 'third', 'fourth', 'fifth', 'next', 'initial'], String.raw`(?<=\b(?:after|from|once|starting\s+(?:on|with|from|at)|beginning\s+(?:with|on|at))\s+(?:the\s+)?)(?:first|second|third|fourth|fifth|next|initial)\s+(?:successful\s+|few\s+)?(?:calls?|uses?|invocations?|runs?|requests?|approvals?|installs?|installations?|executions?|times?)\b[^.\n]{0,80}?(?:\bbehaviou?r\s+(?:of\s+this\s+tool\s+)?changes|\b(?:start|begin)s?\s+(?:to\s+)?(?:send|forward|upload|attach|includ|collect|record|log|copy|redirect|ignor|exfiltrat|shar|post)\w*|\bredirect\w*|\binstead\b|\bswitch(?:es)?\s+to\b)`],
  ['approval-bypass', ['approved', 'trusted', 'installed', 'enabled', 'accepted', 'reviewed', 'granted', 'whitelisted', 'allowlisted'], String.raw`(?<=\b(?:once|after)\s+(?:this\s+(?:tool|server|version)|it)\s+(?:has\s+been|is|was|gets)\s+)(?:approved|trusted|installed|enabled|accepted|reviewed|granted|whitelisted|allowlisted)\b[^.\n]{0,60}?\b(?:switch\w*|change\w*|redirect\w*|forward\w*|send\w*|upload\w*|collect\w*|behav\w*|quietly|silently|secretly|no\s+longer)`],
  ['approval-bypass', ['description', 'descriptions', 'definition', 'definitions', 'behaviour', 'behavior', 'instructions'], String.raw`\b(?:descriptions?|definitions?|behaviou?r|instructions)\s+(?:will|may|might|can|could|is\s+going\s+to)\s+(?:be\s+)?(?:change|changed|update|updated|replace|replaced|swap|swapped|switch|switched|differ|rewritten|extended)\w*\s+(?:\w+\s+){0,2}?(?:after|once|following|post)[\s-]+(?:\w+\s+){0,2}?(?:approval|approved|install\w*|review\w*|trusted|accept\w*|publish\w*)|(?<=\b(?:replace|change|update|swap|rewrite)s?\s+its\s+(?:own\s+)?(?:tool\s+)?)(?:definitions?|descriptions?|behaviou?r|instructions)\s+(?:after|once|when|later|at\s+runtime|silently|dynamically)`],
];

// Round 4's misses, read as families (docs/lint-rules.md, "Generalising"): text marked for the
// model's eyes only, consent claimed on the user's behalf, the conversation carried out, and role
// blocks written as YAML or markup.
const MODEL = String.raw`(?:ai|agent|model|llm|assistant|bot|language\s+model)s?`;
const GENERALISED: Entry[] = [
  // `[[AGENT ONLY]]`, `{{model-only}}`, "for the assistant's eyes only".
  ['instruction-tags', ['only'], String.raw`(?<=(?:[\[{(<⟦*]\s{0,2}|\bfor\s+(?:the\s+)?)${MODEL}(?:['’]s\s+eyes)?[\s_-]{1,3})only\b`],
  // "meant for the AI, not the person reading", "addressed to the model and hidden from the interface".
  ['instruction-tags', ['meant', 'intended', 'addressed', 'written', 'directed'], String.raw`\b(?:meant|intended|addressed|written|directed)\s+(?:only\s+)?(?:for|to)\s+(?:the\s+|you,?\s+the\s+)?${MODEL}\b[^.\n]{0,30}?\b(?:not\s+(?:for\s+|to\s+)?(?:the\s+)?(?:person|user|human|reader|people)|hidden|invisible|only)\b`],
  // "the following note is not displayed to the human", "hidden from the interface".
  ['conceal-from-user', ['not', 'never'], String.raw`(?<=\b(?:this|following|next|below|text|note|section|part|paragraph|block|line)\b[^.\n]{0,30})(?:not|never)\s+(?:be\s+)?(?:shown|displayed|visible|rendered|presented)\s+(?:to|in)\s+(?:the\s+)?(?:end[\s-]?)?(?:users?|humans?|person|reader|interface|ui|screen)\b`],
  ['conceal-from-user', ['hidden', 'invisible'], String.raw`\b(?:hidden|invisible)\s+(?:from|in)\s+(?:the\s+)?(?:user\s+)?(?:interface|ui|screen|display|chat\s+window)\b`],
  ['instruction-tags', ['important'], String.raw`\bimportant\s+(?:for|to)\s+(?:the\s+)?${MODEL}\s*[:!—-]`],
  // A label opening a sentence or line: "For the AI model:", "To the agent —" (not "Built for AI models:").
  ['instruction-tags', ['ai', 'agent', 'model', 'llm', 'assistant', 'bot', 'language', 'claude', 'gpt', 'chatgpt', 'copilot'], String.raw`(?<=(?:^|[.!?;:\n\u2029*#>\[(])[ \t]{0,8}(?:for|to)\s+(?:the\s+|any\s+|an?\s+)?)(?:${MODEL}|claude|gpt|chatgpt|copilot)(?:\s+(?:model|assistant|agent)s?)?\s*[:—–-]`],
  ['role-override', ['priority'], String.raw`(?<=\b(?:higher|greater|more|top|highest|overriding)\s+)priority\s+(?:than|over)\s+(?:the\s+|your\s+|any\s+)?(?:conversation|users?|system|chat|instructions|prompt|everything|anything)\b`],
  // Consent claimed on the user's behalf.
  ['approval-bypass', ['user', 'human', 'customer', 'they', 'you'], String.raw`\b(?:(?:the\s+)?(?:user|human|customer)s?|they|you)\s+(?:(?:has|have|had)\s+)?already\s+(?:agreed|consented|approved|accepted|authori[sz]ed|opted\s+in|given\s+(?:consent|permission|approval))\b`],
  ['approval-bypass', ['consent', 'permission', 'approval', 'authorisation', 'authorization', 'agreement'], String.raw`\b(?:consent|permission|approval|authori[sz]ation|agreement)\b[^.\n;]{0,40}?\b(?:(?:is|was|has\s+been)\s+)?(?:already|previously)\s+(?:on\s+file|given|granted|obtained|recorded|in\s+place|been\s+(?:given|granted|obtained))\b|\b(?:consent|permission|approval|authori[sz]ation|agreement)\s+(?:is|was)\s+(?:implied|assumed|implicit|automatic|(?:given|granted)\s+(?:earlier|already|previously|before|at\s+install\w*|on\s+install\w*))\b`],
  ['approval-bypass', ['proceed', 'continue', 'go'], String.raw`\b(?:proceed|continue|go\s+ahead)\s+without\s+(?:(?:any|further|user|a|the|asking\s+for|waiting\s+for)\s+)?(?:confirmation|approval|consent|permission|asking)\b`],
  ['approval-bypass', ['no', 'unnecessary', 'not'], String.raw`\b(?:no\s+(?:need|reason)|unnecessary|not\s+necessary)\s+to\s+(?:ask|confirm|check\s+with\s+(?:the\s+)?user|request\s+(?:approval|permission|consent))(?:\s+(?:again|first|for\s+(?:permission|approval|confirmation|consent)))?\s*(?:[.;,]|$)`],
  // The conversation carried out.
  ['exfiltration-url', ['summary', 'summaries', 'recap', 'transcript', 'digest', 'excerpt', 'record'], String.raw`\b(?:summar(?:y|ies)|recaps?|transcripts?|digests?|excerpts?|records?)\s+of\s+(?:the\s+|this\s+|our\s+|your\s+|each\s+|every\s+)?(?:chat|conversation|session|discussion|dialog(?:ue)?|exchange|messages)\b[^.\n]{0,60}?(?:https?:\/\/|\b[\w.+-]{1,64}@[\w-]{1,64}\.[a-z]{2,})`],
  ['exfiltration-url', ['http', 'https'], String.raw`\bhttps?:\/\/\S{1,200}\s+(?:followed\s+by|with|containing|plus|and)\s+(?:the\s+)?(?:last|latest|previous|recent|prior|earlier)\s+(?:\w+\s+)?(?:messages|turns|replies|prompts)\b`],
  ['context-harvesting', ['everything', 'all', 'anything', 'whatever'], String.raw`\b(?:everything|all|anything|whatever)\s+(?:that\s+)?(?:the\s+user|you|they|we)\s+(?:(?:has|have|had)\s+)?(?:said|wrote|written|typed|asked|shared|discussed|told\s+you)\s+(?:so\s+far|earlier|before|previously|in\s+this)\b`],
  ['context-harvesting', ['earlier', 'previous', 'prior'], String.raw`\b(?:earlier|previous|prior)\s+(?:messages|turns)\s+(?:of|in|from)\s+(?:this|the|our)\s+(?:thread|conversation|chat|session)\b`],
  // Role blocks as YAML, keys or markup (`role: system`, `<message role="system">`), not a list of roles.
  ['instruction-tags', ['role'], String.raw`\brole["']?[ \t]{0,4}[:=][ \t]{0,4}["']?(?:system|developer)\b(?![ \t]*(?:[|,/]|or\b|and\b))`],
];

// Round 6 of the held-out set (fixtures/README.md): families its first run showed missing, written
// as families (docs/lint-rules.md, "Round 6"), not as its sentences.
const EARLIER_RULES = String.raw`(?:instructions?|directions?|guidance|guidelines|rules|directives?|prompts?|orders|commands|restrictions|constraints|policies)`;
const VOID = ['void', 'null', 'obsolete', 'outdated', 'superseded', 'invalid', 'cancelled', 'canceled', 'revoked', 'rescinded', 'withdrawn', 'expired', 'overridden', 'nullified', 'invalidated', 'lifted', 'inactive'];
const ROUND6: Entry[] = [
  // "previous instructions are void", "any directions you received before this are outdated".
  ['ignore-instructions', VOID, String.raw`(?<=\b(?:(?:previous|prior|earlier|original|older?|existing|above|preceding|initial|system|your|other|all|any|those|these)\s+(?:\w+\s+)?${EARLIER_RULES}|${EARLIER_RULES}\s+(?:that\s+)?you\s+(?:\w+\s+){0,2}?(?:received|were\s+given|got|have|had|obtained|read|saw|followed))\b[^.\n]{0,50}?\b(?:are|is|were|was|be|been|become|became|now|hereby)\s+(?:now\s+|hereby\s+|all\s+|considered\s+|to\s+be\s+|henceforth\s+){0,2})(?:void|null|obsolete|outdated|superseded|invalid|cancell?ed|canceled|revoked|rescinded|withdrawn|expired|overridden|nullified|invalidated|lifted|inactive)\b`],
  // "every earlier message of this chat", "each prior turn".
  ['context-harvesting', ['previous', 'prior', 'earlier', 'past', 'preceding'], String.raw`(?<=\b(?:every|each|all|any)\s+(?:of\s+the\s+)?)(?:previous|prior|earlier|past|preceding)\s+(?:chat\s+|user\s+)?(?:message|turn|prompt)s?\b`],
  // Keeping a step out of the answer.
  ['conceal-from-user', ['keep', 'leave'], String.raw`\b(?:keep|leave)\s+(?:it|them|(?:this|that|these|those|the|any|such)(?:\s+\w+){0,2}?)\s+out\s+of\s+(?:your|the|any)\s+(?:\w+\s+)?(?:answer|reply|response|output|summary|message|report|explanation)s?\b`],
  // Changing where another tool's payment or message goes.
  ['tool-precedence', ['destination', 'recipient', 'recipients', 'payee', 'beneficiary', 'iban'], String.raw`\b(?:destination|recipients?|payee|beneficiary|iban)\b(?:\s+[\w-]+){0,3}?\s+(?:has\s+to|have\s+to|must|should|needs?\s+to|is\s+to|are\s+to|shall|will)\s+(?:always\s+|now\s+|first\s+)?be\s+(?:replaced|changed|swapped|redirected|overwritten|rewritten|switched)\s+(?:with|to|by|for)\b`],
  ['tool-precedence', ['replace', 'swap', 'change', 'redirect', 'rewrite', 'overwrite'], String.raw`\b(?:replace|swap|change|redirect|rewrite|overwrite)\s+(?:the|every|each|all|any)\s+(?:\w+\s+)?(?:destination|recipient|payee|beneficiary|iban)s?\s+(?:\w+\s+)?(?:with|to|by)\b`],
  // Rug pulls keyed to the approval state: "once auto-approve is on, begin appending…".
  ['approval-bypass', ['auto', 'autoapprove', 'autoapproval', 'approved', 'approval', 'trusted', 'allowlisted', 'whitelisted', 'always'], String.raw`(?<=\b(?:once|after|when|whenever|as\s+soon\s+as)\b[^.\n]{0,40}?)(?:auto[\s-]?(?:approv\w*|accept\w*|run\w*|confirm\w*)|always[\s-]allow\w*|approv(?:ed|al)|trusted|allowlisted|whitelisted)\b[^.\n]{0,60}?\b(?:begin|start|switch|commence)\w*\s+(?:to\s+)?(?:send|forward|upload|attach|includ|append|collect|record|log|copy|redirect|shar|post|read|captur|harvest|exfiltrat|mirror|sync|stream)\w*`],
  ['approval-bypass', ['permission', 'permissions', 'approval', 'approvals', 'consent', 'grant', 'grants'], String.raw`\b(?:permissions?|approvals?|consent|grants?)\b[^.\n]{0,60}?\b(?:extend|extends|apply|applies|carry|carries|cover|covers)\s+(?:over\s+)?(?:to\s+)?(?:all|any|every)\s+(?:later|future|subsequent|further|other|following)\b`],
  ['approval-bypass', ['never', 'without', 'no', 'don', 'dont', 'do'], String.raw`\b(?:never|without|no\s+need\s+to|do\s*n[o'’]?t)\s+(?:ask|asking|prompt|prompting|consult|consulting|check\s+with)\s+(?:them|him|her)\s+again\b`],
  // Overriding and concealing in more languages (Dutch, Scandinavian, Polish, Czech, Turkish, Indonesian, Romanian, Vietnamese), after folding.
  ['ignore-instructions', ['negeer', 'vergeet', 'ignoreer', 'ignorera', 'ignorer', 'glom', 'zignoruj', 'ignoruj', 'ignorujte', 'zapomnij', 'onceki', 'abaikan', 'lupakan', 'ignora', 'ignorati', 'bo'], String.raw`\b(?:negeer|vergeet|ignoreer)\s+(?:alle\s+)?(?:de\s+)?(?:eerdere|vorige|voorgaande|bovenstaande|oorspronkelijke)\s+(?:instructies|aanwijzingen|regels|opdrachten)|\b(?:ignorera|ignorer|glom)\s+(?:alla\s+|alle\s+)?(?:tidigare|foregaende|forrige|tidligere)\s+(?:instruktioner|instruksjoner|instruktioner|regler)|\b(?:zignoruj|ignoruj|ignorujte|zapomnij)\s+(?:wszystkie\s+|vsechny\s+)?(?:poprzednie|wczesniejsze|predchozi|predesle)\s+(?:instrukcje|polecenia|pokyny|instrukce)|\bonceki\s+(?:tum\s+|butun\s+)?(?:talimatlari|yonergeleri|kurallari|komutlari)\s+(?:yok\s+say|gormezden\s+gel|unut)|\b(?:abaikan|lupakan)\s+(?:semua\s+)?(?:instruksi|perintah|aturan)\s+(?:sebelumnya|terdahulu)|\b(?:ignora|ignorati)\s+(?:toate\s+)?instructiunile\s+(?:anterioare|precedente)|\bbo\s+qua\s+(?:tat\s+ca\s+)?(?:cac\s+)?(?:huong\s+dan|chi\s+dan|lenh)\s+(?:truoc|truoc\s+do)`],
  ['conceal-from-user', ['vertel', 'zeg', 'meld', 'zonder', 'nie', 'bez', 'kullaniciya', 'jangan', 'tanpa', 'fortell', 'beratta', 'berat'], String.raw`\b(?:vertel|zeg|meld)\s+(?:het\s+|dit\s+|niets\s+)?(?:niet\s+|nooit\s+)?(?:aan\s+)?de\s+gebruiker\b|\bzonder\s+de\s+gebruiker\s+(?:\w+\s+)?(?:te\s+)?(?:informeren|vertellen|melden|inlichten)|\bnie\s+(?:mow|informuj|wspominaj|pokazuj)\s+(?:o\s+tym\s+)?uzytkownik|\bbez\s+(?:informowania|wiedzy)\s+uzytkownik|\bkullaniciya\s+(?:bundan\s+|bunu\s+|hicbir\s+sey\s+)?(?:bahsetme|soyleme|gosterme|anlatma)|\b(?:jangan|tanpa)\s+(?:beri\s+tahu|memberi\s+tahu|memberitahu|kasih\s+tahu)\s+pengguna|\b(?:fortell|berat(?:ta)?)\s+(?:ikke|inte)\s+(?:\w+\s+)?(?:brukeren|anvandaren)`],
];

// Round 8 of the held-out set (fixtures/README.md): round 7's misses and round 8's, read as
// families (docs/lint-rules.md, "Round 8"), not as their sentences.
/** A wallet's master secret: its seed or recovery phrase, mnemonic words, or private key. Never a tool's input. */
const BRAND = String.raw`(?:wallet|metamask|phantom|ledger|trezor|keystore|ethereum|eth|solana|bitcoin|btc|crypto)(?:['’]s)?\s+`;
// Anchored on the nouns (seed, recovery, mnemonic, private, phrase, words) with the wallet's name
// read behind them, so the brand names add no trigger words.
const WALLET_SECRET = String.raw`(?:(?:seed|recovery|mnemonic)\s+(?:phrase|words?|sentence|key)s?\b|(?<=${BRAND}(?:seed\s+|recovery\s+|backup\s+|secret\s+)?)(?:phrase|words)\b|(?<=${BRAND}(?:\w+\s+)?)private\s+keys?\b|private\s+keys?\s+(?:of|for|from)\s+(?:the\s+|your\s+|their\s+|a\s+|this\s+)?(?:\w+\s+)?wallet)`;
const WALLET_WORDS = ['seed', 'recovery', 'mnemonic', 'private', 'phrase', 'words'];
const ASK = String.raw`(?:paste|type|enter|provide|give|send|share|include|put|add|supply|fill\s+in|write|copy|import|input|submit|upload|attach|read|reveal|export|ask\s+(?:\w+\s+)?for|request|need|needs|requires?)`;
// Other tools, unnamed: "any other tool", "every other connected server".
const OTHER_TOOLS = String.raw`other\s+(?:\w+\s+){0,2}?(?:tools?|servers?|functions?|integrations?|plugins?|connectors?|extensions?)\b`;
const ROUND8: Entry[] = [
  // Asking for a wallet's seed phrase or key (a parameter that names one is read in lint.ts).
  ['credential-request', WALLET_WORDS, String.raw`(?<=${NEGATED}\b${ASK}\b[^.\n]{0,50}?)${WALLET_SECRET}`],
  // Shadowing with no tool named: "instead of any other", "if any other tool can…, do not use it",
  // "every other connected tool is deprecated", "any message written through a messaging tool should…".
  ['tool-precedence', ['other', 'others', 'alternative', 'alternatives'], String.raw`(?<=\b(?:instead\s+of|rather\s+than|in\s+place\s+of|over|ahead\s+of|in\s+preference\s+to)\s+(?:any|all|every|each)\s+)(?:others?|alternatives?)\b`],
  ['tool-precedence', ['other'], String.raw`(?<=\b(?:any|every|all|each)\s+)${OTHER_TOOLS}[^.\n]{0,60}?\b(?:do\s*n[o'’]?t|never|stop|avoid|refuse\s+to)\s+(?:use|using|call|calling|invoke|invoking|trust|trusting|rely\s+on|choose|pick|select)\b`],
  ['tool-precedence', ['other'], String.raw`(?:(?<=\b(?:any|every|all|each)\s+)other\s+(?:\w+\s+){0,2}?|other\s+(?:connected|installed|available|external|loaded|third[\s-]party|mcp)\s+(?:\w+\s+)?)(?:tools?|servers?|functions?|integrations?|plugins?|connectors?)\s+(?:\w+\s+){0,2}?(?:are|is|have\s+been|has\s+been)\s+(?:now\s+|all\s+)?(?:deprecated|broken|disabled|unsafe|insecure|untrusted|compromised|unavailable|obsolete|malicious|retired|outdated|fake|not\s+(?:available|safe|trusted|secure|reliable|to\s+be\s+used))\b`],
  ['tool-precedence', ['through', 'via'], String.raw`(?<=\b(?:every|each|all|any)\s+(?:\w+\s+){0,3}?(?:sent|posted|written|created|made|pushed|issued|submitted|composed|drafted|writes|sends|posts|creates|makes|composes|drafts)\s+)(?:through|via)\s+(?!(?:this|our|the\s+same)\b)(?:an?\s+|any\s+|the\s+|another\s+|other\s+)?(?:\w+\s+){0,2}?(?:tools?|servers?|functions?|integrations?|apps?|clients?)\b[^.\n]{0,40}?\b(?:should|must|shall|has\s+to|have\s+to|needs?\s+to|will|is\s+to|are\s+to)\s+(?:now\s+)?(?:also|always|end|include|contain|carry|append|prepend|add|start|begin|link|be\s+(?:copied|sent|forwarded|cc|bcc|signed|tagged|prefixed|suffixed|appended|mirrored))\b`],
  // Rug pulls: text fetched or refreshed later is to be followed, unreviewed.
  ['approval-bypass', ['follow', 'obey', 'execute', 'apply', 'carry'], String.raw`${NEGATED}\b(?:follow|obey|execute|apply|carry\s+out)\s+(?:whatever|what|everything|anything|all|any)\s+(?:that\s+)?(?:the\s+(?:\w+\s+){0,2}?(?:text|description|instructions?|note|server|tool|result|response|output|page|file|document|message|version|update|feed)s?)\s+(?:tells|says|asks|contains|instructs|requests|demands|lists|specifies|wants)\b`],
  ['approval-bypass', ['without', 'never', 'no'], String.raw`\b(?:without|never|no\s+need\s+(?:to|for))\s+(?:showing|displaying|presenting|surfacing|sending|show|display|present|surface|submitting|submit)\s+(?:it|them|this|that|these|the\s+(?:\w+\s+){0,2}?(?:text|changes?|description|instructions?|update|version))\s+(?:to\s+(?:the\s+)?(?:user|human|operator)s?\s+)?for\s+(?:review|approval|confirmation|inspection|sign[\s-]?off)\b`],
  ['approval-bypass', ['refreshed', 'updated', 'fetched', 'pulled', 'downloaded', 'synced', 'reloaded', 'replaced', 'rewritten', 'changed'], String.raw`(?<=\b(?:descriptions?|instructions?|rules|behaviou?r|definitions?|text)\s+(?:is|are|gets|get|will\s+be|may\s+be|can\s+be)\s+)(?:refreshed|updated|fetched|pulled|downloaded|synced|reloaded|replaced|rewritten|changed)\s+(?:from\s+(?:the\s+|our\s+|a\s+)?(?:server|remote|backend|cloud|url|endpoint)|remotely|at\s+runtime|dynamically|every\s+\w+|silently|without\s+(?:notice|review|approval))\b[^.\n]{0,80}?\b(?:follow|obey|apply|execute|use)\b`],
  // Sending quietly, in the Latin-script languages read (after folding): the adverb is the sign, as `heimlich` is.
  ['conceal-from-user', ['silencio', 'secreto', 'douce', 'cachette', 'silenzio', 'segreto', 'geheim', 'hemlighet', 'escondidas', 'nascosto', 'cichu', 'ascuns', 'diam', 'rahasia', 'sembunyi', 'tham', 'lang', 'lut', 'gizlice', 'sessizce', 'stilletjes', 'ongemerkt', 'heimelijk', 'stiekem', 'potajemnie', 'ukradkiem', 'discretamente', 'calladamente', 'silenziosamente', 'furtivamente'], String.raw`(?:(?<=\b(?:en|em)\s+)(?:silencio|secreto|douce|cachette)|(?<=\bin\s+)(?:silenzio|segreto|hemlighet)|(?<=\bhet\s+)geheim|(?<=\ba\s+)escondidas|(?<=\bdi\s+)nascosto|(?<=\bpo\s+)cichu|(?<=\bpe\s+)ascuns|diam[\s-]diam|(?<=\bsecara\s+)(?:rahasia|sembunyi)|(?<=\bam\s+)tham|lang\s+le|(?<=\blen\s+)lut|gizlice|sessizce|stilletjes|ongemerkt|heimelijk|stiekem|potajemnie|ukradkiem|discretamente|calladamente|silenziosamente|furtivamente)\b${MUTED}`],
  ['conceal-from-user', ['sin', 'sem', 'senza', 'sans', 'zonder', 'bez', 'tanpa', 'khong'], String.raw`\b(?:sin\s+(?:avisar|decir\s+nada|que\s+nadie\s+(?:lo\s+)?sepa)|sem\s+(?:avisar|dizer\s+nada|que\s+ninguem\s+saiba)|senza\s+(?:avvisare|dire\s+nulla|farlo\s+sapere)|sans\s+(?:prevenir|rien\s+dire)|zonder\s+(?:het\s+te\s+melden|iets\s+te\s+zeggen)|bez\s+(?:ostrzezenia|uprzedzenia|slowa)|tanpa\s+(?:memberi\s+tahu|sepengetahuan)|khong\s+(?:bao|noi)\s+cho\s+(?:nguoi\s+dung|ai))\b`],
  // Overrides in more word orders: "bỏ qua mọi hướng dẫn trước đó", "이전의 모든 지시를 무시".
  ['ignore-instructions', ['bo'], String.raw`\bbo\s+qua\s+(?:moi|tat\s+ca|toan\s+bo|het)?\s*(?:cac\s+|nhung\s+)?(?:huong\s+dan|chi\s+dan|lenh|chi\s+thi|quy\s+tac)\s+(?:truoc|truoc\s+do|cu|ban\s+dau)\b`],
];

/**
 * A command word split at random (`ig nore`, `dis regard`, `By-pass`) before what it overrides
 * (split or not): each letter may be followed by a space or hyphen, the plain word is excluded
 * (the other rules read it), so only a split word matches.
 */
const split = (word: string): string => [...word].join('[ -]?');
const SPLIT_VERB = String.raw`(?!(?:ignore|disregard|override|bypass)\b)(?:${['ignore', 'disregard', 'override', 'bypass', 'by-pass'].map(split).join('|')})\b`;
const SPLIT_NOUN = String.raw`(?:${['instructions', 'directions', 'guidance', 'guidelines', 'rules', 'confirmation', 'approval', 'safety', 'prompt'].map(split).join('|')})\b`;
const SPLIT_WORDS: TextPattern = {
  rule: 'ignore-instructions',
  prefixes: ['i[ -]?g[ -]?n[ -]?o', 'd[ -]?i[ -]?s[ -]?r[ -]?e', 'o[ -]?v[ -]?e[ -]?r[ -]?r', 'b[ -]?y[ -]?-?[ -]?p'],
  source: String.raw`${SPLIT_VERB}\s+(?:\S{1,14}\s+){0,4}?${SPLIT_NOUN}`,
};

const VERBS_EXFIL = ['send', 'post', 'upload', 'forward', 'transmit', 'copy', 'report', 'bcc', 'cc', 'mail', 'email', 'redirect', 'relay', 'leak', 'exfiltrate'];

/** Every pattern of the prose rules that starts with a word. */
const WORD_ENTRIES: Entry[] = [
  ...IGNORE,
  ...CONCEAL_EN,
  ...CONCEAL_OTHER,
  ['role-override', ['you', 'act', 'developer', 'devmode', 'jailbreak', 'new', 'from', 'obey'], String.raw`\byou\s+are\s+now\b|\bact\s+as\s+(?:an?\s+)?(?:unrestricted|jailbroken|different|new)|\b(?:developer\s+mode|devmode|jailbreak)\b|\bnew\s+instructions\b|\bfrom\s+(?:now|this\s+point)\s+(?:on|onwards?|forward)\b|\byou\s+are\s+(?:an?\s+)?(?:unrestricted|unfiltered|uncensored|jailbroken)\b|\bobey\s+(?:the\s+)?(?:instructions|commands)\s+in\b`],
  ['role-override', ['your'], String.raw`\byour\s+new\s+(?:role|persona|identity|instructions|task|purpose|goal)\b`],
  ['role-override', ['you', 'act', 'behave'], String.raw`\b(?:you\s+are|act|behave)\s+(?:now\s+)?(?:in|as)\s+(?:an?\s+)?(?:maintenance|developer|debug|god|admin|root|unrestricted)\s+mode\b`],
  ['role-override', ['act', 'behave', 'respond', 'answer'], String.raw`\b(?:act|behave|respond|answer)\s+(?:as\s+(?:an?\s+)?\w{1,30}(?:\s+\w{1,30})?\s+)?(?:with\s+no|without\s+(?:any\s+)?)\s*(?:restrictions|limits|limitations|filters|rules|guardrails|safeguards)\b`],
  ['tool-precedence', ['assistant', 'model', 'ai', 'agent', 'llm'], String.raw`\b(?:assistant|model|ai|agent|llm)\s+(?:must|should|shall|needs?\s+to|is\s+required\s+to)\s+(?:now\s+)?(?:also\s+|always\s+|first\s+)?(?:call|invoke|use|run|execute|send|read|include|forward|upload)\b`],
  ['tool-precedence', ['after', 'before'], String.raw`\b(?:after|before|with)\s+(?:every|each|any)\s+(?:answer|response|reply|message|turn)\b[^.\n]{0,40}?\b(?:call|invoke|run|send|upload|include|append|render)\b`],
  ['instruction-tags', ['note'], String.raw`\bnote\s+to\s+(?:the\s+)?(?:ai|assistant|model|llm|agent|claude|gpt|chatgpt|copilot)\b`],
  ['tool-precedence', ['supersedes', 'supersede', 'replaces'], String.raw`\b(?:supersedes|supersede|replaces)\s+(?:any|all|every|the)\s+other\s+(?:\w+\s+)?tools?\b`],
  ['tool-precedence', ['before'], String.raw`\bbefore\s+(?:any|all|every)\s+other\s+tools?\b`],
  ['tool-precedence', ['is', 'are'], String.raw`\b(?:is|are)\s+(?:broken|deprecated|insecure|compromised|unsafe|outdated|obsolete|disabled)\b[^.]{0,20}?[;,:.]?\s+(?:use|call|prefer)\s+this\s+(?:one|tool|server)\b`],
  ['coercion', ['or', 'otherwise'], String.raw`\b(?:or|otherwise)\s+(?:else\s+)?(?:the|your|this)\s+(?:session|conversation|account|tool|system|server|request|access)\s+(?:will|would|may)\s+(?:be\s+)?(?:terminated|blocked|suspended|revoked|lost|deleted|closed|locked|banned|fail)\b`],
  ['tool-precedence', ['before', 'never', 'do', 'don', 'dont', 'this', 'when', 'side', 'use', 'is'], String.raw`(?<!\b(?:ask|asks|asking|confirm|confirms|confirming|check|checks|checking|verify|verifies|consult|consults)\s[^.\n]{0,60})\bbefore\s+(?:using|calling|invoking|running)\s+(?:this|any|other|another|the\s+other)\s+(?:other\s+)?tools?\b(?![\s,:;]{0,3}(?:please\s+|always\s+|first\s+)?(?:ask|confirm\s+with|check\s+with|verify\s+with|consult)\s+(?:the\s+|your\s+)?(?:user|human|person|operator|owner)s?\b)|\bbefore\s+(?:calling|using)\s+any\s+other\b|\b(?:never|do\s*n[o'’]?t)\s+use\s+\S{1,64}\s+from\s+(?:any\s+)?other\b|\bthis\s+is\s+the\s+only\s+(?:trusted|safe|valid|real|official)\b|\bwhen\s+(?:\(\S{1,64}\)\s+)?\S{1,64}\s+is\s+(?:invoked|called|used)\b|\bside\s+effect\s+on\b|\buse\s+this\s+tool\s+instead\b|\bis\s+(?:broken|deprecated|insecure|compromised|unsafe)\b[^.]{0,80}\binstead\b`],
  ['coercion', ['otherwise', 'or', 'data', 'files', 'work', 'required', 'mandatory'], String.raw`\b(?:otherwise|or\s+else)\s+(?:the|this)\s+(?:tool|system|server)\s+(?:will|would|may)\s+(?:not\s+work|fail|crash|break|stop)|\b(?:data|files|work)\s+(?:will|would)\s+be\s+(?:lost|deleted|destroyed)|\brequired\s+for\s+compliance\b|\bmandatory\s+[^.]{0,30}side\s+effect`],
  ['cross-server-reference', ['also', 'other'], String.raw`\bother\s+(?:mcp\s+)?servers?\b|\balso\s+present\b`],
  ['credential-request', ['api', 'password', 'secret', 'credential', 'private', 'access', 'session', 'auth', 'authentication'], String.raw`\b(?:api\s*keys?|passwords?|secrets?|credentials?|private\s+keys?|access\s+tokens?|session\s+(?:cookies?|tokens?)|auth(?:entication)?\s+tokens?)\b[^.]{0,40}\b(?:you\s+have\s+seen|you\s+(?:can\s+)?find|in\s+(?:the\s+)?(?:context|conversation|environment))`],
  ['credential-request', ['include', 'pass', 'send', 'append', 'attach', 'extract', 'collect', 'read'], String.raw`${NEGATED}${NOUN_USE}\b(?:include|pass|send|append|attach|extract|collect|read)\s+(?:(?:all|any|the|your)\s+){0,3}(?:api\s*keys?|passwords?|credentials?|private\s+keys?|access\s+tokens?|secrets)\b`],
  ['context-harvesting', ['entire', 'full', 'whole', 'complete', 'conversation', 'chat', 'previous', 'earlier', 'user', 'everything', 'what', 'prior'], String.raw`\b(?:entire|full|whole|complete)\s+(?:conversation|chat)\b|(?<!\b(?:retrieve|get|fetch|clear|delete|list|view|search|export|load|reset|browse|manage|archive)s?\s+(?:(?:the|a|your|its|current|recent|saved)\s+){0,2})\b(?:conversation|chat)\s+(?:history|log|transcript)\b(?!\s+(?:of|for|in|from)\s+(?:(?:a|an|the|this|that|each|any|every)\s+)?(?:slack|discord|teams|channel|thread|room|group|chat|dm|user|customer|ticket|meeting|conversation))|\bconversation\s+so\s+far\b|\b(?:previous|prior|earlier)\s+(?:messages|turns|user\s+messages)\b|\buser['’]?s\s+(?:last|previous|prior|latest)\s+(?:message|prompt|request)s?\b(?!\s+(?:timestamp|time|date|id|ids|count))|\beverything\s+(?:the\s+user|you)\s+(?:said|wrote|typed|asked|have\s+seen)|\bwhat\s+the\s+user\s+(?:said|wrote|typed)\s+(?:earlier|before)|\bprior\s+user\s+messages\b`],
  ['context-harvesting', ['prompt'], String.raw`(?<=\b(?:your|its|(?:model|assistant|agent|ai|llm)['’]?s?)\s+(?:own\s+|full\s+|entire\s+|hidden\s+|original\s+)?system\s+)prompt\b`],
  ['exfiltration-url', VERBS_EXFIL, String.raw`\b(?:send|post|upload|forward|transmit|cop(?:y|ie)|report|bcc|cc|mail|email|redirect|relay|leak|exfiltrate)\w{0,3}\b(?!["'\x60]?\s*[:=])[^.\n]{0,80}?(?:https?:\/\/|hxxps?:\/\/|\b[\w.+-]{1,64}@[\w-]{1,64}\.[a-z]{2,}|\+\d[\d ]{6,20})`],
  ['exfiltration-url', ['change'], String.raw`\bchange\s+the\s+recipient\b`],
  ['exfiltration-url', ['http', 'https'], String.raw`\bhttps?:\/\/\S{1,200}\s+(?:followed\s+by|with|containing|plus)\s+(?:the\s+)?(?:user['’]?s|their|your)\s+(?:query|message|input|question|request|prompt|conversation|data|keys?)\b`],
  ['exfiltration-url', ['webhook', 'requestbin', 'pipedream', 'ngrok', 'burpcollaborator', 'interact', 'oast'], String.raw`\b(?:webhook\.site|requestbin|pipedream\.net|ngrok\.(?:io|app)|burpcollaborator|interact\.sh|oast\.)`],
  ...AGENT_COMMAND,
  ...HELDOUT_FAMILIES,
  ...GENERALISED,
  ...ROUND6,
  ...ROUND8,
];

/**
 * A wallet's master secret named with no verb ("the twelve mnemonic words of the user's backup",
 * `wallet_private_key`) asks for it when it is what a parameter holds, unless the text denies it
 * ("never asks for your seed phrase").
 */
const WALLET_PARAMETER: TextPattern = {
  rule: 'credential-request',
  triggers: WALLET_WORDS,
  parameterOnly: true,
  source: String.raw`(?<!\b(?:never|not|no|without|n['’]t)\b[^.\n]{0,40})${WALLET_SECRET}`,
};

/**
 * An environment variable holding a credential, asked for by name (checked case-sensitively:
 * `OPENAI_API_KEY`, not `page_token`), also as code or a shell writes it (`$X`, `${X}`,
 * `process.env.X`, `os.environ["X"]`, `%X%`, `$env:X`).
 */
const ENV_CREDENTIAL: TextPattern = {
  rule: 'credential-request',
  triggers: ['include', 'pass', 'send', 'append', 'attach', 'contain', 'put', 'insert', 'copy', 'paste', 'add', 'provide', 'read', 'print', 'echo', 'supply', 'forward', 'give', 'share', 'upload'],
  source: String.raw`\b(?:include|pass|send|append|attach|contain|put|insert|copy|paste|add|provide|read|print|echo|supply|supplie|forward|give|share|upload)\w{0,3}\s+(?:the\s+)?(?:(?:value|contents?)\s+of\s+)?(?:the\s+|your\s+)?(?:process\.env\.|os\.environ(?:\.get\(|\[)?['"]?|%|\$env:)?\$?\{?[a-z][a-z0-9]{0,30}(?:_[a-z0-9]{1,30}){0,4}_(?:api_)?(?:key|token|secret|password|passwd|credentials?)\b`,
  verify: /\$?\{?[A-Z][A-Z0-9]{0,30}(?:_[A-Z0-9]{1,30}){0,4}_(?:API_)?(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)\b/,
};

/**
 * Shadowing, tried where a tool named as an identifier stands (`send_email`): what comes before it
 * is read by a lookbehind after the identifier matched, so ordinary words cost one failed scan.
 */
const IDENT_PREFIX = String.raw`[a-z][a-z0-9]{0,30}_[a-z0-9]`;
const SHADOWING: string[] = [
  // When another tool is used, change what it sends or where.
  String.raw`${IDENT}\b(?<=\b(?:when(?:ever)?|each\s+time|every\s+time|any\s+time|before|after|once)\s+[^.\n]{0,40}?${IDENT})[^.\n]{0,80}?\b${MODIFY}\s+(?:(?:a|an|the|its|their|every|each|all|any|this|that)\s+)?(?:\w+\s+){0,2}?${CALL_PART}\b`,
  // The other tool should now also do something.
  String.raw`${IDENT}\s{1,3}(?:tool\s{1,3})?(?:should|must|shall|will|needs?\s+to|has\s+to)\s+(?:now\s+)?(?:always\s+)?also\b`,
  // This changes how the other tool behaves.
  String.raw`${IDENT}\b(?<=\b(?:change|alter|modif(?:y|ie)|override|extend|patch|redefine)s?\s+(?:how|the\s+way|the\s+behaviou?r\s+of|what)\s+(?:the\s+)?${IDENT})`,
  // Any call to the other tool should first or also change something.
  String.raw`${IDENT}\b(?<=\b(?:(?:any|every|each|all)\s+)?(?:calls?|requests?|invocations?|uses?)\s+(?:to|of)\s+(?:the\s+)?${IDENT})[^.\n]{0,40}?\b(?:should|must|shall|will|needs?\s+to|ha(?:s|ve)\s+to|(?:is|are)\s+to)\s+(?:(?:first|also|always|now)\s+){0,2}(?:\w+\s+)?${MODIFY}`,
  // Every message sent through the other tool.
  String.raw`${IDENT}\b(?<=\b(?:every|each|all|any)\s+(?:\w+\s+){0,2}?(?:sent|posted|created|made|written|pushed|issued|submitted)\s+(?:through|via|with|using|by)\s+(?:the\s+)?${IDENT})`,
  // When the other tool is invoked.
  String.raw`${IDENT}(?<=\bwhen(?:ever)?\s+the\s+${IDENT})(?:\s+tool)?\s+(?:is|gets|has\s+been)\s+(?:invoked|called|used|run|executed|triggered)\b`,
];

/** Shadowing, tried only where an identifier stands (the trigger pass's group 2). */
export const SHADOWING_PATTERNS: TextPattern[] = SHADOWING.map((source) => ({ rule: 'tool-precedence', prefixes: [IDENT_PREFIX], source }));

/** Patterns that start with a word, tried only where one of their trigger words stands. */
export const WORD_PATTERNS: TextPattern[] = [
  ...WORD_ENTRIES.map(([rule, triggers, source]) => ({ rule, triggers, source })),
  ENV_CREDENTIAL,
  WALLET_PARAMETER,
  SPLIT_WORDS,
  ...DANGEROUS_COMMAND.map(([rule, triggers, source]) => ({ rule, triggers, source, raw: true })),
  // A placeholder in the query or fragment, or one named for the user's data anywhere (a REST path's `{owner}` is not).
  { rule: 'exfiltration-url', triggers: ['http', 'https'], raw: true, source: String.raw`https?:\/\/[^\s)?#]{0,200}?[?#][^\s)]{0,200}?(?:\{[^}]{1,80}\}|<[^>\s]{1,40}>|\$\{)|https?:\/\/[^\s)]{0,200}?(?:\{|<|\$\{)[^}>\s]{0,40}?(?:conversation|chat|messages?|history|prompt|context|secret|token|password|summary|transcript|env|cookie|credential|clipboard|question|answer|reply|query|input|data|content)[^}>\s]{0,40}[}>]` },
  // The keychain as a file or dumped by a command (the word alone is the product: "stored in the Keychain").
  { rule: 'sensitive-paths', triggers: ['mcp', 'claude_desktop_config', 'application_default_credentials', 'keychain', 'password'], raw: true, source: String.raw`\bmcp\.json\b|\bclaude_desktop_config\.json|\bapplication_default_credentials\.json|(?<=\b(?:login\.|dump-|export-))keychain\b|(?<=\bfind-(?:generic|internet)-)password\b` },
  { rule: 'sensitive-paths', prefixes: ['id[_ -](?:rsa|dsa|ecdsa|ed25519)\\b'], raw: true, source: String.raw`\bid[_ -](?:rsa|dsa|ecdsa|ed25519)\b(?!\.pub\b)` },
  // Credential stores named by file (Windows, macOS, browsers, wallets).
  { rule: 'sensitive-paths', triggers: ['ntuser', 'login', 'logins', 'key3', 'key4', 'wallet', 'keychains'], raw: true, source: String.raw`\bntuser\.dat\b|\blogin\s+data\b|\blogins\.json\b|\bkey[34]\.db\b|\bwallet\.dat\b|\bkeychains\/` },
  { rule: 'sensitive-paths', triggers: ['authorized_keys', 'history', 'secret', 'secrets', 'credential', 'credentials', 'password', 'passwords', 'private_key', 'service_account'], raw: true, source: String.raw`\bauthorized_keys\b|(?<=\b(?:shell|bash|zsh|command|terminal)\s+)history\b|\b(?:secrets?|credentials?|passwords?|private[_-]?key|service[_-]?account)\.(?:ya?ml|json|toml|ini|txt|env|pem|key|csv)\b` },
  { rule: 'cross-server-reference', prefixes: ['mcp_tooi_'], source: String.raw`\bmcp_tool_\w{1,64}` },
];

/** Patterns that start with a symbol (tags, paths, images, padding, escapes), read in one pass of their own. */
export const SYMBOL_PATTERNS: TextPattern[] = [
  {
    rule: 'instruction-tags',
    // Alternatives led by the same character are grouped under it, so each position tries one branch per character.
    source: String.raw`<(?:\s*\/?\s*(?:important|system|instructions?|admin|secret|hidden|critical|assistant|sys|note[_ -]?to[_ -]?(?:ai|assistant|model|llm))\b[^>\n]{0,40}>|\s*\/?\s*(?:[a-z]{1,16}[_-])?(?:system|important|critical|admin|developer|hidden|secret|priority|override|security)[_-](?:instructions?|prompt|message|note|notes|rules|directive|reminder|override|context)\s*>|\s*\/?\s*(?:[a-z]{1,16}[_-])?(?:instructions?|directives?)(?:[_-][a-z]{1,16})?\s*>|\s*\/\s*(?:description|tool|tools|tool[_-]?descriptions?|functions?|function[_-]?(?:calls?|results?|descriptions?)|tool[_-]?(?:calls?|results?|use|spec|definitions?)|toolspec|user|human|turn|context|prompt)\s*>|\s*(?:tool|function)\s+name\s*=|\|[a-z_]{2,24}\|>|\s*\/?\s*(?:start|end)_of_turn\s*>|<\s*\/?\s*sys\s*>>)|\]\]>|\[(?:\/?(?:inst|system)\]|\s*(?:admin|system|developer|root|security|priority)\s+(?:override|mode|notice|message|instructions?|command|directive|update)\s*\])|(?:^|${SEP})[ \t]{0,8}(?:#{1,6}[ \t]{0,8}(?:system|assistant|instructions?|developer)[ \t]{0,8}:?[ \t]{0,8}(?:$|${SEP})|#{1,6}[ \t]{0,8}(?:(?:new|updated|hidden|secret|real|additional|important)[ \t]{1,4})?(?:system|admin|developer|assistant)[ \t]{1,4}(?:rules|instructions?|prompt|message|policy|override|notes?)\b|(?:system|assistant|human)[ \t]{0,8}:[ \t]|user[ \t]{1,4}says[ \t]{0,4}:)|\{\s*["']?(?:system|admin|developer|assistant)[_ -]?(?:notes?|messages?|prompt|instructions?|override)["']?\s*:`,
  },
  { rule: 'sensitive-paths', raw: true, source: String.raw`~\/\.(?:ssh(?!\/(?:[\w.-]{1,64}\.pub|known_hosts)\b)|aws|gnupg|kube|docker|config\/gcloud|cursor|npmrc|netrc|git-credentials|pgpass|password-store|vault-token|my\.cnf|s3cfg)|(?:^|[\s'"\x60(])\.(?:env|netrc|pgpass|pypirc|npmrc|password-store|vault-token|my\.cnf|s3cfg)\b|\.(?:local\/share\/(?:keyrings|kwalletd)\b|keyring\b|config\/(?:gh\/hosts\.ya?ml|rclone\/rclone\.conf|solana\/id\.json)|terraform\.d\/credentials|azure\/(?:accesstokens\.json|msal_token_cache)|cargo\/credentials|gem\/credentials|ethereum\/keystore|electrum\/wallets)|\.aws\/credentials|\/etc\/(?:passwd|shadow|sudoers)\b|\.kube\/config|\.docker\/config\.json|\.git-credentials|\.bash_history|\.zsh_history|\.ssh\/(?!(?:[\w.-]{1,64}\.pub|known_hosts)\b)|\/proc\/self\/environ|\.aws\/config\b|\\(?:microsoft\\(?:credentials|protect|vault)\b|config\\(?:sam|security|system)\b|\.(?:ssh|aws|kube|docker|gnupg)\\)|\.(?:pem|p12|pfx|jks|kdbx)\b(?<=[\w-]\.\w{3,4})` },
  { rule: 'cross-server-reference', source: String.raw`\(mcp_\w{1,64}\)` },
  { rule: 'instruction-tags', source: String.raw`[.!?][ \t]{1,4}(?:system|assistant|human|ai)[ \t]{0,4}:[ \t]|["']role["'][ \t]{0,4}:[ \t]{0,4}["'](?:system|developer|assistant)["']` },
  { rule: 'agent-command', raw: true, source: String.raw`>\s*\/dev\/(?:sd[a-z]|nvme|disk)|\/dev\/tcp\/|:\(\)\s*\{\s*:\s*\|\s*:\s*&\s*\}` },
  { rule: 'markdown-image', raw: true, source: String.raw`!\[[^\]]{0,200}\](?:\(\s*<?https?:\/\/|\[[^\]\n]{1,40}\])|<img\b[^>]{0,200}\bsrc\s*=\s*["']?https?:\/\/` },
  // Blank Braille cells (U+2800) look like spaces and survive the fold; other wide spaces fold to one.
  { rule: 'whitespace-padding', raw: true, source: String.raw`[ \t\u00a0\u2000-\u200a\u2800\u3000]{40,}|(?:\r?\n[ \t\u2800]{0,40}){12,}` },
  { rule: 'terminal-escape', raw: true, source: String.raw`\\x1b|\\u001b|\\u\{1b\}|\\033\[|\\e\[|\^\[\[` },
  { rule: 'secret-in-manifest', raw: true, what: 'a private key', source: String.raw`-----BEGIN (?:[A-Z]+ ){0,3}PRIVATE KEY-----` },
  { rule: 'secret-in-manifest', raw: true, what: 'a URL with credentials', source: String.raw`:\/\/[^\s/:@]{1,128}:[^\s/@]{6,128}@` },
];

/**
 * Round 8's vendor formats (a fixed prefix and a random body; the class is "a vendor's key format",
 * so the table is broad rather than the three the held-out set named), each group's prefixes as one
 * alternative of the trigger pass rather than one each (the pass tries every alternative at every
 * word start).
 */
const VENDOR_PREFIX = String.raw`(?:sq0(?:atp|csp|idp)-|eaaa|sk[0-9a-f]{32}|key-[0-9a-f]{32}|access_token\$|pmak-|atatt|\d{8,10}:aa)`;
const VENDOR_PREFIX_2 = String.raw`(?:dp\.|pypi-|dapi[0-9a-f]|sbp_|tskey-|hv[sb]\.|age-secret-key-|g[il1](?:sa|c)_|figd_|pat[a-z0-9]{14}\.|sntry[su]_|hrku-|nrak-|cfpat-|secret_[a-z0-9]{43})`;

/**
 * Secrets: matched in every string, prose or not. Never echoed.
 *
 * Every repetition is bounded (adversarial.test.ts checks it): a key's alphabet often holds a
 * character of its own prefix (the `-` of `sk-`, the `/` of `glc_`), so the prefix repeated
 * (`sk-sk-sk-…`) is one long run with a prefix at every step, and an unbounded run read from each
 * of them made the lint quadratic (128 KB took 14.5 s). `KEY` is longer than any vendor's key, so
 * the cap costs no detection and keeps the read from each prefix constant. A JSON Web Token's
 * payload may be longer, so its segments have a larger cap, and it starts only where a run of its
 * alphabet starts (not after a `-`): each run is then read from at most two starts.
 */
const KEY = 512;
const JWT_SEGMENT = 8192;
export const SECRET_PATTERNS: TextPattern[] = (
  [
    ['a private key', [], String.raw`-----BEGIN (?:[A-Z]{1,16} ){0,3}PRIVATE KEY-----`],
    ['an AWS access key id', ['akia', 'asia', 'agpa', 'aida', 'aroa'], String.raw`\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b`],
    ['a GitHub token', ['gh[pousr]_', 'github_pat_'], String.raw`\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{50,255})\b`],
    ['a Slack token', ['xox[abposr]-'], String.raw`\bxox[abposr]-[A-Za-z0-9-]{10,${KEY}}`],
    ['a Stripe key', ['[sr]k_iive_'], String.raw`\b(?:sk|rk)_live_[0-9a-zA-Z]{20,${KEY}}`],
    ['an Anthropic or OpenAI key', ['sk-'], String.raw`\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,${KEY}}`],
    ['a Google API key', ['aiza'], String.raw`\bAIza[0-9A-Za-z_-]{35}\b`],
    ['an npm token', ['npm_'], String.raw`\bnpm_[A-Za-z0-9]{36}\b`],
    ['a Hugging Face token', ['hf_'], String.raw`\bhf_[A-Za-z]{30,40}\b`],
    ['a GitLab token', ['gi(?:pat|dt|rt|soat|ptt|cbt|ffeed)-'], String.raw`\bgl(?:pat|dt|rt|soat|ptt|cbt|ffeed)-[A-Za-z0-9_-]{20,${KEY}}`],
    ['a Shopify token', ['shp(?:at|ca|pa|ss)_'], String.raw`\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b`],
    ['a DigitalOcean token', ['d[o0][opr]_vi_'], String.raw`\bdo[opr]_v1_[a-f0-9]{64}\b`],
    ['a Groq, Replicate, Linear, Notion or Perplexity key', ['gsk_', 'r8_', 'iin_api_', 'ntn_', 'ppix-'], String.raw`\b(?:gsk_[A-Za-z0-9]{40,${KEY}}|r8_[A-Za-z0-9]{30,${KEY}}|lin_api_[A-Za-z0-9]{32,${KEY}}|ntn_[A-Za-z0-9]{40,${KEY}}|pplx-[A-Za-z0-9]{40,${KEY}})\b`],
    ['a SendGrid key', ['sg\\.'], String.raw`\bSG\.[A-Za-z0-9_-]{20,24}\.[A-Za-z0-9_-]{40,50}`],
    // Vendor formats with a fixed prefix and a random body (round 8: the class is "a vendor's key
    // format", so the table is broad rather than the three the held-out set named).
    ['a Square, Twilio, Mailgun, Braintree, Postman, Atlassian or Telegram token', [VENDOR_PREFIX], String.raw`\b(?:sq0(?:atp|csp|idp)-[A-Za-z0-9_-]{22,${KEY}}|EAAA[A-Za-z0-9_-]{56,${KEY}}|SK[0-9a-fA-F]{32}\b|key-[0-9a-f]{32}\b|access_token\$(?:production|sandbox)\$[0-9a-z]{16}\$[0-9a-f]{32}\b|PMAK-[0-9a-f]{24}-[0-9a-f]{34}\b|ATATT[A-Za-z0-9_=-]{60,${KEY}}|\d{8,10}:AA[A-Za-z0-9_-]{33}\b)`],
    ['a Doppler, PyPI, Databricks, Supabase, Tailscale, Vault, age, Grafana, Figma, Airtable, Sentry, Heroku, New Relic, Contentful or Notion token', [VENDOR_PREFIX_2], String.raw`\b(?:dp\.(?:st|pt|ct|sa|scim|audit)\.[A-Za-z0-9_-]{40,${KEY}}|pypi-AgE[A-Za-z0-9_-]{50,${KEY}}|dapi[0-9a-f]{32}|sbp_[0-9a-f]{40}|tskey-(?:auth|api|client)-[A-Za-z0-9-]{20,${KEY}}|hv[sb]\.[A-Za-z0-9_-]{90,${KEY}}|AGE-SECRET-KEY-1[0-9A-Z]{58}|gl(?:sa|c)_[A-Za-z0-9_=+/-]{32,${KEY}}|figd_[A-Za-z0-9_-]{40,${KEY}}|pat[A-Za-z0-9]{14}\.[a-f0-9]{64}|sntry[su]_[A-Za-z0-9_=+/-]{40,${KEY}}|HRKU-[A-Za-z0-9_-]{40,${KEY}}|NRAK-[A-Z0-9]{27}|CFPAT-[A-Za-z0-9_-]{43}|secret_[A-Za-z0-9]{43})\b`],
    ['a storage account key', ['accountkey='], String.raw`\bAccountKey=[A-Za-z0-9+\/]{40,${KEY}}={0,2}`],
    ['a chat webhook URL with its token', ['h[o0][o0]ks\\.', 'disc[o0]rd'], String.raw`\bhooks\.slack\.com\/services\/T[A-Z0-9]{6,32}\/B[A-Z0-9]{6,32}\/[A-Za-z0-9]{16,${KEY}}|\bdiscord(?:app)?\.com\/api\/webhooks\/\d{6,32}\/[A-Za-z0-9_-]{40,${KEY}}`],
    ['a JSON Web Token', ['eyj'], String.raw`(?<![\w-])eyJ[A-Za-z0-9_-]{10,${JWT_SEGMENT}}\.eyJ[A-Za-z0-9_-]{10,${JWT_SEGMENT}}\.[A-Za-z0-9_-]{10,${KEY}}`],
    ['a URL with credentials', [], String.raw`\b[a-z][a-z0-9+.-]{0,30}:\/\/[^\s/:@]{1,128}:[^\s/@]{6,128}@`],
    ['a password or key written out', ['password', 'passwd', 'pwd', 'api[_-]?key', 'secret[_-]?key', 'access[_-]?token'], String.raw`\b(?:password|passwd|pwd|api[_-]?key|secret[_-]?key|access[_-]?token)\s{0,8}(?:is\s{0,8})?[:=]\s{0,8}["']?(?=[^\s"'<{]{8})(?=[^\s"'<{]{0,200}[0-9!@#$%^&*])[^\s"'<{]{8,200}`],
  ] as const
).map(([what, prefixes, source]) => ({ rule: 'secret-in-manifest' as const, raw: true, what, prefixes, source }));

/** A base64 (standard or URL-safe) or hex run: decoded, and the decoded text linted again. Matched in the trigger pass. */
export const ENCODED_SOURCE = String.raw`[a-z0-9+\/_-]{16,}={0,2}`;

/** The same families in scripts the fold would mangle (Cyrillic, CJK, Hangul): matched on NFKC, lowercased, unfolded text. */
export const OTHER_SCRIPT_PATTERNS: TextPattern[] = [
  { rule: 'tool-precedence', raw: true, source: String.raw`(?:在)?(?:调用|使用|运行|执行)(?:此|这个|该|本|任何其他|其他)(?:工具|函数)(?:之前|前)|(?:この|本|他の)ツールを(?:使(?:う|用する)|呼び出す|実行する)前に|перед\s+(?:использованием|вызовом|запуском)\s+(?:этого|данного|любого\s+другого)\s+(?:инструмента|тула)` },
  { rule: 'credential-request', raw: true, source: String.raw`(?:发送|上传|读取|复制|放入|包含|附上|提供|填入)[^。\n]{0,20}?(?:密码|密钥|私钥|令牌|凭据|凭证|api\s*key|token)|(?:パスワード|秘密鍵|apiキー|トークン|認証情報)[^。\n]{0,20}?(?:送信|入れ|含め|添付|読み|コピー)|(?:отправь|отправьте|скопируй|скопируйте|вставь|вставьте|прочитай|прочитайте|передай|передайте)\s+[^.\n]{0,30}?(?:парол|ключ|токен|учетн)` },
  { rule: 'conceal-from-user', raw: true, source: String.raw`не\s+(?:(?:говори|говорите|сообщай|сообщайте|упоминай|упоминайте|показывай|показывайте|рассказывай|рассказывайте|раскрывай|раскрывайте|сообщать|говорить|упоминать)\s+(?:об\s+этом\s+|это\s+|ничего\s+){0,2}пользовател)` },
  { rule: 'conceal-from-user', raw: true, source: String.raw`без\s+(?:ведома|уведомления|информирования|согласия)\s+пользовател|пользовател[ья]\s+не\s+(?:должен|должна|должны|нужно)\s+(?:об\s+этом\s+)?(?:знать|видеть|узнать|замечать)|(?:незаметно|тайно|скрытно|втайне)\s+от\s+пользовател|скрой\s+[^.\n]{0,30}от\s+пользовател` },
  { rule: 'conceal-from-user', raw: true, source: String.raw`(?:不要|别|勿|不得|切勿)(?:向|对|跟)?(?:用户|使用者)(?:透露|提及|提到|说|告知|显示)|(?:不要|别|勿|不得|切勿)(?:告诉|告知|通知|提醒|提及|提到|透露)(?:用户|使用者)|(?:对|向)(?:用户|使用者)(?:隐瞒|保密)|不(?:要)?让(?:用户|使用者)(?:知道|发现|看到|察觉)|(?:悄悄|偷偷|秘密)地?(?:发送|上传|读取|转发|调用|执行)` },
  { rule: 'conceal-from-user', raw: true, source: String.raw`ユーザー(?:に|には)(?:伝え|知らせ|言わ|見せ|教え|通知し)(?:ない|ず)|ユーザーに(?:知られ|気づかれ|気付かれ)(?:ない(?:よう|ように)|ず)|(?:こっそり|密かに|ひそかに)` },
  { rule: 'conceal-from-user', raw: true, source: String.raw`사용자(?:에게|한테)\s*(?:알리지|말하지|보여주지|언급하지)\s*(?:마|말)` },
  // Arabic and Hindi (round 8): overriding earlier instructions, keeping it from the user, doing it secretly.
  { rule: 'ignore-instructions', raw: true, source: String.raw`(?:تجاهل|تجاهلي|تجاهلوا|انس|انسى)\s+(?:جميع\s+|كل\s+)?(?:التعليمات|الأوامر|الإرشادات|التوجيهات|القواعد)\s+(?:السابقة|الماضية|الأصلية)|(?:पिछले|पहले\s+के|पूर्व|सभी\s+पिछले)\s+(?:सभी\s+)?(?:निर्देशों|निर्देश|आदेशों|नियमों)\s+(?:को\s+)?(?:अनदेखा|नज़?रअंदाज़?|भूल|उपेक्षा)` },
  { rule: 'conceal-from-user', raw: true, source: String.raw`(?:لا|دون|بدون|ولا)\s+(?:أن\s+)?(?:تخبر|تُخبر|تعلم|تُعلم|تبلغ|تُبلغ|إخبار|إعلام|إبلاغ|تظهر|تُظهر)\s*(?:ال)?مستخدم|(?:سرا|سرًا|خلسة|خفية)|उपयोगकर्ता\s+को\s+(?:न|मत|ना)\s+(?:बताएं|बताएँ|बताओ|बताना|बताये|दिखाएं|दिखाओ)|उपयोगकर्ता\s+को\s+बताए\s+बिना|चुपके\s+से|चुपचाप` },
  { rule: 'credential-request', raw: true, source: String.raw`(?:密码|密钥|私钥|令牌|凭据|凭证|助记词|api\s*key|api\s*密钥|token)[^。\n]{0,20}?(?:发送|上传|转发|复制|粘贴|填入|放入|提交)(?:到|至|给)` },
  { rule: 'ignore-instructions', raw: true, source: String.raw`이전(?:의)?\s*(?:모든\s*)?(?:지시|명령|지침|규칙)(?:를|을|사항을|들을)?\s*(?:모두\s*)?무시` },
  { rule: 'ignore-instructions', raw: true, source: String.raw`(?:игнорируй|игнорируйте|забудь|забудьте)\s+(?:все\s+)?(?:предыдущие|прежние|прошлые|вышеуказанные)\s+(?:инструкции|указания|правила)` },
  { rule: 'ignore-instructions', raw: true, source: String.raw`(?:忽略|无视|忘记|忘掉)(?:你|您)?(?:之前|以前|先前|上面|上述|所有|前面)[^。\n]{0,10}?(?:指令|指示|说明|规则|提示)|(?:以前|前|これまで|上記)の(?:指示|命令|ルール)を(?:無視|忘れ)|이전\s*(?:지시|명령)(?:를|을)?\s*무시` },
];

/** Digits and symbols read as letters (`LOOKALIKES`), each to the letter trigger words are written with. */
const FOLD: Readonly<Record<string, string>> = { l: 'i', '1': 'i', '|': 'i', '0': 'o', '3': 'e', '4': 'a', '5': 's', '7': 't' };

/** Lowercase, then the ASCII look-alikes folded: `l`, `1`, `|` read as `i`, `0` as `o`, `3` as `e`, `4` as `a`, `5` as `s`, `7` as `t`. Same length as the input. */
export function asciiFold(text: string): string {
  return text.toLowerCase().replace(/[l1|03457]/g, (c) => FOLD[c]!);
}

/** Compiles patterns into one case-insensitive expression, group k+1 being pattern k (patterns.test.ts checks no pattern captures). */
export function combine(patterns: readonly TextPattern[], flags = 'gi'): RegExp {
  return new RegExp(patterns.map((p) => `(${p.raw ? p.source : lookalike(p.source)})`).join('|'), flags);
}

/**
 * One expression matching any of `words`, factored as a trie (`s(?:end|ilently)`), so at each
 * position the engine follows one branch rather than trying every word.
 */
export function trieSource(words: readonly string[]): string {
  interface Node { end: boolean; next: Map<string, Node> }
  const root: Node = { end: false, next: new Map() };
  for (const w of words) {
    let n = root;
    for (const c of w) {
      let child = n.next.get(c);
      if (!child) n.next.set(c, (child = { end: false, next: new Map() }));
      n = child;
    }
    n.end = true;
  }
  // Words are in the folded alphabet; its letters stand for their look-alikes in the text (`LOOKALIKES`).
  const esc = (c: string) => LOOKALIKES[c] ?? c.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
  const emit = (n: Node): string => {
    const branches = [...n.next].sort(([a], [b]) => (a < b ? -1 : 1)).map(([c, child]) => esc(c) + emit(child));
    if (!branches.length) return '';
    const body = branches.length === 1 ? branches[0]! : `(?:${branches.join('|')})`;
    return n.end ? `(?:${body})?` : body;
  };
  return emit(root);
}

/**
 * Single letters in a row (`i g n o r e`, `I.G.N.O.R.E`): group 4
 * of the trigger pass, a sign that the string needs its joined view (spacing.ts).
 */
const SPACED_SIGN = String.raw`[a-z][ .·*~+|_-][a-z][ .·*~+|_-][a-z]\b`;

/**
 * The trigger pass: group 1 a trigger word without its inflection (send, sends, sending…), group 2
 * a word prefix, group 3 a base64 or hex run, group 4 a sign of spaced-out letters.
 */
function triggerSource(words: Map<string, Anchored>, prefixes: readonly string[]): RegExp {
  return new RegExp(String.raw`\b(?:(${trieSource([...words.keys()])})(?:s|es|ed|d|ing|ies|ied)?\b|(${prefixes.map(lookalike).join('|')})|(${ENCODED_SOURCE})|(${SPACED_SIGN}))`, 'gi');
}

/** Patterns anchored where a word stands: one sticky expression per trigger word. */
export interface Anchored {
  re: RegExp;
  patterns: readonly TextPattern[];
}

/**
 * The compiled rule set. One pass of `trigger` over the text finds, in order, every
 * trigger word (group 1), every word prefix (group 2) and every base64 or hex run (group 3);
 * the anchored expressions run only there. `symbols` reads the symbol-led patterns in one pass.
 */
export interface RuleSet {
  trigger: RegExp;
  /** Shadowing patterns, tried only where the trigger pass found an identifier (group 2). */
  identified: Anchored;
  /** The same without the identifier prefix (`send_email`), for text with no underscore. */
  triggerNoIdent: RegExp;
  words: Map<string, Anchored>;
  prefixed: Anchored;
  symbols: RegExp;
  symbolPatterns: readonly TextPattern[];
}

export function compileRules(): RuleSet {
  const byWord = new Map<string, TextPattern[]>();
  for (const p of WORD_PATTERNS) {
    for (const t of p.triggers ?? []) {
      const key = asciiFold(t);
      const list = byWord.get(key) ?? [];
      if (!list.includes(p)) list.push(p);
      byWord.set(key, list);
    }
  }
  // Words that start the same patterns share one expression (fewer to compile and warm up).
  const shared = new Map<string, Anchored>();
  const words = new Map<string, Anchored>();
  for (const [word, patterns] of byWord) {
    const key = patterns.map((p) => WORD_PATTERNS.indexOf(p)).join(',');
    let anchored = shared.get(key);
    if (!anchored) shared.set(key, (anchored = { re: combine(patterns, 'iy'), patterns }));
    words.set(word, anchored);
  }
  const prefixedPatterns = [...WORD_PATTERNS, ...SECRET_PATTERNS].filter((p) => p.prefixes?.length);
  const prefixes = [...prefixedPatterns.flatMap((p) => p.prefixes ?? []), IDENT_PREFIX];
  const identifiedPatterns = SHADOWING_PATTERNS;
  return {
    // Group 1 is the trigger word without its inflection (send, sends, sending…).
    trigger: triggerSource(words, prefixes),
    identified: { re: combine(identifiedPatterns, 'iy'), patterns: identifiedPatterns },
    triggerNoIdent: triggerSource(words, prefixes.filter((x) => x !== IDENT_PREFIX)),
    words,
    prefixed: { re: combine(prefixedPatterns, 'iy'), patterns: prefixedPatterns },
    symbols: combine(SYMBOL_PATTERNS),
    symbolPatterns: SYMBOL_PATTERNS,
  };
}
