from .beit3_fusion import BEiT3FusionEncoder
from .bert import BERTTextEncoder
from .clip_text import CLIPTextEncoder

__all__ = ['CLIPTextEncoder', 'BERTTextEncoder', 'BEiT3FusionEncoder']
