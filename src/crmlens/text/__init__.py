"""Text analytics: language, tokens, sentiment, keywords and aspects, topics, trends and alerts."""

from crmlens.text.preprocess import add_user_words, detect_language, load_user_dict, normalize, tokenize

__all__ = ["add_user_words", "detect_language", "load_user_dict", "normalize", "tokenize"]
