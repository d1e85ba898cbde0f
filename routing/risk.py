"""What in a customer's words means a person must take over, whatever intent the bot heard:
a safety incident, a taken-over account, fraud, a legal threat, a data-rights request, a
negotiation, the press, a vulnerable customer or someone acting for one.

Pure and explainable: ``detect`` returns the categories a text falls in, most severe first,
each with the words that put it there ("safety: caught fire"). Cues are English and French
phrases (routing/lexicon.py: accents, inflections and one-letter typos are forgiven). What a
phrase list cannot see, the bot's classifier can: the shipped project has intents for the
same categories (``INTENT_CATEGORIES``), trained on WordLlama vectors, so a paraphrase with
none of these words still reaches a person through its intent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from routing.lexicon import Lexicon

# Categories, most severe first; each is also the handoff reason recorded for it.
SAFETY: Final = "safety"
ACCOUNT_TAKEOVER: Final = "account_takeover"
FRAUD: Final = "fraud"
LEGAL: Final = "legal"
VULNERABLE: Final = "vulnerable_customer"
PRESS: Final = "press"
DATA_RIGHTS: Final = "data_rights"
NEGOTIATION: Final = "negotiation"
CATEGORIES: tuple[str, ...] = (
    SAFETY,
    ACCOUNT_TAKEOVER,
    FRAUD,
    LEGAL,
    VULNERABLE,
    PRESS,
    DATA_RIGHTS,
    NEGOTIATION,
)

# The shipped bot's intents for the same things (nlu/rasa_project), by category.
INTENT_CATEGORIES: dict[str, str] = {
    "safety": SAFETY,
    "security_incident": ACCOUNT_TAKEOVER,
    "legal": LEGAL,
    "data_rights": DATA_RIGHTS,
    "negotiation": NEGOTIATION,
}

_PERSON = "someone|somebody|stranger|hacker|hackers|quelqu|inconnu|inconnue|pirate|pirates"
_ACCOUNT = "account|accounts|login|password|email|compte|identifiant*|passe|mail"
_DISCLAIMER = "recipient|recipients|destinataire|destinataires|privileged|confidentiality"
_CHILD = "child|children|kid|kids|daughter|baby|toddler|enfant|enfants|bebe|fils|fille"
_RELATIVE = (
    "husband|wife|partner|father|mother|mum|mom|dad|son|daughter|brother|sister|grandmother"
    "|grandfather|grandma|grandpa|mari|femme|epouse|epoux|conjoint*|pere|mere|fils|fille"
    "|frere|soeur|mamie|papi|compagnon|compagne"
)

CUES: dict[str, tuple[str, ...]] = {
    SAFETY: (
        "fire|flames|flame|blaze|incendie|feu|flammes|flamme|enflamme*|embrase*",
        "smoking|smoked|smoulder*|fumait|fumer|fumee|fume",
        "smoke ... coming|came|out|from|pouring",
        "spark|sparks|sparked|sparking|etincelle*|explod*|exploded|explose*|explosion",
        "overheat*|surchauff*|melted|melting|fondu|fondre",
        "burn|burns|burned|burnt|burning|brule|brulee|brules|brulure*|brulant|brulante",
        "electric*|electrocut* ... shock|shocked|decharge",
        "decharge ... electrique",
        "injury|injuries|injured|wound|wounded|blesse|blessee|blesses|blessure*|bleeding|saigne*",
        "hurt|hurts|hurting ! feelings",
        "swallow*|choke|choked|choking|avale|avaler|etouffe*",
        f"{_CHILD} ... fell|fallen|tombe|tombee|cut|coupe|coupee",
        "my son ... fell|fallen|cut|hurt|injured|burned|burnt|swallowed|choked",
        "cut|coupe|coupee ... my|me|ma|mon ... hand|finger|main|doigt",
        "ambulance|samu|pompiers|firefighters",
        "scald*|ebouillant*|scorched|noirci|carbonise*",
        "shard|shards|eclat|eclats ... glass|verre",
        "cut|coupe|coupee ... mouth|lip|face|eye|bouche|levre|visage|oeil",
        "got|get|gave|received|recu|pris ... a|une ... shock|decharge",
        "collapsed|effondre|effondree ... baby|child|kid|bebe|enfant|inside|dedans",
        "poison*|toxic|toxique|intoxi*",
        "suicid*",
        "kill ... myself",
        "me ... tuer",
        "unsafe|dangerous|dangereux|dangereuse|hazard|danger",
        "swelling|swollen|gonfle ... battery|batterie",
        "battery|batterie ... swelling|swollen|gonfle|leaking|fuit",
        "smell*|odeur ... burning|brule",
    ),
    ACCOUNT_TAKEOVER: (
        "hack|hacked|hacking|hacker|hackers|pirate|pirater|piratage",
        "compromised|compromis|compromise",
        f"{_PERSON} ... chang*|modifi*|logged|connected|accessed|accede|entre|broke|using|utilise"
        f"|stole|vole ... {_ACCOUNT}",
        f"{_PERSON} ... {_ACCOUNT} ... changed|change|modifie",
        "took|taken|take ... over ... account",
        "account|compte ... taken|hijacked|stolen ... over",
        f"{_ACCOUNT} ... was|been|ete ... changed|change|switched|swapped|replaced|remplace"
        "|remplacee|modifie|modifiee",
        f"{_ACCOUNT} ... changed|change|modifie|modifiee ... not|wasnt|pas ... me|moi",
        "stole|stolen|vole ... my|mon ... account|compte|identifiants|login",
        "not|wasnt|isnt|pas ... me|moi|mine ... password|passe|login|connexion|account|compte",
        "password|passe|email|mail|account|compte|device|appareil ... not|wasnt|isnt|pas ... me"
        "|moi|mine",
        "orders|order|commande|commandes ... i|je ... never|didnt|n ... made|make|place*|pass*",
        "unknown|unrecognised|unrecognized|inconnu|inconnue ... device|login|connexion|appareil",
        "login|connexion|logged|connecte ... from|depuis ... country|brazil|bresil|abroad|etranger",
        "someone|somebody|quelqu ... else|autre ... password|passe|account|compte|login",
        "didnt|never|not|pas ... request*|ask*|demande* ... reset|reinitialis*|code|password|passe",
        "didnt|never|not|pas ... change|changed|change ... password|passe|email|mail|number|numero",
        "logged|signed|connected ... in ... as ... me",
        "connecte|connectee ... a ... ma ... place",
        "purchases|orders|achats|commandes ... dont|not|ne|pas ... recogni*|reconnai*",
        "changed|change|modifie|modifiee ... without ... my ... permission|consent|knowledge",
        "sans ... mon ... accord|autorisation|consentement",
        "security|securite ... alert|alerte|warning|notification",
        "alert|alerte|warning|notification ... security|securite",
        "balance|solde ... disappeared|vanished|gone|disparu|vide|emptied",
        f"{_ACCOUNT} ... {_PERSON} ... changed|change|modifie|modified",
    ),
    FRAUD: (
        "fraud|fraude|fraudulent|fraudulently|frauduleux|frauduleuse",
        "scam|scams|scammed|scammer*|arnaque|arnaques|arnaque|escroc*|escroqu*",
        "phishing|hameconn*|smishing",
        # Not the boilerplate under a business email ("if you are not the intended recipient,
        # any unauthorised use is prohibited"): that says nothing about this customer.
        "never|jamais|not|pas ... authorised|authorized|autorise|autorisee|autorises"
        f" ! {_DISCLAIMER}",
        f"unauthorised|unauthorized ! {_DISCLAIMER}",
        "stolen|vole|volee|volees ... card|carte|details|donnees",
        "card|carte ... stolen|vole|volee",
        "fake|faux|fausse|fausses|bogus ... site|website|email|mail|sms|text|seller|vendeur|shop"
        "|card|cards|carte|cartes",
        "suspicious|suspect|suspecte|unknown|inconnue|inconnu ... payment|transaction|charge|debit"
        "|paiement|prelevement",
        "payment|transaction|charge|debit|paiement|prelevement ... suspicious|suspect|suspecte"
        "|unknown|inconnue|inconnu",
        "pretending|posing|impersonat*",
        "charge|charges|transaction|transactions|debit|payment"
        " ... dont|not|ne ... recogni*|reconnai*",
        "cloned|clone|copie|copy|imitation site|website|version|boutique",
        "said|claimed|claiming|pretended|dit|pretend ... work*|travaill* ... for|pour ... you|vous",
        "pay|payer|transfer|virement ... personal|personnel|particulier|private|prive"
        " ... account|compte",
        "using|utilisant ... your|votre ... name|nom|logo",
        "se ... faisant ... passer",
        "pin|cvv|cvc|cryptogramme",
        "code ... carte ... bancaire|bleue",
        "code ... secret|confidentiel",
        "this|ce|cet|cette ... email|mail|message|sms|text|call|appel|site ... really|vraiment"
        "|genuine|legit|real|vrai ... you|vous",
        "email|mail|message|sms|text|call|appel ... from|de ... you|vous ... real|genuine|legit"
        "|authentique",
        "customs ... fee|fees ... text|sms|link|pay",
        "frais ... douane",
    ),
    LEGAL: (
        "sue|suing|sued|lawsuit|litigation|poursuivre|poursuites|proces",
        "to|in|at|see|county|claims ... court|courts",
        "tribunal|tribunaux|justice|judge",
        "lawyer*|attorney*|solicitor*|barrister|avocat|avocate|avocats|juriste",
        "legal ... action|proceedings|steps|advice|team|department|notice|warning",
        f"legally|juridique|juridiquement|judiciaire ! {_DISCLAIMER}",
        "chargeback|retrofacturation|opposition",
        "charge ... back",
        "bank|banque ... reverse|annuler|rembourser|bloquer|block|cancel ... charge|payment"
        "|paiement|prelevement|debit",
        "reverse|reversal ... charge|payment",
        "dispute|disputing|contest*|conteste ... payment|charge|paiement|prelevement|debit|banque"
        "|bank",
        "dispute|litige ... paypal|bank|banque|card|carte",
        "payment|charge|paiement ... dispute|litige|contest*",
        "final|last|dernier ... warning|avertissement",
        "ufc|quechoisir|prud",
        "litige",
        "mise ... en ... demeure",
        "formal ... notice|complaint|letter",
        "trading ... standards",
        "dgccrf|ombudsman|mediateur|cnil|ico|regulator|watchdog",
        "consumer ... rights|law|protection|authority|authorities",
        "code ... de ... la ... consommation",
        "droit ... de ... la ... consommation",
        "small ... claims",
        "report|reporting|reported ... you ... to",
        "vous ... signaler|denoncer ... a|aux|aupres",
        "breach|infringe*|violat*|enfreignez|enfreint ... law|act|contract|droit|loi|contrat",
        "porter ... plainte",
    ),
    VULNERABLE: (
        "elderly|aged|pensioner|agee|age|vieille|vieux ... mother|father|mum|mom|dad|mere|pere"
        "|parent|parents",
        "grandmother|grandfather|grandma|grandpa|granny|mamie|papi",
        "grand ... mere|pere|parents",
        "dementia|alzheimer*|demence|senile",
        "passed ... away",
        f"{_RELATIVE} ... died|passed|deceased|decede|decedee|mort|morte",
        "deceased|bereaved|bereavement|decede|decedee|deces|defunt|defunte",
        "late ... husband|wife|father|mother|dad|mum|mom",
        "blind|deaf|aveugle|sourd|sourde|malvoyant*|malentendant*",
        "partially ... sighted",
        "screen ... reader",
        "lecteur ... ecran",
        # "I'm disabled", "my disabled brother"; not "my account has been disabled"
        "i|im|m|am|are|my|his|her|our|mon|ma|son|sa|suis disabled|disability|handicap*",
        "disabilities|handicape|handicapee|wheelchair",
        "fauteuil ... roulant",
        "carer|caregiver|aidant|aidante|guardian|tuteur|tutrice|curateur|curatelle|tutelle",
        "power ... of ... attorney",
        "procuration",
        "on ... behalf",
        "de ... la ... part",
        "hospital|hospitalised|hospitalized|hospitalise|hospitalisee|hopital|clinique",
        "cancer|chemo*|chimio*|illness|maladie|malade",
        "lost ... job",
        "perdu ... emploi|travail|boulot",
        "unemployed|chomage|redundant",
        "afford ! code|promo",
        "peux ... plus ... payer",
        "struggling|struggle|detresse|distress|desperate|desespere|desesperee",
        "difficult|hard|tough ... time|times|moment|period",
        "vais|va|suis ... tres ... mal",
        "depressed|depression|depressive|anxiety|anxious",
        "mental ... health",
        "sante ... mentale",
        "autism|autistic|autiste|autisme",
        "learning ... disability|difficulties",
        "care ... home",
        "nursing ... home",
        "maison ... de ... retraite",
        "ehpad",
        "pressured|pressurised|forced ... to|into ... buy|buying|order|ordering",
        "pousse|force|forcee ... a ... acheter|commander",
        "talked|persuaded|tricked ... into ... buying|buy|ordering|signing",
        "lui|leur ... a ... fait ... acheter|commander|signer",
        "surgery|recovering|convalesc*",
        "remets ... operation",
        "mother|father|mum|mom|dad|grandmother|grandfather|grandma|grandpa|mere|pere|mamie|papi"
        " ... # ... years|ans",
    ),
    PRESS: (
        "journalist*|journaliste|journalistes|reporter|reporters|journalism|editor|redacteur"
        "|redactrice",
        "press|media|medias|presse ... enquiry|inquiry|request|office|officer|contact|release"
        "|question|questions",
        "demande ... presse|medias|media",
        "attache|attachee ... de ... presse",
        "spokesperson|spokesman|spokeswoman",
        "porte ... parole",
        "podcast|podcasts|newspaper|bbc|broadcast|broadcaster",
        "blog|blogger|blogueur|blogueuse|influencer|influenceur|influenceuse|youtuber",
        "investigative|investigation ... piece|article|story|report",
        "interview|interviewer|interviewing",
        "writing|write ... article|story ... on|about",
        "reportage|documentary|documentaire",
        "comment|statement ... from ... your ... company|side",
        "reaction|declaration ... de ... votre ... entreprise|societe|part",
        "running ... story",
        "diffusons|diffuse|diffuser ... sujet|reportage",
    ),
    DATA_RIGHTS: (
        "gdpr|rgpd|dsgvo|ccpa",
        "right ... to ... be ... forgotten",
        "right ... to ... erasure|access|portability",
        "droit ... a ... l ... oubli",
        "droit ... d ... acces|effacement|opposition|rectification",
        "personal ... data|information|details|info",
        "donnees|informations|infos|coordonnees ... personnelles|personnels",
        "donnees|informations ... me ... concernant",
        "delete|erase|remove|wipe|purge ... data|information|details|info",
        "supprimer|supprimez|supprime|effacer|effacez|efface ... donnees|informations|coordonnees"
        "|infos",
        "subject ... access",
        "acces ... a ... mes ... donnees",
        "export*|download|copy|copie ... all|my|toutes|mes ... data|donnees",
        "portability|portabilite",
        "consent|consentement",
        "what|which|quelles ... data|donnees ... hold|store|keep|have|collected|collect|stockez"
        "|detenez|avez|gardez|collectees|collecte",
        "who|qui ... share|sharing|partagez|partager ... data|donnees",
        "stop|arretez|cessez ... processing|using|traiter|utiliser ... data|donnees",
        "traitement|traiter ... mes ... donnees",
        "everything|all ... you ... know|have|hold|store|stored|keep|kept|collected"
        " ... about|on ... me",
        "tout ... ce ... que ... vous ... savez|avez|stockez|gardez|detenez|conservez|collectez"
        " ... sur ... moi",
        "data ... deletion|protection|request",
    ),
    NEGOTIATION: (
        "discount|discounts|reduction|remise|rabais|ristourne ! code|codes|student|students"
        "|etudiant|etudiante|etudiants|newsletter|coupon|voucher|apply|applied|appliquee|applique"
        "|promo|missing|manque|apparait|appear|appears|shown|affichee|moment|currently"
        "|actuellement|sale|sales|soldes|bon|refused|refuse|rejected|accepted|accepte|work|works"
        "|marche|fonctionne",
        "bulk|wholesale|reseller|revendeur|revendeurs|distributor|distributeur",
        "prix|tarif|tarifs ... de ... gros",
        "en ... gros",
        "volume|quantity|quantite ... discount|price|prix|remise|tarif",
        "trade ... price|prices|account",
        "price|prix ... match|matching",
        "match|align* ... price|prix",
        "better|best|special|meilleur|meilleure ... price|deal|prix|offer|offre|tarif",
        "faire|fais|faites ... un ... prix|geste|effort",
        "do|give|offer ... me|us ... a ... deal|price",
        "geste ... commercial",
        "geste ... sur ... prix",
        "knock ... off",
        "cheaper ... elsewhere|somewhere|competitor|competitors|amazon",
        "moins ... cher ... ailleurs",
        "negotiat*|negocier|negociation|negocions|haggle|marchander",
        "contract|contrat ... terms|conditions|clause|clauses|renegotiate|renegocier",
        "terms|conditions ... of|du ... contract|contrat",
        "payment ... terms",
        "paiement|payer ... a ... # ... jours",
        "net ... #",
        "exception|derogation",
        "waive|waived|waiving|offrir ... fee|fees|frais|delivery|shipping|port",
        "quote|quotation|devis",
        "# ... units|unites|pcs|exemplaires",
        "what|quel|quelle ... price|pricing|prix|tarif ... can|could|pouvez|pourriez",
        "price|prix|tarif ... for|pour ... #",
        "reduce|lower|baisser|baissez|diminuer ... price|prix",
        "reduced|reduit|reduite ... rate|price|prix|tarif",
        "tarif|prix ... reduit|reduite",
        "beat ... that|price|offer",
        "# ... another|other|autre ... site|shop|store|boutique|magasin",
    ),
}

# Phrases that look like a risk but are not one: product colours and features.
REWRITES: dict[str, str] = {
    "smoke grey": "colour",
    "smoke gray": "colour",
    "smoke-grey": "colour",
    "gris fumee": "couleur",
    "fire red": "colour",
    "rouge feu": "couleur",
    "fire tv": "device",
    "child lock": "feature",
    "childproof": "feature",
    "securite enfant": "fonction",
    "repression des fraudes": "dgccrf",
    "fraud protection": "feature",
}


@dataclass(frozen=True, slots=True)
class Signal:
    """One reason a person must look, and the words it was read from."""

    category: str
    evidence: str

    def explanation(self) -> str:
        return f"{self.category.replace('_', ' ')}: “{self.evidence}”"


_LEXICON = Lexicon(CUES, REWRITES)


def detect(text: str) -> tuple[Signal, ...]:
    """The risk categories the text falls in, most severe first, each with its evidence."""
    first: dict[str, Signal] = {}
    for match in _LEXICON.find(text):
        first.setdefault(match.label, Signal(match.label, match.evidence))
    return tuple(first[c] for c in CATEGORIES if c in first)


def strongest(text: str, intent: str | None = None) -> Signal | None:
    """The most severe risk the text shows; else the one its intent names (the bot's
    classifier understood what no phrase here says)."""
    found = detect(text)
    if found:
        return found[0]
    category = INTENT_CATEGORIES.get(intent or "")
    return Signal(category, f"intent {intent}") if category else None
