"""Sentence transforms."""
import re
import unicodedata

from mmcv.transforms import BaseTransform

from mmris.registry import TRANSFORMS
from ..errors import ReferSampleError, describe_sample

__all__ = ['CleanSentence', 'BlankSentence', 'swap_left_right']

# "left"/"right" as whole words, with the suffixes that keep the meaning a direction
# ("leftmost", "righthand", "leftwards"); "leftover" or "rightly" do not match.
_LR = re.compile(r'\b(left|right)(most|hand|handed|wards?|side)?\b', re.IGNORECASE)


def _swap(match: 're.Match') -> str:
    word, suffix = match.group(1), match.group(2) or ''
    other = 'right' if word.lower() == 'left' else 'left'
    if word.isupper():
        other = other.upper()
    elif word[0].isupper():
        other = other.capitalize()
    return other + suffix


def swap_left_right(text: str) -> str:
    """Swap "left" and "right" in a sentence (for a horizontal flip).

    Args:
        text (str): The sentence.

    Returns:
        str: e.g. ``"the leftmost cat, right of the dog"`` ->
        ``"the rightmost cat, left of the dog"``; ``"leftover"`` is untouched.
    """
    return _LR.sub(_swap, text)


@TRANSFORMS.register_module()
class CleanSentence(BaseTransform):
    """Normalise ``results['text']``: unicode normal form, whitespace collapsed to single
    spaces and stripped, lower case (the CLIP and BERT-uncased tokenizers expect it).

    Raises :class:`ReferSampleError` naming the ref and sentence when the text is missing,
    not a string, or empty after cleaning.

    Required keys: ``text``. Modified keys: ``text``.

    Args:
        lower (bool): Lower-case the sentence. Defaults to True.
        unicode_form (str, optional): ``unicodedata`` normal form; None to skip.
            Defaults to ``'NFKC'``.
    """

    def __init__(self, lower: bool = True, unicode_form: str = 'NFKC') -> None:
        self.lower = lower
        self.unicode_form = unicode_form

    def transform(self, results: dict) -> dict:
        text = results.get('text')
        if not isinstance(text, str):
            raise ReferSampleError(f'sentence is {type(text).__name__}, not a string '
                                   f'({describe_sample(results)})')
        if self.unicode_form:
            text = unicodedata.normalize(self.unicode_form, text)
        text = ' '.join(text.split())
        if self.lower:
            text = text.lower()
        if not text:
            raise ReferSampleError(f'empty or whitespace-only sentence '
                                   f'({describe_sample(results)})')
        results['text'] = text
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(lower={self.lower}, unicode_form={self.unicode_form})'


@TRANSFORMS.register_module()
class BlankSentence(BaseTransform):
    """Replace the sentence by ``''`` (the "does the model use the words?" ablation).

    Modified keys: ``text``. Added keys: ``text_blanked`` (True), which tells
    ``PackReferInputs`` that the empty sentence is wanted.
    """

    def transform(self, results: dict) -> dict:
        results['text'] = ''
        results['text_blanked'] = True
        return results
