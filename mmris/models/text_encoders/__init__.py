from .bert import BERTTextEncoder
from .clip_text import CLIPTextEncoder

__all__ = ['CLIPTextEncoder', 'BERTTextEncoder']
