"""Text in, clean tokens out: normalisation, language detection and tokenisation for zh and en.

These three functions (``normalize``, ``detect_language``, ``tokenize``) are shared by the text and
support capabilities; their names and signatures are stable. They are pure Python, need no model
download and are fast enough to run inside the sentiment models (thousands of texts per second).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

__all__ = [
    "CHINESE_NEGATORS",
    "CHINESE_STOP_WORDS",
    "ENGLISH_NEGATORS",
    "ENGLISH_STOP_WORDS",
    "NEGATION_SUFFIX",
    "add_user_words",
    "detect_language",
    "load_user_dict",
    "normalize",
    "tokenize",
]

NEGATION_SUFFIX = "_NEG"

# Words that flip the sentiment of what follows. They are never stop words.
ENGLISH_NEGATORS = frozenset(
    "not no never nor none nobody nothing nowhere neither cannot cant without hardly barely "
    "dont doesnt didnt isnt arent wasnt werent wont wouldnt shouldnt couldnt havent hasnt hadnt aint".split()
)
CHINESE_NEGATORS = frozenset(
    "不 没 没有 无 未 别 非 莫 勿 不是 不要 不会 不能 不够 不太 不怎么 毫无 并不 从不 绝不 从来不 "
    "没什么 并没有 一点也不 一点都不".split()
)

# scikit-learn's English list minus the negators and a few words that carry sentiment.
_EN_STOP = (
    "a about above after again against all am an and any are as at be because been before being below "
    "between both but by could did do does doing down during each few for from further had has have having "
    "he her here hers herself him himself his how i if in into is it its itself just me more most my myself "
    "of off on once only or other our ours ourselves out over own same she should so some such than that "
    "the their theirs them themselves then there these they this those through to too under until up very "
    "was we were what when where which while who whom why will with would you your yours yourself "
    "yourselves s t d ll m re ve y im ive id youre thats its theres u ur"
)
ENGLISH_STOP_WORDS = frozenset(_EN_STOP.split()) - ENGLISH_NEGATORS

CHINESE_STOP_WORDS = frozenset(
    "的 了 是 在 我 我们 你 你们 他 她 它 他们 这 那 这个 那个 这些 那些 就 也 都 还 和 与 及 或 而 "
    "又 被 把 让 给 对 从 向 于 以 之 其 一 一个 一些 一下 个 些 着 过 吗 呢 吧 啊 呀 哦 嗯 哈 啦 么 "
    "得 地 之后 之前 然后 但是 但 不过 因为 所以 如果 虽然 而且 并且 就是 还是 已经 可以 会 能 要 "
    "有 去 来 说 到 上 下 里 中 后 前 时 时候 等 等等 什么 怎么 这样 那样 这么 那么 自己 大家 每 各 "
    "该 此 为 为了 由 将 并 再 才 又 更 比 比较 其实 真的 感觉 觉得 一直 当时 可能 应该".split()
)

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RE = re.compile(f"[{_HAN}]")
_KANA_RE = re.compile(r"[\u3040-\u30ff]")
_HANGUL_RE = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
_OTHER_SCRIPT_RE = re.compile(r"[\u0400-\u04ff\u0590-\u06ff\u0900-\u0dff\u0e00-\u0e7f]")
_LATIN_WORD_RE = re.compile(r"[A-Za-z\u00c0-\u024f]+")
_NON_ASCII_LATIN_RE = re.compile(r"[\u00c0-\u024f]")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_WS_RE = re.compile(r"\s+")

_EMOJI = (
    r"(?:[\U0001F1E6-\U0001F1FF]{2}"
    r"|[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2190-\u21FF\u2300-\u23FF]"
    r"[\uFE0F\U0001F3FB-\U0001F3FF]*(?:\u200D[\U0001F300-\U0001FAFF\u2600-\u27BF][\uFE0F]*)*)"
)
_EMOTICON = r"(?:[<>]?[:;=8xX][\-o\*']?[\)\]\(\[dDpP/\\|@3]+|<3+|\^_*\^|[Tt]_[Tt]|[oO]_[oO]|:'\()"
_SPECIAL_RE = re.compile(f"({_URL_RE.pattern}|{_EMOJI}|(?<![A-Za-z0-9]){_EMOTICON}(?![A-Za-z0-9]))")
_EN_TOKEN_RE = re.compile(r"[@#]?[a-z0-9\u00c0-\u024f]+(?:['’][a-z]+)*|[.,!?;:。，！？；：…]")
_WORDLIKE_RE = re.compile(f"[0-9a-z\u00c0-\u024f{_HAN}]")
_PUNCT = frozenset(".,!?;:。，！？；：…、\n")

_EN_FUNCTION = frozenset(
    "the and is are was were to of you your it this that for with my have has not but be on at "
    "i me we they our so just what all can will would been do does did an from".split()
)
_FOREIGN_FUNCTION = frozenset(
    "de la el que y en los las del por con una para es lo se le les et est une des du pas qui dans pour "
    "sur au aux der und das ist nicht ich sie ein eine mit auf den dem zu auch sich il che di per non sono "
    "della una il não os com uma para het een van ik je niet dat wel".split()
)


@lru_cache(maxsize=1)
def _converter():  # noqa: ANN202 - opencc has no types
    from opencc import OpenCC

    return OpenCC("t2s")


@lru_cache(maxsize=1)
def _traditional_chars() -> frozenset[str]:
    """Characters that only occur in traditional script: texts without them skip the slow converter."""
    import opencc

    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    chars = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        key, _, values = line.partition("\t")
        if key and key not in values.split():
            chars.add(key)
    return frozenset(chars)


def normalize(text: object) -> str:
    """One canonical form per text, so that models see the same string for the same meaning.

    NFKC folds full-width letters and digits, traditional Chinese becomes simplified (OpenCC
    tables), whitespace collapses; emoji and emoticons are kept as they carry sentiment.

    Examples
    --------
    >>> normalize("這個產品 質量很好！ＯＫ 👍")
    '这个产品 质量很好!OK 👍'
    """
    if text is None or (isinstance(text, float) and text != text):
        return ""
    value = unicodedata.normalize("NFKC", str(text))
    value = _WS_RE.sub(" ", value).strip()
    if _HAN_RE.search(value):
        traditional = _traditional_chars()
        if any(ch in traditional for ch in value):
            value = _converter().convert(value)
    return value


def detect_language(text: object) -> str:
    """``"zh"``, ``"en"`` or ``"other"``, from the script of the letters and English function words.

    Han characters outweighing Latin words means Chinese (unless kana or hangul say Japanese or
    Korean); Latin text is English unless foreign function words or accented letters dominate.

    Examples
    --------
    >>> [detect_language(t) for t in ["物流很快，质量不错", "The flight was late again", ""]]
    ['zh', 'en', 'other']
    """
    if text is None or (isinstance(text, float) and text != text):
        return "other"
    value = str(text)
    han = len(_HAN_RE.findall(value))
    kana = len(_KANA_RE.findall(value))
    hangul = len(_HANGUL_RE.findall(value))
    if kana and kana * 5 >= han or hangul > han:
        return "other"
    words = _LATIN_WORD_RE.findall(value)
    if han and han >= len(words):
        return "zh"
    if not words:
        return "other"
    if len(_OTHER_SCRIPT_RE.findall(value)) > sum(len(w) for w in words):
        return "other"
    lowered = [w.lower() for w in words]
    en_hits = sum(w in _EN_FUNCTION for w in lowered)
    foreign_hits = sum(w in _FOREIGN_FUNCTION for w in lowered)
    if foreign_hits > en_hits:
        return "other"
    if en_hits == 0:
        letters = sum(len(w) for w in words)
        if len(_NON_ASCII_LATIN_RE.findall(value)) * 20 > letters:
            return "other"
    return "en"


@lru_cache(maxsize=1)
def _jieba():  # noqa: ANN202 - jieba has no types
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def add_user_words(words: Iterable[str | tuple[str, int]]) -> None:
    """Teach the Chinese segmenter domain words (product names, brands), optionally with a frequency."""
    jieba = _jieba()
    for word in words:
        if isinstance(word, tuple):
            jieba.add_word(word[0], freq=word[1])
        else:
            jieba.add_word(word)


def load_user_dict(path: str | Path) -> None:
    """Load a jieba user dictionary file (one ``word [freq] [tag]`` a line)."""
    _jieba().load_userdict(str(path))


def _split_specials(text: str) -> list[tuple[str, bool]]:
    """Split out URLs, emoji and emoticons, which are single tokens in every language."""
    parts: list[tuple[str, bool]] = []
    last = 0
    for match in _SPECIAL_RE.finditer(text):
        if match.start() > last:
            parts.append((text[last : match.start()], False))
        parts.append((match.group(0), True))
        last = match.end()
    if last < len(text):
        parts.append((text[last:], False))
    return parts


def _special_token(token: str) -> str:
    if _URL_RE.match(token):
        return "<url>"
    return token.replace("\ufe0f", "")


def _mark_negation(tokens: list[str], negators: frozenset[str], scope: int) -> list[str]:
    """Suffix the words after a negator (up to ``scope`` words or the next punctuation) with ``_NEG``."""
    out: list[str] = []
    left = 0
    for token in tokens:
        if token in _PUNCT:
            left = 0
            out.append(token)
        elif (
            token in negators or token.replace("'", "").replace("’", "") in negators or token.endswith("n't")
        ):
            left = scope
            out.append(token)
        elif left > 0 and _WORDLIKE_RE.search(token):
            out.append(token + NEGATION_SUFFIX)
            left -= 1
        else:
            out.append(token)
    return out


def tokenize(
    text: object,
    language: str | None = None,
    *,
    stop_words: bool = True,
    negation: bool = True,
) -> list[str]:
    """Words of a text, lower-cased: jieba for Chinese, a word pattern for English and the rest.

    The text is normalised first. Emoji and emoticons are tokens; URLs become ``<url>``;
    punctuation is dropped after it has closed the scope of a negation; words inside a negation
    scope carry the ``_NEG`` suffix (``not good`` -> ``not good_NEG``); stop words of the language
    are removed unless ``stop_words=False``. ``language`` defaults to :func:`detect_language`.

    Examples
    --------
    >>> tokenize("The food was not good at all :(")
    ['food', 'not', 'good_NEG', ':(']
    >>> tokenize("房间不干净，服务很好")
    ['房间', '不', '干净_NEG', '服务', '很', '好']
    """
    value = normalize(text)
    if not value:
        return []
    language = language or detect_language(value)
    tokens: list[str] = []
    if language == "zh":
        jieba = _jieba()
        for chunk, special in _split_specials(value):
            if special:
                tokens.append(_special_token(chunk))
                continue
            for word in jieba.lcut(chunk.lower()):
                word = word.strip()
                if not word:
                    continue
                if word in _PUNCT or word.isalnum() or _HAN_RE.search(word):
                    tokens.append(word)
        negators, stops, scope = CHINESE_NEGATORS, CHINESE_STOP_WORDS, 2
    else:
        for chunk, special in _split_specials(value):
            if special:
                tokens.append(_special_token(chunk))
            else:
                tokens.extend(_EN_TOKEN_RE.findall(chunk.lower().replace("’", "'")))
        negators, stops, scope = ENGLISH_NEGATORS, ENGLISH_STOP_WORDS, 3
        if language != "en":
            stops = frozenset()
    if stop_words:
        tokens = [t for t in tokens if t not in stops]
    if negation:
        tokens = _mark_negation(tokens, negators, scope)
    return [t for t in tokens if t not in _PUNCT]
