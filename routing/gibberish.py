"""Whether a message is words of some language at all, or keyboard mashing and made-up words.

lingua (``nlu.language``) always ranks the candidate languages, and on nonsense its ranking
can be sharp: about a quarter of the shipped gibberish set is named a language with some
confidence ("flibber wabble dronk" Dutch at 0.69, "lakjsdflkj asldkfj" Dutch at 0.96,
"ajsdkasjdkajsd" Polish at 1.0). Taken at its word, the customer went to a person as
``unsupported_language`` and the agent read "it does not speak the customer's language".

A real sentence in any of the languages lingua names (the Latin-script ones: English, French,
German, Spanish, Italian, Portuguese, Dutch, Polish, Swedish, Turkish) nearly always holds one
of its commonest words (articles, pronouns, prepositions, auxiliaries, "please", "thanks") or
a support word (order, parcel, invoice, refund); keyboard mashing and pseudo-words hold none.
So a text with no such word, written in the Latin alphabet, is read as no language (Turkish
builds its words with suffixes, "siparişimi iptal etmek istiyorum", and a list rarely
matches them: there, as for made-up words, ``routing.decision`` lets lingua's confidence
decide, unless the letters look typed at random). Texts in
other scripts (Cyrillic, Arabic, Chinese, Japanese) are language: nobody mashes a keyboard
in them by accident, and lingua tells those scripts apart reliably. The out-of-scope
detector's verdict (``nlu.scope``) joins in ``routing.decision``: a text it takes for a
request the bot was built for is never called nonsense.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Letters-only words, accents stripped (as routing.lexicon and nlu.scope read words).
_WORD = re.compile(r"[^\W\d_]+")

# The commonest words of each language (one letter long are left out: "a", "e", "y", "o"
# turn up in mashing), and the words of a support request. Accents stripped, lower case.
COMMON_WORDS: dict[str, str] = {
    "en": """the and you your for are with this that have not but what all can was when
        where why how who will would could should please thanks thank hello help from
        there they them their his her its our out about any get got just like need want
        order parcel package delivery refund invoice account password payment problem
        broken still yet did does has had is it my me we be do no yes to of in on at by
        an or so if up as hi ok""",
    "fr": """le la les un une des du de et est pas que qui quoi pour dans sur avec mais
        vous nous je tu il elle ils elles mon ma mes ton ta tes son sa ses votre vos notre
        nos ce cet cette ces au aux ou ne plus tres bien merci bonjour bonsoir salut aide
        commande colis livraison remboursement facture compte mot passe paiement probleme
        toujours encore ai as avons avez ont suis es sommes etes sont fait faire quand
        comment pourquoi oui non me te se lui leur en y""",
    "de": """der die das den dem des ein eine einen einem einer und ist sind war waren
        nicht kein keine ich du er sie es wir ihr mein meine meinen mir mich dich ihnen
        mit von zu zum zur auf fur bei nach aus um uber unter wie was wo warum wann wer
        habe hast hat haben bin bist noch schon auch aber oder wenn dass bitte danke
        hallo guten tag hilfe bestellung paket lieferung rechnung erstattung ruckerstattung
        konto passwort zahlung problem kaputt beschadigt fehlt ja nein im am produkt artikel
        ware defekt umtausch garantie versand rucksendung storniert stornieren storno
        bestellnummer kundenservice kundennummer""",
    "es": """el la los las un una unos unas y es son esta estan de del al en con por para
        que como donde cuando porque quien mi mis tu tus su sus yo nosotros usted ustedes
        no si pero ya todavia aun muy mas hola gracias ayuda favor pedido paquete entrega
        envio reembolso factura cuenta contrasena pago problema roto llego ha he han tengo
        tiene quiero necesito se lo le me te""",
    "it": """il lo la gli le un uno una di del della dei delle da dal in con su per tra
        fra che chi come dove quando perche mio mia miei mie tuo tua suo sua io tu lui lei
        noi voi loro non ma se anche ancora gia molto piu ciao grazie aiuto prego ordine
        pacco consegna spedizione rimborso fattura conto password pagamento problema rotto
        ho hai ha abbiamo hanno sono sei siamo voglio vorrei mi ti ci si nel nella sono""",
    "pt": """os as um uma uns umas do da dos das em no na nos nas com por para que como
        onde quando porque quem meu minha meus minhas seu sua eu voce nos eles elas nao sim
        mas ja ainda muito mais ola obrigado obrigada ajuda favor pedido pacote entrega
        encomenda reembolso fatura conta senha pagamento problema quebrado tenho tem quero
        preciso foi esta estou""",
    "nl": """de het een en is zijn was waren niet geen ik jij je hij zij ze wij we jullie
        mijn mijn uw jouw zijn haar ons onze met van voor op aan bij naar uit om over in
        wat waar waarom wanneer wie hoe heb hebt heeft hebben ben bent nog al ook maar of
        als dat dit die deze graag alstublieft alsjeblieft dank bedankt hallo hulp
        bestelling pakket pakje levering bezorging terugbetaling factuur account
        wachtwoord betaling probleem kapot beschadigd ja nee er te""",
    "pl": """nie jest sa byl byla to ten ta te na do od po za przez dla ze bez jak co gdzie
        kiedy dlaczego kto moj moja moje twoj ja ty on ona my wy oni ale czy juz jeszcze
        bardzo prosze dziekuje dzien dobry czesc pomoc zamowienie paczka dostawa zwrot
        faktura konto haslo platnosc problem tak mam ma sie mnie mi""",
    "sv": """och att det som en ett den har inte jag du han hon vi ni de min mitt mina din
        ditt med av till fran for pa om vad var varfor nar vem hur ar var kan vill ska
        men eller nu redan anda tack hej hjalp snalla bestallning paket leverans
        aterbetalning faktura konto losenord betalning problem trasig ja nej mig dig""",
    "tr": """ve bir bu su da de ile icin mi mu ne nerede neden nasil kim ben sen biz siz
        onlar benim senin bizim degil var yok ama hala daha cok cok merhaba tesekkurler
        tesekkur ederim lutfen yardim siparis paket kargo teslimat iade fatura hesap sifre
        odeme sorun problem bozuk evet hayir""",
}
KNOWN: frozenset[str] = frozenset(
    word for words in COMMON_WORDS.values() for word in words.split() if len(word) > 1
)


# Keyboard mashing: letters next to each other on a QWERTY or AZERTY row, three of which
# no word of these languages holds ("sdf", "lkj", "xcv").
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "azertyuiop", "qsdfghjklm", "wxcvbn")
_RUNS = frozenset(
    row[i : i + 3]
    for line in _ROWS
    for row in (line, line[::-1])
    for i in range(len(row) - 2)
    if not set(row[i : i + 3]) & set("aeiouy")
)
# Five consonants in a row (German's "ngstschw" aside, which a known word rescues), the
# same letter three times, a piece of two to four letters said again at once ("sdfsdf"), or
# three consonants found twice in one word ("ajsdkasjdkajsd"; "sch" is German's).
_MASHED = re.compile(r"[^aeiouy]{5}|(.)\1\1|(..{1,3})\2|(?!sch)([^aeiouy]{3}).*\3")
_VOWEL = re.compile(r"[aeiouy]")


@dataclass(frozen=True, slots=True)
class Gibberish:
    """A text that reads as no language: its words, none of them known, and whether they
    look typed at random (``mashed``) rather than made up ("flibber wabble dronk")."""

    words: tuple[str, ...]
    mashed: bool

    def explanation(self) -> str:
        kind = "keyboard mashing" if self.mashed else "no word of any language"
        return f"{kind}: “{' '.join(self.words)}”"


def words(text: str) -> list[str]:
    """Lower-cased words without accents or digits."""
    plain = unicodedata.normalize("NFKD", text.lower())
    return _WORD.findall("".join(c for c in plain if not unicodedata.combining(c)))


def detect(text: str) -> Gibberish | None:
    """The text as gibberish when none of its words is a common word of a language lingua
    names, and its letters are Latin; None when it reads as language."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return None
    latin = sum(1 for ch in letters if "LATIN" in unicodedata.name(ch, ""))
    if latin * 2 < len(letters):
        return None  # another script: language, whatever lingua names
    found = words(text)
    if any(word in KNOWN for word in found):
        return None
    return Gibberish(tuple(found), any(_mashed(word) for word in found))


def _mashed(word: str) -> bool:
    if len(word) >= 3 and not _VOWEL.search(word):
        return True
    if any(word[i : i + 3] in _RUNS for i in range(len(word) - 2)):
        return True
    return _MASHED.search(word) is not None
