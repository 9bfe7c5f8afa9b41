"""Sentence extraction from Debian's `fortunes` and `wordnet-base` packages.

Every fortune file of the `fortunes` and `fortunes-min` packages (except
ascii-art; read from dpkg's file lists, so that another fortune package
installed in the same directory cannot change the sentences, and with them
which are held out) is split into fortunes, attribution lines ("-- Author") are dropped, each fortune is cut
into sentences at . ! ?, and every sentence is normalised to what the model
writes: lower-case letters, apostrophe and single spaces.

A sentence is kept only when its normalised text is exactly what espeak-ng will
say, so anything espeak would expand differently from its spelling is rejected:
digits, symbols, acronyms in capitals, abbreviations, stray single letters.
Kept sentences have 4-16 words; duplicates are removed.

WordNet's usage examples (the quoted sentences in each synset's gloss, e.g.
"they contested the outcome of the race") are extra training text: 33 k
sentences of everyday English that put many of the fortunes' rare words in
more contexts. WordNet's definitions ("a serious examination and judgment of
something") are a further 104 k usable phrases, with many words the
fortunes and examples never use. The held-out sentences are always drawn from the fortunes.
"""

import os
import re

FORTUNE_DIR = "/usr/share/games/fortunes"
FORTUNE_PACKAGES = ("fortunes", "fortunes-min")
DPKG_INFO = "/var/lib/dpkg/info"
WORDNET_DIR = "/usr/share/wordnet"
WORDNET_PARTS = ("noun", "verb", "adj", "adv")
SKIP_FILES = {"ascii-art"}
MIN_WORDS, MAX_WORDS = 4, 16

_REJECT_CHARS = re.compile(r"[0-9@#$%&*/\\_=<>|\[\]{}~^+`]")
_ACRONYM = re.compile(r"\b[A-Z]{2,}\b")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_QUOTED = re.compile(r'"([^"]+)"')
_PARENTHESISED = re.compile(r"\([^()]*\)")
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "jr", "sr", "etc", "vs", "eg",
                  "ie", "co", "inc", "ltd", "prof", "rev", "gen", "col", "lt",
                  "sgt", "capt", "gov", "sen", "rep", "no", "vol", "ch", "pp"}
_SINGLE_LETTER_WORDS = {"a", "i", "o"}


def normalise(text):
    """Lower-case, hyphens and dashes to spaces, only [a-z' ] kept, spaces collapsed.

    Apostrophes survive only inside words (so quotes 'like this' lose theirs).
    """
    text = text.lower().replace("-", " ")
    text = re.sub(r"[^a-z' ]", " ", text)
    words = [w.strip("'") for w in text.split()]
    return " ".join(w for w in words if w)


def fortunes(path):
    """Yield each fortune of one file as one line of text, attributions removed."""
    with open(path, encoding="latin-1") as f:
        raw = f.read()
    for block in raw.split("\n%\n"):
        lines = []
        for line in block.splitlines():
            if line.strip().startswith("--"):
                break  # attribution: this line and the rest of the fortune
            lines.append(line.strip())
        text = " ".join(l for l in lines if l)
        if text:
            yield text


def usable(sentence):
    """The normalised sentence if espeak will say exactly it, else None."""
    if not sentence.isascii() or "\b" in sentence:  # overstruck text
        return None
    if _REJECT_CHARS.search(sentence) or _ACRONYM.search(sentence):
        return None
    if re.search(r"\b[A-Za-z]\.", sentence):  # initials, e.g. "J. Smith"
        return None
    text = normalise(sentence)
    words = text.split()
    if not MIN_WORDS <= len(words) <= MAX_WORDS:
        return None
    for w in words:
        if w in _ABBREVIATIONS or (len(w) == 1 and w not in _SINGLE_LETTER_WORDS):
            return None
        if w.count("'") > 1:
            return None
    return text


def fortune_files():
    """The fortune files FORTUNE_PACKAGES installed, sorted by name."""
    paths = []
    for package in FORTUNE_PACKAGES:
        listing = os.path.join(DPKG_INFO, package + ".list")
        if not os.path.exists(listing):
            raise SystemExit(f"package {package} is not installed (apt-get install {package})")
        with open(listing) as f:
            paths += [l.strip() for l in f if os.path.dirname(l.strip()) == FORTUNE_DIR]
    names = {os.path.basename(p) for p in paths}
    return [os.path.join(FORTUNE_DIR, n) for n in sorted(names)
            if "." not in n and n not in SKIP_FILES]


def usable_sorted(candidates):
    """The usable normalised texts of candidates, deduplicated, in a fixed order (sorted)."""
    return sorted({text for text in map(usable, candidates) if text})


def extract_sentences():
    """All usable sentences, deduplicated, in a fixed order (sorted)."""
    return usable_sorted(sentence for path in fortune_files() for fortune in fortunes(path)
                         for sentence in _SENTENCE_END.split(fortune))


def wordnet_glosses(wordnet_dir=WORDNET_DIR):
    """Yield the gloss of every synset of WordNet's data.* files, in file order.

    A data.* line is one synset; its gloss follows the first '|'. Lines
    starting with spaces are the file's license header."""
    for part in WORDNET_PARTS:
        with open(os.path.join(wordnet_dir, "data." + part), encoding="latin-1") as f:
            for line in f:
                if not line.startswith(" ") and "|" in line:
                    yield line.split("|", 1)[1]


def extract_wordnet_examples(wordnet_dir=WORDNET_DIR):
    """WordNet's usable usage examples (the double-quoted parts of each gloss),
    deduplicated, in a fixed order (sorted)."""
    return usable_sorted(example for gloss in wordnet_glosses(wordnet_dir)
                         for example in _QUOTED.findall(gloss))


def extract_wordnet_definitions(wordnet_dir=WORDNET_DIR):
    """WordNet's usable definitions, deduplicated, in a fixed order (sorted).

    A gloss is its definitions and its quoted examples, separated by ';'
    ("a native or inhabitant of Slovenia"); parenthesised parts, often a
    field label ("(basketball)"), are dropped first."""
    parts = (part.strip() for gloss in wordnet_glosses(wordnet_dir)
             for part in _PARENTHESISED.sub(" ", gloss).split(";"))
    return usable_sorted(part for part in parts if not part.startswith('"'))


if __name__ == "__main__":
    sentences = extract_sentences()
    print(len(sentences), "sentences")
    for s in sentences[::max(1, len(sentences) // 20)]:
        print(" ", s)
