from .bert import BERTTextEncoder
from .clip_text import CLIPTextEncoder

__all__ = ['CLIPTextEncoder', 'BERTTextEncoder']
from .beit3_fusion import BEiT3FusionEncoder  # noqa: E402

__all__ += ['BEiT3FusionEncoder']
