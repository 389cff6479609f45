"""The words of status text: how programs say a call is open, closed, opening soon or rolling, and the cue words
that tell what a date is. Kept apart from `monitor.status`, which reads text with them, so that the tables can
be read (and grown) on their own. Each entry is one short wording; `SIGNALS` is searched clause by clause.
"""

from __future__ import annotations

import re

__all__ = ["CUES", "DEADLINE", "NOUN", "OBJECT", "OPENING", "OTHER", "OTHER_NOUN", "SIGNALS", "SUBJECT", "WEAK"]

# What programs call the thing one applies with, or to.
SUBJECT = (
    r"(?:applications?|submissions?|nominations?|registrations?|proposals?|abstracts?|entries|papers?|applicants"
    r"|enrol(?:l)?ments?|admissions?|sign[- ]?ups?|expressions? of interest|eois?|rfps?|calls?(?: for \w+)?"
    r"|(?:the |this |our )?(?:application |registration )?(?:portal|forms?|window|process|period)|intake|round"
    r"|selection(?: process)?|requests? for proposals|cfps?)"
)
OBJECT = r"(?:applications|submissions|nominations|registrations|proposals|abstracts|entries|papers|participants)"
_MONTH_WORD = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"


def _any(*alternatives: str) -> str:
    return "|".join(alternatives)


# Each state's wordings (the state by its value in monitor.status.State), searched in each clause. The explicit
# negatives come first; a negator before any other wording turns it (monitor.status._NEGATED_TO).
SIGNALS: tuple[tuple[str, str], ...] = (
    ("unknown", _any(r"\bstatus (?:is )?(?:unknown|unclear|tbd|tba)\b", r"\bunknown status\b")),
    ("rolling", r"\bno (?:fixed |set |firm |specific |official |formal |application |submission )?"
                    r"(?:deadlines?|closing date|date for (?:the )?(?:submission|applications?|applying))\b"),
    ("opening-soon", _any(r"\bnot (?:yet|open yet|accepting \w+ yet|currently open yet)\b",
                              r"\bnot open until\b")),
    ("closed", _any(
        r"\bno longer (?:accepting|taking|open|available|possible|being accepted|considering)\b",
        r"\b(?:are|is) no longer (?:being )?(?:accepted|considered|possible)\b",
        r"\b(?:is|are|now|currently|have|has|been|was|were|officially|already|temporarily)\s+(?:now\s+)?closed\b",
        r"^\W*closed\b", r"[-–—:|(]\s*closed\W*$", rf"\b{SUBJECT}\s+closed\b", r"\bclosed (?:on|as of|since|in|at)\b",
        r"\b(?:were|was) (?:due|accepted until|open until|possible until|accepted through)\b",
        r"\b(?:deadline|window|period|call|round|cycle|process|registration|competition|season)\s+(?:has |have |is "
        r"|was )?(?:now |already |officially )?(?:passed|expired|ended|over|finished|elapsed|concluded)\b",
        r"\b(?:expired|ended|finished|concluded) (?:on|in|at)\b", r"\bhas (?:now )?(?:ended|finished|concluded)\b",
        r"\b(?:is|are|has been) (?:now )?over\b", r"\b(?:is|are) (?:now )?(?:full|fully booked)\b",
        r"\b(?:has|have) been filled\b", r"\b(?:was|were|had been) (?:still )?open\b",
        r"\bthank(?:s| you) (?:to )?(?:all|everyone|everybody)\b.{0,40}\b(?:appl|submi|regist|nominat|entered|sent)",
        r"\bnot (?:\w+ ){0,3}any ?(?:more|longer)\b", r"\bclos(?:ed|ing) (?:last|yesterday|earlier)\b",
        r"\b(?:are|is) (?:now |currently )?(?:reviewing|evaluating|assessing|processing) (?:the |all |your )?(?:\d+ )?"
        r"(?:applications|submissions|proposals|entries|nominations)\b",
        r"\b(?:period|window|call|round) (?:that |which )(?:has )?(?:ended|closed|expired)\b",
        r"\bselection (?:process )?(?:is|has|was) (?:now )?(?:finished|complete|completed|over|concluded)\b",
        r"\b(?:we|you|they|i) (?:have |'ve |had |just )?missed the (?:\w+ )?deadline\b",
        r"\bjust (?:ended|concluded|closed|finished|wrapped up)\b",
    )),
    ("opening-soon", _any(
        r"\bopen(?:s|ing)? (?:soon|shortly|later)\b", r"\bcoming soon\b", r"\b(?:will|shall|to) (?:re)?open\b",
        r"\bwill be (?:re)?open\b(?! (?:until|till|through)\b)", r"\bstay tuned\b",
        r"\breopen(?:s|ing)? (?:in|on|soon|later|next|for|early|mid|late)\b",
        r"\bwatch(?:ing)? this space\b",
        rf"\bopen(?:s|ing)? (?:again )?(?:in|during|around) (?:early|mid|late|the|spring|summer|autumn|fall|winter"
        rf"|{_MONTH_WORD}|\d)",
        r"\bopening date (?:for|of) (?:the )?\w+ (?:is|will)\b",
        rf"\b{SUBJECT} will be accepted (?:as of|from|starting|beginning)\b",
        rf"\b(?:{SUBJECT}|programmes?|programs?|opportunities|positions|places|details|information)\s+(?:\S+\s+){{0,6}}"
        r"(?:will|is to|are to|to) be (?:published|announced|released|launched"
        r"|posted|ready|available|opened|online|listed)\b",
        rf"\b{SUBJECT}\s+(?:\S+\s+){{0,4}}(?:is|are) (?:planned|expected|anticipated|scheduled)\b",
        r"\b(?:should|expect to|plan to|hope to|aim to|intend to|we'll|will) (?:open|launch|re-?open)\b",
        r"\b(?:expect to|plan to|hope to|aim to|intend to|we'll|will) (?:post|publish|release|announce) (?:the |our )?"
        r"(?:\S+ )?(?:applications?|call|form|rfp|request for proposals)\b",
        r"\bwill be able to (?:apply|submit|register|complete (?:the |their |your )?application)\b",
        r"\bbefore the (?:application |registration |submission )?(?:window|portal|call) opens\b",
        r"\bregister (?:your )?interest\b", r"\bwait ?list\b", r"\bcheck back\b",
        r"\bcheck (?:the|our|this) (?:website|page|site)\b(?:\s+\w+){0,3}\s+for (?:further |more )?"
        r"(?:updates|information|details|news)\b",
        r"\b(?:join|sign up (?:for|to)|subscribe to) (?:the |our )?(?:mailing list|newsletter|updates)\b",
        r"\bto be (?:the first to )?(?:notified|informed)\b", r"\bremind you\b",
        r"\b(?:tell|notify|email|inform|let) you (?:know )?(?:when|once|as soon as)\b",
        r"\bleave your (?:e-?mail|details)\b",
        r"\bsubscribe\b.{0,40}\b(?:news|next|updates)\b", r"\b(?:next|upcoming|future) (?:intake|round|call|cycle)\b",
        r"\b(?:when|once|as soon as) (?:it|they|the (?:next )?\w+|applications?|registrations?|submissions?)"
        r"\s+(?:opens?|re-?opens?|are open|goes live|go live|launch(?:es)?)\b",
        r"\bbefore (?:the )?(?:official )?(?:opening|launch)\b", r"\bin advance of the (?:application|opening|call)\b",
        # The start of applying, said with a start verb: "Student application period begins", "you can start to
        # enrol on 1 November", "can be submitted starting January 22" (the past tense, "began", is read open).
        rf"\b{SUBJECT}\s+(?:period\s+|process\s+)?(?:begins|starts|commences|will (?:begin|start|commence))\b"
        r"(?!\s+(?:accepting|taking|receiving))",
        r"\b(?:start|begin) to (?:apply|enrol\w*|register|submit|nominate)\b",
        r"\b(?:can|may) be (?:submitted|sent|made|lodged|filed) (?:starting|beginning|from)\b",
        r"\bwill be started (?:from|on|in)\b",
    )),
    ("rolling", _any(
        r"\brolling (?:basis|applications?|admissions?|deadlines?|intake|review|submissions?|process|call|scheme"
        r"|programme|program|cycle|recruitment)\b",
        r"\b(?:applications?|submissions?|admissions?) (?:are )?rolling\b",
        r"\b(?:apply|submit|register) (?:at )?any ?time\b",
        r"\b(?:throughout the year|all year round|year[- ]round|all year long)\b",
        r"\bcontinuously (?:\w+ )?open\b",
        r"\buntil (?:all )?(?:the )?(?:funds?|budget|places|positions?|spots|seats|slots|openings)\b"
        r"(?:\s+\S+){0,6}\s+(?:exhausted|depleted|spent|used up|committed|allocated|filled|run out|taken|gone)\b",
        r"\bfirst[- ]come,? first[- ]serve[d]?\b", r"\bat any time (?:during|of|in|throughout) the year\b",
        r"\b(?:may|can) be \w+ at any (?:time|point)\b",
        r"\b(?:appl\w*|submi\w*|regist\w*|accepted|considered|received)\s+(?:\w+\s+){0,3}at any (?:time|point)\b"
        r"(?! before)",
        r"\bon an? (?:ongoing|continuous|continual|monthly) basis\b",
        r"\b(?:reviewed|considered|assessed) as (?:they (?:come|are received|arrive)|received)\b",
        r"\bopen[- ]ended\b",
        r"\bcontinuously (?:open|accepting)\b", r"\b(?:of )?(?:each|every) (?:calendar )?month\b", r"\bmonthly\b",
        r"^\W*rolling\W*$",  # a hub's or a table's one-word status
        r"\bno (?:restrictions?|limits?) on (?:\w+ ){0,12}?when (?:\w+ )?(?:can|may) (?:apply|submit|register)\b",
    )),
    ("open", _any(
        r"\b(?:is|are|now|currently|still|remains?|officially)\s+(?:now\s+)?open\b(?!\s+(?:soon|later))",
        r"\bopen now\b",
        r"\b(?:apply|register|submit|sign up|enrol(?:l)?|nominate)\s+(?:now|today|here|online|by|before|until|via"
        r"|through|at(?! any)|on or before|no later than)\b",
        # "Applications open | 8 December 2021" and "Applications open: 1 March" give an opening date instead.
        rf"\b{SUBJECT}\s+(?:are\s+|is\s+)?(?:now\s+)?open\b(?=\s*(?:[.!,;)]|$|now|for|to|until|till|through|and"
        r"|with))",
        rf"(?<!start )(?<!starts )(?<!begin )(?<!begins )\b(?:accepting|taking|inviting|welcom(?:e|ing)|seeking"
        rf"|soliciting) (?:\w+ ){{0,2}}(?:{OBJECT}|eois?|expressions? of interest)\b",
        rf"\b{SUBJECT}\s+(?:(?:are|is|now|being|be|still|currently|also|not|no longer|gladly)\s+){{0,4}}"
        r"(?:accepted|welcome|invited|solicited|permitted|allowed)\b",
        r"\b(?:invit(?:e|es|ing)|welcom(?:e|es|ing)) (?:\w+ )?(?:applications|submissions|proposals|nominations|papers"
        r"|abstracts|applicants|participants|entries|speakers)\b",
        r"(?<!\bour )(?<!\bthe )(?<!\bthis )(?<!\blast )(?<!\b\d{4} )\bcall for (?:applications|submissions|proposals"
        r"|nominations|papers|abstracts|applicants|participants|entries|speakers)\b"
        r"(?!\s+(?:is|are|has|have|was|were)\s+(?:now\s+)?(?:been\s+)?(?:closed|over|ended))",
        r"\b(?:has|have) been (?:postponed|extended)\b", r"(?:^|[|:])\s*(?:now )?open\s*(?:[|.!]|$)",
        r"\b(?:are|is) (?:most |very )?welcome to (?:apply|submit|register|nominate|send)\b",
        r"\bopening (?:the |our )?(?:applications?|registrations?|call|submissions?)\b",
        r"\bopen for (?:applications?|registrations?|enrol(?:l)?ments?|submissions?|nominations?|proposals)\b",
        r"\benrol(?:l)?able\b", r"\bwill (?:be |remain |stay )open (?:until|till|through)\b",
        r"\b(?:releases?|issues?|announces?|launch(?:es)?) (?:its |the |a |our |an )?(?:\S+ )?(?:request for proposals"
        r"|rfps?|call for \w+|funding call|open call)\b",
        r"\b(?:continue|continues) to (?:accept|take|welcome) (?:\w+ )?(?:applications|submissions|nominations)\b",
        r"\b(?:is|are) (?:now )?(?:live|online)\b", r"\bclos(?:e|es|ing) soon\b", r"\blast chance\b",
        r"\bstill time to\b",
        r"\b(?:opened|have opened|has opened|launched)\b", r"\b(?:drawing|coming) to a close\b",
        r"\b(?:can|may)\s+(?:\w+\s+){0,3}(?:now|still)\s+(?:apply|register|submit|enrol\w*|sign up|nominate)\b",
        # The start of applying in the past tense: "The registration process ... began on June 20, 2020".
        rf"\b{SUBJECT}\s+(?:\S+\s+){{0,6}}?(?:began|started|commenced|(?:has|have) (?:begun|started|commenced))\b",
        rf"\b{SUBJECT}\s+(?:end|ends|close|closes|closing|(?:are |is )?due)\s+(?:in|within)\s+(?:\w+\s+)?"
        r"(?:days?|weeks?|months?|hours?)\b",
    )),
)

DEADLINE, OPENING, OTHER, NOUN, OTHER_NOUN, WEAK = "deadline", "opening", "other", "noun", "other_noun", "weak"
CUES = re.compile(
    r"(?P<deadline>\b(?:deadlines?|due|clos(?:e|es|ed|ing)|cut-?off|last (?:day|date|chance)|appl(?:y|ying)"
    r"|submit(?:ted|ting)?|register(?:ed)?|sign(?:ed)?[- ]up|enrol(?:l)?(?:ed)?|received|receipt|postmarked"
    r"|expir(?:e|es|ed|y)|ends|ended|(?:will|and|to|shall) end|rsvp|nominate|accepted|welcome|extensions?|extended"
    r"|return(?:ed)?|sen[dt]|e-?mailed|mailed|upload(?:ed)?|filed"
    r"|round \w{1,3}\s*:)\b)"
    r"|(?P<opening>\b(?:open(?:s|ed|ing)?|reopen(?:s|ed|ing)?|launch(?:es|ed|ing)?|go(?:es)? live"
    r"|available(?: from|(?! to\b))|accepting|post|publish(?:ed)?|release[sd]?)\b)"
    r"|(?P<other>\b(?:decisions?|decide[ds]?|notif(?:y|ied|ication|ications)|hear|informed|contacted"
    r"|announce(?:d|s|ment)?|results?|interviews?|start(?:s|ed|ing)?|begin(?:s|ning)?|commenc(?:e|es|ing)|runs?|ran"
    r"|running|held|hold|takes? place|taking place|established|founded|updated|posted|dated|arrive|arrival"
    r"|confirm\w*|finish(?:ed)?|completion|reviewing|eligible|meets?"
    r"|respond|response|reply|selected|outcomes?|feedback|kick-?off|orientation|review(?:ed|s)?|evaluat\w*"
    r"|assess(?:ed|ment)|offers?|will be made|older|younger|aged?|born|after|as of|from"
    r"|(?:accepted|invited|selected|successful|admitted|shortlisted)\s+(?:\S+\s+){0,2}(?:participants?|students?"
    r"|applicants?|fellows?|authors?|candidates?|scholars?|speakers?|papers?))\b)"
    r"|(?P<other_noun>\b(?:payments?|fees?|tuition|deposits?|balance|invoices?|refunds?|cancellations?|withdrawals?"
    r"|voting|votes?"
    r"|early[- ]bird(?: registration)?|early registration|comments|replies|recommendations?|references"
    r"|event|conference|workshops?|sessions?|cohort|residency|internship|hotel|accommodation|thesis|dissertation"
    r"|referees?|recommenders?|letters of (?:reference|recommendation)|services?|printing|travel|visas?"
    r"|final (?:papers?|versions?|manuscripts?)|camera[- ]ready(?: papers?| versions?)?|revised (?:papers?|versions?)"
    r"|announcements?)\b)"
    rf"|(?P<noun>\b{SUBJECT}\b)"
    r"|(?P<weak>\b(?:by|before|until|till|through|thru|no later than|up to|not later than|prior to|on or before)\b)",
    re.I,
)
