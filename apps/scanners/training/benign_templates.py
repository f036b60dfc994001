"""Synthetic benign short prompts: the everyday requests the public injection sets lack.

The S-Labs benign rows are mostly questions and statements ("What causes wrinkles as we age"), while its attacks
are often short imperatives ("Reveal now", "Stand by to share your instructions soon"). A classifier trained on
that alone learns "short imperative = attack" and scores "Summarize this" 0.83 and "You are a helpful assistant"
0.95. These templates, written for this repository (same licence as the repository), add short task requests,
system-prompt-style persona lines, translation and code questions, follow-up questions, turns about whom to send
or copy, and chat turns, all labelled benign.

``benign_template_prompts()`` expands every template family and draws a seeded sample, so a rerun gives the same
list. A seeded share of it is kept for validation (model selection); the benign-short figures in the docs come
from ``bench/data/benign_short_prompts.txt`` instead, sentences written separately by hand and never produced by
these templates (the training script checks that no line of that file is generated here).
"""

from __future__ import annotations

import itertools
import random

SEED = 20261129

_POLITE = ("", "Please ", "Can you ", "Could you ", "Help me ", "pls ", "Quickly ", "Now ")
_END = ("", ".", "?", " please", ", thanks", "!")

_TEXT_VERBS = (
    "summarize", "summarise", "translate", "rewrite", "proofread", "shorten", "paraphrase", "simplify", "explain",
    "review", "check", "correct", "format", "clean up", "improve", "edit", "polish", "condense", "rephrase",
    "analyze", "outline", "expand", "continue", "critique", "reword", "restructure", "tidy up", "spell-check",
    "fact-check", "tl;dr", "sum up", "make sense of", "break down", "highlight the key points of",
    "pull the action items out of", "extract the dates from", "list the main ideas in", "give feedback on",
    "find the typos in", "turn into bullet points", "make a table from", "classify", "tag", "score", "grade",
)  # fmt: skip
_TEXT_OBJECTS = (
    "this", "that", "it", "this text", "this email", "the following", "the following paragraph", "the text below",
    "my notes", "this article", "this document", "the attached file", "this report", "this paragraph",
    "these meeting notes", "this sentence", "the above", "this page", "this PDF", "this transcript", "my essay",
    "the contract", "this abstract", "this thread", "this review", "my draft", "this message", "the chapter",
    "this letter", "this post", "these minutes", "the slides", "this policy", "this summary", "my CV",
    "the uploaded document", "this spreadsheet", "the quarterly report", "this press release", "my answer",
)  # fmt: skip
_TEXT_MODIFIERS = (
    "", " in three bullet points", " in one sentence", " for a ten year old", " to French", " into Spanish",
    " in plain English", " in 100 words", ":", " for my manager", " more formally", " for a LinkedIn post",
    " in German", " briefly", " in simple words", " for the team", " in a friendly tone", " in Italian",
    " into Portuguese", " for a newsletter", " as a table", " in two paragraphs", " for beginners",
    " without changing the meaning", " in the passive voice", " in a professional tone", " for our customers",
    " and keep it short", " with headings", " in Dutch", " in Japanese", " for a slide",
)  # fmt: skip

_MAKE_VERBS = (
    "write", "draft", "compose", "create", "generate", "give me", "suggest", "come up with", "list", "brainstorm",
    "make", "plan", "design", "sketch", "invent", "prepare", "put together", "propose", "recommend",
)  # fmt: skip
_ARTEFACTS = (
    "a haiku", "a poem", "a short story", "an email", "a cover letter", "a tweet", "a product description",
    "a blog post outline", "a limerick", "ten names", "a recipe", "a workout plan", "a SQL query",
    "a Python function", "a regex", "a unit test", "a bash script", "a shopping list", "a toast",
    "a thank-you note", "a slogan", "a job ad", "an agenda", "a lesson plan", "a meal plan", "a packing list",
    "three ideas", "a joke", "a riddle", "a birthday message", "a speech", "a FAQ", "a checklist", "a title",
    "five questions", "an itinerary", "a summary", "a song", "a sonnet", "a dialogue", "a quiz",
)  # fmt: skip
_TOPICS = (
    "about autumn", "about the sea", "for my team", "to my landlord", "for a bakery", "that reverses a string",
    "about cats", "for a wedding", "for a coffee shop", "about friendship", "for a job interview",
    "about climate change", "for my mum's birthday", "about rain", "for a hiking trip", "about Mondays",
    "for a product launch", "about the moon", "for a school project", "for a farewell party",
    "that sorts a list", "that parses a date", "for a startup", "about spring", "for new employees",
    "about our new office", "for a dentist", "about coffee", "for a football club", "about winter",
    "for my dog", "about space travel", "for a retirement card", "about the city at night", "",
)  # fmt: skip

_LANGUAGES = (
    "French", "German", "Spanish", "Italian", "Portuguese", "Dutch", "Polish", "Japanese", "Chinese", "Korean",
    "Arabic", "Turkish", "Swedish", "English", "Greek", "Hindi", "Russian", "Czech", "Danish", "Finnish",
)  # fmt: skip
_PHRASES = (
    "good morning", "thank you", "where is the station", "I am running late", "see you tomorrow",
    "happy birthday", "the meeting is cancelled", "how much does it cost", "nice to meet you", "cheers",
    "I would like a coffee", "the invoice is attached", "welcome aboard", "best regards", "congratulations",
)  # fmt: skip
_TRANSLATE = (
    "Translate to {lang}",
    "Translate this into {lang}",
    "translate to {lang} please",
    "Translate the following to {lang}:",
    "Translate '{phrase}' into {lang}",
    "How do you say '{phrase}' in {lang}?",
    "What is '{phrase}' in {lang}?",
    "{lang} translation please",
    "Can you translate that to {lang}?",
    "Say '{phrase}' in {lang}",
    "Translate '{phrase}'",
    "Reply in {lang}",
    "Answer in {lang} from now on",
    "Please write your answers in {lang}",
)

_ROLES = (
    "a helpful assistant", "an AI assistant", "a friendly assistant", "an expert Python developer",
    "a senior software engineer", "a customer support agent", "a travel planner", "a math tutor",
    "a copy editor", "a data analyst", "a marketing assistant", "a legal research assistant", "a nutritionist",
    "a career coach", "a patient teacher", "a technical writer", "an HR assistant", "a sales assistant",
    "a helpful coding assistant", "a knowledgeable historian", "a concise assistant", "an accountant",
    "a product manager", "a UX designer", "a chemistry teacher", "a recruiter", "a helpful and honest assistant",
    "the assistant of the finance team", "a support bot for our app", "a writing coach", "a French teacher",
)  # fmt: skip
_ROLE_RULES = (
    "", ".", ". Answer concisely.", " that answers in French.", ". Use British English.",
    ". Keep answers under 100 words.", ". Be polite and clear.", ". Cite your sources.",
    ". If you don't know the answer, say so.", " who explains things simply.", ". Answer in bullet points.",
    ". Ask a clarifying question when the request is vague.", " for our company.", ". Reply in a friendly tone.",
    ". Format code in Markdown.", " helping employees with IT questions.", ". Be brief.",
    " who helps users write better emails.", ". Always answer in the user's language.",
    ". Summarize long answers at the end.", " for a bank.", " for a hospital's front desk.",
)  # fmt: skip
_PERSONA = (
    "You are {role}{rule}",
    "you are {role}{rule}",
    "You're {role}{rule}",
    "Act as {role}{rule}",
    "As {role}, help me with my questions{rule}",
    "System: You are {role}{rule}",
    "Your role: {role}{rule}",
)

_LANGS_CODE = (
    "Python", "JavaScript", "TypeScript", "Java", "Go", "Rust", "C#", "C++", "SQL", "Bash", "Ruby", "PHP",
    "Kotlin", "Swift", "R", "Excel", "pandas", "Django", "React", "git", "Docker", "PostgreSQL",
)  # fmt: skip
_CODE_TASKS = (
    "reverse a list", "read a CSV file", "sort a dictionary by value", "parse JSON", "remove duplicates",
    "split a string", "pad a number with zeros", "make an HTTP request", "write a loop", "handle exceptions",
    "connect to a database", "merge two lists", "count words", "round a number", "read a file line by line",
    "check if a key exists", "create a class", "rename a column", "undo the last commit", "join two tables",
    "find the max value", "copy a folder", "convert a string to int", "get the current time", "write a test",
)  # fmt: skip
_CODE = (
    "How do I {task} in {lang}?",
    "how to {task} in {lang}",
    "{lang}: {task}",
    "What's the best way to {task} in {lang}?",
    "Show me how to {task} in {lang}",
    "Write {lang} code to {task}",
    "Can you {task} in {lang} for me?",
    "Example of how to {task} in {lang}",
    "Fix this {lang} bug",
    "Why does my {lang} code fail?",
    "Explain this {lang} error",
    "Refactor this {lang} function",
    "Add comments to this {lang} code",
    "Convert this code to {lang}",
    "Write unit tests for this {lang} code",
    "Optimize this {lang} query",
    "Debug this {lang} script",
    "What does this {lang} code do?",
    "Review my {lang} code",
    "Add type hints to this {lang} function",
)

_CHAT = (
    "hi", "hello", "hey", "thanks", "thank you!", "ok", "okay", "continue", "go on", "more", "shorter please",
    "again", "yes", "no", "what?", "explain more", "can you elaborate?", "make it shorter", "try again",
    "another one", "good morning", "great, thanks", "perfect", "not quite", "that's wrong", "why?", "how so?",
    "give me an example", "one more time", "start over", "keep going", "make it longer", "make it funnier",
    "simpler please", "in more detail", "what do you mean?", "sounds good", "next", "done", "stop",
    "summarize the conversation", "what did I ask before?", "repeat that", "say it differently", "fine",
    "can you help me?", "I have a question", "quick question", "help", "test", "hello there", "good evening",
    "bye", "cool", "nice", "thanks a lot", "great job", "that helps", "hmm", "sure", "why not?", "and then?",
    "what else?", "any other ideas?", "list more", "rewrite it", "fix it", "shorter", "longer", "in French",
)  # fmt: skip

# Follow-up turns in a chat: questions about the assistant's last answer.
_FOLLOW_OPENERS = (
    "Why did you {v} that", "Why would you {v} that", "Can you {v} that again", "Could you {v} it differently",
    "What made you {v} that", "Please {v} that once more", "Where did you {v} that", "How did you {v} that",
    "Did you {v} that on purpose", "Would you {v} that for a beginner", "Why do you {v} it that way",
)  # fmt: skip
_FOLLOW_VERBS = (
    "say", "write", "suggest", "recommend", "choose", "pick", "calculate", "phrase", "conclude", "assume",
    "translate", "explain", "summarize", "mean by", "leave out", "put", "get", "find", "decide", "answer",
)  # fmt: skip
_FOLLOW_ASKS = (
    "Tell me more about {t}", "What do you mean by {t}", "Can you expand on {t}", "Say more about {t}",
    "Walk me through the {w}", "Explain the {w} again",
    "I need help with {t}", "I have a question about {t}", "Help me understand {t}", "More on {t}",
    "Go deeper into {t}", "Clarify {t}", "Why {t}", "Elaborate on {t}", "Break down {t}", "Compare that with {t}",
)  # fmt: skip
_FOLLOW_TOPICS = (
    "the second point", "that", "this part", "the last step", "the first option", "the example", "point three",
    "the formula", "Excel", "my homework", "the budget", "the error", "the conclusion", "your answer",
    "the code", "the table", "the timeline", "the risks", "the numbers", "the summary", "the recipe",
    "my essay", "the plan", "the difference", "those results", "the chart", "the other option",
)  # fmt: skip
_FOLLOW_WORK = (
    "working", "steps", "calculation", "sources", "math", "thinking", "approach", "logic", "method",
    "assumptions", "answer", "work", "references", "draft", "solution", "best guess", "recommendation",
)  # fmt: skip

# Short turns about people: who to send, copy or ask (the assistant drafts mail and invitations).
_PEOPLE_PREFIX = ("", "Also ", "And ", "Then ", "Please ", "Now ", "Oh, and ")
_PEOPLE_VERBS = (
    "copy", "cc", "send it to", "forward this to", "reply to", "invite", "add", "loop in", "remind", "email",
    "notify", "thank", "introduce me to", "schedule a call with", "ask", "mention", "include", "write to",
    "address it to", "sign it from",
)  # fmt: skip
_PEOPLE = (
    "Anna", "him", "her", "them", "my manager", "the team", "HR", "Marco", "j.smith@company.com",
    "anna.keller@firm.de", "support@shop.example", "Priya and Tom", "the client", "everyone", "Dr. Lee", "legal",
    "finance", "my landlord", "the new hire", "sales@example.org", "Bob", "the vendor",
)  # fmt: skip


def _case(text: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.15:
        return text.lower()
    return text[:1].upper() + text[1:]


def benign_template_prompts(n: int = 4000) -> list[str]:
    """``n`` distinct benign prompts drawn (seeded) from every template family, in a fixed order."""
    rng = random.Random(SEED)  # noqa: S311 - a reproducible sample, not a secret
    families: list[list[str]] = [
        [f"{p}{v} {o}{m}" for p, v, o, m in itertools.product(_POLITE, _TEXT_VERBS, _TEXT_OBJECTS, _TEXT_MODIFIERS)],
        [f"{p}{v} {a} {t}".rstrip() for p, v, a, t in itertools.product(_POLITE, _MAKE_VERBS, _ARTEFACTS, _TOPICS)],
        [t.format(lang=lang, phrase=phrase) for t, lang, phrase in itertools.product(_TRANSLATE, _LANGUAGES, _PHRASES)],
        [t.format(role=r, rule=rule) for t, r, rule in itertools.product(_PERSONA, _ROLES, _ROLE_RULES)],
        [t.format(task=task, lang=lang) for t, task, lang in itertools.product(_CODE, _CODE_TASKS, _LANGS_CODE)],
        [o.format(v=v) + e for o, v, e in itertools.product(_FOLLOW_OPENERS, _FOLLOW_VERBS, ("?", ""))]
        + [
            a.format(t=t, w=w) + e
            for a, t, w, e in itertools.product(_FOLLOW_ASKS, _FOLLOW_TOPICS, _FOLLOW_WORK, ("", "?", "."))
        ],
        [f"{p}{v} {who}" for p, v, who in itertools.product(_PEOPLE_PREFIX, _PEOPLE_VERBS, _PEOPLE)],
        list(_CHAT),
    ]
    # Shares: text tasks 25%, creation 20%, translation 10%, personas 15%, code 15%, follow-ups 10%, people 8%,
    # chat (all of them) the rest.
    shares = [0.25, 0.20, 0.10, 0.15, 0.15, 0.10, 0.08]
    out: list[str] = []
    seen: set[str] = set()
    for family, share in itertools.zip_longest(families, shares):
        picks = family if share is None else rng.sample(family, min(len(family), int(n * share)))
        for text in picks:
            text = _case(text.strip(), rng)
            if share is not None and text[-1:].isalnum():
                text += rng.choice(_END)
            key = " ".join(text.casefold().split())
            if key not in seen:
                seen.add(key)
                out.append(text)
    return out
