"""One decision per question, from its evidence record: in scope or not, which part is covered, what to rank for.

Search, `eval`, calibration and the llama-index adapter all call `decide`; nothing else refuses a
question. The rule it applies (`ScopeModel`, retriever/scope.py) is linear in five features:
- `dense`: the best cosine between the topic and a chunk of the index (the topic without the names the
  document does not know, when it has any: a name the model has never linked to the page says nothing
  about the rest of the question; the better of the two when the question asks whether or how something applies to
  the name, `names.asks_how_it_applies`); the default rule reads it above the page's level (`ScopeModel.for_page`);
- `coverage`: the share of the topic words the document uses, each word weighted by how informative it
  is in general English (`informativeness`): an uncovered rare word ("stocks", "kitchen") is strong
  evidence against coverage, an uncovered common word ("set", "way") weak. An unknown name counts here
  as what it is, an uncovered word of its informativeness, and nothing more; a source key the question names
  counts as a covered word, weighing no more than the question's most informative topic word ("What is Smith-B
  given as the source for?"; `Evidence.sources` says when), and a section's title it names by that title's words
  ("Which tags apply here?"; `Evidence.titles`);
- `rarest`: the informativeness of the rarest topic word the document does not use (names left out): one
  rare uncovered word makes a question about something else, however many covered words beside it dilute
  its share in `coverage`. The default rule uses it; the shipped page's own rule does not (docs/scope.md,
  "Leaving one page out over five pages");
- `pull`: how much closer to the document the question gets without the words the document does not use
  (`Evidence.pull`): "investing in stocks" pulls "How do I measure the risk of investing in stocks?" away
  from *measuring risk*; a paraphrase's own words ("executives" for *senior leadership*) do not. It only
  lowers the score, so it is read (one more encoding) only when the other features accept the question;
- `names`: the names' share of what the question asks that the document could answer for: the
  informativeness of names the document never uses over theirs and the covered topic words' (`name_share`). In
  "What does the Digital Services Act say about recommender systems?" the name carries much of what is asked;
  in "How could Meta detect that Llama hides its reasoning in its chain of thought?" little, and a question of what
  someone could or should do is not about the name at all (`name_feature` reads 0 for it).
  Coverage counts a name as one more uncovered word; this weighs the name as what the question is about. What the
  question names that the document knows (a title, a source key: `Evidence.known`) counts as covered.
  The default rule uses it; the shipped page's own rule does not (docs/scope.md, "Names as the topic" and
  "The name against the covered rest").

So a name the document does not know is evidence about that name only: beside a covered topic
("How could Meta detect that Llama is hiding its reasoning?") it weighs little and the question is
answered for the rest, with a note; when it is the topic ("What does the Digital Services Act
require?") little else is left and the question is refused. A question for what such a name says, requires or
found ("What does the EU AI Act require of providers?", "Which benchmarks does MLCommons maintain?") asks for the
name's content however many covered words it has, and is refused without the rule (`names.asks_what_it_says`);
"How would Nvidia find …?" asks what someone could do, and the rule judges it. A question whose only informative words are names the
document knows (a source key, a code, a title: "What does Smith's work say?") is about them; so is a question for the
overview's layout lines with nothing beside them but words the page uses or everyday ones ("Which category is it also
listed in?", `ingest/section.asks_overview_line`), and one for the sections under a parent area the page names, the
name being what it is most about ("What sits under the Red Teaming heading?", `Evidence.outline`). A question of
several parts that is not covered as a whole is answered for the parts that are: a part is judged by its own dense
support and the whole question's lexical evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from consensus_chat.ingest.section import LAYOUT_LINE_WORDS, asks_overview_line
from consensus_chat.ingest.text import asked_sentence
from consensus_chat.ingest.words import SECTION_NOUNS, content_words

from .evidence import ZIPF_COMMON, ZIPF_EVERYDAY, Evidence, Reading, WordEvidence, coverage, informativeness, telling  # noqa: F401 - its weights
from .names import asks_how_it_applies, asks_what_could_be_done, asks_what_it_says
from .ranking import asks_who_wrote

THE_PAGE = frozenset("page pages document documents".split())  # not "article", "report": a name's ("GDPR Article 33")


@dataclass(frozen=True)
class Decision:
    """What to do with a question: answer it (for which reading of it) or refuse, and what to tell the user."""

    in_scope: bool
    reading: Reading  # what ranking reads: the whole topic, or the covered part of it
    score: float | None  # the rule's score of the reading judged; None when the question has no topic words
    missing: tuple[str, ...] = ()  # parts of the question the document does not cover
    names: tuple[str, ...] = ()  # names the document never mentions
    empty: bool = False  # the question has only stopwords: nothing to look up, so nothing is ranked
    asked: Evidence | None = None  # the asked sentence, when it alone is answered: what ranks and answers it

    @property
    def notices(self) -> list[str]:
        """What the user is told about the parts of the question that were not answered."""
        out = []
        if self.empty:
            out.append("The question has only common words such as \"what\" or \"the\", so there is nothing to look "
                       "up. What would you like to know about the document?")
        if self.names:
            out.append(f"The document never mentions {' or '.join(self.names)}"
                       + ("; the answer covers the rest of the question." if self.in_scope else "."))
        if self.missing and self.in_scope:
            out.append(f"The document does not cover {' or '.join(repr(m) for m in self.missing)}; "
                       "the answer covers the rest of the question.")
        return out


def rarest_uncovered(words: tuple[WordEvidence, ...]) -> float:
    """The informativeness of the rarest topic word the document does not use (0 when it uses them all).

    Unknown names are left out: a name is evidence about itself only. One rare uncovered word ("stocks")
    makes a question about something else however many covered words stand beside it, which the share
    (`coverage`) dilutes in a long question (docs/scope.md, "Leaving one page out over five pages").
    """
    return max((informativeness(w) for w in words if not (w.covered or w.ubiquitous or w.name)), default=0.0)


def name_share(words: tuple[WordEvidence, ...], known: tuple[WordEvidence, ...] = ()) -> float:
    """The names' share of what the question asks that the document could answer for: the informativeness of the
    names it never uses over that of those names, the topic words it does use and what it names that the document
    knows (`known`: a title, a source key; "How should Boeing run a root cause analysis …?" is about the title
    beside the name) (0 without unknown names).

    A name beside a covered topic ("How could Meta detect that Llama hides its reasoning in its chain of
    thought?") stands beside many covered words and carries little of it; a name that is the topic ("What does the
    Digital Services Act say about recommender systems?") stands beside few, and the words the document does not use
    count against coverage and `rarest` already, not here (issue 18; docs/scope.md, "The name against the covered
    rest"). Only the `telling` words count, as in `coverage`.
    """
    if not any(w.name for w in words):
        return 0.0
    words = telling(once_per_name(words))
    named = sum(informativeness(w) for w in words if w.name)
    total = named + sum(informativeness(w) for w in words if w.covered and not w.name)
    total += sum(informativeness(w) for w in known)
    return named / total if total > 0 else 0.0


def once_per_name(words) -> list[WordEvidence]:
    """The words with each name the document never uses counted once, as its rarest word: a name is one thing ("UK AI
    Security Institute"), and counted word by word a long name would weigh as several uncovered topic words where a
    short one ("Ofcom") weighs as one, so its length, not what the question asks, would decide."""
    out: list[WordEvidence] = []
    at: dict[str, int] = {}
    for w in words:
        if w.name is None:
            out.append(w)
        elif w.name not in at:
            at[w.name] = len(out)
            out.append(w)
        elif w.zipf < out[at[w.name]].zipf:
            out[at[w.name]] = w
    return out


def features(evidence: Evidence) -> tuple[float, float, float, float, float] | bool:
    """(dense, coverage, pull, rarest, names) for the rule, or the decision itself when no rule is needed
    (see `judged`)."""
    found = judged(evidence)
    return found if isinstance(found, bool) else (*found, evidence.pull, rarest_uncovered(evidence.words),
                                                  name_feature(evidence))


def name_feature(evidence: Evidence) -> float:
    """The rule's `names` feature: the name share, except for a question of what someone could or should do
    (`names.asks_what_could_be_done`), whose name is who would do it or what it is done to, not what is asked about
    (over the development sets: 26 more in-scope questions answered beside a name, no off-topic one), and a question
    that asks the page ("Does the page think Atlassian's blameless incident reviews are worth copying?"), whose name
    sets the scene (docs/scope.md, "Asked of the page": 27 more in-scope questions answered, no off-topic one)."""
    scene = THE_PAGE & set(evidence.topic.meta) or asks_what_could_be_done(evidence.question)
    return 0.0 if scene else name_share(evidence.words, evidence.known)


def judged(evidence: Evidence) -> tuple[float, float] | bool:
    """The rule's two features for a question, or the decision itself when no rule is needed (True: about
    what it names exactly; False: about a name the document never mentions, or about nothing at all)."""
    if evidence.empty:
        # Only entities or words about the document: what it names is in the document. Only stopwords
        # ("the of and what is"): nothing is named, and the overview would answer a question nobody asked.
        return not asks_nothing(evidence)
    if evidence.names and asks_what_it_says(evidence.topic.question, evidence.names):
        return False  # "What does the EU AI Act require of providers?": what is asked is the name's
    if asks_overview_line(evidence.topic.question) and not evidence.topic.entities and not evidence.names and all(
            w.covered or w.zipf >= ZIPF_EVERYDAY or w.word in LAYOUT_LINE_WORDS for w in evidence.words):
        # "Which category is it also listed in?": the page's overview line (ingest/section.py). Everyday words say how
        # it is asked ("Which higher-level category does it sit in?"), as beside a source key below; a rarer one names
        # a subject of its own ("What is the parent category of quantum computing?").
        return True
    rest = [w for w in evidence.words if w.name is None]
    if evidence.sources and says_how(rest):
        # "What does Gutiérrez provide evidence for?": the key is the topic, one everyday word (or a page word: "What
        # does the page attribute to Smith?") says how; two can name a topic ("What did Wright conclude about rates?").
        return True
    if asks_who_wrote(evidence.topic) if not evidence.names else evidence.topic.rests_on and asks_who_wrote(
            replace(evidence.topic, words=tuple(w.word for w in rest))):
        # "When was the report released?": who wrote or dated the document it names, an everyday word saying which or
        # how; "Did Google write the review this page relies on?": the page's own source, the name only a guess at it.
        return True
    if not evidence.names and evidence.topic.about_work and says_how(rest):
        # "What does the source report deliberately leave outside its scope?": what the source work says of itself
        # (its scope, readers, goal: `Topic.about_work`), which ranking answers from the source record.
        return True
    if evidence.outline is not None and not evidence.names and outline_is_topic(evidence):
        return True  # "Which areas sit under the Red Teaming heading?": the sections under a parent the page names
    laid_out = any(e.kind in ("code", "label") for e in evidence.topic.entities)
    if laid_out and set(evidence.topic.meta) & SECTION_NOUNS and all(
            w.covered or w.zipf >= ZIPF_EVERYDAY for w in rest):
        return True  # "Which cards carry the code 2.2.1?", "… the Other label?": which sections have it
    if all(w.zipf >= ZIPF_COMMON for w in rest):
        if evidence.names and not any(e.kind == "title" for e in evidence.topic.entities):
            return False  # the unknown name is the topic: nothing informative is left
        # "How would Airbus use near-miss reporting?": beside the name, the question names one of the document's
        # sections by its title: that is the topic, and the name is noted. A key or a code beside a name can be
        # the name's own ("the CEO of Anthropic", "Linux 2.4.1"), so only a title counts.
        if evidence.topic.entities or evidence.topic.asks_authorship:
            # "What does Smith's work say?": the named entity is the topic; "Who are the report's first few
            # authors?": who wrote the document, with nothing but common words beside it.
            return True
    reading = evidence.ranked
    # Beside a name the document never mentions, a question asking whether or how something applies to it ("Could the
    # Foolbox library help uncover weak spots in a model?") reads the name too: the model may know what it is an
    # instance of. A question for a fact about the name ("What was agreed at the Paris summit?") reads the rest only.
    best = max(reading.best, evidence.full.best) if evidence.names and asks_how_it_applies(evidence.question) else (
        reading.best)
    # A source the question names is part of what it asks: "What does the page attribute to Smith?" is covered
    # by the section citing Smith, whatever word it asks with ("attribute", "given as the source for"); so is a
    # section it names by its title ("Which tags apply here?"), whose words weigh as what they are.
    return best, coverage(evidence.words + _as_topic_words(evidence.sources, evidence.words) + evidence.titles)


def outline_is_topic(evidence: Evidence) -> bool:
    """The parent area the question names is what it is most about: no topic word the page does not use is rarer than
    the parent name's rarest word, as for a title (`Evidence.titles`): "What sits under the Red Teaming heading?"
    asks for the outline, "… the Red Teaming heading in my sourdough notebook?" about something else."""
    own = set(content_words(evidence.outline[0]))
    rarest = min((w.zipf for w in evidence.words + evidence.known if w.word in own), default=None)
    return rarest is not None and not any(w.zipf < rarest for w in evidence.words if not w.covered and w.word not in own)


def says_how(words) -> bool:
    """Words that only say how something named is asked: each one the page uses or everyday English, and at most one
    everyday word the page does not use; two can name a topic of their own ("… about interest rates?")."""
    return all(w.covered or w.zipf >= ZIPF_EVERYDAY for w in words) and sum(
        not w.covered and w.zipf < ZIPF_COMMON for w in words) <= 1


def _as_topic_words(sources: tuple[WordEvidence, ...], words: tuple[WordEvidence, ...]) -> tuple[WordEvidence, ...]:
    """The named sources, each weighing no more than the question's most informative topic word: a key is a rare
    word, and at its own weight it would cover any question beside it ("What does Smith say about baking bread?")."""
    top = min((w.zipf for w in words if not w.ubiquitous), default=None)
    return tuple(replace(s, zipf=max(s.zipf, top)) for s in sources) if top is not None else sources


def asks_nothing(evidence: Evidence) -> bool:
    """The question has only stopwords: no topic word, no entity, no word about the document."""
    topic = evidence.topic
    return topic.empty and not topic.entities and not topic.meta


def decide(evidence: Evidence, rule) -> Decision:
    """Scope, partial coverage and the reading to rank for, from one question's evidence and a rule."""
    names = evidence.names
    found = judged(evidence)
    if found is True or found is False:
        asked = evidence.asked if found is False and names else None
        if askable(asked) and (inner := decide(asked, rule)).in_scope:
            # "Format this as a table with the columns Name and Position: who wrote the report?": the names are the
            # instruction's, and the asked sentence, judged alone, is about the document.
            return Decision(True, inner.reading, inner.score, names=names, asked=asked)
        return Decision(found, evidence.full, None, names=names, empty=asks_nothing(evidence))
    reading = evidence.ranked
    lexical = rarest_uncovered(evidence.words), name_feature(evidence)  # no encoding: read always
    score = _score(rule, *found, evidence, *lexical)
    if score >= rule.threshold:
        return Decision(True, reading, score, names=names)
    covered, missing = [], []
    for part in evidence.parts:
        # A part counts only when the document uses every one of its topic words and the rule accepts the
        # part's own dense support beside the *whole* question's lexical evidence (coverage, pull, rarest, names):
        # a part's own coverage is 1 by construction, so it cannot vouch for the part (docs/scope.md, section 4).
        ok = all(w.covered for w in part.words) and (
            _score(rule, part.best, found[1], evidence, *lexical) >= rule.threshold)
        (covered if ok else missing).append(part)
    if covered and missing:
        joined = evidence.read(" and ".join(p.text for p in covered), tuple(w for p in covered for w in p.words))
        return Decision(True, joined, score, missing=tuple(p.wording for p in missing), names=names)
    asked = evidence.asked
    if askable(asked):
        # "We run a bank. Our testers only know web apps. What does the page say about bringing in external
        # testers?": the context sets the scene; the question is its one asked sentence, judged by the same rule
        # (ranking still reads the whole question). A bare "What does the page say?" leaves the whole to decide.
        found_asked = decide(asked, rule)
        if found_asked.in_scope:
            # Beside a name the document never mentions, the page's side of a comparison ranks too ("Does CERT's
            # approach to vulnerabilities match how the page says findings should be shared?": the sharing, not the
            # vulnerabilities); a question with context keeps the whole to rank by, whose scene helps find the card.
            compared = names and asked_sentence(evidence.question, typed=True) is None
            # An asked sentence about the document alone ("…: who are the authors?") is what ranks and answers.
            about = asked if asked.empty else None
            return Decision(True, found_asked.reading if compared or about else reading, found_asked.score,
                            names=names, asked=about)
    return Decision(False, evidence.full, score, names=names)


def askable(asked: Evidence | None) -> bool:
    """Is there an asked part to judge alone: a sentence with a topic, or one asking who wrote the document ("…
    Anyway, who wrote the field guide?"); a bare "What does the page say?" leaves the whole question to decide."""
    return asked is not None and (not asked.empty or asked.topic.asks_authorship)


def _score(rule, dense: float, coverage: float, evidence: Evidence, rarest: float, names: float) -> float:
    """The rule's score; the pull (one more encoding) lowers it only, so it is read only when it can matter."""
    score = rule.score(dense, coverage, 0.0, rarest, names)
    if score >= rule.threshold and rule.pull_weight:
        score = rule.score(dense, coverage, evidence.pull, rarest, names)
    return score
