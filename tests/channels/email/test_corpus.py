"""The hostile corpus through the parser alone, case by case: what each mail must become
(stored with which text, files and subject; a report; quarantined with which reason). The
end-to-end run (tests/e2e/test_mail_corpus.py) sends the same mails over real SMTP."""

from __future__ import annotations

import pytest

from channels.email.parsing import Unparseable, parse
from tests.channels.email.corpus import Case, cases

PARSED = [c for c in cases() if c.expect != "refused"]


@pytest.mark.parametrize("case", PARSED, ids=[c.name for c in PARSED])
def test_each_corpus_mail_parses_to_its_pinned_outcome(case: Case) -> None:
    if case.expect == "quarantined":
        with pytest.raises(Unparseable) as refused:
            parse(case.raw, case.sender)
        assert case.reason is None or case.reason in str(refused.value)
        return
    parsed = parse(case.raw, case.sender)
    assert (parsed.report is not None) == (case.expect == "report")
    if case.text is not None:
        assert parsed.text == case.text
    if case.files is not None:
        assert tuple(a.filename for a in parsed.attachments) == case.files
    if case.subject is not None:
        assert parsed.subject == case.subject
