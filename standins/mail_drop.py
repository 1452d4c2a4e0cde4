"""Stand-in for the municipality's incoming mail: realistic Danish citizen letters written into
a maildir (delivered the maildir way, ``tmp/`` then ``new/``) or as plain ``.eml`` files.

The letters come from the shared fictitious sample: the senders are the registry's citizens,
and building applications carry plan drawings as attachments.
"""

from __future__ import annotations

import mailbox
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

MAIL_DOMAIN = "borger.example.dk"  # .example: never a real mailbox


@dataclass(frozen=True)
class Enclosure:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Letter:
    sender: str
    sender_name: str
    subject: str
    text: str | None = None
    html: str | None = None
    enclosures: list[Enclosure] = field(default_factory=list)
    message_id: str | None = None
    sent_at: datetime | None = None


def pdf_like(title: str, pages: int = 1) -> bytes:
    """A small but well-formed-looking PDF (binary marker bytes and all) for attachments."""
    body = b"".join(b"%d 0 obj << /Type /Page >> endobj\n" % (n + 3) for n in range(pages))
    return (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Title (" + title.encode("latin-1") +
            b") >> endobj\n" + body + b"trailer << /Root 1 0 R >>\n%%EOF\n")


def build_message(letter: Letter, *, to: str = "post@kommune.example.dk") -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"{letter.sender_name} <{letter.sender}>"
    message["To"] = to
    message["Subject"] = letter.subject
    message["Date"] = format_datetime(letter.sent_at or datetime.now(UTC))
    message["Message-ID"] = letter.message_id or make_msgid(domain=MAIL_DOMAIN)
    if letter.text is not None:
        message.set_content(letter.text)
        if letter.html is not None:
            message.add_alternative(letter.html, subtype="html")
    elif letter.html is not None:
        message.set_content(letter.html, subtype="html")
    for enclosure in letter.enclosures:
        maintype, subtype = enclosure.content_type.split("/", 1)
        if maintype == "text":
            message.add_attachment(enclosure.data.decode("utf-8"), subtype=subtype,
                                   filename=enclosure.filename)
        else:
            message.add_attachment(enclosure.data, maintype=maintype, subtype=subtype,
                                   filename=enclosure.filename)
    return message


def deliver(maildir: str | Path, message: EmailMessage | bytes) -> Path:
    """Deliver into ``maildir/new`` (created if missing); returns the file's path."""
    box = mailbox.Maildir(str(maildir), create=True)
    key = box.add(message if isinstance(message, bytes) else message.as_bytes())
    return Path(maildir) / "new" / key


def drop_eml(folder: str | Path, message: EmailMessage | bytes, name: str) -> Path:
    """Write a plain ``.eml`` file, as a scanner or a mail export would."""
    path = Path(folder) / (name if name.endswith(".eml") else f"{name}.eml")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(message if isinstance(message, bytes) else message.as_bytes())
    return path


def sample_letters(now: datetime | None = None) -> list[Letter]:
    """Four letters from the sample citizens, oldest first."""
    base = (now or datetime.now(UTC)) - timedelta(hours=4)
    return [
        Letter(
            sender=f"karen.holm@{MAIL_DOMAIN}", sender_name="Karen Holm Sørensen",
            subject="Eftersendelse af facadetegning – sag SAG-2026-0001",
            text=("Kære Byg og Miljø\n\nSom aftalt sender jeg facadetegningen til min ansøgning "
                  "om carport og redskabsrum på Ågade 12.\nMit CPR-nr. er 120463-5017.\n\n"
                  "Venlig hilsen\nKaren Holm Sørensen"),
            enclosures=[Enclosure("facadetegning.pdf", "application/pdf",
                                  pdf_like("Facadetegning carport", pages=2)),
                        Enclosure("bemaerkninger.txt", "text/plain",
                                  "Tagmateriale: tagpap, sort. Højde 2,6 m.".encode())],
            sent_at=base),
        Letter(
            sender=f"mads.np@{MAIL_DOMAIN}", sender_name="Mads Nørgaard Petersen",
            subject="Hjemmehjælp – opfølgning",
            text=("Hej\n\nJeg har endnu ikke hørt noget om min ansøgning om hjælp til rengøring. "
                  "Kan I oplyse, hvornår der kommer en visitator?\n\nCPR 030271-6129\n\n"
                  "Mvh Mads"),
            sent_at=base + timedelta(minutes=40)),
        Letter(
            sender=f"lise.dam@{MAIL_DOMAIN}", sender_name="Lise Dam Andersen",
            subject="Ansøgning om byggetilladelse – tilbygning Skovvej 28",
            text=("Til kommunen\n\nJeg ansøger om tilladelse til en tilbygning på 32 m² til mit "
                  "hus på Skovvej 28, 8653 Them. Plantegning og situationsplan er vedhæftet.\n"
                  "CPR: 080977-5452\n\nMed venlig hilsen\nLise Dam Andersen"),
            enclosures=[Enclosure("plantegning.pdf", "application/pdf",
                                  pdf_like("Plantegning tilbygning")),
                        Enclosure("situationsplan.pdf", "application/pdf",
                                  pdf_like("Situationsplan Skovvej 28"))],
            sent_at=base + timedelta(hours=1, minutes=5)),
        Letter(
            sender=f"peter.hviid@{MAIL_DOMAIN}", sender_name="Peter Hviid",
            subject="Spørgsmål om skoleskift",
            html=("<html><head><style>p {margin:0}</style></head><body>"
                  "<p>Hej,</p><p>Vores datter skal flytte skole efter sommerferien. "
                  "Hvad skal vi g&oslash;re?</p><p>CPR (forælder): 290366-8564</p>"
                  "<p>Venlig hilsen<br>Peter Hviid</p></body></html>"),
            sent_at=base + timedelta(hours=2)),
    ]
