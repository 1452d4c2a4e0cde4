"""The drop-folder mailbox: letters with attachments, two-phase acknowledge, duplicates,
crashes between fetch and acknowledge, and quarantine of files that are not letters."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from connectors.mailbox import DropFolderMailbox, html_to_text
from standins.mail_drop import build_message, deliver, drop_eml, pdf_like, sample_letters


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    root = tmp_path / "indbakke"
    for letter in sample_letters():
        deliver(root, build_message(letter))
    return root


def test_letters_with_attachments_oldest_first(maildir: Path) -> None:
    letters = DropFolderMailbox(maildir).fetch_pending()
    assert [letter.sender_name for letter in letters] == [
        "Karen Holm Sørensen", "Mads Nørgaard Petersen", "Lise Dam Andersen", "Peter Hviid"]
    karen = letters[0]
    assert karen.sender == "karen.holm@borger.example.dk"
    assert "CPR-nr. er 120463-5017" in karen.body_text
    pdf, note = karen.attachments
    assert (pdf.filename, pdf.content_type, pdf.text) == ("facadetegning.pdf",
                                                          "application/pdf", None)
    assert pdf.data == pdf_like("Facadetegning carport", pages=2) and pdf.size == len(pdf.data)
    assert note.text == "Tagmateriale: tagpap, sort. Højde 2,6 m.\n"
    assert note.content_type == "text/plain"
    assert karen.raw.startswith(b"From: ") or b"Message-ID" in karen.raw
    assert "120463" not in repr(karen) and "Karen" not in repr(karen)


def test_html_only_letter_is_read_as_text(maildir: Path) -> None:
    peter = DropFolderMailbox(maildir).fetch_pending()[-1]
    assert peter.body_text == ("Hej,\n\nVores datter skal flytte skole efter sommerferien. "
                               "Hvad skal vi gøre?\n\nCPR (forælder): 290366-8564\n\n"
                               "Venlig hilsen\nPeter Hviid")
    assert "margin" not in html_to_text("<style>p {margin:0}</style><p>x</p>")


def test_acknowledged_letters_do_not_come_again(maildir: Path) -> None:
    box = DropFolderMailbox(maildir)
    first, *rest = box.fetch_pending()
    box.acknowledge(first.message_id)
    box.acknowledge(first.message_id)  # twice is harmless
    again = DropFolderMailbox(maildir).fetch_pending()
    assert [letter.message_id for letter in again] == [letter.message_id for letter in rest]
    seen = list((maildir / "cur").iterdir())
    assert len(seen) == 1 and seen[0].name.endswith(":2,S")
    assert len(list((maildir / "new").iterdir())) == 3


def test_crash_between_fetch_and_acknowledge_brings_the_letter_again(maildir: Path) -> None:
    """A worker process fetches, then dies (SIGKILL-like: os._exit) before acknowledging."""
    script = ("import os, sys\nfrom connectors.mailbox import DropFolderMailbox\n"
              "box = DropFolderMailbox(sys.argv[1])\nletters = box.fetch_pending()\n"
              "box.acknowledge(letters[0].message_id)\n"
              "print(len(letters), flush=True)\nos._exit(9)  # dies holding letters[1:]\n")
    done = subprocess.run([sys.executable, "-c", script, str(maildir)], capture_output=True,
                          text=True, cwd=Path(__file__).resolve().parents[2], timeout=60)
    assert done.returncode == 9 and done.stdout.strip() == "4", done.stderr
    pending = DropFolderMailbox(maildir).fetch_pending()
    assert [letter.sender_name for letter in pending] == [
        "Mads Nørgaard Petersen", "Lise Dam Andersen", "Peter Hviid"]


def test_duplicate_delivery_is_processed_once(tmp_path: Path) -> None:
    root = tmp_path / "indbakke"
    letter = build_message(sample_letters()[1])
    deliver(root, letter)
    deliver(root, letter)  # the mail server delivered it twice
    box = DropFolderMailbox(root)
    pending = box.fetch_pending()
    assert len(pending) == 1
    box.acknowledge(pending[0].message_id)
    assert box.fetch_pending() == []
    assert sorted(p.name[-4:] for p in (root / "cur").iterdir()) == [":2,S", ":2,S"]
    deliver(root, letter)  # and once more, days later
    assert DropFolderMailbox(root).fetch_pending() == []


def test_crash_between_ledger_and_move_is_tidied(maildir: Path) -> None:
    box = DropFolderMailbox(maildir)
    first = box.fetch_pending()[0]
    box._append_ledger(first.message_id)  # ledger written; the process died before the move
    assert first.message_id not in {m.message_id for m in DropFolderMailbox(maildir)
                                    .fetch_pending()}
    assert len(list((maildir / "cur").iterdir())) == 1


def test_torn_ledger_line_is_not_an_acknowledgement(maildir: Path) -> None:
    box = DropFolderMailbox(maildir)
    first = box.fetch_pending()[0]
    box.ledger_path.write_text(first.message_id[:-3])  # crash mid-append: no newline
    assert len(DropFolderMailbox(maildir).fetch_pending()) == 4


def test_plain_eml_folder(tmp_path: Path) -> None:
    folder = tmp_path / "scan"
    letters = sample_letters()
    drop_eml(folder, build_message(letters[2]), "lise")
    raw = build_message(letters[1]).as_bytes().replace(b"Message-ID:", b"X-Old-ID:")
    drop_eml(folder, raw, "mads-uden-id")
    box = DropFolderMailbox(folder)
    lise, mads = sorted(box.fetch_pending(), key=lambda letter: letter.sender)
    assert [a.filename for a in lise.attachments] == ["plantegning.pdf", "situationsplan.pdf"]
    assert mads.message_id.endswith("@drop-folder.invalid>")
    again = {letter.sender: letter.message_id for letter in DropFolderMailbox(folder)
             .fetch_pending()}
    assert again[mads.sender] == mads.message_id  # the made-up id is stable
    for letter in (lise, mads):
        box.acknowledge(letter.message_id)
    assert DropFolderMailbox(folder).fetch_pending() == []
    assert sorted(p.name for p in (folder / "processed").iterdir()) == [
        "lise.eml", "mads-uden-id.eml"]


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "empty file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00binary scan, not a mail", "no mail headers"),
    (b"Subject: Hej\r\nDate: Mon, 3 Nov 2026 10:00:00 +0100\r\n\r\nCPR 120463-5017\r\n",
     "no sender address (From header)"),
    (b"From: a@b.dk\r\nSubject: tom\r\n\r\n  \r\n", "no text and no attachments"),
    (b'From: a@b.dk\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n'
     b'\r\n--B\r\nContent-Type: text/plain\r\n\r\nSe bilag\r\n--B\r\nContent-Type: '
     b'application/pdf\r\nContent-Disposition: attachment; filename="bilag.pdf"\r\n'
     b'Content-Transfer-Encoding: base64\r\n\r\nJVBERi0x!!!LjQK*\r\n--B--\r\n',
     "attachment 'bilag.pdf': damaged base64"),
])
def test_malformed_files_are_quarantined_with_a_reason(tmp_path: Path, content: bytes,
                                                       reason: str) -> None:
    root = tmp_path / "indbakke"
    good = deliver(root, build_message(sample_letters()[1]))
    bad = deliver(root, content)
    assert len(DropFolderMailbox(root).fetch_pending()) == 1
    assert good.exists() and not bad.exists()
    quarantined = root / "rejected" / bad.name
    assert quarantined.read_bytes() == content
    why = (root / "rejected" / f"{bad.name}.reason.txt").read_text()
    assert why.startswith(reason) and "120463" not in why
