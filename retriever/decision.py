"""One decision per question, from its evidence record: in scope or not, which part is covered, what to rank for.

Search, `eval`, calibration and the llama-index adapter all call `decide`; nothing else refuses a
question. The rule it applies (`ScopeModel`, retriever/scope.py) is linear in two features of a reading
of the topic:
- `dense`: the best cosine between the reading and a chunk of the index;
- `coverage`: the share of the reading's topic words the document uses, each word weighted by how
  informative it is in general English (`informativeness`): an uncovered rare word ("stocks",
  "kitchen") is strong evidence against coverage, an uncovered common word ("set", "way") weak.

A name the document does not know is evidence about that name only. The rule judges the rest of the
topic: when the rest is covered, the question is answered for it with a note on the name; when the name
is the whole topic ("What does the EU AI Act require?"), nothing informative is left and it is refused.
A question of several parts that is not covered as a whole is answered for the parts that are.
"""

from __future__ import annotations

from dataclasses import dataclass

from .evidence import Evidence, Reading, WordEvidence

# Zipf frequency of the most common English words ("the" 7.7): a word's informativeness is how far
# below it the word sits (log10 of how many times rarer it is), the information it carries in bits/3.3.
ZIPF_TOP = 8.0


def informativeness(word: WordEvidence) -> float:
    """How much a word says about a topic: log10 of how much rarer it is than the commonest English words."""
    return max(0.0, ZIPF_TOP - word.zipf)


def coverage(words) -> float:
    """Share of the words' informativeness that the document covers (1.0 for no words).

    Words in most of the document's sections ("ai", "model" on a page about AI models) say nothing about
    whether a topic is covered, so they are left out when the topic has other words.
    """
    words = [w for w in words if not w.ubiquitous] or list(words)
    total = sum(informativeness(w) for w in words)
    if total <= 0:
        return 1.0
    return sum(informativeness(w) for w in words if w.covered) / total


@dataclass(frozen=True)
class Decision:
    """What to do with a question: answer it (for which reading of it) or refuse, and what to tell the user."""

    in_scope: bool
    reading: Reading  # what ranking reads: the whole topic, or the covered part of it
    score: float | None  # the rule's score of the reading judged; None when the question has no topic words
    missing: tuple[str, ...] = ()  # parts of the question the document does not cover
    names: tuple[str, ...] = ()  # names the document never mentions

    @property
    def notices(self) -> list[str]:
        """What the user is told about the parts of the question that were not answered."""
        out = []
        if self.names:
            out.append(f"The document never mentions {' or '.join(self.names)}"
                       + ("; the answer covers the rest of the question." if self.in_scope else "."))
        if self.missing and self.in_scope:
            out.append(f"The document does not cover {' or '.join(repr(m) for m in self.missing)}; "
                       "the answer covers the rest of the question.")
        return out


def features(reading: Reading) -> tuple[float, float]:
    """(dense, coverage) of a reading: the two features the rule is linear in."""
    return reading.best, coverage(reading.words)


def decide(evidence: Evidence, rule) -> Decision:
    """Scope, partial coverage and the reading to rank for, from one question's evidence and a rule."""
    if evidence.empty:
        # Only entities or words about the document: what it names is in the document.
        return Decision(True, evidence.full, None)
    names = evidence.names
    judged = evidence.rest if names else evidence.full
    if not judged.words:
        # The unknown name is the whole topic.
        return Decision(False, evidence.full, None, names=names)
    score = rule.score(*features(judged))
    if score >= rule.threshold:
        return Decision(True, judged, score, names=names)
    covered, missing = [], []
    for part in evidence.parts:
        # A part counts only when the document uses every one of its topic words and the rule accepts it:
        # a short part passes the rule too easily on one shared word.
        ok = all(w.covered for w in part.words) and rule.covers(*features(part))
        (covered if ok else missing).append(part)
    if covered and missing:
        joined = evidence.read(" and ".join(p.text for p in covered), tuple(w for p in covered for w in p.words))
        return Decision(True, joined, score, missing=tuple(p.text for p in missing), names=names)
    return Decision(False, evidence.full, score, names=names)
