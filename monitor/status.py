"""Status text: what a sentence such as "Applications open soon." claims, and which deadlines to apply it names.

- `classify` reads one status text into a `StatusReading`: a `State` and the deadlines in it.
- `find_status_sentences` picks out a page's own sentences about applications.
- `parse_deadlines` gives the deadlines to apply (or register, or submit) that a text names.

How a text is read (the wordings are tables in `monitor.status_words`): `monitor.dates` finds every date in
it (ranges, times and zones attached); the text is cut into clauses (at sentence ends and ";", an "If ...,"
part kept apart as a condition); each clause is searched for the words that state an open, closed,
opening-soon or rolling call, with negation read up to six words back ("We don't consider applications on
a rolling basis"); and each date takes its role from the nearest cue word before it (else after it): a
deadline ("closes", "due", "submit", "no later than"), an opening ("the portal opens"), or something else
("decisions by", "the cohort runs", "established in"). Only deadlines to apply count. A clause that gives a
deadline and says nothing else says "open"; one in the past tense ("were due", "closed on") says "closed".
Nothing here raises on arbitrary text, and every pattern is bounded.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import lru_cache
from itertools import accumulate, pairwise

from monitor.dates import MAX_TEXT, DateMention, find_dates, with_clock_nearby
from monitor.status_words import CUES, DEADLINE, NOUN, OPENING, OTHER, OTHER_NOUN, SIGNALS, SUBJECT, WEAK

__all__ = [
    "Deadline",
    "State",
    "StatusReading",
    "classify",
    "find_status_sentences",
    "is_status_line",
    "parse_deadlines",
]


class State(StrEnum):
    OPEN = "open"
    OPENING_SOON = "opening-soon"
    CLOSED = "closed"
    ROLLING = "rolling"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Deadline:
    clause: str  # the words as written, e.g. "close November 10, 2023 11:59 PM (PST)"
    when: datetime  # aware
    zone: str  # the zone used: an IANA name, "UTC-12 (AoE)", or "UTC" when the text names none
    zone_stated: bool = True
    year_stated: bool = True
    # "by 15 March each year": a deadline that comes back, so it never passes.
    recurring: bool = False

    @property
    def local_date(self) -> date:
        """The calendar day of the deadline where it was set: what "before today" is judged on."""
        return self.when.date()

    def passed(self, today: date) -> bool:
        return not self.recurring and self.local_date < today


@dataclass(frozen=True)
class StatusReading:
    state: State
    deadlines: tuple[Deadline, ...] = ()
    # The words that decided the state ("now closed", "status unknown"); empty when nothing did.
    signal: str = ""
    text: str = ""

    @property
    def says_unknown(self) -> bool:
        """The text itself says the status is not known (rather than saying nothing we recognise)."""
        return self.state is State.UNKNOWN and bool(self.signal)


_SIGNAL_PATTERNS = tuple((State(state), re.compile(pattern, re.I)) for state, pattern in SIGNALS)

# When one text says several things ("ARENA 7.0 is closed. Expressions of interest for 8.0 are open"),
# the state a reader can act on wins: somewhere to apply now, then later, then nothing.
_PRIORITY = (State.UNKNOWN, State.CLOSED, State.OPENING_SOON, State.ROLLING, State.OPEN)

# A negator up to six words before a signal, with no comma or "but" between: "not currently accepting",
# "We don't consider applications on a rolling basis", "will not reopen".
_NEGATOR = re.compile(r"\b(?:not|no|never|no longer|cannot|without|nor|neither)\b|n't\b", re.I)
_SCOPE_BREAK = re.compile(r"[,:(]|\b(?:but|however|although|though|instead|yet|unless)\b", re.I)
_NEGATED_TO = {
    State.OPEN: State.CLOSED,
    State.OPENING_SOON: State.CLOSED,
    State.ROLLING: None,
    State.CLOSED: State.OPEN,
    State.UNKNOWN: State.UNKNOWN,
}
_EXPLICITLY_NEGATIVE = re.compile(
    r"\b(?:no longer|not yet|not open yet|no (?:\w+ )?deadline|not open until)", re.I
)
_YET = re.compile(r"\byet\b", re.I)


# --- clauses --------------------------------------------------------------------------------------------------

# Not after an initial or a short abbreviation: "Ph.D. student", "U.S. applicants", "No. 5".
_CLAUSE_END = re.compile(r"(?<!\b[A-Za-z])(?<!\b(?:vs|no|nr|dr|mr|ms|st|jr|sr))[.!?](?=\s|$)|[;•·\n]", re.I)
# "If the portal is closed, ...", "Once the funding is awarded, ...": the words up to the comma describe a
# condition, not the state.
_CONDITION = re.compile(
    r"^\W*(?:if|unless|in case|should|whether|in the event|once|when|whenever|after)\b[^,]{0,150},", re.I
)
_CONDITIONAL_STATES = (State.OPEN, State.CLOSED)
# "once the programme's registration has opened": open or closed in a subordinate clause is no statement.
_SUBORDINATE = re.compile(r"\b(?:once|when|whenever|until|unless|if|after|while)\b(?:\s+\S+){0,5}\s*$", re.I)
_LATE = re.compile(r"\blate (?:applications|submissions|entries|registrations|nominations)\b", re.I)
_TAKEN_NOW = re.compile(r"\b(?:opened|seeking|accepting|taking|launched)\b", re.I)
_EOI = re.compile(r"\bexpress(?:ions?)? (?:of )?interest\b|\beois?\b", re.I)


@dataclass(frozen=True)
class _Clause:
    start: int
    end: int
    condition_end: int  # the end of its "If ...," part, or its start


def _clauses(text: str, dates: list[DateMention]) -> list[_Clause]:
    """The clauses of `text`; a break inside a date ("Sept. 9", "5 p.m.") is no break."""
    inside = [(d.start, d.end) for d in dates]
    cuts = [0]
    for match in _CLAUSE_END.finditer(text):
        at = match.start()
        if any(s <= at < e for s, e in inside):
            continue
        cuts.append(match.end())
    cuts.append(len(text))
    clauses = []
    for a, b in pairwise(cuts):
        if text[a:b].strip():
            condition = _CONDITION.match(text, a, b)
            clauses.append(_Clause(a, b, condition.end() if condition else a))
    return clauses


def _signals(clause: str, skip_to: int) -> list[tuple[State, str, int]]:
    """Each state the clause signals, with its words and position, negations applied."""
    if skip_to and any(p.search(clause, 0, skip_to) for st, p in _SIGNAL_PATTERNS if st in _CONDITIONAL_STATES):
        return []  # "If the applications are closed, sign up to be alerted": all of it hangs on the condition
    found: list[tuple[State, str, int]] = []
    for state, pattern in _SIGNAL_PATTERNS:
        # Opening-soon words count even in a condition: "If you'd like to submit in advance of the call, ...".
        start = 0 if state is State.OPENING_SOON else skip_to
        for match in pattern.finditer(clause, start):
            if state in _CONDITIONAL_STATES and _SUBORDINATE.search(clause, max(0, match.start() - 40), match.start()):
                continue
            if _LATE.search(clause, max(0, match.start() - 12), match.end()):
                continue  # "Late applications are not accepted": a rule about lateness, not the state
            turned = _negate(clause, state, match, start)
            if turned is not None:
                found.append((turned, match.group(0).strip(), match.start()))
            break
    eoi = _EOI.search(clause)
    if eoi:
        # An expression of interest is asked for before a call opens: its "welcome" or "open" is opening-soon.
        # ... but "has opened an EOI process" and "now seeking EOI" take them now.
        found = [(State.OPENING_SOON if st is State.OPEN and not _TAKEN_NOW.search(w) else st, w, at)
                 for st, w, at in found]
        if not found:
            found.append((State.OPENING_SOON, eoi.group(0), eoi.start()))
    return found


def _negate(clause: str, state: State, match: re.Match[str], floor: int) -> State | None:
    if _EXPLICITLY_NEGATIVE.match(match.group(0)) or _NEGATOR.match(match.group(0)) or state is State.UNKNOWN:
        return state  # the pattern holds its own negation: "no specific date for submission", "not ... anymore"
    window_start = max(floor, match.start() - 50)
    window = clause[window_start : match.end()]
    explicit = [m.span() for m in _EXPLICITLY_NEGATIVE.finditer(clause, floor, match.end())]
    if any(a < match.end() and match.start() < b + 12 for a, b in explicit):
        return None  # "no longer accepting applications" is read once, by its explicit pattern
    breaks = list(_SCOPE_BREAK.finditer(window, 0, match.start() - window_start))
    scope = breaks[-1].end() if breaks else 0
    negators = [m for m in _NEGATOR.finditer(window, scope)
                if not any(a <= window_start + m.start() < b for a, b in explicit)]  # fmt: skip
    if not negators:
        return state
    words_between = window[negators[-1].end() : match.start() - window_start].split()
    if negators[-1].start() < match.start() - window_start and len(words_between) > 6:
        return state
    if state is State.OPEN and _YET.search(clause, max(0, match.start() - 20), match.end() + 12):
        return State.OPENING_SOON
    if state is State.OPENING_SOON and not _WILL_OPEN.search(match.group(0)):
        return state  # "do NOT create a form before the official opening": the "not" is about something else
    return _NEGATED_TO[state]


_WILL_OPEN = re.compile(r"\b(?:will|shall|to|should|expect|plan|hope|aim|intend)\b", re.I)


# --- the role of each date ------------------------------------------------------------------------------------

_CUE_WORDS_BACK = 14
# "from", "after", "as of" say a date is a start only right before it ("from 1 October"), not four words off.
_STARTS = re.compile(r"from|after|as of", re.I)
_DEADLINE_NOUN = re.compile(r"deadline|due|clos|cut|last|round|end|expir", re.I)
_IN_BEFORE = re.compile(r"\b(?:in|during)\s+(?:early\s+|mid-?\s*|late\s+)?$", re.I)
_SUBJECT_LIKE = re.compile(
    r"decision|notif|result|outcome|offer|interview|feedback|response|repl|announce|accepted|invited|selected"
    r"|successful|admitted|shortlisted",
    re.I,
)
# "The deadline was set to 15th October initially", "we had previously set a date of": dates since replaced.
_SUPERSEDED_BEFORE = re.compile(
    r"\b(?:initially|originally|previously|formerly|earlier|(?:the )?(?:original|initial|old|previous) deadline)\b"
    r"(?:\W+\w+){0,5}\W*$"
    # A date that may yet be, or was asked for: "may be extended to no later than Oct. 1st", "asked him to extend
    # the deadline till January 20".
    r"|\b(?:may|might|could) be (?:extended|postponed|moved|pushed back)\b(?:\W+\w+){0,5}\W*$"
    r"|\b(?:ask(?:ed|s|ing)?|request(?:ed|s|ing)?|urg(?:ed|es|ing)|sought|seek(?:s|ing)?)\b(?:\W+\w+){0,8}\W+"
    r"extend(?:ed|ing)?\b(?:\W+\w+){0,4}\W*$",
    re.I,
)
# A clause told as the story of an earlier plan: "Earlier, the last date for the submission of application was
# March 31, 2020." Its dates and its state are history.
_HISTORY = re.compile(r"^\W*(?:earlier|previously|originally|initially|formerly)\b", re.I)
# Nouns of things other than applying whose own deadline is no deadline to apply.
_NOT_APPLYING = re.compile(
    r"payments?|fees?|tuition|deposits?|balance|invoices?|refunds?|cancellations?|withdrawals?|camera|final|revised"
    r"|hotel|accommodation|travel|visas?|voting|votes?",
    re.I,
)
# ... and "~~August 31, 2023~~ Deadline extended to September 8, 2023": struck through, or moved.
_SUPERSEDED = re.compile(
    r"\W{0,3}(?:\w+\W+){0,2}(?:initially|originally|previously|formerly)\b|~~"
    r"|\W{0,4}(?:\w+\W+){0,2}(?:extended|postponed|moved|changed|pushed back) (?:to|until)\b",
    re.I,
)
# "before the 15 September 2017 deadline", "May 18, the course registration and payment deadline".
_DEADLINE_AFTER = re.compile(
    r"\W{0,3}(?:(?:extended|final|new|revised|application|submission|registration|proposal|abstract|paper|full) ){0,3}"
    r"deadlines?\b(?!\s+(?:for|of)\s+(?:the\s+)?(?:\w+\s+)?(?:payments?|fees?|tuition|deposits?|refunds?|withdrawals?"
    r"|cancellations?|camera|final|hotel|accommodation|travel|visas?|voting)\b)"
    r"|,\s+the (?:\S+ ){0,2}(?:application|submission|registration|nomination|proposal)s?(?: \S+){0,2} deadlines?\b",
    re.I,
)
_DEADLINE_IS = re.compile(r"\bdeadline\b[^.;]{0,80}\b(?:is|are|:)\s*$", re.I)
_UNTIL = frozenset({"until", "till", "through", "thru", "up to"})
_RUNS = re.compile(r"runs?|running|remains?", re.I)
_PAST_TENSE = re.compile(r"\b(?:closed|were due|was due|expired|ended|was|were|passed)\b", re.I)


def _role(text: str, clause: _Clause, mention: DateMention, previous_end: int, about_applying: bool) -> str | None:
    """What a date is in its clause: a deadline to apply, an opening date, something else, or nothing said."""
    start = max(clause.start, previous_end, mention.start - 200)
    before = text[start : mention.start]
    every = [(m.lastgroup or "", m) for m in CUES.finditer(before)]
    cues = [(kind, m) for kind, m in every if len(before[m.end() :].split()) <= _CUE_WORDS_BACK
            and not (_STARTS.fullmatch(m.group(0)) and len(before[m.end() :].split()) > 2)]
    strong = [(i, kind, m) for i, (kind, m) in enumerate(cues) if kind in (DEADLINE, OPENING, OTHER)]
    nouns = [(i, kind) for i, (kind, _) in enumerate(cues) if kind in (NOUN, OTHER_NOUN)]
    last_weak = cues[-1][1].group(0).lower() if cues and cues[-1][0] == WEAK else ""
    after = text[mention.end : min(clause.end, mention.end + 100)]
    following = [m.lastgroup or "" for m in CUES.finditer(after) if m.lastgroup not in (None, WEAK)]
    if _SUPERSEDED.match(after) or _SUPERSEDED_BEFORE.search(before):
        return OTHER
    if _DEADLINE_AFTER.match(after):
        return DEADLINE  # "before the 15 September 2017 deadline"
    if following[:1] == [OTHER_NOUN] and len(after.split()) and _first_words(after, 3, OTHER_NOUN):
        return OTHER  # "until end of May reduced fee"
    if strong:
        index, kind, cue = strong[-1]
        if kind == DEADLINE and _IN_BEFORE.search(before) and not _DEADLINE_NOUN.match(cue.group(0)):
            return OTHER  # "filed to register the US trademark in April 2009": when it happened, not a deadline
        later_nouns = [k for i, k in nouns if i > index]
        if kind == DEADLINE and later_nouns and NOUN not in later_nouns:
            return OTHER  # "the deadline for payment is ..."
        subjects = [(k, m) for k, m in every if k in (OTHER, NOUN, OTHER_NOUN) and m.start() < cue.start()]
        if kind in (DEADLINE, OPENING) and subjects:
            who, words = subjects[-1]
            if who == OTHER_NOUN and NOUN not in [k for k, _ in subjects] and (
                not _DEADLINE_WORD.match(cue.group(0)) or _NOT_APPLYING.match(words.group(0))
            ):
                # "Final payments are due May 1st", "final papers are due by", "Camera-Ready Paper Deadline:" (a
                # "residency deadline" is still one to apply to the residency).
                return OTHER
            if who == OTHER and _SUBJECT_LIKE.match(words.group(0)) and not _DEADLINE_NOUN.match(cue.group(0)):
                return OTHER  # "Decision letters will be emailed by", "Feedback will be available from"
        if kind == OTHER and _DEADLINE_IS.search(before) and NOUN in later_nouns + [k for _, k in nouns]:
            return DEADLINE  # "The application deadline for summer study start is 5 August"
        if kind == OPENING and (last_weak in _UNTIL or mention.first_day is not None):
            return DEADLINE  # "open until 30 April", "open from 1 to 30 September"
        if kind == OTHER and _RUNS.fullmatch(cue.group(0)) and last_weak in _UNTIL and _subject_applies(
            text[clause.start : start + cue.start()]
        ):
            return DEADLINE  # "The application starts Monday, December 2nd and runs through Friday, February 14"
        if kind == OTHER and cue.group(0).lower() in ("from", "starting", "beginning"):
            # "from 1 March" is a start, but "(applications) from 1 to 30 September" ends on a deadline.
            earlier = [k for _, k, _ in strong[:-1]]
            if mention.first_day is None or (earlier and earlier[-1] == OTHER):
                return OTHER
            return DEADLINE if about_applying or (earlier and earlier[-1] in (OPENING, DEADLINE)) else OTHER
        return kind
    if nouns:
        return DEADLINE if nouns[-1][1] == NOUN else OTHER
    if last_weak and about_applying:
        return DEADLINE  # "..., and until 28 February 2026"
    if following:
        # "September 23, 2024: Application opens": the verb after the date says what it is, else the noun.
        verbs = [kind for kind in following if kind in (DEADLINE, OPENING, OTHER)]
        first = verbs[0] if verbs else (NOUN if NOUN in following else following[0])
        if first == DEADLINE and OTHER_NOUN in following and NOUN not in following:
            return OTHER  # "November 10th: Author deadline for Poster Printing Service"
        return {NOUN: DEADLINE, OTHER_NOUN: OTHER}.get(first, first)
    return None


def _subject_applies(words: str) -> bool:
    """Whether the last thing named in `words` is what one applies with ("The application starts ..."), not an
    event or a payment ("The cohort runs ...")."""
    named = [m.lastgroup for m in CUES.finditer(words) if m.lastgroup in (NOUN, OTHER_NOUN)]
    return bool(named) and named[-1] == NOUN


def _first_words(text: str, count: int, kind: str) -> bool:
    head = " ".join(text.split()[:count])
    return any(m.lastgroup == kind for m in CUES.finditer(head))


# --- reading a text -------------------------------------------------------------------------------------------

_ABOUT = re.compile(
    rf"\b(?:{SUBJECT}|appl(?:y|ying|icants?)|regist\w*|submi\w*|enrol\w*|deadlines?|nominat\w*|sign up)\b", re.I
)
_DEADLINE_WORD = re.compile(r"\bdeadlines?\b", re.I)
# A state said with a verb of applying ("you can start to enrol on ..."): about applying, whatever else is named.
_APPLY_VERB = re.compile(r"\b(?:apply|enrol\w*|register|submit|nominate|sign up)\b", re.I)
# Link text: "Learn more about EOs with campus and national deadlines between ...".
_NAVIGATION = re.compile(r"^\W*(?:learn|read|find out|see|click here for) more\b", re.I)
_GENERIC = re.compile(
    r"^\W*(?:but |and |yet )?(?:some|many|most|certain|several|few)\b"
    # "In 2021, many solicitations were released ... with due dates in July": programs in general, anywhere.
    r"|\b(?:many|most|some|several) (?:\w+ )?(?:solicitations|programs|programmes|scholarships|grants"
    r"|fellowships|funders|foundations|companies|employers|organi[sz]ations|universities|schools|conferences)\b",
    re.I,
)


@dataclass(frozen=True)
class _Reading:
    state: State
    signal: str
    deadlines: tuple[Deadline, ...]


# A page's sentences are read twice (to pick them, then by the rules): the second read is remembered.
@lru_cache(maxsize=2048)
def _read(text: str, today: date) -> _Reading:
    text = _tidy(text)[:MAX_TEXT]
    dates = find_dates(text, today)
    about = bool(_ABOUT.search(text))
    found: dict[State, str] = {}
    deadlines: list[Deadline] = []
    for clause in _clauses(text, dates):
        words = text[clause.start : clause.end]
        signals = _signals(words, clause.condition_end - clause.start)
        kinds = {m.lastgroup for m in CUES.finditer(words)}
        if OTHER_NOUN in kinds and NOUN not in kinds and not any(_APPLY_VERB.search(w) for _, w, _ in signals):
            # "Voting will open on Monday", "Payment is due June 1": not about applying. A date that a
            # "deadline" names is still read ("End of July | Deadline for sessions and workshops").
            if not _DEADLINE_WORD.search(words):
                continue
            signals = []
        if _GENERIC.search(words) or _NAVIGATION.match(words) or _HISTORY.match(words):
            continue  # "Some scholarships have rolling deadlines": about programs in general
        if _HABITUAL.search(words):
            # "For years, our application has opened on January 15": a habit, not this call.
            found.update({st: w for st, w, _ in signals if st is State.ROLLING})
            continue
        selected = _SELECTED.search(words)
        if selected and not any(clause.start <= d.start < clause.start + selected.start() for d in dates):
            continue  # "Accepted participants will have to confirm by February 1st": after applying
        inside = [d for d in dates if clause.condition_end <= d.start < clause.end]
        calendar_rule = bool(_CALENDAR_RULE.search(words) or _YEARLY.search(words))
        previous_end = clause.start
        past = any(s is State.CLOSED for s, _, _ in signals) or bool(_PAST_TENSE.search(words))
        for mention in inside:
            role = _role(text, clause, mention, previous_end, about)
            previous_end = mention.end
            if role == DEADLINE:
                mention = with_clock_nearby(text, mention, clause.start, clause.end)
                # "by 15 March each year" never passes, nor does "by early October" (of which year?).
                vague = mention.month_only and not mention.year_stated
                if not (mention.recurring or calendar_rule or vague):
                    deadlines.append(_deadline(text, clause, mention, past, today))
                if mention.first_day is not None or any(_START_SIGNAL.search(w) or _EOI.fullmatch(w)
                                                        for st, w, _ in signals if st is State.OPENING_SOON):
                    # "will be open from September 1 - September 30", "The nomination process starts on 11/29 and
                    # closes on 12/10", "The first round of EOI are due by 5pm, 14th February 2018": a window to
                    # apply in, with its end, reads open.
                    signals = [(State.OPEN if st is State.OPENING_SOON else st, w, at) for st, w, at in signals]
                if all(st is State.ROLLING for st, _, _ in signals):
                    # A dated deadline says open even beside "or until all openings are filled".
                    stated = State.CLOSED if past and _closed_tense(words) else State.OPEN
                    signals = [*signals, (stated, words.strip(), 0)]
            elif role == OPENING and not signals:
                opened = re.search(r"\b(?:opened|launched|published|released)\b", words, re.I)
                signals = [(State.OPEN if opened else State.OPENING_SOON, words.strip(), 0)]
        for state, signal, _ in signals:
            found.setdefault(state, signal)
    unique = tuple(dict.fromkeys(deadlines))
    if not found:
        return _Reading(State.UNKNOWN, "", unique)
    state = max(found, key=_PRIORITY.index)
    return _Reading(state, found[state], unique)


# "For years, our annual application has opened on January 15": a habit, not this year's call.
_HABITUAL = re.compile(
    r"\b(?:usually|typically|generally|normally|traditionally|for years"
    r"|in (?:past|previous|prior) years|historically)\b",
    re.I,
)


_SELECTED = re.compile(
    r"\b(?:accepted|invited|selected|successful|admitted|shortlisted)\s+(?:\S+\s+){0,2}(?:participants?|students?"
    r"|applicants?|fellows?|authors?|candidates?|scholars?|speakers?|papers?)\b",
    re.I,
)
# "There are two application deadlines each year, May 1 and November 1": a yearly calendar, not this round.
_YEARLY = re.compile(
    r"\b(?:each|every) (?:calendar |academic )?year\b|\bannually\b|\b(?:once|twice) (?:a|per) year\b", re.I
)
# "due April 1 and October 1, unless either date falls on a weekend": dates of a yearly calendar.
_CALENDAR_RULE = re.compile(r"\bfalls? on (?:a )?(?:weekend|holiday|saturday|sunday|public holiday)\b", re.I)


# The opening-soon wordings that name the start of a window ("application period begins"): beside its end, open.
_START_SIGNAL = re.compile(r"\b(?:begins|starts|commences|start|begin|starting|beginning|started)\b", re.I)


def _closed_tense(words: str) -> bool:
    return bool(re.search(r"\b(?:closed|were due|was due|expired|ended)\b", words, re.I))


def _deadline(text: str, clause: _Clause, mention: DateMention, past: bool, today: date) -> Deadline:
    when = mention.when
    if past and not mention.year_stated and when.date() > today:
        # "ARENA 7.0 closed on May 3": a yearless date in the past tense is the last such day, not the next.
        when = when.replace(year=when.year - 1) if not (when.month == 2 and when.day == 29) else when
    start = _clause_start(text, clause, mention)
    return Deadline(text[start : mention.end].strip(" ,;:("), when, mention.zone_name, mention.zone_stated,
                    mention.year_stated, mention.recurring)  # fmt: skip


_TRIGGER = re.compile(r"\b(?:close[sd]?|closing|deadline|due|by|before|until|ends?|through)\b", re.I)


def _clause_start(text: str, clause: _Clause, mention: DateMention) -> int:
    """Where the quoted deadline starts: its trigger word, if it is close before the date."""
    window_start = max(clause.start, mention.start - 30)
    triggers = list(_TRIGGER.finditer(text, window_start, mention.start))
    return triggers[-1].start() if triggers else mention.start


def classify(text: str, today: date | None = None) -> StatusReading:
    """Read a status text. `today` resolves dates written without a year (default: today, UTC)."""
    tidy = _tidy(text or "")
    reading = _read(tidy, today or datetime.now(UTC).date())
    return StatusReading(reading.state, reading.deadlines, reading.signal, tidy)


def parse_deadlines(text: str, today: date) -> list[Deadline]:
    """Every deadline to apply (or register, or submit) that `text` names, as an aware datetime.

    A date without a time is the end of that day; a month without a day is the end of that month. A date
    without a year takes the year of another date in the same text, else its occurrence nearest `today`.
    A text naming no zone is read as UTC (the day, which decides "passed", is the same).
    """
    return list(_read(text or "", today).deadlines)


def _tidy(text: str) -> str:
    return " ".join(text.replace("’", "'").replace("‘", "'").replace("\u00a0", " ").split())


# --- sentences on a page ------------------------------------------------------------------------------------

# Each word here must start with one of _STEMS (below), or lines holding it are never searched.
_ABOUT_APPLYING = re.compile(
    r"\b(?:appl(?:y|ying|ications?|icants?)|admissions?|registrations?|register|enrol(?:l|ment|ling)?"
    r"|expressions? of interest|deadline|cohort|intake|sign[- ]?ups?|accepting|rolling basis|status"
    r"|submissions?|submit|nominations?|proposals|call for|closing date|selection process)\b",
    re.I,
)
# A full stop after "p.m.", "Sept." or "e.g." ends no sentence: "by 5:00 p.m. Eastern Time, November 30".
_SENTENCE_END = re.compile(
    r"(?<=[.!?])(?<!(?i:[ap]\.m\.))(?<!(?i:e\.g\.|i\.e\.))(?<!\b(?i:jan|feb|mar|apr|jun|jul|aug|sep|oct|nov|dec)\.)"
    r"(?<!\b(?i:sept)\.)[\"”')\]]*\s+(?=[A-Z“\"(])"
)
# A "sentence" longer than this is a run of unpunctuated text (a menu, a table) rather than a statement.
_MAX_SENTENCE = 400


class _LastPage:
    """The sentences of the last text read: the status rules and the state all ask for them, one page at a
    time. Held by identity (the text kept alive with it), so another text is never taken for this one."""

    def __init__(self) -> None:
        self.text: str | None = None
        self.sentences: tuple[str, ...] = ()

    def of(self, text: str) -> list[str]:
        if self.text is not text:
            self.sentences = tuple(_find_status_sentences(text))
            self.text = text
        return list(self.sentences)


_last_page = _LastPage()


def find_status_sentences(page_text: str) -> list[str]:
    """The page's own sentences about applications that say something we can classify, in page order."""
    return _last_page.of(page_text or "")


def _find_status_sentences(page_text: str) -> list[str]:
    sentences: list[str] = []
    for line in _candidate_lines(page_text or ""):
        if not _ABOUT_APPLYING.search(line):
            continue
        for sentence in _SENTENCE_END.split(line):
            sentence = sentence.strip()
            if _says_a_state(sentence, bare=False) and sentence not in sentences:
                sentences.append(sentence)
    return sentences


# A line this short may leave the applying implied: "Currently closed.", "Open now.", "Coming soon".
_BARE_WORDS = 4


def is_status_line(text: str) -> bool:
    """Whether `text` is a status line: one brief statement from which the reader reads a state ("Submissions
    are now open", "Nominations close 12 May", "Currently closed.").

    The one notion of a status sentence: `find_status_sentences` picks a page's sentences by it, and the hub
    reader (`monitor.hub`) tells an entry's status lines from its description by it. A statement about
    applying (or a bare line of a few words, where the applying goes without saying) that reads as open,
    closed, opening soon or rolling is one; so is a line that says its status is unknown ("Status unknown.").
    """
    return _says_a_state(_tidy(text or ""), bare=True)


def _says_a_state(sentence: str, *, bare: bool) -> bool:
    if not sentence or len(sentence) > _MAX_SENTENCE:
        return False
    if not _ABOUT_APPLYING.search(sentence) and not (bare and len(sentence.split()) <= _BARE_WORDS):
        return False
    # The date of reading does not change whether a sentence has a state, only which year a date is in; today's
    # date is the one the rules will most likely read the sentence with again (see _read's cache).
    reading = _read(sentence, datetime.now(UTC).date())
    if not _ABOUT_APPLYING.search(sentence) and _EVENT_ONLY.fullmatch(reading.signal):
        return False  # "Launched in 2021.": when something began, with nothing said about applying
    return reading.state is not State.UNKNOWN or (bare and bool(reading.signal))


_EVENT_ONLY = re.compile(r"(?:(?:has|have) )?(?:opened|launched)", re.I)


# Every word _ABOUT_APPLYING knows starts with one of these, lower-cased: a line holding none of them cannot
# match it. Searching one lower-cased copy of the page for them with str.find (in C) replaces a regex search
# of every line, which was most of the cost of reading a page: a typical page has one or two such lines.
_STEMS = ("appl", "admission", "regist", "enrol", "expression", "deadline", "cohort", "intake", "sign",
          "accepting", "rolling basis", "status",
          "submi", "nominat", "proposal", "call for", "closing date", "selection process")  # fmt: skip
# Under re.IGNORECASE these also match ASCII letters of the stems, but str.lower() leaves them non-ASCII (and
# makes "İ" two characters, which would shift positions): a page holding one is read line by line as before.
_FOLD_TO_ASCII = ("\u0130", "\u0131", "\u017f")


# The line breaks of str.splitlines but "\n" ("\r\n" holds "\r").
_OTHER_LINE_BREAKS = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def _candidate_lines(text: str) -> list[str]:
    """The lines of `text` (as str.splitlines gives them, in order) that may hold an _ABOUT_APPLYING word."""
    if not text.isascii() and any(char in text for char in _FOLD_TO_ASCII):
        return text.splitlines()
    lowered = text.lower()  # one character for one: positions in `lowered` are positions in `text`
    hits: list[int] = []
    for stem in _STEMS:
        at = lowered.find(stem)
        while at != -1:
            hits.append(at)
            at = lowered.find(stem, at + 1)
    if not hits:
        return []
    if not any(brk in text for brk in _OTHER_LINE_BREAKS):
        # Lines end at "\n" only (as in extract's texts): each hit's line is found around it, not by cutting
        # the whole page into lines. A hit never holds a line break, so its line is the one it starts in.
        starts = sorted({text.rfind("\n", 0, at) + 1 for at in hits})
        return [text[start:end if (end := text.find("\n", start)) != -1 else len(text)] for start in starts]
    lines = text.splitlines(keepends=True)
    ends = list(accumulate(map(len, lines)))
    wanted = sorted({bisect_right(ends, at) for at in hits})
    # A kept line is never empty, and its own splitlines() drops exactly the line break that ended it.
    return [lines[index].splitlines()[0] for index in wanted]
