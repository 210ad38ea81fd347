"""Opt-out and opt-in keywords a customer can send on WhatsApp, in their languages, and the
reply each gets in the same language.

Twilio applies its own STOP handling to SMS, not to WhatsApp: the inbound webhook is where a
WhatsApp STOP is heard. Its default keywords are English (opt-out STOP, STOPALL, UNSUBSCRIBE,
CANCEL, END, QUIT, REVOKE, OPTOUT; opt-in START, UNSTOP, YES) plus the French-Canadian ARRET,
ARRETE, ARRETT; the others below are the usual words in our customers' languages. As with
Twilio, the whole message must be the keyword (case, accents, surrounding spaces and
punctuation aside): "Stop by tomorrow?" stops nothing. YES is left out: on WhatsApp it is the
ordinary answer to an offer, and must not undo a STOP."""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass


class Intent(enum.StrEnum):
    stop = "stop"
    start = "start"


@dataclass(frozen=True)
class Keyword:
    intent: Intent
    language: str


_STOP_WORDS = {
    "en": (
        "STOP",
        "STOPALL",
        "STOP ALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "REVOKE",
        "OPTOUT",
        "OPT OUT",
        "OPT-OUT",
    ),
    "fr": ("ARRET", "ARRETE", "ARRETT", "ARRETER", "DESABONNER", "DESINSCRIRE", "STOPPER"),
    "de": ("STOPP", "ABMELDEN", "ABBESTELLEN", "AUFHOREN", "AUFHOEREN"),
    "es": ("ALTO", "BAJA", "CANCELAR", "DETENER", "DARSE DE BAJA"),
    "pt": ("PARAR", "SAIR", "CANCELAR INSCRICAO", "DESCADASTRAR"),
    "it": ("ANNULLA", "CANCELLA", "BASTA", "DISISCRIVI", "DISISCRIVIMI"),
    "nl": ("STOPPEN", "AFMELDEN", "UITSCHRIJVEN"),
}
_START_WORDS = {
    "en": ("START", "UNSTOP", "SUBSCRIBE", "RESUBSCRIBE"),
    "fr": ("REPRENDRE", "REABONNER"),
    "de": ("ANMELDEN",),
    "es": ("ALTA", "REANUDAR"),
    "pt": ("VOLTAR", "RETOMAR"),
    "it": ("ISCRIVI", "RIPRENDI"),
    "nl": ("AANMELDEN",),
}

KEYWORDS: dict[str, Keyword] = {
    word: Keyword(intent, language)
    for intent, table in ((Intent.stop, _STOP_WORDS), (Intent.start, _START_WORDS))
    for language, words in table.items()
    for word in words
}

_REPLIES = {
    Intent.stop: {
        "en": (
            "You're unsubscribed and will not receive more marketing messages on WhatsApp "
            "from this business. Reply START to receive them again."
        ),
        "fr": (
            "Vous êtes désinscrit : vous ne recevrez plus de messages marketing de cette "
            "entreprise sur WhatsApp. Répondez START pour les recevoir à nouveau."
        ),
        "de": (
            "Sie sind abgemeldet und erhalten von diesem Unternehmen keine Werbenachrichten "
            "mehr auf WhatsApp. Antworten Sie START, um sie wieder zu erhalten."
        ),
        "es": (
            "Te has dado de baja y no recibirás más mensajes de marketing de este negocio por "
            "WhatsApp. Responde START para volver a recibirlos."
        ),
        "pt": (
            "Você cancelou a inscrição e não receberá mais mensagens de marketing desta "
            "empresa no WhatsApp. Responda START para voltar a recebê-las."
        ),
        "it": (
            "Hai annullato l'iscrizione e non riceverai più messaggi di marketing da questa "
            "attività su WhatsApp. Rispondi START per riceverli di nuovo."
        ),
        "nl": (
            "Je bent afgemeld en ontvangt geen marketingberichten meer van dit bedrijf via "
            "WhatsApp. Antwoord START om ze weer te ontvangen."
        ),
    },
    Intent.start: {
        "en": (
            "You're subscribed again to marketing messages on WhatsApp from this business. "
            "Reply STOP to unsubscribe."
        ),
        "fr": (
            "Vous recevrez de nouveau les messages marketing de cette entreprise sur "
            "WhatsApp. Répondez STOP pour vous désinscrire."
        ),
        "de": (
            "Sie erhalten wieder Werbenachrichten dieses Unternehmens auf WhatsApp. "
            "Antworten Sie STOPP, um sich abzumelden."
        ),
        "es": (
            "Volverás a recibir mensajes de marketing de este negocio por WhatsApp. "
            "Responde BAJA para darte de baja."
        ),
        "pt": (
            "Você voltará a receber mensagens de marketing desta empresa no WhatsApp. "
            "Responda PARAR para cancelar."
        ),
        "it": (
            "Riceverai di nuovo i messaggi di marketing di questa attività su WhatsApp. "
            "Rispondi STOP per annullare l'iscrizione."
        ),
        "nl": (
            "Je ontvangt weer marketingberichten van dit bedrijf via WhatsApp. "
            "Antwoord STOP om je af te melden."
        ),
    },
}

_EDGES = re.compile(r"^[\W_]+|[\W_]+$")


def _normalised(body: str) -> str:
    """Upper case, accents dropped (ARRÊT → ARRET, AUFHÖREN → AUFHOREN), spaces collapsed,
    punctuation and emoji around the word dropped ("Stop!" → STOP)."""
    decomposed = unicodedata.normalize("NFKD", body.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_EDGES.sub("", plain.strip()).split()).upper()


def keyword(body: str | None) -> Keyword | None:
    """The opt-out or opt-in keyword the message is, if it is one."""
    if not body or len(body) > 40:
        return None
    return KEYWORDS.get(_normalised(body))


def reply(found: Keyword) -> str:
    return _REPLIES[found.intent][found.language]
