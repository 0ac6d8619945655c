"""Is a French page or e-mail French all through? The words a reader sees (text, and the labels a
screen reader reads out), less links, addresses and the names the test chose, checked against
Dutch and English words that are never French: a string that fell back to another language shows
up as one of them."""

from __future__ import annotations

import re
from html.parser import HTMLParser


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Common Dutch and English words, none of which is also a French word (so "de", "en", "dit", "hier",
# "via", "met" (il se met), "date", "due", "total", "page", "description" and "actions" are not
# here, nor "er" of "1er").
DUTCH = _words("""
    het een uw wij ons onze niet voor naar zijn heeft hebt bent wordt worden kunt kan wilt
    deze dat die nog ook al als dan of op om bij tot uit over door
    betaal betalen betaald betaling betalingen factuur facturen herinnering herinneringen bedrag totaal
    overzicht rekeningoverzicht kosten rente wettelijke incassokosten aanmaningskosten hoofdsom
    vervaldatum dagen laat beste groet vriendelijke bekijk overmaken betalingskenmerk kenmerk
    incassobureau ingebrekestelling uitstel betwist betwisting verzoek vragen dank bedankt
    gestructureerde mededeling ondernemingsnummer btw
""")
ENGLISH = _words("""
    the your you and of to is are was we our us this that these with from for by on at it be have has
    not no please if or any will can been here there what which when
    invoice invoices payment payments pay paid amount reminder reminders statement account view
    online thank thanks dear regards kind open days overdue link received transfer costs interest fees
""")

_URL = re.compile(r"(?:https?|mailto):\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_WORD = re.compile(r"[^\W\d_]+")


class _Visible(HTMLParser):
    """The text of an HTML document and the attributes read out to a reader, without style or script."""

    READ_OUT = ("aria-label", "title", "alt", "placeholder")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._hidden += 1
        self.parts += [v for k, v in attrs if k in self.READ_OUT and v]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    parser.close()
    return " ".join(parser.parts)


def foreign_words(text: str, *, allowed: str = "") -> list[str]:
    """The Dutch and English words in ``text`` (links and e-mail addresses left out, and the words of
    ``allowed``: the names of the test's creditor and debtor, which are not the product's words)."""
    own = {w.lower() for w in _WORD.findall(allowed)}
    words = [w.lower() for w in _WORD.findall(_URL.sub(" ", text))]
    return sorted({w for w in words if w not in own and (w in DUTCH or w in ENGLISH)})
